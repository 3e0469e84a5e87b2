// Commits the crash workload in a loop and prints "committed <version>" after each commit returns,
// until it is killed. Usage: store_crash_child DIR SEED none|async|full
#include <cstdio>
#include <cstdlib>
#include <string>

#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"
#include "storage/store.hpp"
#include "tests/crash/crash_workload.hpp"

int main(int argc, char** argv) {
  using namespace arbor;
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s DIR SEED none|async|full\n", argv[0]);
    return 2;
  }
  // Stdout is what the test reads ("ready", "committed N"); the store's log lines (RocksDB's
  // write-stall warnings after many kills) go to stderr.
  spdlog::set_default_logger(spdlog::stderr_color_mt("store_crash_child"));
  uint64_t seed = std::strtoull(argv[2], nullptr, 10);
  auto sync = storage::parse_sync_mode(argv[3]);
  if (!sync.ok()) {
    std::fprintf(stderr, "%s\n", std::string(sync.status().message()).c_str());
    return 2;
  }
  storage::StoreOptions options;
  options.sync = *sync;
  options.async_sync_interval_ms = 50;
  options.write_buffer_bytes = 1 << 20;  // small memtables: flushes happen during the test
  auto store = storage::Store::open(argv[1], options);
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
    return 1;
  }
  auto info = (*store)->tree_info(crash::kTree);
  if (!info.ok()) {
    storage::TreeSpec spec;
    spec.name = crash::kTree;
    spec.scheme = "smt";
    spec.keep_versions = crash::kKeepVersions;
    spec.empty_root = crash::version_root(seed, 0);
    info = (*store)->create_tree(spec);
    if (!info.ok()) {
      std::fprintf(stderr, "create: %s\n", info.status().ToString().c_str());
      return 1;
    }
  }
  std::printf("ready %llu\n", static_cast<unsigned long long>(info->head_version));
  std::fflush(stdout);
  for (uint64_t version = info->head_version + 1;; ++version) {
    auto committed = (*store)->commit(crash::kTree, crash::workload_batch(seed, version));
    if (!committed.ok()) {
      std::fprintf(stderr, "commit %llu: %s\n", static_cast<unsigned long long>(version),
                   committed.status().ToString().c_str());
      return 1;
    }
    std::printf("committed %llu\n", static_cast<unsigned long long>(version));
    std::fflush(stdout);
  }
}
