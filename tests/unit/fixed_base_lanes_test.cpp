// The eight-lane fixed-base update (kernels/verkle/fixed_base_lanes.hpp) against the scalar path,
// coordinate for coordinate: the portable emulation always, AVX-512 IFMA where the CPU has it.
// Runs of every length (so lanes start, finish and idle at different rounds), edge scalars, every
// window width that the tables allow at test cost, and PedersenTables' dispatch (update_many,
// commit, commit_sparse) on whichever path this machine picks.
#include "kernels/verkle/fixed_base_lanes.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/field/cpu_features.hpp"
#include "kernels/verkle/crs.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::verkle {
namespace {

Fr random_scalar(std::mt19937_64& rng) { return testing::random_element<Fr>(rng); }

// Scalars whose signed digits hit the edges: zero, one, r - 1 (every digit negative), powers of
// two at window boundaries, all-ones windows, and random ones.
Fr edge_scalar(std::mt19937_64& rng) {
  const Fr one = Fr::one();
  switch (rng() % 8) {
    case 0:
      return Fr::zero();
    case 1:
      return one;
    case 2:
      return neg(one);
    case 3: {
      std::uint64_t x[4] = {0, 0, 0, 0};
      const unsigned bit = static_cast<unsigned>(rng() % 252);
      x[bit / 64] = std::uint64_t{1} << (bit % 64);
      return from_canonical_limbs<BandersnatchFrParams>(x);
    }
    case 4: {
      std::uint64_t x[4] = {~std::uint64_t{0}, ~std::uint64_t{0}, ~std::uint64_t{0}, 0};
      return from_canonical_limbs<BandersnatchFrParams>(x);
    }
    default:
      return random_scalar(rng);
  }
}

Point random_point(std::mt19937_64& rng) {
  return scalar_mul(Point::generator(), random_scalar(rng));
}

bool same_coordinates(const Point& a, const Point& b) {
  return a.X == b.X && a.Y == b.Y && a.T == b.T && a.Z == b.Z;
}

struct Batch {
  std::vector<Point> commitments;
  std::vector<CommitmentDelta> deltas;
};

// Runs of 1..max_run deltas, one per target, targets in a shuffled order (adjacency is all the
// lanes need), some targets untouched.
Batch random_batch(std::mt19937_64& rng, std::size_t generators, std::size_t targets,
                   std::size_t max_run) {
  Batch b;
  for (std::size_t i = 0; i < targets; ++i) b.commitments.push_back(random_point(rng));
  std::vector<std::uint32_t> order(targets);
  for (std::size_t i = 0; i < targets; ++i) order[i] = static_cast<std::uint32_t>(i);
  std::shuffle(order.begin(), order.end(), rng);
  for (std::uint32_t target : order) {
    if (rng() % 5 == 0) continue;
    const std::size_t run = 1 + rng() % max_run;
    for (std::size_t k = 0; k < run; ++k) {
      b.deltas.push_back(CommitmentDelta{target, static_cast<std::uint32_t>(rng() % generators),
                                         edge_scalar(rng)});
    }
  }
  return b;
}

// The scalar path, delta by delta.
std::vector<Point> scalar_updates(const PedersenTables& tables, const Batch& b) {
  std::vector<Point> out = b.commitments;
  for (const CommitmentDelta& d : b.deltas)
    out[d.target] = tables.update(out[d.target], d.generator, d.scalar);
  return out;
}

// Whether the lanes keep every run whole (fixed_base_lanes.hpp: runs longer than
// max(4, deltas / kFixedBaseRunsInFlight) are cut), so that the coordinates too are the scalar
// path's.
bool runs_stay_whole(const Batch& b) {
  const std::size_t longest = std::max<std::size_t>(
      4, (b.deltas.size() + kFixedBaseRunsInFlight - 1) / kFixedBaseRunsInFlight);
  for (std::size_t begin = 0; begin < b.deltas.size();) {
    std::size_t end = begin + 1;
    while (end < b.deltas.size() && b.deltas[end].target == b.deltas[begin].target) ++end;
    if (end - begin > longest) return false;
    begin = end;
  }
  return true;
}

// The lanes' points against the scalar path's: coordinate for coordinate where no run was cut,
// as group elements (and their encodings) otherwise. Returns whether some run was cut.
bool expect_batch_matches_scalar(const PedersenTables& tables, LaneImpl impl, const Batch& b,
                                 const std::string& what) {
  const std::vector<Point> expected = scalar_updates(tables, b);
  std::vector<Point> lanes = b.commitments;
  fixed_base_update_lanes(tables, lanes, b.deltas, impl);
  const bool whole = runs_stay_whole(b);
  std::size_t mismatches = 0, first = 0;
  for (std::size_t t = 0; t < lanes.size(); ++t) {
    const bool same = whole ? same_coordinates(lanes[t], expected[t])
                            : is_on_curve(lanes[t]) && lanes[t] == expected[t] &&
                                  serialize(lanes[t]) == serialize(expected[t]);
    if (!same && mismatches++ == 0) first = t;
  }
  EXPECT_EQ(mismatches, 0u) << what << " (" << field::lane_impl_name(impl) << ", "
                            << (whole ? "coordinates" : "runs cut, group elements")
                            << "): " << b.deltas.size() << " deltas, first mismatch at target "
                            << first;
  return !whole;
}

void expect_lanes_match_scalar(const PedersenTables& tables, LaneImpl impl, std::mt19937_64& rng,
                               int batches, std::size_t targets, std::size_t max_run,
                               const std::string& what) {
  for (int i = 0; i < batches; ++i) {
    const Batch b = random_batch(rng, tables.generator_count(), targets, max_run);
    expect_batch_matches_scalar(tables, impl, b, what + ", batch " + std::to_string(i));
  }
}

// A node most of whose children changed: one run far longer than the others, which the lanes
// cut into pieces.
void expect_long_runs_match_scalar(const PedersenTables& tables, LaneImpl impl,
                                   std::mt19937_64& rng) {
  for (std::size_t long_run : {std::size_t{5}, std::size_t{37}, std::size_t{256}}) {
    Batch b = random_batch(rng, tables.generator_count(), 3, 2);
    b.commitments.push_back(random_point(rng));
    const auto target = static_cast<std::uint32_t>(b.commitments.size() - 1);
    for (std::size_t k = 0; k < long_run; ++k) {
      b.deltas.push_back(CommitmentDelta{
          target, static_cast<std::uint32_t>(rng() % tables.generator_count()), edge_scalar(rng)});
    }
    EXPECT_TRUE(
        expect_batch_matches_scalar(tables, impl, b, "a run of " + std::to_string(long_run)))
        << "the run of " << long_run << " was expected to be cut";
  }
}

const PedersenTables& small_tables() {
  static const PedersenTables tables = [] {
    std::vector<Point> gens(crs().begin(), crs().begin() + 6);
    return *PedersenTables::build(gens, PedersenTables::kDefaultWindowBits);
  }();
  return tables;
}

TEST(FixedBaseLanes, LaneEntriesAreTheEntriesInTheLaneRadix) {
  const PedersenTables& t = small_tables();
  const std::span<const PrecomputedPoint> plain = t.entries(), lane = t.lane_entries();
  ASSERT_EQ(plain.size(), lane.size());
  // x * 2^260 = (x * 2^256) * 16: lane entry = 16 * entry, canonical.
  const Fp sixteen = from_u64<Bls12381FrParams>(16);
  for (std::size_t i = 0; i < plain.size(); i += 997) {
    for (int w = 0; w < 4; ++w) {
      // mul(a, 16 * 2^256) is a * 16 as MontField limbs, i.e. the integer x * 2^256 * 16 mod p.
      EXPECT_EQ(lane[i].x.limb[w], mul(plain[i].x, sixteen).limb[w]) << i;
      EXPECT_EQ(lane[i].y.limb[w], mul(plain[i].y, sixteen).limb[w]) << i;
      EXPECT_EQ(lane[i].dxy.limb[w], mul(plain[i].dxy, sixteen).limb[w]) << i;
    }
  }
}

TEST(FixedBaseLanes, EmulatedLanesEqualTheScalarPath) {
  std::mt19937_64 rng = testing::seeded_rng("FixedBaseLanes.Emulated");
  const PedersenTables& t = small_tables();
  // Fewer runs than lanes, about as many, and many; long runs keep some lanes busy while others
  // start new ones.
  expect_lanes_match_scalar(t, LaneImpl::kEmulated, rng, 3, 3, 2, "3 targets");
  expect_lanes_match_scalar(t, LaneImpl::kEmulated, rng, 3, 9, 3, "9 targets");
  expect_lanes_match_scalar(t, LaneImpl::kEmulated, rng, 2, 30, 6, "30 targets");
  expect_long_runs_match_scalar(t, LaneImpl::kEmulated, rng);
}

TEST(FixedBaseLanes, EmulatedLanesEqualTheScalarPathForOtherWindowWidths) {
  std::mt19937_64 rng = testing::seeded_rng("FixedBaseLanes.Widths");
  const std::vector<Point> gens = {Point::generator(), crs()[255]};
  for (int w : {2, 5, 11}) {
    absl::StatusOr<PedersenTables> t = PedersenTables::build(gens, w);
    ASSERT_TRUE(t.ok()) << t.status();
    expect_lanes_match_scalar(*t, LaneImpl::kEmulated, rng, 1, 10, 2, "w=" + std::to_string(w));
  }
}

TEST(FixedBaseLanes, Avx512LanesEqualTheScalarPath) {
  if (!field::cpu_features().has_ifma_path()) GTEST_SKIP() << testing::kNoIfmaSkip;
  std::mt19937_64 rng = testing::seeded_rng("FixedBaseLanes.Avx512");
  const PedersenTables& t = small_tables();
  expect_lanes_match_scalar(t, LaneImpl::kAvx512, rng, 20, 3, 2, "3 targets");
  expect_lanes_match_scalar(t, LaneImpl::kAvx512, rng, 20, 40, 12, "40 targets");
  expect_long_runs_match_scalar(t, LaneImpl::kAvx512, rng);
  const std::vector<Point> gens = {Point::generator(), crs()[255]};
  for (int w : {2, 3, 5, 11}) {
    absl::StatusOr<PedersenTables> tw = PedersenTables::build(gens, w);
    ASSERT_TRUE(tw.ok()) << tw.status();
    expect_lanes_match_scalar(*tw, LaneImpl::kAvx512, rng, 5, 20, 4, "w=" + std::to_string(w));
  }
}

TEST(FixedBaseLanes, TablesPickTheLanesWhereTheCpuHasThem) {
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
  std::printf("PedersenTables::update_many and commit run on %s\n",
              field::field_paths().ifma ? "the AVX-512 IFMA lanes" : "the scalar path");
  std::mt19937_64 rng = testing::seeded_rng("FixedBaseLanes.Dispatch");
  const PedersenTables& t = small_tables();
  for (int i = 0; i < 4; ++i) {
    const Batch b = random_batch(rng, t.generator_count(), 17, 5);
    const std::vector<Point> expected = scalar_updates(t, b);
    std::vector<Point> got = b.commitments;
    t.update_many(got, b.deltas);
    for (std::size_t k = 0; k < got.size(); ++k) {
      ASSERT_EQ(got[k], expected[k]) << "batch " << i << " target " << k;
      if (runs_stay_whole(b)) {
        ASSERT_TRUE(same_coordinates(got[k], expected[k])) << "batch " << i << " target " << k;
      }
    }
  }
}

TEST(FixedBaseLanes, CommitsAreTheSameGroupElementsOnEveryPath) {
  std::mt19937_64 rng = testing::seeded_rng("FixedBaseLanes.Commit");
  const PedersenTables& t = default_pedersen_tables();
  for (std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{9},
                        std::size_t{100}, std::size_t{256}}) {
    std::vector<Fr> scalars(n);
    Point expected = Point::identity();
    for (std::size_t i = 0; i < n; ++i) {
      scalars[i] = i % 5 == 3 ? Fr::zero() : edge_scalar(rng);
      expected = t.update(expected, i, scalars[i]);
    }
    absl::StatusOr<Point> dense = t.commit(scalars);
    ASSERT_TRUE(dense.ok());
    EXPECT_TRUE(is_on_curve(*dense)) << n;
    EXPECT_EQ(*dense, expected) << n;
    EXPECT_EQ(serialize(*dense), serialize(expected)) << n;
    // The same terms, sparse and with repeated indices: 2 * s_i at i.
    std::vector<SparseTerm> terms;
    Point doubled = Point::identity();
    for (std::size_t i = 0; i < n; ++i) {
      terms.push_back(SparseTerm{static_cast<std::uint32_t>(i), scalars[i]});
      terms.push_back(SparseTerm{static_cast<std::uint32_t>(i), scalars[i]});
      doubled = t.update(doubled, i, add(scalars[i], scalars[i]));
    }
    absl::StatusOr<Point> sparse = t.commit_sparse(terms);
    ASSERT_TRUE(sparse.ok());
    EXPECT_EQ(*sparse, doubled) << n;
  }
}

}  // namespace
}  // namespace arbor::verkle
