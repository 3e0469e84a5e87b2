// Poseidon throughput: one core per hash (t = 3, 5 and the other widths), all cores in bulk, and
// the GPU for batches of 2^10..2^24 including transfers (skipped without a device).
// Inputs are pseudo-random field elements from a fixed seed, so runs are comparable.
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "bench/field_floor.hpp"
#include "benchmark/benchmark.h"
#include "host/backend/compute_backend.hpp"
#include "kernels/field/bn254_fr_text.hpp"
#include "kernels/poseidon/poseidon_hash.hpp"
#include "kernels/poseidon/poseidon_params.hpp"
#include "nlohmann/json.hpp"

namespace {

using arbor::bench::BM_MulxMulLatency;
using arbor::bench::BM_MulxMulReference;
using arbor::field::Fr;

std::vector<Fr> pseudo_random_inputs(std::size_t count) {
  std::mt19937_64 rng(20261121);
  std::vector<Fr> out(count);
  for (Fr& x : out) {
    const std::uint64_t limbs[4] = {rng(), rng(), rng(), rng() & ((std::uint64_t{1} << 61) - 1)};
    x = arbor::field::from_canonical_limbs(limbs);  // < 2^253 < p
  }
  return out;
}

// Wall nanoseconds per item (an inverted rate is seconds per item, hence the 1e9).
benchmark::Counter ns_per_item(double items) {
  return benchmark::Counter(items / 1e9, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// One hash at a time on one thread: the latency a tree pays per node on the CPU path, with the
// arithmetic policy A (the fastest the CPU runs, as the trees use, or the portable reference).
template <class A>
void single_hashes(benchmark::State& state) {
  const int t = static_cast<int>(state.range(0));
  const std::size_t sets = 1024;
  const std::vector<Fr> inputs = pseudo_random_inputs(sets * static_cast<std::size_t>(t - 1));
  const arbor::poseidon::PoseidonTables tables = arbor::poseidon::poseidon_params(t).tables();
  std::size_t i = 0;
  Fr sink = Fr::zero();
  for (auto _ : state) {
    arbor::poseidon::dispatch_width(t, [&]<int T>() {
      Fr s[T];
      s[0] = Fr::zero();
      for (int k = 1; k < T; ++k) s[k] = inputs[i * (T - 1) + k - 1];
      arbor::poseidon::permute<T, A>(s, tables);
      sink = arbor::field::add(sink, s[0]);
    });
    i = (i + 1) % sets;
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["ns_per_hash"] = ns_per_item(static_cast<double>(state.iterations()));
  state.SetLabel(A::kName);
}

void BM_PoseidonSingle(benchmark::State& state) {
  arbor::field::with_fastest_arith([&]<class A>() { single_hashes<A>(state); });
}
BENCHMARK(BM_PoseidonSingle)->DenseRange(2, 17)->Unit(benchmark::kMicrosecond);

// The portable reference path, for the ratio.
void BM_PoseidonSinglePortable(benchmark::State& state) {
  single_hashes<arbor::field::PortableArith>(state);
}
BENCHMARK(BM_PoseidonSinglePortable)->Arg(3)->Arg(4)->Unit(benchmark::kMicrosecond);

// The floor: a t=3 hash is 600 products (8 full rounds of 3 S-boxes and a 3x3 mix, 57 partial
// rounds of one S-box and a sparse mix), so ns_per_hash / (600 * ns_per_mul) reads against it.
BENCHMARK_CAPTURE(BM_MulxMulReference, bn254, arbor::field::from_u64(7));
BENCHMARK_CAPTURE(BM_MulxMulLatency, bn254, arbor::field::from_u64(7));

// The peer comparison's input: the sets in $ARBOR_POSEIDON_INPUTS (JSON lines {"inputs": [...]},
// all of one width, as bench/poseidon_vs_circomlibjs.sh writes them for circomlibjs too). Empty,
// with the state skipped and why, when there are none.
std::vector<std::vector<Fr>> input_sets_from_file(benchmark::State& state) {
  const char* path = std::getenv("ARBOR_POSEIDON_INPUTS");
  if (path == nullptr) {
    state.SkipWithError("set ARBOR_POSEIDON_INPUTS to a JSON-lines file of input sets");
    return {};
  }
  std::vector<std::vector<Fr>> sets;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    std::vector<Fr> set;
    const nlohmann::json parsed = nlohmann::json::parse(line);
    for (const auto& v : parsed.at("inputs")) {
      absl::StatusOr<Fr> x = arbor::field::parse_fr(v.get<std::string>());
      if (!x.ok()) {
        state.SkipWithError(std::string(x.status().message()).c_str());
        return {};
      }
      set.push_back(*x);
    }
    sets.push_back(std::move(set));
  }
  if (sets.empty()) state.SkipWithError("no input sets in $ARBOR_POSEIDON_INPUTS");
  return sets;
}

// The input sets hashed one at a time on one thread.
void BM_PoseidonSingleFromFile(benchmark::State& state) {
  const std::vector<std::vector<Fr>> sets = input_sets_from_file(state);
  if (sets.empty()) return;
  Fr sink = Fr::zero();
  for (auto _ : state) {
    for (const std::vector<Fr>& set : sets)
      sink = arbor::field::add(sink, *arbor::poseidon::hash(set));
  }
  benchmark::DoNotOptimize(sink);
  const auto hashes = static_cast<double>(state.iterations() * sets.size());
  state.SetItemsProcessed(static_cast<std::int64_t>(hashes));
  state.counters["ns_per_hash"] = ns_per_item(hashes);
}
BENCHMARK(BM_PoseidonSingleFromFile)->Unit(benchmark::kMillisecond);

// The same sets as one bulk job on a one-thread CPU backend: what `arbor hash poseidon --batch`
// runs after parsing (eight hashes side by side where the CPU has AVX-512 IFMA).
void BM_PoseidonBatchFromFile(benchmark::State& state) {
  const std::vector<std::vector<Fr>> sets = input_sets_from_file(state);
  if (sets.empty()) return;
  std::vector<Fr> inputs;
  for (const std::vector<Fr>& set : sets) inputs.insert(inputs.end(), set.begin(), set.end());
  std::vector<Fr> outputs(sets.size());
  const std::unique_ptr<arbor::host::ComputeBackend> cpu = arbor::host::make_cpu_backend(1);
  const int arity = static_cast<int>(sets[0].size());
  for (auto _ : state) {
    if (absl::Status s = cpu->poseidon_hash_many(arity, inputs, outputs); !s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
      return;
    }
    benchmark::ClobberMemory();
  }
  const auto hashes = static_cast<double>(state.iterations() * sets.size());
  state.SetItemsProcessed(static_cast<std::int64_t>(hashes));
  state.counters["ns_per_hash"] = ns_per_item(hashes);
  state.SetLabel(cpu->description());
}
BENCHMARK(BM_PoseidonBatchFromFile)->Unit(benchmark::kMillisecond);

void bulk(benchmark::State& state, arbor::host::ComputeBackend& backend, int arity) {
  const auto count = static_cast<std::size_t>(state.range(0));
  const std::vector<Fr> inputs = pseudo_random_inputs(count * static_cast<std::size_t>(arity));
  std::vector<Fr> outputs(count);
  for (auto _ : state) {
    if (absl::Status s = backend.poseidon_hash_many(arity, inputs, outputs); !s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
      return;
    }
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * count));
  state.SetLabel(backend.description());
}

// All cores, t = 3 (the SMT's node hash) and t = 4 (its leaf hash).
void BM_PoseidonCpuBulk(benchmark::State& state) {
  static std::unique_ptr<arbor::host::ComputeBackend> cpu = arbor::host::make_cpu_backend();
  bulk(state, *cpu, static_cast<int>(state.range(1)));
}
BENCHMARK(BM_PoseidonCpuBulk)
    ->ArgsProduct({{1 << 14, 1 << 17}, {2, 3}})
    ->ArgNames({"batch", "arity"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The GPU with transfers from and to pageable host memory, as the trees call it.
void BM_PoseidonCudaBulk(benchmark::State& state) {
  static absl::StatusOr<std::unique_ptr<arbor::host::ComputeBackend>> cuda =
      arbor::host::make_cuda_backend();
  if (!cuda.ok()) {
    state.SkipWithError(("no GPU: " + std::string(cuda.status().message())).c_str());
    return;
  }
  bulk(state, **cuda, static_cast<int>(state.range(1)));
}
BENCHMARK(BM_PoseidonCudaBulk)
    ->ArgsProduct({benchmark::CreateRange(1 << 10, 1 << 24, 4), {2, 3}})
    ->ArgNames({"batch", "arity"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
