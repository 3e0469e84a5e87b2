// The CUDA backend against the CPU backend, bit for bit, on random batches of every width.
// Skips with a message where Arbor was built without CUDA or no device answers.
#include <vector>

#include "gtest/gtest.h"
#include "host/backend/compute_backend.hpp"
#include "tests/support/test_support.hpp"

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

TEST_F(CudaBackendTest, RejectsBadShapes) {
  std::vector<Fr> inputs(4), outputs(2);
  EXPECT_EQ(cuda_->poseidon_hash_many(17, inputs, outputs).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cuda_->poseidon_hash_many(3, inputs, outputs).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace arbor::host
