// The eight-lane map_to_scalar_field (kernels/verkle/map_to_field_lanes.hpp) against the scalar
// one, point by point with its own inversion each: the portable emulation always, AVX-512 IFMA
// where the CPU has it. Batch sizes around the lane and row edges, projective points (Z != 1),
// negated points, the identity, a Y of zero, and batch_map_to_scalar_field's dispatch.
#include "kernels/verkle/map_to_field_lanes.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/field/cpu_features.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::verkle {
namespace {

using field::LaneImpl;

Fr random_scalar(std::mt19937_64& rng) { return testing::random_element<Fr>(rng); }

Fp random_nonzero_fp(std::mt19937_64& rng) {
  while (true) {
    const Fp v = testing::random_element<Fp>(rng);
    if (!v.is_zero()) return v;
  }
}

// Random multiples of the generator, rescaled to a random Z, with the edge cases mixed in: the
// identity, negated points, the generator itself, and (not a curve point, but the batch must
// treat it as the scalar batch does) a Y of zero.
std::vector<Point> test_points(std::mt19937_64& rng, std::size_t n) {
  std::vector<Point> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    Point p;
    switch (rng() % 16) {
      case 0:
        p = Point::identity();
        break;
      case 1:
        p = neg(scalar_mul(Point::generator(), random_scalar(rng)));
        break;
      case 2:
        p = Point::generator();
        break;
      case 3:
        p = Point{random_nonzero_fp(rng), Fp::zero(), Fp::zero(), Fp::one()};
        break;
      default:
        p = scalar_mul(Point::generator(), random_scalar(rng));
        break;
    }
    const Fp z = random_nonzero_fp(rng);
    out.push_back(Point{mul(p.X, z), mul(p.Y, z), mul(p.T, z), mul(p.Z, z)});
  }
  return out;
}

void expect_lanes_match_scalar(LaneImpl impl, const char* seed_name) {
  std::mt19937_64 rng = testing::seeded_rng(seed_name);
  for (const std::size_t n : {0, 1, 5, 7, 8, 9, 16, 31, 32, 33, 64, 100, 257, 1024}) {
    const std::vector<Point> points = test_points(rng, n);
    std::vector<Fr> got(n, Fr::one());
    batch_map_to_scalar_field_lanes(points, got, impl);
    for (std::size_t i = 0; i < n; ++i) {
      const Fr expected = map_to_scalar_field(points[i]);  // 0 where Y = 0 (1/0 is 0)
      ASSERT_EQ(got[i], expected) << field::lane_impl_name(impl) << ": point " << i << " of " << n;
    }
  }
}

TEST(MapToFieldLanes, EmulatedLanesEqualTheScalarMap) {
  expect_lanes_match_scalar(LaneImpl::kEmulated, "MapToFieldLanes.Emulated");
}

TEST(MapToFieldLanes, Avx512LanesEqualTheScalarMap) {
  if (!field::cpu_features().has_ifma_path()) GTEST_SKIP() << testing::kNoIfmaSkip;
  expect_lanes_match_scalar(LaneImpl::kAvx512, "MapToFieldLanes.Avx512");
}

TEST(MapToFieldLanes, BatchMapPicksTheLanesWhereTheCpuHasThem) {
  // ARBOR_FIELD_PATHS may narrow the choice (the portable.* runs); otherwise IFMA must be used
  // wherever the CPU has it.
  const char* env = std::getenv("ARBOR_FIELD_PATHS");
  if (env == nullptr || std::string(env) == "auto") {
#if defined(ARBOR_FIELD_NO_AUTO_LANES)
    EXPECT_FALSE(field::field_paths().ifma);  // the sanitizer tree (CMakeLists.txt)
#else
    EXPECT_EQ(field::field_paths().ifma, field::cpu_features().has_ifma_path());
#endif
  }
  std::printf("batch_map_to_scalar_field runs on %s from %zu points\n",
              field::field_paths().ifma ? "the AVX-512 IFMA lanes" : "the scalar batch",
              kMapToFieldLanesMin);
  std::mt19937_64 rng = testing::seeded_rng("MapToFieldLanes.Dispatch");
  for (const std::size_t n : {kMapToFieldLanesMin - 1, kMapToFieldLanesMin, std::size_t{300}}) {
    const std::vector<Point> points = test_points(rng, n);
    const std::vector<Fr> got = batch_map_to_scalar_field(points);
    ASSERT_EQ(got.size(), n);
    for (std::size_t i = 0; i < n; ++i) {
      const Fr expected = map_to_scalar_field(points[i]);  // 0 where Y = 0 (1/0 is 0)
      ASSERT_EQ(got[i], expected) << "point " << i << " of " << n;
    }
  }
}

}  // namespace
}  // namespace arbor::verkle
