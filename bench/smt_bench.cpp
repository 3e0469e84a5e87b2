// The SMT's cost: batch updates (keys/s and latency) of 1 .. 10^6 keys into trees of 10^5 .. 10^7
// leaves, proof generation, proof size and verification; and, for the peer comparison
// (bench/smt_vs_js.sh), a workload read from a file that the JS peer runs too.
// Trees live under $ARBOR_BENCH_DIR (default /tmp); ARBOR_BENCH_BACKEND picks cpu|cuda|auto.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>

#include "bench/bench_support.hpp"
#include "benchmark/benchmark.h"
#include "host/smt/smt_bulk_load.hpp"
#include "host/smt/smt_proof_codec.hpp"
#include "host/smt/smt_tree.hpp"
#include "kernels/field/bn254_fr_text.hpp"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"

namespace {

using arbor::field::Fr;
using namespace arbor::smt;

Fr random_fr(std::mt19937_64& rng) {
  std::uint64_t limbs[4] = {rng(), rng(), rng(), rng() >> 3};  // < 2^253 < p
  return arbor::field::from_canonical_limbs(limbs);
}

// A tree of `leaves` random keys, built once per size and kept for the whole run.
struct BenchTree {
  std::filesystem::path dir;
  std::unique_ptr<arbor::storage::Store> store;
  std::unique_ptr<SmtTree> tree;
  std::vector<Fr> keys;  // a sample of the keys in the tree
  std::mt19937_64 rng{20261121};
  ~BenchTree() {
    tree.reset();
    store.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

arbor::host::ComputeBackend& backend() { return arbor::bench::bench_backend(); }

// Closed by main() before exit: a RocksDB database must not outlive RocksDB's own statics.
// Keyed by (leaves, page levels).
std::map<std::pair<std::int64_t, int>, std::unique_ptr<BenchTree>>& trees() {
  static std::map<std::pair<std::int64_t, int>, std::unique_ptr<BenchTree>> instance;
  return instance;
}

SmtCreateOptions with_page_levels(int levels) {
  SmtCreateOptions create;
  create.page_levels = levels;
  return create;
}

BenchTree& tree_of(std::int64_t leaves, int page_levels = arbor::smt::kDefaultPageLevels) {
  auto& slot = trees()[{leaves, page_levels}];
  if (slot) return *slot;
  slot = std::make_unique<BenchTree>();
  slot->dir = arbor::bench::make_bench_dir("arbor-smt-bench");
  auto store = arbor::storage::Store::open(slot->dir, arbor::bench::bench_store_options());
  if (!store.ok()) std::abort();
  slot->store = std::move(*store);
  // Bulk-loaded (host/smt/smt_bulk_load.hpp): the tree batches would build, in seconds rather
  // than the half hour 10^7 leaves took as batches; BM_SmtBulkLoad measures the load itself.
  const auto started = std::chrono::steady_clock::now();
  std::vector<SmtLoadEntry> entries;
  entries.reserve(leaves);
  for (std::int64_t i = 0; i < leaves; ++i) {
    const Fr key = random_fr(slot->rng);
    if (slot->keys.size() < 100000) slot->keys.push_back(key);
    entries.push_back(load_entry(key, random_fr(slot->rng)));
  }
  SmtLoadOptions load;
  load.create = with_page_levels(page_levels);
  if (!load_smt(*slot->store, "bench", std::move(entries), backend(), load).ok()) std::abort();
  auto tree = SmtTree::open(*slot->store, "bench", backend());
  if (!tree.ok()) std::abort();
  slot->tree = std::move(*tree);
  fprintf(stderr, "smt_bench: loaded a %lld-leaf tree in %.1f s on %s\n",
          static_cast<long long>(leaves),
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
          backend().description().c_str());
  return *slot;
}

// Half updates of existing keys, half new keys: the shape of a block's state changes.
std::vector<SmtOp> mixed_batch(BenchTree& bench, std::int64_t size) {
  std::vector<SmtOp> ops;
  ops.reserve(size);
  for (std::int64_t i = 0; i < size; ++i) {
    const Fr key = i % 2 ? bench.keys[bench.rng() % bench.keys.size()] : random_fr(bench.rng);
    ops.push_back(SmtOp::put(key, random_fr(bench.rng)));
  }
  return ops;
}

void apply_batches(benchmark::State& state, BenchTree& bench) {
  const std::int64_t batch = state.range(1);
  double read = 0, plan = 0, hash = 0, commit = 0;
  std::uint64_t hashes = 0, bytes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<SmtOp> ops = mixed_batch(bench, batch);
    state.ResumeTiming();
    auto result = bench.tree->apply(ops);
    if (!result.ok()) {
      state.SkipWithError(std::string(result.status().message()).c_str());
      break;
    }
    read += result->stats.read_ms;
    plan += result->stats.plan_ms;
    hash += result->stats.compute_ms;
    commit += result->stats.commit_ms;
    hashes += result->stats.leaf_hashes + result->stats.node_hashes;
    bytes += result->stats.bytes_written;
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["keys_per_s"] =
      benchmark::Counter(static_cast<double>(batch) * n, benchmark::Counter::kIsRate);
  state.counters["read_ms"] = read / n;
  state.counters["plan_ms"] = plan / n;
  state.counters["hash_ms"] = hash / n;
  state.counters["commit_ms"] = commit / n;
  state.counters["hashes_per_batch"] = static_cast<double>(hashes) / n;
  state.counters["bytes_per_batch"] = static_cast<double>(bytes) / n;
  state.SetLabel(backend().description());
}

void BM_SmtApply(benchmark::State& state) { apply_batches(state, tree_of(state.range(0))); }

// The same with the page height as a third argument: 1 is one node per record, as store format 2
// kept them (plus each page's 8-byte bitmap), so /1 against /6 in one run is paging's effect.
void BM_SmtApplyPaged(benchmark::State& state) {
  apply_batches(state, tree_of(state.range(0), static_cast<int>(state.range(2))));
}

void BM_SmtProve(benchmark::State& state) {
  BenchTree& bench = tree_of(state.range(0));
  std::uint64_t bytes = 0, depth = 0, max_bytes = 0;
  for (auto _ : state) {
    auto proof = bench.tree->prove(bench.keys[bench.rng() % bench.keys.size()]);
    if (!proof.ok()) std::abort();
    const size_t size = encode_proof_binary(*proof).size();
    bytes += size;
    max_bytes = std::max<std::uint64_t>(max_bytes, size);
    depth += proof->siblings.size();
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["proof_bytes"] = static_cast<double>(bytes) / n;
  state.counters["max_proof_bytes"] = static_cast<double>(max_bytes);
  state.counters["depth"] = static_cast<double>(depth) / n;
}

void BM_SmtVerify(benchmark::State& state) {
  BenchTree& bench = tree_of(state.range(0));
  const Fr root = *bench.tree->root();
  std::vector<SmtProof> proofs;
  for (int i = 0; i < 256; ++i) {
    proofs.push_back(*bench.tree->prove(bench.keys[bench.rng() % bench.keys.size()]));
  }
  size_t next = 0;
  for (auto _ : state) {
    if (!verify_proof(root, proofs[next++ % proofs.size()]).ok()) std::abort();
  }
}

// A multi-proof of `keys` random keys against the same keys' single proofs laid end to end.
void BM_SmtMultiProofSize(benchmark::State& state) {
  BenchTree& bench = tree_of(state.range(0));
  const std::int64_t count = state.range(1);
  std::uint64_t multi_bytes = 0, single_bytes = 0;
  for (auto _ : state) {
    std::vector<Fr> keys;
    for (std::int64_t i = 0; i < count; ++i)
      keys.push_back(bench.keys[bench.rng() % bench.keys.size()]);
    auto multi = bench.tree->prove_many(keys);
    if (!multi.ok()) std::abort();
    multi_bytes += encode_multi_proof_binary(*multi).size();
    state.PauseTiming();
    for (const Fr& key : keys) single_bytes += encode_proof_binary(*bench.tree->prove(key)).size();
    state.ResumeTiming();
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["multi_bytes"] = static_cast<double>(multi_bytes) / n;
  state.counters["singles_bytes"] = static_cast<double>(single_bytes) / n;
}

using arbor::bench::or_die;

// The peer workload: {"preload": [[k, v], ...], "batches": [[[k, v], ...], ...]} (decimal).
// Preloading is not timed; each iteration applies every batch in order.
void BM_SmtWorkloadFromFile(benchmark::State& state) {
  const char* path = std::getenv("ARBOR_SMT_WORKLOAD");
  if (path == nullptr) {
    state.SkipWithError("set ARBOR_SMT_WORKLOAD (bench/smt_vs_js.sh does)");
    return;
  }
  std::ifstream file(path);
  const nlohmann::json workload = nlohmann::json::parse(file);
  auto ops_of = [](const nlohmann::json& pairs) {
    std::vector<SmtOp> ops;
    for (const auto& pair : pairs) {
      ops.push_back(
          SmtOp::put(or_die(arbor::field::parse_fr(pair[0].get<std::string>()), "key"),
                     or_die(arbor::field::parse_fr(pair[1].get<std::string>()), "value")));
    }
    return ops;
  };
  const std::vector<SmtOp> preload = ops_of(workload["preload"]);
  std::vector<std::vector<SmtOp>> batches;
  std::size_t keys = 0;
  for (const auto& batch : workload["batches"]) {
    batches.push_back(ops_of(batch));
    keys += batches.back().size();
  }
  for (auto _ : state) {
    state.PauseTiming();
    BenchTree bench;
    bench.dir = arbor::bench::make_bench_dir("arbor-smt-peer");
    bench.store = or_die(arbor::storage::Store::open(bench.dir), "opening the store");
    bench.tree =
        or_die(SmtTree::create(*bench.store, "peer", SmtCreateOptions{}, backend()), "create");
    or_die(bench.tree->apply(preload), "preload");
    state.ResumeTiming();
    Fr root;
    for (const auto& batch : batches) root = or_die(bench.tree->apply(batch), "apply").root;
    state.PauseTiming();
    state.SetLabel(arbor::field::to_decimal(root));
    bench.tree.reset();
    bench.store.reset();
    state.ResumeTiming();
  }
  state.counters["keys_per_s"] =
      benchmark::Counter(static_cast<double>(keys) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}

// Building a tree of range(0) random keys in a fresh store: by bulk load (BM_SmtBulkLoad) and by
// applying the same keys in batches of range(1) (BM_SmtBuildByBatches), so the two compare in
// one run. hash_ceiling_ratio: the achieved keys/s over what the backend's hashing alone allows
// (its hashes/s in this very build over the hashes per key).
void BM_SmtBulkLoad(benchmark::State& state) {
  const std::int64_t leaves = state.range(0);
  double sort = 0, build = 0, hash = 0, pages = 0, ingest = 0, files = 0, hashes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    BenchTree bench;
    bench.dir = arbor::bench::make_bench_dir("arbor-smt-load");
    bench.store = arbor::bench::open_scratch_store(bench.dir);
    std::vector<SmtLoadEntry> entries;
    entries.reserve(leaves);
    for (std::int64_t i = 0; i < leaves; ++i) {
      entries.push_back(load_entry(random_fr(bench.rng), random_fr(bench.rng)));
    }
    state.ResumeTiming();
    const SmtLoadReport report =
        or_die(load_smt(*bench.store, "bench", std::move(entries), backend()), "load");
    state.PauseTiming();
    sort += report.sort_ms;
    build += report.build_ms;
    hash += report.hash_ms;
    pages += report.pages_ms;
    ingest += report.ingest_ms;
    files += static_cast<double>(report.file_bytes);
    hashes += static_cast<double>(report.leaf_hashes + report.node_hashes);
    bench.store.reset();
    state.ResumeTiming();
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["keys_per_s"] =
      benchmark::Counter(static_cast<double>(leaves) * n, benchmark::Counter::kIsRate);
  state.counters["sort_ms"] = sort / n;
  state.counters["build_ms"] = build / n;
  state.counters["hash_ms"] = hash / n;
  state.counters["pages_ms"] = pages / n;
  state.counters["ingest_ms"] = ingest / n;
  state.counters["file_bytes_per_key"] = files / n / static_cast<double>(leaves);
  state.counters["hashes_per_key"] = hashes / n / static_cast<double>(leaves);
  state.SetLabel(backend().description());
}

void BM_SmtBuildByBatches(benchmark::State& state) {
  const std::int64_t leaves = state.range(0);
  const std::int64_t batch = state.range(1);
  double hash = 0;
  for (auto _ : state) {
    state.PauseTiming();
    BenchTree bench;
    bench.dir = arbor::bench::make_bench_dir("arbor-smt-batches");
    bench.store = arbor::bench::open_scratch_store(bench.dir);
    bench.tree =
        or_die(SmtTree::create(*bench.store, "bench", SmtCreateOptions{}, backend()), "create");
    std::vector<std::vector<SmtOp>> batches;
    for (std::int64_t done = 0; done < leaves; done += batch) {
      auto& ops = batches.emplace_back();
      for (std::int64_t i = done; i < std::min(leaves, done + batch); ++i) {
        ops.push_back(SmtOp::put(random_fr(bench.rng), random_fr(bench.rng)));
      }
    }
    state.ResumeTiming();
    for (const auto& ops : batches)
      hash += or_die(bench.tree->apply(ops), "apply").stats.compute_ms;
    state.PauseTiming();
    bench.tree.reset();
    bench.store.reset();
    state.ResumeTiming();
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["keys_per_s"] =
      benchmark::Counter(static_cast<double>(leaves) * n, benchmark::Counter::kIsRate);
  state.counters["hash_ms"] = hash / n;
  state.SetLabel(backend().description());
}

// The seed's storage rows: bytes on disk per key and per value byte, node bytes against value
// bytes, and what compression gains, for a tree of range(0) random keys built in 200 000-key
// batches with compression range(1) (0 none, 1 the default lz4+zstd), then compacted. Keys and
// values are random field elements, so they are incompressible: what compression can take out is
// the records' framing and the keys' shared prefixes.
void storage_bytes(benchmark::State& state, int page_levels) {
  const std::int64_t leaves = state.range(0);
  const bool compressed = state.range(1) != 0;
  for (auto _ : state) {
    BenchTree bench;
    bench.dir = arbor::bench::make_bench_dir("arbor-smt-bytes");
    arbor::storage::StoreOptions options;
    options.compression =
        compressed ? arbor::storage::Compression::kLz4Zstd : arbor::storage::Compression::kNone;
    options.sync = arbor::storage::SyncMode::kNone;
    bench.store = or_die(arbor::storage::Store::open(bench.dir, options), "opening the store");
    bench.tree = or_die(
        SmtTree::create(*bench.store, "bytes", with_page_levels(page_levels), backend()), "create");
    for (std::int64_t done = 0; done < leaves; done += 200000) {
      std::vector<SmtOp> ops;
      for (std::int64_t i = done; i < std::min(leaves, done + 200000); ++i) {
        ops.push_back(SmtOp::put(random_fr(bench.rng), random_fr(bench.rng)));
      }
      or_die(bench.tree->apply(ops), "apply");
    }
    // One version holds the state: drop the history the batches made, then compact. (A prune
    // keeps what the oldest version's own commit superseded, so that version is an empty one.)
    or_die(bench.tree->apply(std::vector<SmtOp>{}), "apply");
    const std::uint64_t head = or_die(bench.store->tree_info("bytes"), "info").head_version;
    or_die(bench.store->prune("bytes", head, /*compact=*/true), "prune");
    const arbor::storage::StoreStats stats = or_die(bench.store->stats(), "stats");
    double nodes = 0, values = 0, total = 0;
    for (const auto& family : stats.families) {
      total += static_cast<double>(family.sst_bytes);
      if (family.name == "nodes") nodes = static_cast<double>(family.sst_bytes);
      if (family.name == "values") values = static_cast<double>(family.sst_bytes);
    }
    const double keys = static_cast<double>(leaves);
    state.counters["disk_bytes_per_key"] = total / keys;
    state.counters["node_bytes_per_key"] = nodes / keys;
    state.counters["value_bytes_per_key"] = values / keys;
    // The user's data is 64 bytes a key (key and value, 32 each).
    state.counters["disk_per_user_byte"] = total / (keys * 64);
    state.counters["nodes_over_values"] = values > 0 ? nodes / values : 0;
  }
}

void BM_SmtStorageBytes(benchmark::State& state) {
  storage_bytes(state, arbor::smt::kDefaultPageLevels);
}
// Third argument: the page height (1: one node per record, as store format 2).
void BM_SmtStorageBytesPaged(benchmark::State& state) {
  storage_bytes(state, static_cast<int>(state.range(2)));
}

}  // namespace

// Batch sizes 1 .. 10^6 into a 10^6-leaf tree, and 1 .. 10^5 into 10^7 and 10^8 leaves (loads of
// about a minute and ten here, so run them on request: --benchmark_filter=/10000000/ or
// /100000000/).
void apply_args(benchmark::internal::Benchmark* b, std::int64_t leaves, std::int64_t batch,
                int iterations) {
  b->Args({leaves, batch})->Iterations(iterations)->Unit(benchmark::kMillisecond)->UseRealTime();
}
BENCHMARK(BM_SmtApply)->Apply([](auto* b) { apply_args(b, 1000000, 1, 200); });
BENCHMARK(BM_SmtApply)->Apply([](auto* b) { apply_args(b, 1000000, 1000, 10); });
BENCHMARK(BM_SmtApply)->Apply([](auto* b) { apply_args(b, 1000000, 100000, 3); });
BENCHMARK(BM_SmtApply)->Apply([](auto* b) { apply_args(b, 1000000, 1000000, 1); });
BENCHMARK(BM_SmtApply)->Apply([](auto* b) { apply_args(b, 10000000, 1, 100); });
BENCHMARK(BM_SmtApply)->Apply([](auto* b) { apply_args(b, 10000000, 1000, 5); });
BENCHMARK(BM_SmtApply)->Apply([](auto* b) { apply_args(b, 10000000, 100000, 1); });
// 10^8 leaves: a load of ~10 minutes, ~8 GB of memory and ~35 GB of disk at its peak here.
BENCHMARK(BM_SmtApply)->Apply([](auto* b) { apply_args(b, 100000000, 1, 100); });
BENCHMARK(BM_SmtApply)->Apply([](auto* b) { apply_args(b, 100000000, 1000, 5); });
BENCHMARK(BM_SmtApply)->Apply([](auto* b) { apply_args(b, 100000000, 100000, 1); });
BENCHMARK(BM_SmtProve)->Arg(1000000)->Arg(10000000)->Arg(100000000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SmtVerify)->Arg(1000000)->Arg(10000000)->Arg(100000000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SmtMultiProofSize)
    ->Args({1000000, 16})
    ->Args({1000000, 256})
    ->Iterations(20)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SmtStorageBytes)
    ->Args({1000000, 0})
    ->Args({1000000, 1})
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();
// Paging against one node per record, on a 2*10^5-leaf tree (built in seconds).
// Page heights against one node per record (/1), on a 2*10^5-leaf tree (built in seconds): a
// block's worth of single writes (1, 32) and a larger batch.
void paged_args(benchmark::internal::Benchmark* b, std::int64_t batch, int iterations) {
  for (int levels : {1, 3, 4, 6}) b->Args({200000, batch, levels});
  b->Iterations(iterations)->Unit(benchmark::kMillisecond)->UseRealTime();
}
BENCHMARK(BM_SmtApplyPaged)->Apply([](auto* b) { paged_args(b, 1, 300); });
BENCHMARK(BM_SmtApplyPaged)->Apply([](auto* b) { paged_args(b, 32, 100); });
BENCHMARK(BM_SmtApplyPaged)->Apply([](auto* b) { paged_args(b, 1000, 20); });
BENCHMARK(BM_SmtStorageBytesPaged)
    ->ArgsProduct({{200000}, {0, 1}, {1, 3, 4, 6}})
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();
BENCHMARK(BM_SmtBulkLoad)
    ->Arg(100000)
    ->Arg(1000000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_SmtBuildByBatches)
    ->Args({100000, 10000})
    ->Args({100000, 100000})
    ->Args({1000000, 10000})
    ->Args({1000000, 1000000})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_SmtWorkloadFromFile)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  trees().clear();
  return 0;
}
