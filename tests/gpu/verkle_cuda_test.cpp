// The CUDA backend's Verkle jobs against the CPU backend's on random batches: every commitment must
// serialize identically after an update, and map to field must give identical field elements.
// Skips with a message where Arbor was built without CUDA or no device answers.
#include <algorithm>
#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "host/backend/compute_backend.hpp"
#include "kernels/verkle/pedersen.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::host {
namespace {

using verkle::Point;
using Scalar = verkle::Fr;

// The CUDA backend's chunk sizes (cuda_backend.cpp): batches above them span several chunks
// (Verkle updates at most kDeltasPerChunk deltas each, cut where a target's deltas begin).
constexpr std::size_t kDeltasPerChunk = std::size_t{1} << 18;
constexpr std::size_t kPointsPerChunk = std::size_t{1} << 19;

Scalar random_scalar(std::mt19937_64& rng) {
  const std::uint64_t x[4] = {rng(), rng(), rng(), rng()};
  return verkle::from_limbs_mod_order<verkle::BandersnatchFrParams>(x);
}

// About one scalar in eight is 0, 1 or r - 1; the rest are uniform.
Scalar random_scalar_with_edges(std::mt19937_64& rng) {
  switch (rng() % 24) {
    case 0:
      return Scalar::zero();
    case 1:
      return Scalar::one();
    case 2:
      return verkle::neg(Scalar::one());
    default:
      return random_scalar(rng);
  }
}

// Random elements in several representations: projective (Z != 1) multiples of the generators,
// both identity representatives (0, 1) and (0, -1), and the same element scaled by a random
// factor.
Point random_point(std::mt19937_64& rng) {
  switch (rng() % 16) {
    case 0:
      return Point::identity();
    case 1:
      return Point{verkle::Fp::zero(), verkle::neg(verkle::Fp::one()), verkle::Fp::zero(),
                   verkle::Fp::one()};
    default:
      break;
  }
  Point p = verkle::default_pedersen_tables().mul(rng() % 256, random_scalar(rng));
  if (rng() % 4 == 0) {
    const std::uint64_t x[4] = {rng(), rng(), rng(), 0};
    const verkle::Fp f = verkle::from_limbs_mod_order<verkle::Bls12381FrParams>(x);
    if (!f.is_zero()) p = Point{mul(p.X, f), mul(p.Y, f), mul(p.T, f), mul(p.Z, f)};
  }
  return p;
}

struct Batch {
  std::vector<Point> commitments;
  std::vector<CommitmentDelta> deltas;
};

// `count` deltas sorted by target, in segments of 1 to 300 deltas on targets with gaps between
// them (the untouched commitments must stay as they are); random generators, random start
// commitments.
Batch random_batch(std::mt19937_64& rng, std::size_t count) {
  Batch batch;
  std::uint32_t target = static_cast<std::uint32_t>(rng() % 3);
  while (batch.deltas.size() < count) {
    const std::size_t size = std::min<std::size_t>(1 + rng() % 300, count - batch.deltas.size());
    for (std::size_t i = 0; i < size; ++i) {
      batch.deltas.push_back(CommitmentDelta{target, static_cast<std::uint32_t>(rng() % 256),
                                             random_scalar_with_edges(rng)});
    }
    target += 1 + static_cast<std::uint32_t>(rng() % 3);
  }
  batch.commitments.resize(target + rng() % 3);
  for (Point& c : batch.commitments) c = random_point(rng);
  return batch;
}

// Compares every point by its 32-byte serialization; counts and locates mismatches.
void expect_same_elements(const std::vector<Point>& gpu, const std::vector<Point>& cpu,
                          const std::string& what) {
  ASSERT_EQ(gpu.size(), cpu.size()) << what;
  std::size_t mismatches = 0, first = 0, off_curve = 0;
  for (std::size_t i = 0; i < gpu.size(); ++i) {
    if (!verkle::is_on_curve(gpu[i])) ++off_curve;
    if (verkle::serialize(gpu[i]) != verkle::serialize(cpu[i])) {
      if (mismatches++ == 0) first = i;
    }
  }
  EXPECT_EQ(off_curve, 0u) << what;
  EXPECT_EQ(mismatches, 0u) << what << ": first mismatch at commitment " << first;
}

void expect_same_scalars(const std::vector<Scalar>& gpu, const std::vector<Scalar>& cpu,
                         const std::string& what) {
  ASSERT_EQ(gpu.size(), cpu.size()) << what;
  std::size_t mismatches = 0, first = 0;
  for (std::size_t i = 0; i < gpu.size(); ++i) {
    if (gpu[i] != cpu[i] && mismatches++ == 0) first = i;
  }
  EXPECT_EQ(mismatches, 0u) << what << ": first mismatch at point " << first;
}

class VerkleCudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<ComputeBackend>> backend = make_cuda_backend();
    if (!backend.ok()) GTEST_SKIP() << "no GPU to test: " << backend.status().message();
    cuda_ = std::move(*backend);
    cpu_ = make_cpu_backend();
  }

  // Applies the batch on both backends and compares every commitment.
  void check_update(const Batch& batch, const std::string& what) {
    std::vector<Point> gpu = batch.commitments, cpu = batch.commitments;
    const absl::Status on_gpu = cuda_->verkle_update_commitments(gpu, batch.deltas);
    ASSERT_TRUE(on_gpu.ok()) << what << ": " << on_gpu;
    const absl::Status on_cpu = cpu_->verkle_update_commitments(cpu, batch.deltas);
    ASSERT_TRUE(on_cpu.ok()) << what << ": " << on_cpu;
    expect_same_elements(gpu, cpu, what);
  }

  void check_map(const std::vector<Point>& points, const std::string& what) {
    std::vector<Scalar> gpu(points.size()), cpu(points.size());
    const absl::Status on_gpu = cuda_->verkle_map_to_field(points, gpu);
    ASSERT_TRUE(on_gpu.ok()) << what << ": " << on_gpu;
    const absl::Status on_cpu = cpu_->verkle_map_to_field(points, cpu);
    ASSERT_TRUE(on_cpu.ok()) << what << ": " << on_cpu;
    expect_same_scalars(gpu, cpu, what);
  }

  std::unique_ptr<ComputeBackend> cuda_, cpu_;
};

