// The CPU backend's bulk hashing against single hashes, its argument checks, and backend choice.
#include <vector>

#include "gtest/gtest.h"
#include "host/backend/compute_backend.hpp"
#include "kernels/poseidon/poseidon_hash.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::host {
namespace {

std::vector<Fr> random_inputs(std::mt19937_64& rng, std::size_t count) {
  std::vector<Fr> v(count);
  for (Fr& x : v) x = testing::random_fr_with_edges(rng);
  return v;
}

TEST(CpuBackend, BulkEqualsSingleForEveryArityAndSize) {
  std::mt19937_64 rng = testing::seeded_rng("CpuBackend.BulkEqualsSingle");
  std::unique_ptr<ComputeBackend> backend = make_cpu_backend();
  EXPECT_EQ(backend->kind(), BackendKind::kCpu);
  for (int arity = 1; arity <= 16; ++arity) {
    // Sizes below, at and above one task's share, and a ragged tail.
    for (std::size_t count :
         {std::size_t{0}, std::size_t{1}, std::size_t{255}, std::size_t{256}, std::size_t{1000}}) {
      const std::vector<Fr> inputs = random_inputs(rng, count * static_cast<std::size_t>(arity));
      std::vector<Fr> outputs(count);
      ASSERT_TRUE(backend->poseidon_hash_many(arity, inputs, outputs).ok());
      for (std::size_t i = 0; i < count; i += (arity > 4 ? 7 : 1)) {
        std::span<const Fr> set(inputs.data() + i * arity, static_cast<std::size_t>(arity));
        ASSERT_EQ(outputs[i], *poseidon::hash(set)) << "arity " << arity << " index " << i;
      }
    }
  }
}

TEST(CpuBackend, SingleThreadAndAllCoresAgree) {
  std::mt19937_64 rng = testing::seeded_rng("CpuBackend.SingleThreadAndAllCoresAgree");
  const std::vector<Fr> inputs = random_inputs(rng, 2 * 5000);
  std::vector<Fr> one(5000), all(5000);
  ASSERT_TRUE(make_cpu_backend(1)->poseidon_hash_many(2, inputs, one).ok());
  ASSERT_TRUE(make_cpu_backend()->poseidon_hash_many(2, inputs, all).ok());
  EXPECT_EQ(one, all);
}

TEST(CpuBackend, RejectsBadShapesWithoutWriting) {
  std::unique_ptr<ComputeBackend> backend = make_cpu_backend();
  std::vector<Fr> inputs(6, Fr::one());
  std::vector<Fr> outputs(3, Fr::one());
  for (int arity : {0, -1, 17}) {
    absl::Status s = backend->poseidon_hash_many(arity, inputs, outputs);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << arity;
  }
  absl::Status mismatch = backend->poseidon_hash_many(3, inputs, outputs);
  EXPECT_EQ(mismatch.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(mismatch.message().find("needs 9 inputs, got 6"), std::string::npos) << mismatch;
  EXPECT_EQ(outputs, std::vector<Fr>(3, Fr::one()));
}

TEST(BackendChoice, ParsesNamesAndRejectsOthers) {
  EXPECT_EQ(*parse_backend_choice("auto"), BackendChoice::kAuto);
  EXPECT_EQ(*parse_backend_choice("cpu"), BackendChoice::kCpu);
  EXPECT_EQ(*parse_backend_choice("cuda"), BackendChoice::kCuda);
  for (const char* bad : {"", "CPU", "gpu", "cuda "}) {
    EXPECT_EQ(parse_backend_choice(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(BackendChoice, AutoAlwaysYieldsAWorkingBackend) {
  absl::StatusOr<std::unique_ptr<ComputeBackend>> backend = make_backend(BackendChoice::kAuto);
  ASSERT_TRUE(backend.ok()) << backend.status();
  std::vector<Fr> inputs = {field::from_u64(1), field::from_u64(2)};
  std::vector<Fr> out(1);
  ASSERT_TRUE((*backend)->poseidon_hash_many(2, inputs, out).ok());
  EXPECT_EQ(out[0], *poseidon::hash(inputs));
  // The CPU under auto is a fallback and says why (arbor_backend_cpu_fallback); a GPU, or the CPU
  // asked for by name, is none.
  EXPECT_EQ((*backend)->fallback_reason().empty(), (*backend)->kind() == BackendKind::kCuda);
  EXPECT_EQ(make_cpu_backend()->fallback_reason(), "");
  absl::StatusOr<std::unique_ptr<ComputeBackend>> cpu = make_backend(BackendChoice::kCpu);
  ASSERT_TRUE(cpu.ok()) << cpu.status();
  EXPECT_EQ((*cpu)->fallback_reason(), "");
  // Asking for CUDA explicitly either works (a GPU is here) or says why not; never the CPU.
  absl::StatusOr<std::unique_ptr<ComputeBackend>> cuda = make_backend(BackendChoice::kCuda);
  if (cuda.ok()) {
    EXPECT_EQ((*cuda)->kind(), BackendKind::kCuda);
  } else {
    EXPECT_EQ(cuda.status().code(), absl::StatusCode::kUnavailable) << cuda.status();
  }
}

}  // namespace
}  // namespace arbor::host
