// The floor every hot figure is read against: one MULX/ADX Montgomery product
// (kernels/field/mont_x86.hpp) of the field the benchmark works in. Throughput, with eight
// independent products in flight as a hash round or point addition has; the latency of one
// dependent chain is reported beside it. Registered in each benchmark binary that quotes ratios,
// so the floor and the figure come from the same run (bench/RESULTS.md divides the two).
#pragma once

#include <cstdint>

#include "benchmark/benchmark.h"
#include "kernels/field/cpu_features.hpp"
#include "kernels/field/mont_x86.hpp"

namespace arbor::bench {

template <class F>
void BM_MulxMulReference(benchmark::State& state, F b) {
#if defined(ARBOR_FIELD_HAVE_X86_ASM)
  if (!field::cpu_features().has_adx_path()) {
    state.SkipWithError("this CPU has no BMI2/ADX: no MULX reference");
    return;
  }
  constexpr int kLanes = 8;
  F acc[kLanes];
  for (int i = 0; i < kLanes; ++i) acc[i] = F{{static_cast<std::uint64_t>(i + 3), 0, 0, 0}};
  for (auto _ : state) {
    for (int i = 0; i < kLanes; ++i) acc[i] = field::x86::mul_adx(acc[i], b);
    benchmark::DoNotOptimize(acc);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * kLanes);
  state.counters["ns_per_mul"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kLanes / 1e9,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
#else
  (void)b;
  state.SkipWithError("not an x86-64 build: no MULX reference");
#endif
}

// One dependent chain: what a single product costs when nothing else is in flight.
template <class F>
void BM_MulxMulLatency(benchmark::State& state, F b) {
#if defined(ARBOR_FIELD_HAVE_X86_ASM)
  if (!field::cpu_features().has_adx_path()) {
    state.SkipWithError("this CPU has no BMI2/ADX: no MULX reference");
    return;
  }
  F acc{{5, 0, 0, 0}};
  for (auto _ : state) {
    acc = field::x86::mul_adx(acc, b);
    benchmark::DoNotOptimize(acc);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
#else
  (void)b;
  state.SkipWithError("not an x86-64 build: no MULX reference");
#endif
}

}  // namespace arbor::bench