TEST_F(VerkleCudaTest, UpdateMatchesCpuOnRandomBatches) {
  std::mt19937_64 rng = testing::seeded_rng("VerkleCuda.UpdateMatchesCpuOnRandomBatches");
  // Growing, then small again: buffers kept from a larger call must not leak into a smaller one.
  for (std::size_t count : {std::size_t{1}, std::size_t{2}, std::size_t{255}, std::size_t{1000},
                            std::size_t{100000}, std::size_t{255}}) {
    check_update(random_batch(rng, count), "batch of " + std::to_string(count) + " deltas");
  }
}

TEST_F(VerkleCudaTest, UpdateMatchesCpuForEdgeScalarsOnEveryGenerator) {
  // 0, 1, 2, r - 1, r - 2 and (r - 1) / 2 exercise the top window's signed digit and its carry.
  std::vector<Scalar> scalars = {
      Scalar::zero(), Scalar::one(), verkle::from_u64<verkle::BandersnatchFrParams>(2),
      verkle::neg(Scalar::one()), verkle::neg(verkle::from_u64<verkle::BandersnatchFrParams>(2))};
  const std::uint64_t* r = verkle::BandersnatchFrParams::kModulus.data();
  const std::uint64_t half[4] = {(r[0] >> 1) | (r[1] << 63), (r[1] >> 1) | (r[2] << 63),
                                 (r[2] >> 1) | (r[3] << 63), r[3] >> 1};
  scalars.push_back(verkle::from_canonical_limbs<verkle::BandersnatchFrParams>(half));
  Batch batch;
  batch.commitments.assign(256 * scalars.size(), Point::identity());
  for (std::uint32_t g = 0; g < 256; ++g) {
    for (std::size_t k = 0; k < scalars.size(); ++k) {
      const auto target = static_cast<std::uint32_t>(g * scalars.size() + k);
      batch.deltas.push_back(CommitmentDelta{target, g, scalars[k]});
    }
  }
  check_update(batch, "edge scalars");
  // One segment summing every term: 256 * 6 deltas on commitment 0.
  for (CommitmentDelta& d : batch.deltas) d.target = 0;
  check_update(batch, "edge scalars on one commitment");
}

