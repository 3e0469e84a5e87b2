// The CUDA backend against the CPU backend, bit for bit, on random batches of every width.
// Skips with a message where Arbor was built without CUDA or no device answers.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "host/backend/compute_backend.hpp"
#include "kernels/verkle/banderwagon.hpp"
#include "tests/support/test_support.hpp"

#if defined(ARBOR_WITH_CUDA)
#include <cuda_runtime_api.h>
#endif

namespace arbor::host {
namespace {

class CudaBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<ComputeBackend>> backend = make_cuda_backend();
    if (!backend.ok()) GTEST_SKIP() << "no GPU to test: " << backend.status().message();
    cuda_ = std::move(*backend);
    cpu_ = make_cpu_backend();
  }
  std::unique_ptr<ComputeBackend> cuda_, cpu_;
};

TEST_F(CudaBackendTest, MatchesCpuForEveryArity) {
  std::mt19937_64 rng = testing::seeded_rng("CudaBackend.MatchesCpuForEveryArity");
  for (int arity = 1; arity <= 16; ++arity) {
    for (std::size_t count : {std::size_t{1}, std::size_t{127}, std::size_t{4099}}) {
      std::vector<Fr> inputs(count * static_cast<std::size_t>(arity));
      for (Fr& x : inputs) x = testing::random_fr_with_edges(rng);
      std::vector<Fr> gpu(count), cpu(count);
      ASSERT_TRUE(cuda_->poseidon_hash_many(arity, inputs, gpu).ok());
      ASSERT_TRUE(cpu_->poseidon_hash_many(arity, inputs, cpu).ok());
      ASSERT_EQ(gpu, cpu) << "arity " << arity << " count " << count;
    }
  }
}

TEST_F(CudaBackendTest, LargeBatchSpanningSeveralChunksMatchesCpu) {
  std::mt19937_64 rng = testing::seeded_rng("CudaBackend.LargeBatch");
  // Arity 16 chunks at 131072 hashes; 300000 makes three chunks over both streams.
  const std::size_t count = 300000;
  std::vector<Fr> inputs(count * 16);
  for (Fr& x : inputs) x = testing::random_fr(rng);
  std::vector<Fr> gpu(count), cpu(count);
  ASSERT_TRUE(cuda_->poseidon_hash_many(16, inputs, gpu).ok());
  ASSERT_TRUE(cpu_->poseidon_hash_many(16, inputs, cpu).ok());
  EXPECT_EQ(gpu, cpu);
}

TEST_F(CudaBackendTest, SecondBackendSharesTheConstantMemoryTables) {
  // t <= 4 keep their constants in process-wide constant memory: a second backend finds them
  // uploaded and must hash alike.
  absl::StatusOr<std::unique_ptr<ComputeBackend>> second = make_cuda_backend();
  ASSERT_TRUE(second.ok()) << second.status();
  std::mt19937_64 rng = testing::seeded_rng("CudaBackend.SecondBackend");
  for (int arity = 1; arity <= 4; ++arity) {
    std::vector<Fr> inputs(1000 * static_cast<std::size_t>(arity));
    for (Fr& x : inputs) x = testing::random_fr_with_edges(rng);
    std::vector<Fr> first_gpu(1000), second_gpu(1000), cpu(1000);
    ASSERT_TRUE(cuda_->poseidon_hash_many(arity, inputs, first_gpu).ok());
    ASSERT_TRUE((*second)->poseidon_hash_many(arity, inputs, second_gpu).ok());
    ASSERT_TRUE(cpu_->poseidon_hash_many(arity, inputs, cpu).ok());
    EXPECT_EQ(first_gpu, cpu) << "arity " << arity;
    EXPECT_EQ(second_gpu, cpu) << "arity " << arity;
  }
}

#if defined(ARBOR_WITH_CUDA)
// Healthy jobs on both backends agree (one of each kind of kernel launch).
void expect_healthy_jobs(ComputeBackend& cuda, ComputeBackend& cpu, std::mt19937_64& rng,
                         const char* when) {
  std::vector<Fr> inputs(2 * 3000);
  for (Fr& x : inputs) x = testing::random_fr(rng);
  std::vector<Fr> gpu(3000), expected(3000);
  const absl::Status hashed = cuda.poseidon_hash_many(2, inputs, gpu);
  ASSERT_TRUE(hashed.ok()) << when << ": " << hashed;
  ASSERT_TRUE(cpu.poseidon_hash_many(2, inputs, expected).ok());
  EXPECT_EQ(gpu, expected) << when;

  std::vector<verkle::Point> on_gpu(8, verkle::Point::identity()), on_cpu = on_gpu;
  std::vector<CommitmentDelta> deltas;
  for (std::uint32_t i = 0; i < 40; ++i) {
    deltas.push_back({i / 5, static_cast<std::uint32_t>(rng() % 256),
                      verkle::from_u64<verkle::BandersnatchFrParams>(rng())});
  }
  const absl::Status updated = cuda.verkle_update_commitments(on_gpu, deltas);
  ASSERT_TRUE(updated.ok()) << when << ": " << updated;
  ASSERT_TRUE(cpu.verkle_update_commitments(on_cpu, deltas).ok());
  for (std::size_t i = 0; i < on_gpu.size(); ++i) EXPECT_TRUE(on_gpu[i] == on_cpu[i]) << when;

  std::vector<verkle::Fr> mapped(on_gpu.size()), mapped_cpu(on_gpu.size());
  const absl::Status mapped_status = cuda.verkle_map_to_field(on_gpu, mapped);
  ASSERT_TRUE(mapped_status.ok()) << when << ": " << mapped_status;
  ASSERT_TRUE(cpu.verkle_map_to_field(on_cpu, mapped_cpu).ok());
  EXPECT_EQ(mapped, mapped_cpu) << when;
}

TEST_F(CudaBackendTest, HealthyJobsSucceedAfterAHandledAllocationFailure) {
  std::mt19937_64 rng = testing::seeded_rng("CudaBackend.AfterAllocationFailure");
  // An absurd allocation fails and leaves its error pending in the runtime; the launches after it
  // must not report it as theirs.
  void* absurd = nullptr;
  ASSERT_NE(cudaMalloc(&absurd, std::size_t{1} << 60), cudaSuccess);
  expect_healthy_jobs(*cuda_, *cpu_, rng, "after a failed cudaMalloc of 2^60 bytes");

  // The backend's own allocation fails with the device full: it reports that, and works again once
  // memory is back. A fresh backend, so that it holds no buffers yet.
  absl::StatusOr<std::unique_ptr<ComputeBackend>> fresh = make_cuda_backend();
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  std::vector<void*> hog;
  for (std::size_t block : {std::size_t{1} << 30, std::size_t{1} << 24}) {
    void* p = nullptr;
    while (cudaMalloc(&p, block) == cudaSuccess) hog.push_back(p);
  }
  std::vector<Fr> inputs(16 * 100000, Fr::one());
  std::vector<Fr> outputs(100000);
  const absl::Status starved = (*fresh)->poseidon_hash_many(16, inputs, outputs);
  for (void* p : hog) cudaFree(p);
  EXPECT_FALSE(starved.ok()) << "the device had memory left for a 50 MB buffer";
  expect_healthy_jobs(**fresh, *cpu_, rng, "after the backend's allocation failed");
}
#endif

TEST_F(CudaBackendTest, RejectsBadShapes) {
  std::vector<Fr> inputs(4), outputs(2);
  EXPECT_EQ(cuda_->poseidon_hash_many(17, inputs, outputs).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cuda_->poseidon_hash_many(3, inputs, outputs).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace arbor::host
