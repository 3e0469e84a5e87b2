// The store's cost: commits of 1, 100 and 10 000 records (32-byte keys, 32..100-byte random
// values) in each sync mode, and point reads at the head with a warm and a cold block cache.
// bench/store_vs_db_bench.sh runs RocksDB's db_bench on the same shapes in the same run.
// Data lives under $ARBOR_BENCH_DIR (default /tmp), which should be on the disk being measured.
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "storage/store.hpp"

namespace {

using arbor::storage::CommitRequest;
using arbor::storage::Space;
using arbor::storage::Store;
using arbor::storage::StoreOptions;
using arbor::storage::SyncMode;

constexpr SyncMode kModes[] = {SyncMode::kNone, SyncMode::kAsync, SyncMode::kFull};

// A fresh directory for one benchmark, removed afterwards.
class BenchDir {
 public:
  BenchDir() {
    const char* base = std::getenv("ARBOR_BENCH_DIR");
    std::string pattern =
        (std::filesystem::path(base && *base ? base : "/tmp") / "arbor-bench-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~BenchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string random_bytes(std::mt19937_64& rng, size_t count) {
  std::string out(count, '\0');
  for (auto& c : out) c = static_cast<char>(rng());
  return out;
}

arbor::storage::TreeSpec bench_tree() {
  arbor::storage::TreeSpec spec;
  spec.name = "bench";
  spec.scheme = "smt";
  spec.empty_root = std::string(32, '\0');
  return spec;
}

double percentile(std::vector<double> samples, double fraction) {
  if (samples.empty()) return 0;
  size_t rank = static_cast<size_t>(fraction * static_cast<double>(samples.size() - 1) + 0.5);
  std::nth_element(samples.begin(), samples.begin() + static_cast<ptrdiff_t>(rank), samples.end());
  return samples[rank];
}

void report_latency(benchmark::State& state, const std::vector<double>& micros) {
  state.counters["p50_us"] = percentile(micros, 0.50);
  state.counters["p99_us"] = percentile(micros, 0.99);
}

// One commit per iteration; records/s is the throughput, p50/p99 the per-commit latency.
void BM_StoreCommit(benchmark::State& state) {
  const size_t records = static_cast<size_t>(state.range(0));
  StoreOptions options;
  options.sync = kModes[state.range(1)];
  BenchDir dir;
  auto store = Store::open(dir.path(), options);
  if (!store.ok() || !(*store)->create_tree(bench_tree()).ok()) {
    state.SkipWithError("cannot open a store");
    return;
  }
  // A pool of prepared batches, reused round-robin, keeps data generation out of the timing.
  std::mt19937_64 rng(20261121);
  const size_t pool = std::clamp<size_t>(400000 / records, 4, 256);
  std::vector<CommitRequest> requests(pool);
  for (auto& request : requests) {
    request.root = random_bytes(rng, 32);
    request.writes.reserve(records);
    for (size_t i = 0; i < records; ++i) {
      request.writes.put(Space::kNodes, random_bytes(rng, 32), random_bytes(rng, 32 + rng() % 69));
    }
  }
  std::vector<double> micros;
  uint64_t version = 0;
  for (auto _ : state) {
    CommitRequest& request = requests[version % pool];
    request.parent_version = version;
    auto started = std::chrono::steady_clock::now();
    auto committed = (*store)->commit("bench", request);
    micros.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - started)
            .count());
    if (!committed.ok()) {
      state.SkipWithError(std::string(committed.status().message()).c_str());
      break;
    }
    ++version;
  }
  state.SetItemsProcessed(static_cast<int64_t>(version * records));
  report_latency(state, micros);
}
BENCHMARK(BM_StoreCommit)
    ->ArgNames({"records", "sync"})
    ->ArgsProduct({{1, 100, 10000}, {0, 1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// Point reads of existing keys at the head. cold 0: block cache large and warmed (hot); 1: a
// 1 MiB block cache (cold for RocksDB; the OS page cache still holds the files). batch: keys per
// call (1: get, more: get_many, as a tree reads a path); latencies are per key.
void BM_StorePointRead(benchmark::State& state) {
  const bool hot = state.range(0) == 0;
  const size_t keys = static_cast<size_t>(state.range(1));
  const size_t batch = static_cast<size_t>(state.range(2));
  BenchDir dir;
  std::mt19937_64 rng(20261121);
  std::vector<std::string> written;
  {
    StoreOptions options;
    options.sync = SyncMode::kNone;
    auto store = Store::open(dir.path(), options);
    if (!store.ok() || !(*store)->create_tree(bench_tree()).ok()) {
      state.SkipWithError("cannot open a store");
      return;
    }
    for (uint64_t version = 0; written.size() < keys; ++version) {
      CommitRequest request;
      request.parent_version = version;
      for (size_t i = 0; i < 10000 && written.size() < keys; ++i) {
        written.push_back(random_bytes(rng, 32));
        request.writes.put(Space::kValues, written.back(), random_bytes(rng, 32 + rng() % 69));
      }
      if (!(*store)->commit("bench", request).ok()) {
        state.SkipWithError("cannot fill the store");
        return;
      }
    }
    if (!(*store)->compact().ok()) state.SkipWithError("cannot compact");
  }
  StoreOptions options;
  options.block_cache_bytes = hot ? (512ull << 20) : (1ull << 20);
  auto store = Store::open(dir.path(), options);
  if (!store.ok()) {
    state.SkipWithError("cannot reopen the store");
    return;
  }
  auto view = (*store)->view("bench");
  if (!view.ok()) {
    state.SkipWithError("cannot reopen the store");
    return;
  }
  if (hot) {
    for (const auto& key : written) benchmark::DoNotOptimize(view->get(Space::kValues, key));
  }
  std::vector<double> micros;
  micros.reserve(1 << 20);
  size_t found = 0;
  std::vector<std::string> wanted(batch);
  for (auto _ : state) {
    for (auto& key : wanted) key = written[rng() % written.size()];
    auto started = std::chrono::steady_clock::now();
    if (batch == 1) {
      auto value = view->get(Space::kValues, wanted[0]);
      found += value.ok() && value->has_value();
    } else {
      auto values = view->get_many(Space::kValues, wanted);
      if (values.ok()) {
        for (const auto& value : *values) found += value.has_value();
      }
    }
    micros.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - started)
            .count() /
        static_cast<double>(batch));
  }
  if (found != micros.size() * batch) state.SkipWithError("a written key was not found");
  state.SetItemsProcessed(static_cast<int64_t>(micros.size() * batch));
  report_latency(state, micros);
}
BENCHMARK(BM_StorePointRead)
    ->ArgNames({"cold", "keys", "batch"})
    ->ArgsProduct({{0, 1}, {200000}, {1, 32}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