TEST_F(VerkleCudaTest, UpdateMatchesCpuForEverySegmentLength) {
  // Segments of 1 to 100 deltas: every shape of the warp's reduction tree (1..32 lanes holding a
  // partial sum), and lanes summing up to four terms before it.
  std::mt19937_64 rng = testing::seeded_rng("VerkleCuda.UpdateMatchesCpuForEverySegmentLength");
  Batch batch;
  for (std::uint32_t length = 1; length <= 100; ++length) {
    for (std::uint32_t i = 0; i < length; ++i) {
      batch.deltas.push_back(CommitmentDelta{length - 1, static_cast<std::uint32_t>(rng() % 256),
                                             random_scalar_with_edges(rng)});
    }
  }
  batch.commitments.resize(100);
  for (Point& c : batch.commitments) c = random_point(rng);
  check_update(batch, "segments of 1 to 100 deltas");
}

TEST_F(VerkleCudaTest, UpdateWithATargetLargerThanAChunkMatchesCpu) {
  std::mt19937_64 rng = testing::seeded_rng("VerkleCuda.UpdateWithATargetLargerThanAChunk");
  // Chunks end where a target's deltas begin, except for a target with more deltas than a chunk:
  // commitment 1 gets 1.5 chunks' worth, cut in two, the second part starting from the first's
  // result (and one warp reducing 2^18 terms).
  Batch batch;
  const auto push = [&](std::uint32_t target, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
      batch.deltas.push_back(CommitmentDelta{target, static_cast<std::uint32_t>(rng() % 256),
                                             random_scalar_with_edges(rng)});
    }
  };
  push(0, 1000);
  push(1, kDeltasPerChunk + kDeltasPerChunk / 2);
  push(2, 3);
  push(4, 5000);
  batch.commitments.resize(6);
  for (Point& c : batch.commitments) c = random_point(rng);
  check_update(batch, "a target larger than a chunk");
}

TEST_F(VerkleCudaTest, UpdateSpanningSeveralChunksMatchesCpu) {
  std::mt19937_64 rng = testing::seeded_rng("VerkleCuda.UpdateSpanningSeveralChunks");
  // Three chunks or more over both streams, with one target's deltas straddling each multiple of
  // the chunk size: the chunks are cut before that target instead.
  Batch batch = random_batch(rng, 2 * kDeltasPerChunk + 4321);
  for (std::size_t boundary = kDeltasPerChunk; boundary < batch.deltas.size();
       boundary += kDeltasPerChunk) {
    const std::uint32_t from = batch.deltas[boundary].target;
    const std::uint32_t to = batch.deltas[boundary - 1].target;
    for (std::size_t i = boundary; i < batch.deltas.size() && batch.deltas[i].target == from; ++i) {
      batch.deltas[i].target = to;
    }
  }
  check_update(batch, "three chunks");
}

TEST_F(VerkleCudaTest, EmptyUpdateChangesNothing) {
  std::mt19937_64 rng = testing::seeded_rng("VerkleCuda.EmptyUpdate");
  std::vector<Point> commitments(5);
  for (Point& c : commitments) c = random_point(rng);
  const std::vector<Point> before = commitments;
  ASSERT_TRUE(cuda_->verkle_update_commitments(commitments, {}).ok());
  ASSERT_TRUE(cuda_->verkle_update_commitments({}, {}).ok());
  for (std::size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(verkle::serialize(commitments[i]), verkle::serialize(before[i]));
  }
}

