// The Verkle tree's bulk update cost: batches of 10^3 .. 10^6 values (half updates of present
// keys, half new keys) into trees of 10^5 .. 10^7 keys, in values/s, with where the time went;
// and, for the peer comparison (bench/verkle_vs_js.sh), a workload read from a file that
// @ethereumjs/verkle runs too. Trees live under $ARBOR_BENCH_DIR (default /tmp);
// ARBOR_BENCH_BACKEND picks cpu|cuda|auto.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>

#include "absl/strings/escaping.h"
#include "bench/bench_support.hpp"
#include "bench/verkle_bench_tree.hpp"
#include "benchmark/benchmark.h"
#include "host/verkle/verkle_tree.hpp"
#include "kernels/verkle/pedersen.hpp"
#include "nlohmann/json.hpp"

namespace {

using namespace arbor::verkle;
using arbor::bench::or_die;

arbor::host::ComputeBackend& backend() { return arbor::bench::bench_backend(); }

using arbor::bench::random_bytes32;
using BenchTree = arbor::bench::VerkleBenchTree;

BenchTree& tree_of(std::int64_t keys) { return arbor::bench::verkle_bench_tree(keys, backend()); }

// Half updates of present keys, half new keys (each on its own stem).
std::vector<VerkleOp> mixed_batch(BenchTree& bench, std::int64_t size) {
  std::vector<VerkleOp> ops;
  ops.reserve(size);
  for (std::int64_t i = 0; i < size; ++i) {
    const Key32 key =
        i % 2 ? bench.keys[bench.rng() % bench.keys.size()] : random_bytes32(bench.rng);
    ops.push_back(VerkleOp::put(key, random_bytes32(bench.rng)));
  }
  return ops;
}

void BM_VerkleApply(benchmark::State& state) {
  BenchTree& bench = tree_of(state.range(0));
  const std::int64_t batch = state.range(1);
  double read = 0, plan = 0, math = 0, store = 0, muls = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<VerkleOp> ops = mixed_batch(bench, batch);
    state.ResumeTiming();
    auto result = bench.tree->apply(ops);
    if (!result.ok()) {
      state.SkipWithError(std::string(result.status().message()).c_str());
      break;
    }
    read += result->stats.read_ms;
    plan += result->stats.plan_ms;
    math += result->stats.compute_ms;
    store += result->stats.commit_ms;
    muls += static_cast<double>(result->stats.commitment_deltas);
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["values_per_s"] =
      benchmark::Counter(static_cast<double>(batch) * n, benchmark::Counter::kIsRate);
  state.counters["read_ms"] = read / n;
  state.counters["plan_ms"] = plan / n;
  state.counters["math_ms"] = math / n;
  state.counters["store_ms"] = store / n;
  state.counters["fixed_base_muls"] = muls / n;
  state.SetLabel(backend().description());
}

// The peer workload: {"preload": [[k, v], ...], "batches": [[[k, v], ...], ...]} (32-byte hex).
// Preloading is not timed; each iteration applies every batch in order, one version each.
void BM_VerkleWorkloadFromFile(benchmark::State& state) {
  const char* path = std::getenv("ARBOR_VERKLE_WORKLOAD");
  if (path == nullptr) {
    state.SkipWithError("set ARBOR_VERKLE_WORKLOAD (bench/verkle_vs_js.sh does)");
    return;
  }
  std::ifstream file(path);
  const nlohmann::json workload = nlohmann::json::parse(file);
  auto bytes32 = [](const nlohmann::json& text) {
    const std::string bytes = absl::HexStringToBytes(text.get<std::string>());
    if (bytes.size() != 32) {
      fprintf(stderr, "verkle_tree_bench: workload entry is not 32 bytes of hex\n");
      std::exit(2);
    }
    Key32 out;
    std::copy(bytes.begin(), bytes.end(), out.begin());
    return out;
  };
  auto ops_of = [&](const nlohmann::json& pairs) {
    std::vector<VerkleOp> ops;
    for (const auto& pair : pairs) ops.push_back(VerkleOp::put(bytes32(pair[0]), bytes32(pair[1])));
    return ops;
  };
  const std::vector<VerkleOp> preload = ops_of(workload["preload"]);
  std::vector<std::vector<VerkleOp>> batches;
  std::size_t keys = 0;
  for (const auto& batch : workload["batches"]) {
    batches.push_back(ops_of(batch));
    keys += batches.back().size();
  }
  (void)default_pedersen_tables();
  for (auto _ : state) {
    state.PauseTiming();
    BenchTree bench;
    bench.dir = arbor::bench::make_bench_dir("arbor-verkle-peer");
    bench.store = or_die(arbor::storage::Store::open(bench.dir), "opening the store");
    bench.tree = or_die(VerkleTree::create(*bench.store, "peer", {}, backend()), "create");
    or_die(bench.tree->apply(preload), "preload");
    state.ResumeTiming();
    RootCommitment root{};
    for (const auto& batch : batches) root = or_die(bench.tree->apply(batch), "apply").root;
    state.PauseTiming();
    state.SetLabel(absl::BytesToHexString(std::string(as_view(root))));
    bench.tree.reset();
    bench.store.reset();
    state.ResumeTiming();
  }
  state.counters["keys_per_s"] =
      benchmark::Counter(static_cast<double>(keys) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK(BM_VerkleWorkloadFromFile)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// Building a tree of range(0) random keys in a fresh store: by bulk load (BM_VerkleBulkLoad) and
// by applying the same keys in batches of range(1) (BM_VerkleBuildByBatches), in one run.
// muls_per_s: fixed-base multiplications a second, the work that bounds both.
std::vector<arbor::verkle::VerkleLoadEntry> random_entries(std::mt19937_64& rng, std::int64_t n) {
  std::vector<arbor::verkle::VerkleLoadEntry> entries;
  entries.reserve(n);
  for (std::int64_t i = 0; i < n; ++i) {
    entries.push_back({arbor::bench::random_bytes32(rng), arbor::bench::random_bytes32(rng)});
  }
  return entries;
}

void BM_VerkleBulkLoad(benchmark::State& state) {
  const std::int64_t keys = state.range(0);
  std::mt19937_64 rng(20261204);
  double math = 0, muls = 0, files = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const auto dir = arbor::bench::make_bench_dir("arbor-verkle-load");
    auto store = arbor::bench::open_scratch_store(dir);
    auto entries = random_entries(rng, keys);
    state.ResumeTiming();
    const auto report =
        or_die(arbor::verkle::load_verkle(*store, "bench", std::move(entries), backend()), "load");
    state.PauseTiming();
    math += report.math_ms;
    muls += static_cast<double>(report.commitment_deltas);
    files += static_cast<double>(report.file_bytes);
    store.reset();
    std::filesystem::remove_all(dir);
    state.ResumeTiming();
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["keys_per_s"] =
      benchmark::Counter(static_cast<double>(keys) * n, benchmark::Counter::kIsRate);
  state.counters["math_ms"] = math / n;
  state.counters["muls_per_key"] = muls / n / static_cast<double>(keys);
  state.counters["math_muls_per_s"] = muls / (math / 1e3);
  state.counters["file_bytes_per_key"] = files / n / static_cast<double>(keys);
  state.SetLabel(backend().description());
}

void BM_VerkleBuildByBatches(benchmark::State& state) {
  const std::int64_t keys = state.range(0);
  const std::int64_t batch = state.range(1);
  std::mt19937_64 rng(20261204);
  double math = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const auto dir = arbor::bench::make_bench_dir("arbor-verkle-batches");
    auto store = arbor::bench::open_scratch_store(dir);
    auto tree = or_die(arbor::verkle::VerkleTree::create(*store, "bench", {}, backend()), "create");
    std::vector<std::vector<VerkleOp>> batches;
    for (const auto& entry : random_entries(rng, keys)) {
      if (batches.empty() || static_cast<std::int64_t>(batches.back().size()) == batch) {
        batches.emplace_back();
      }
      batches.back().push_back(VerkleOp::put(entry.key, entry.value));
    }
    state.ResumeTiming();
    for (const auto& ops : batches) math += or_die(tree->apply(ops), "apply").stats.compute_ms;
    state.PauseTiming();
    tree.reset();
    store.reset();
    std::filesystem::remove_all(dir);
    state.ResumeTiming();
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["keys_per_s"] =
      benchmark::Counter(static_cast<double>(keys) * n, benchmark::Counter::kIsRate);
  state.counters["math_ms"] = math / n;
  state.SetLabel(backend().description());
}

BENCHMARK(BM_VerkleBulkLoad)
    ->Arg(100000)
    ->Arg(1000000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_VerkleBuildByBatches)
    ->Args({100000, 10000})
    ->Args({100000, 100000})
    ->Args({1000000, 100000})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Batches of 10^3 .. 10^5 into a 10^5- and a 10^6-key tree by default. A 10^6 batch and the
// 10^7-key tree (a bulk load of several minutes on 2 cores here) run only with
// ARBOR_BENCH_LARGE=1.
void register_apply(std::int64_t keys, std::int64_t batch, int iterations) {
  benchmark::RegisterBenchmark("BM_VerkleApply", BM_VerkleApply)
      ->Args({keys, batch})
      ->Iterations(iterations)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
}

int main(int argc, char** argv) {
  register_apply(100000, 1000, 5);
  register_apply(100000, 10000, 3);
  register_apply(1000000, 1000, 5);
  register_apply(1000000, 10000, 3);
  register_apply(1000000, 100000, 1);
  if (const char* large = std::getenv("ARBOR_BENCH_LARGE"); large && *large == '1') {
    register_apply(1000000, 1000000, 1);
    register_apply(10000000, 1000, 3);
    register_apply(10000000, 100000, 1);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  arbor::bench::verkle_bench_trees().clear();
  return 0;
}
