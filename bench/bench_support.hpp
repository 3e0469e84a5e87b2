// What the tree benchmarks share: the backend from $ARBOR_BENCH_BACKEND, store options from
// $ARBOR_BENCH_COMPRESSION and $ARBOR_BENCH_BLOCK_CACHE_MB, scratch directories under
// $ARBOR_BENCH_DIR, and stopping with a message when a setup step fails.
#pragma once

#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "host/backend/compute_backend.hpp"
#include "spdlog/spdlog.h"
#include "storage/store.hpp"
#include "storage/store_options.hpp"

namespace arbor::bench {

// ARBOR_BENCH_BACKEND = cpu | cuda | auto (default), made once.
inline host::ComputeBackend& bench_backend() {
  static std::unique_ptr<host::ComputeBackend> instance = [] {
    const char* name = std::getenv("ARBOR_BENCH_BACKEND");
    auto choice = host::parse_backend_choice(name && *name ? name : "auto");
    if (!choice.ok()) {
      std::fprintf(stderr, "bench: ARBOR_BENCH_BACKEND: %s\n",
                   std::string(choice.status().message()).c_str());
      std::exit(2);
    }
    spdlog::set_level(spdlog::level::warn);  // stdout carries the benchmark JSON
    auto backend = host::make_backend(*choice);
    if (!backend.ok()) {
      std::fprintf(stderr, "bench: %s\n", std::string(backend.status().message()).c_str());
      std::exit(2);
    }
    return std::move(*backend);
  }();
  return *instance;
}

// How the benchmarks' trees open their stores: the defaults, or $ARBOR_BENCH_COMPRESSION
// (none | lz4 | lz4+zstd ...) and $ARBOR_BENCH_BLOCK_CACHE_MB, to measure what they cost.
inline storage::StoreOptions bench_store_options() {
  storage::StoreOptions options;
  if (const char* text = std::getenv("ARBOR_BENCH_COMPRESSION"); text && *text) {
    auto compression = storage::parse_compression(text);
    if (!compression.ok()) {
      std::fprintf(stderr, "bench: ARBOR_BENCH_COMPRESSION: %s\n",
                   std::string(compression.status().message()).c_str());
      std::exit(2);
    }
    options.compression = *compression;
  }
  if (const char* text = std::getenv("ARBOR_BENCH_BLOCK_CACHE_MB"); text && *text) {
    options.block_cache_bytes = std::strtoull(text, nullptr, 10) << 20;
  }
  return options;
}

// A new directory $ARBOR_BENCH_DIR (default /tmp)/<prefix>-XXXXXX.
inline std::filesystem::path make_bench_dir(const std::string& prefix) {
  const char* base = std::getenv("ARBOR_BENCH_DIR");
  std::string pattern =
      (std::filesystem::path(base && *base ? base : "/tmp") / (prefix + "-XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) {
    std::perror("bench: mkdtemp");
    std::exit(2);
  }
  return pattern;
}

// A benchmark cannot go on from a failed setup step: say what failed and stop.
template <typename T>
T or_die(absl::StatusOr<T> value, const char* what) {
  if (!value.ok()) {
    std::fprintf(stderr, "bench: %s: %s\n", what, std::string(value.status().message()).c_str());
    std::exit(2);
  }
  return std::move(*value);
}

// A store in `dir` for building trees in (sync none: nothing to lose, nothing to wait for).
inline std::unique_ptr<storage::Store> open_scratch_store(const std::filesystem::path& dir) {
  storage::StoreOptions options;
  options.sync = storage::SyncMode::kNone;
  return or_die(storage::Store::open(dir, options), "opening the store");
}

}  // namespace arbor::bench
