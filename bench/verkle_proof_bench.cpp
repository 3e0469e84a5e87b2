// Verkle proof cost: execution witnesses for key sets that need ~200 (one block's witness), 2 000
// and 16 000 openings in 10^5- and 10^6-key trees, plus a single opening: the whole prove (store
// reads, the walk, the multiproof), the multiproof alone, and stateless verification, with proof
// sizes as counters. With ARBOR_PEER_DIR set, every workload's openings (for rust-verkle's
// createProof/verifyProof) and witness (for verifyExecutionWitnessPreState) are written there, so
// bench/verkle_proof_vs_wasm.sh can run the peer on the same openings in the same run. Trees live
// under $ARBOR_BENCH_DIR (default /tmp); ARBOR_BENCH_BACKEND picks cpu|cuda|auto.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "bench/bench_support.hpp"
#include "bench/verkle_bench_tree.hpp"
#include "benchmark/benchmark.h"
#include "host/verkle/verkle_stateless.hpp"
#include "host/verkle/verkle_tree.hpp"
#include "kernels/verkle/pedersen.hpp"
#include "nlohmann/json.hpp"

namespace {

using namespace arbor::verkle;
using arbor::bench::or_die;

arbor::host::ComputeBackend& backend() { return arbor::bench::bench_backend(); }

std::string hex(std::span<const std::uint8_t> bytes) {
  return absl::BytesToHexString(std::string(as_view(bytes)));
}

using BenchTree = arbor::bench::VerkleBenchTree;
using arbor::bench::random_bytes32;

BenchTree& tree_of(std::int64_t keys) { return arbor::bench::verkle_bench_tree(keys, backend()); }

// Key sets as a block touches them: 3 of 4 present keys, the rest absent (new stems or
// suffixes), grown until the proof needs about `target` openings.
struct Workload {
  std::vector<Key32> keys;
  VerkleTree::ProofInputs inputs;
  VerkleWitness witness;
};

std::map<std::pair<std::int64_t, std::int64_t>, Workload>& workloads() {
  static std::map<std::pair<std::int64_t, std::int64_t>, Workload> instance;
  return instance;
}

void write_peer_files(std::int64_t tree_keys, std::int64_t target, const Workload& w,
                      const RootCommitment& root) {
  const char* dir = std::getenv("ARBOR_PEER_DIR");
  if (dir == nullptr || *dir == '\0') return;
  nlohmann::json polys = nlohmann::json::array(), openings = nlohmann::json::array();
  for (const ProverPolynomial& p : w.inputs.polys) {
    nlohmann::json entries = nlohmann::json::array();
    for (const SparseTerm& t : p.f) entries.push_back({t.index, hex(to_bytes_le(t.scalar))});
    polys.push_back({{"commitment", hex(p.commitment)}, {"entries", entries}});
  }
  for (const ProverOpening& o : w.inputs.openings)
    openings.push_back({{"poly", o.poly}, {"z", o.z}});
  const std::string name = absl::StrCat(dir, "/", tree_keys, "-", target);
  std::ofstream(name + "-openings.json")
      << nlohmann::json{{"polys", polys}, {"openings", openings}, {"repeat", 3}}.dump();
  std::ofstream(name + "-witness.json")
      << nlohmann::json{{"cases",
                         {{{"root", hex(root)},
                           {"witness", nlohmann::json::parse(witness_to_json(w.witness))}}}}}
             .dump();
}

Workload& workload_of(std::int64_t tree_keys, std::int64_t target) {
  auto it = workloads().find({tree_keys, target});
  if (it != workloads().end()) return it->second;
  BenchTree& t = tree_of(tree_keys);
  Workload w;
  std::size_t n = std::max<std::size_t>(1, static_cast<std::size_t>(target / 6));
  for (int attempt = 0; attempt < 6; ++attempt) {
    w.keys.clear();
    std::mt19937_64 rng(static_cast<std::uint64_t>(tree_keys * 131 + target));
    for (std::size_t i = 0; i < n; ++i) {
      Key32 k = t.keys[rng() % t.keys.size()];
      if (i % 4 == 3) k = rng() % 2 ? random_bytes32(rng) : (k[31] ^= 0x55, k);
      w.keys.push_back(k);
    }
    w.inputs = or_die(t.tree->proof_inputs(w.keys), "proof inputs");
    const double got = static_cast<double>(w.inputs.openings.size());
    if (std::abs(got - static_cast<double>(target)) <= 0.05 * static_cast<double>(target)) break;
    n = std::max<std::size_t>(
        1, static_cast<std::size_t>(std::llround(static_cast<double>(n) * target / got)));
  }
  w.witness = or_die(t.tree->prove(w.keys), "prove");
  write_peer_files(tree_keys, target, w, t.root);
  return workloads().emplace(std::make_pair(tree_keys, target), std::move(w)).first->second;
}

void set_counters(benchmark::State& state, const Workload& w) {
  state.counters["openings"] = static_cast<double>(w.inputs.openings.size());
  state.counters["keys"] = static_cast<double>(w.inputs.keys.size());
  state.counters["stems"] = static_cast<double>(w.witness.state_diff.size());
  state.counters["commitments"] = static_cast<double>(w.witness.commitments_by_path.size());
  // The proof proper (go-verkle's count: 576 + 32 commitments + 31 other stems + 1 per stem)
  // and the whole witness in both encodings.
  state.counters["proof_bytes"] =
      static_cast<double>(kMultiproofBytes + 32 * w.witness.commitments_by_path.size() +
                          31 * w.witness.other_stems.size() + w.witness.extension_statuses.size());
  state.counters["witness_binary_bytes"] = static_cast<double>(witness_to_binary(w.witness).size());
  state.counters["witness_json_bytes"] = static_cast<double>(witness_to_json(w.witness).size());
}

// The whole prove: store reads, walk, multiproof.
void BM_VerkleProve(benchmark::State& state) {
  const Workload& w = workload_of(state.range(0), state.range(1));
  BenchTree& t = tree_of(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(or_die(t.tree->prove(w.keys), "prove"));
  set_counters(state, w);
}

// The multiproof alone on the same openings (what rust-verkle's createProof does).
void BM_VerkleMultiproofProve(benchmark::State& state) {
  const Workload& w = workload_of(state.range(0), state.range(1));
  for (auto _ : state) {
    Transcript transcript(kTreeTranscriptLabel);
    benchmark::DoNotOptimize(or_die(
        multiproof_prove(backend(), transcript, w.inputs.polys, w.inputs.openings), "multiproof"));
  }
  set_counters(state, w);
}

// Stateless verification of the witness (what verifyExecutionWitnessPreState does).
void BM_VerkleVerify(benchmark::State& state) {
  const Workload& w = workload_of(state.range(0), state.range(1));
  const RootCommitment& root = tree_of(state.range(0)).root;
  for (auto _ : state)
    benchmark::DoNotOptimize(or_die(verify_witness(backend(), root, w.witness), "verify"));
  set_counters(state, w);
}

// One opening of one dense polynomial (rust-verkle's README anchor: prove 1 opening).
void BM_VerkleMultiproofOneOpening(benchmark::State& state) {
  std::mt19937_64 rng(7);
  std::vector<ProverPolynomial> polys(1);
  for (std::uint32_t i = 0; i < kDomainSize; ++i) {
    std::uint64_t limbs[4] = {rng(), rng(), rng(), rng()};
    polys[0].f.push_back({i, from_limbs_mod_order<BandersnatchFrParams>(limbs)});
  }
  polys[0].commitment = serialize(*default_pedersen_tables().commit_sparse(polys[0].f));
  const std::vector<ProverOpening> openings = {{0, 17}};
  for (auto _ : state) {
    Transcript transcript(kTreeTranscriptLabel);
    benchmark::DoNotOptimize(
        or_die(multiproof_prove(backend(), transcript, polys, openings), "multiproof"));
  }
}

}  // namespace

BENCHMARK(BM_VerkleMultiproofOneOpening)->Unit(benchmark::kMillisecond)->UseRealTime();

int main(int argc, char** argv) {
  (void)default_pedersen_tables();  // built once, before any timing
  for (std::int64_t tree_keys : {100000, 1000000}) {
    for (std::int64_t target : {200, 2000, 16000}) {
      const int iterations = target >= 16000 ? 3 : 10;
      using Fn = void (*)(benchmark::State&);
      const std::pair<const char*, Fn> benches[] = {
          {"BM_VerkleProve", BM_VerkleProve},
          {"BM_VerkleMultiproofProve", BM_VerkleMultiproofProve},
          {"BM_VerkleVerify", BM_VerkleVerify}};
      for (const auto& [name, fn] : benches) {
        benchmark::RegisterBenchmark(name, fn)
            ->Args({tree_keys, target})
            ->Iterations(iterations)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
      }
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  workloads().clear();
  arbor::bench::verkle_bench_trees().clear();
  return 0;
}
