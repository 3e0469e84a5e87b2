// Verkle math on one core: field products, fixed-base multiplication with the 8-bit CRS tables,
// a dense 256-scalar Pedersen commitment, batched map-to-field, point decoding and tree keys.
// Targets (issue): one fixed-base multiplication <= 5 us (go-ipa ~7 us with 8-bit tables), a
// 256-scalar commit <= 1 ms. Inputs come from a fixed seed, so runs are comparable.
#include <array>
#include <cstdint>
#include <random>
#include <vector>

#include "bench/field_floor.hpp"
#include "benchmark/benchmark.h"
#include "kernels/field/arith_dispatch.hpp"
#include "kernels/field/cpu_features.hpp"
#include "kernels/verkle/banderwagon.hpp"
#include "kernels/verkle/crs.hpp"
#include "kernels/verkle/pedersen.hpp"

namespace {

using arbor::bench::BM_MulxMulReference;
using arbor::verkle::BandersnatchFrParams;
using arbor::verkle::Bls12381FrParams;
using arbor::verkle::Fp;
using arbor::verkle::Fr;
using arbor::verkle::Point;

std::mt19937_64& rng() {
  static std::mt19937_64 r(20261121);
  return r;
}

Fr random_scalar() {
  while (true) {
    std::uint64_t x[4] = {rng()(), rng()(), rng()(), rng()() >> 3};
    if (arbor::verkle::mont_detail::less_than_modulus<BandersnatchFrParams>(x)) {
      return arbor::verkle::from_canonical_limbs<BandersnatchFrParams>(x);
    }
  }
}

std::vector<Fr> random_scalars(std::size_t n) {
  std::vector<Fr> out(n);
  for (Fr& s : out) s = random_scalar();
  return out;
}

std::vector<Point> random_points(std::size_t n) {
  std::vector<Point> out(n);
  for (Point& p : out) p = arbor::verkle::scalar_mul(Point::generator(), random_scalar());
  return out;
}

// Microseconds per item (an inverted rate is seconds per item, hence the 1e6).
benchmark::Counter us_per_item(double items) {
  return benchmark::Counter(items / 1e6, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// One dependent chain of base-field products on the path the Verkle code uses (the fastest the CPU
// runs), and on the portable reference.
template <class A>
void fp_mul_chain(benchmark::State& state) {
  Fp a = arbor::verkle::from_u64<Bls12381FrParams>(3);
  const Fp b = arbor::verkle::inverse(arbor::verkle::from_u64<Bls12381FrParams>(7));
  for (auto _ : state) {
    a = A::mul(a, b);
    benchmark::DoNotOptimize(a);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetLabel(A::kName);
}
void BM_FpMul(benchmark::State& state) {
  arbor::field::with_fastest_arith([&]<class A>() { fp_mul_chain<A>(state); });
}
BENCHMARK(BM_FpMul);
void BM_FpMulPortable(benchmark::State& state) { fp_mul_chain<arbor::field::PortableArith>(state); }
BENCHMARK(BM_FpMulPortable);

// The floor: a fixed-base multiplication with 8-bit windows is 32 mixed additions of 8 products
// (256 products), a 256-scalar commit 256 of those.
BENCHMARK_CAPTURE(BM_MulxMulReference, bls12_381_fr, arbor::verkle::from_u64<Bls12381FrParams>(7));

// s * G_i from the 8-bit tables: 32 mixed additions, no doublings. Arg 0: always G_0 (its 384 KiB
// table stays in cache); arg 1: the generator changes every call (the 96 MiB of tables come from
// memory, as in a tree update).
void BM_FixedBaseMul(benchmark::State& state) {
  const arbor::verkle::PedersenTables& tables = arbor::verkle::default_pedersen_tables();
  const std::vector<Fr> scalars = random_scalars(1024);
  const bool spread = state.range(0) != 0;
  std::size_t i = 0;
  for (auto _ : state) {
    Point p = tables.mul(spread ? (i * 97) % 256 : 0, scalars[i % scalars.size()]);
    benchmark::DoNotOptimize(p);
    ++i;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["us_per_mul"] = us_per_item(static_cast<double>(state.iterations()));
}
BENCHMARK(BM_FixedBaseMul)
    ->ArgName("all_generators")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMicrosecond);

// Many independent fixed-base multiplications, as a tree level's update runs them: 1024 deltas
// on distinct targets. many:0: one at a time (PedersenTables::update, the scalar path); many:1:
// PedersenTables::update_many, eight side by side on the AVX-512 IFMA lanes where the CPU has
// them (the label says which). Same points either way. all_generators as BM_FixedBaseMul: 0, G_0
// only (tables in cache); 1, generators spread over the 96 MiB of tables.
void BM_FixedBaseMulMany(benchmark::State& state) {
  const arbor::verkle::PedersenTables& tables = arbor::verkle::default_pedersen_tables();
  const bool many = state.range(0) != 0;
  const bool spread = state.range(1) != 0;
  constexpr std::size_t kCount = 1024;
  const std::vector<Fr> scalars = random_scalars(kCount);
  std::vector<arbor::verkle::CommitmentDelta> deltas(kCount);
  for (std::size_t i = 0; i < kCount; ++i) {
    deltas[i] = {static_cast<std::uint32_t>(i),
                 spread ? static_cast<std::uint32_t>((i * 97) % 256) : 0, scalars[i]};
  }
  if (many) (void)tables.lane_entries();  // converted once, outside the timing
  std::vector<Point> commitments(kCount, Point::identity());
  for (auto _ : state) {
    if (many) {
      tables.update_many(commitments, deltas);
    } else {
      for (const arbor::verkle::CommitmentDelta& d : deltas) {
        commitments[d.target] = tables.update(commitments[d.target], d.generator, d.scalar);
      }
    }
    benchmark::ClobberMemory();
  }
  const auto muls = static_cast<double>(state.iterations() * kCount);
  state.SetItemsProcessed(static_cast<std::int64_t>(muls));
  state.counters["us_per_mul"] = us_per_item(muls);
  state.SetLabel(!many                              ? "scalar"
                 : arbor::field::field_paths().ifma ? "ifma lanes"
                                                    : "scalar (no IFMA)");
}
BENCHMARK(BM_FixedBaseMulMany)
    ->ArgsProduct({{0, 1}, {0, 1}})
    ->ArgNames({"many", "all_generators"})
    ->Unit(benchmark::kMillisecond);

// The same product by double-and-add, for the ratio.
void BM_VariableBaseMul(benchmark::State& state) {
  const std::vector<Fr> scalars = random_scalars(64);
  const std::vector<Point>& gens = arbor::verkle::crs();
  std::size_t i = 0;
  for (auto _ : state) {
    Point p = arbor::verkle::scalar_mul(gens[i % 256], scalars[i % scalars.size()]);
    benchmark::DoNotOptimize(p);
    ++i;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_VariableBaseMul)->Unit(benchmark::kMicrosecond);

// A dense commitment to 256 random scalars (an internal node rebuilt from scratch).
void BM_Commit256(benchmark::State& state) {
  const arbor::verkle::PedersenTables& tables = arbor::verkle::default_pedersen_tables();
  const std::vector<Fr> scalars = random_scalars(256);
  for (auto _ : state) {
    absl::StatusOr<Point> c = tables.commit(scalars);
    benchmark::DoNotOptimize(c);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_Commit256)->Unit(benchmark::kMicrosecond);

// map_to_scalar_field for a level of commitments: one inversion for the batch, on the fastest
// path (the IFMA lanes where the CPU has them).
void BM_BatchMapToField(benchmark::State& state) {
  const std::vector<Point> points = random_points(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    std::vector<Fr> out = arbor::verkle::batch_map_to_scalar_field(points);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
  state.counters["us_per_point"] =
      us_per_item(static_cast<double>(state.iterations() * state.range(0)));
}
BENCHMARK(BM_BatchMapToField)->Arg(1024)->Unit(benchmark::kMicrosecond);

// The scalar batch (one inversion, the fastest scalar arithmetic) that the lanes replace on
// AVX-512 IFMA, for the ratio.
void BM_BatchMapToFieldScalar(benchmark::State& state) {
  const std::vector<Point> points = random_points(static_cast<std::size_t>(state.range(0)));
  std::vector<Fr> out(points.size());
  std::vector<arbor::verkle::Fp> scratch(2 * points.size());
  for (auto _ : state) {
    arbor::field::with_fastest_arith([&]<class Arith>() {
      arbor::verkle::batch_map_to_scalar_field<Arith>(points.data(), points.size(), out.data(),
                                                      scratch.data());
    });
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
  state.counters["us_per_point"] =
      us_per_item(static_cast<double>(state.iterations() * state.range(0)));
}
BENCHMARK(BM_BatchMapToFieldScalar)->Arg(1024)->Unit(benchmark::kMicrosecond);

// The unbatched map (one inversion each), for the ratio.
void BM_MapToFieldSingle(benchmark::State& state) {
  const std::vector<Point> points = random_points(64);
  std::size_t i = 0;
  for (auto _ : state) {
    Fr f = arbor::verkle::map_to_scalar_field(points[i++ % points.size()]);
    benchmark::DoNotOptimize(f);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_MapToFieldSingle)->Unit(benchmark::kMicrosecond);

// Decoding a compressed point: untrusted (with the subgroup test) and the store's trusted path.
void BM_Deserialize(benchmark::State& state) {
  const bool trusted = state.range(0) != 0;
  const std::vector<Point> points = random_points(64);
  const std::vector<std::array<std::uint8_t, 32>> encoded = arbor::verkle::batch_serialize(points);
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& e = encoded[i++ % encoded.size()];
    absl::StatusOr<Point> p =
        trusted ? arbor::verkle::deserialize_trusted(e) : arbor::verkle::deserialize(e);
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_Deserialize)->ArgName("trusted")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_GetTreeKey(benchmark::State& state) {
  arbor::verkle::default_pedersen_tables();  // built outside the timing
  std::array<std::uint8_t, 32> address{}, index{};
  for (auto& b : address) b = static_cast<std::uint8_t>(rng()());
  std::uint8_t sub = 0;
  for (auto _ : state) {
    index[0] = sub;
    std::array<std::uint8_t, 32> key = arbor::verkle::get_tree_key(address, index, sub++);
    benchmark::DoNotOptimize(key);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_GetTreeKey)->Unit(benchmark::kMicrosecond);

// One-off costs: deriving the CRS and building its 8-bit tables.
void BM_GenerateCrs(benchmark::State& state) {
  for (auto _ : state) {
    std::vector<Point> gens = arbor::verkle::generate_crs(arbor::verkle::kCrsSize);
    benchmark::DoNotOptimize(gens);
  }
}
BENCHMARK(BM_GenerateCrs)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_BuildTables(benchmark::State& state) {
  const std::vector<Point>& gens = arbor::verkle::crs();
  for (auto _ : state) {
    auto t = arbor::verkle::PedersenTables::build(gens, static_cast<int>(state.range(0)));
    benchmark::DoNotOptimize(t);
  }
}
BENCHMARK(BM_BuildTables)
    ->ArgName("window_bits")
    ->Arg(8)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
