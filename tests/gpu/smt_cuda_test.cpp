// The SMT applied with the CUDA backend against the same batches applied with the CPU backend:
// roots, every node record and proofs must be bit-identical. Skips with a message where Arbor was
// built without CUDA or no device answers.
#include <gtest/gtest.h>

#include <random>

#include "host/smt/smt_tree.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::smt {
namespace {

using arbor::testing::TempDir;

class SmtCudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<host::ComputeBackend>> backend = host::make_cuda_backend();
    if (!backend.ok()) GTEST_SKIP() << "no GPU to test: " << backend.status().message();
    cuda_ = std::move(*backend);
    cpu_ = host::make_cpu_backend();
    storage::StoreOptions options;
    options.sync = storage::SyncMode::kNone;
    auto store = storage::Store::open(dir_.path(), options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }
  TempDir dir_{"smt-cuda"};
  std::unique_ptr<host::ComputeBackend> cuda_, cpu_;
  std::unique_ptr<storage::Store> store_;
};

TEST_F(SmtCudaTest, RandomBatchesMatchCpuBitForBit) {
  auto rng = testing::seeded_rng("SmtCuda");
  auto on_gpu = SmtTree::create(*store_, "gpu", SmtCreateOptions{kMaxDepthLimit, 0}, *cuda_);
  auto on_cpu = SmtTree::create(*store_, "cpu", SmtCreateOptions{kMaxDepthLimit, 0}, *cpu_);
  ASSERT_TRUE(on_gpu.ok() && on_cpu.ok());
  std::vector<Fr> keys;
  // Batch sizes from one key to several backend chunks.
  for (std::size_t size : {std::size_t{1}, std::size_t{7}, std::size_t{1000}, std::size_t{60000},
                           std::size_t{3}, std::size_t{200000}, std::size_t{5000}}) {
    std::vector<SmtOp> ops;
    for (std::size_t i = 0; i < size; ++i) {
      const bool reuse = !keys.empty() && rng() % 3 == 0;
      const Fr key = reuse ? keys[rng() % keys.size()] : testing::random_fr_with_edges(rng);
      if (!reuse) keys.push_back(key);
      ops.push_back(rng() % 5 == 0 ? SmtOp::erase(key)
                                   : SmtOp::put(key, testing::random_fr_with_edges(rng)));
    }
    auto gpu = (*on_gpu)->apply(ops);
    auto cpu = (*on_cpu)->apply(ops);
    ASSERT_TRUE(gpu.ok()) << gpu.status();
    ASSERT_TRUE(cpu.ok()) << cpu.status();
    ASSERT_EQ(gpu->root, cpu->root) << "batch of " << size;
    EXPECT_EQ(gpu->stats.node_hashes, cpu->stats.node_hashes);
    for (int probe = 0; probe < 50; ++probe) {
      const Fr key = keys[rng() % keys.size()];
      EXPECT_EQ(*(*on_gpu)->prove(key), *(*on_cpu)->prove(key));
    }
  }
  // Every node record of the two trees is the same.
  auto gpu_view = store_->view("gpu");
  auto cpu_view = store_->view("cpu");
  ASSERT_TRUE(gpu_view.ok() && cpu_view.ok());
  std::vector<std::pair<std::string, std::string>> gpu_nodes, cpu_nodes;
  ASSERT_TRUE(gpu_view
                  ->scan(storage::Space::kNodes, "",
                         [&](std::string_view k, std::string_view v) {
                           gpu_nodes.emplace_back(k, v);
                           return true;
                         })
                  .ok());
  ASSERT_TRUE(cpu_view
                  ->scan(storage::Space::kNodes, "",
                         [&](std::string_view k, std::string_view v) {
                           cpu_nodes.emplace_back(k, v);
                           return true;
                         })
                  .ok());
  EXPECT_EQ(gpu_nodes.size(), cpu_nodes.size());
  EXPECT_TRUE(gpu_nodes == cpu_nodes);
}

}  // namespace
}  // namespace arbor::smt