TEST_F(VerkleCudaTest, MapToFieldMatchesCpu) {
  std::mt19937_64 rng = testing::seeded_rng("VerkleCuda.MapToFieldMatchesCpu");
  // A pool of random elements; the rest are sums of them (cheap, and still projective).
  std::vector<Point> pool(512);
  for (Point& p : pool) p = random_point(rng);
  for (std::size_t count : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{4096},
                            std::size_t{100001}, std::size_t{7}}) {
    std::vector<Point> points(count);
    for (std::size_t i = 0; i < count; ++i) {
      points[i] = i < pool.size() || rng() % 64 == 0
                      ? pool[rng() % pool.size()]
                      : verkle::add(points[i - 1], pool[rng() % pool.size()]);
    }
    // Identity points, also at both ends of a chunk of the batched inversion.
    if (count > 0) points[0] = Point::identity();
    if (count > 2) points[count - 1] = Point::identity();
    check_map(points, "map of " + std::to_string(count) + " points");
  }
}

TEST_F(VerkleCudaTest, MapToFieldSpanningSeveralChunksMatchesCpu) {
  std::mt19937_64 rng = testing::seeded_rng("VerkleCuda.MapToFieldSpanningSeveralChunks");
  std::vector<Point> pool(256);
  for (Point& p : pool) p = random_point(rng);
  std::vector<Point> points(2 * kPointsPerChunk + 12345);
  points[0] = pool[0];
  for (std::size_t i = 1; i < points.size(); ++i) {
    points[i] = verkle::add(points[i - 1], pool[rng() % pool.size()]);
  }
  check_map(points, "three chunks");
}

TEST_F(VerkleCudaTest, SharesStreamsWithPoseidon) {
  std::mt19937_64 rng = testing::seeded_rng("VerkleCuda.SharesStreamsWithPoseidon");
  for (int round = 0; round < 3; ++round) {
    std::vector<field::Fr> inputs(2 * 5000);
    for (field::Fr& x : inputs) x = testing::random_fr(rng);
    std::vector<field::Fr> gpu(5000), cpu(5000);
    ASSERT_TRUE(cuda_->poseidon_hash_many(2, inputs, gpu).ok());
    ASSERT_TRUE(cpu_->poseidon_hash_many(2, inputs, cpu).ok());
    EXPECT_EQ(gpu, cpu);
    check_update(random_batch(rng, 3000), "update after Poseidon");
    std::vector<Point> points(3000);
    for (Point& p : points) p = random_point(rng);
    check_map(points, "map after Poseidon");
  }
}

TEST_F(VerkleCudaTest, RejectsBadArguments) {
  std::vector<Point> commitments(4, Point::identity());
  const auto update = [&](std::vector<CommitmentDelta> deltas) {
    return cuda_->verkle_update_commitments(commitments, deltas).code();
  };
  const Scalar one = Scalar::one();
  EXPECT_EQ(update({{2, 0, one}, {1, 0, one}}), absl::StatusCode::kInvalidArgument);  // unsorted
  EXPECT_EQ(update({{0, 0, one}, {4, 0, one}}), absl::StatusCode::kInvalidArgument);  // target
  EXPECT_EQ(update({{0, 256, one}}), absl::StatusCode::kInvalidArgument);             // generator
  for (const Point& c : commitments) EXPECT_TRUE(verkle::is_identity(c));

  std::vector<Point> points(3, Point::identity());
  std::vector<Scalar> two(2), four(4);
  EXPECT_EQ(cuda_->verkle_map_to_field(points, two).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cuda_->verkle_map_to_field(points, four).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace arbor::host
