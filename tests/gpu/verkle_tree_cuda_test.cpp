// The Verkle tree applied with the CUDA backend against the same batches applied with the CPU
// backend: roots and every node record must be bit-identical (records store affine coordinates,
// so equal points give equal bytes). Skips with a message where Arbor was built without CUDA or
// no device answers.
#include <gtest/gtest.h>

#include <random>

#include "host/verkle/verkle_tree.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::verkle {
namespace {

using arbor::testing::TempDir;

class VerkleTreeCudaTest : public ::testing::Test {
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
  TempDir dir_{"verkle-cuda"};
  std::unique_ptr<host::ComputeBackend> cuda_, cpu_;
  std::unique_ptr<storage::Store> store_;
};

TEST_F(VerkleTreeCudaTest, RandomBatchesMatchCpuBitForBit) {
  auto rng = testing::seeded_rng("VerkleTreeCuda");
  auto on_gpu = VerkleTree::create(*store_, "gpu", {}, *cuda_);
  auto on_cpu = VerkleTree::create(*store_, "cpu", {}, *cpu_);
  ASSERT_TRUE(on_gpu.ok() && on_cpu.ok());
  std::vector<Key32> present;
  // From one value to several backend chunks (2^18 deltas), with updates, shared stems and deletes.
  for (const int size : {1, 7, 300, 5000, 60000, 200000, 1000}) {
    std::vector<VerkleOp> ops;
    for (int i = 0; i < size; ++i) {
      Key32 key;
      Value32 value;
      for (auto& b : value) b = static_cast<std::uint8_t>(rng());
      if (!present.empty() && rng() % 4 == 0) {
        key = present[rng() % present.size()];
        if (rng() % 3 == 0) {
          ops.push_back(VerkleOp::erase(key));
          continue;
        }
      } else {
        for (auto& b : key) b = static_cast<std::uint8_t>(rng());
        if (!present.empty() && rng() % 2 == 0) {  // same stem, another suffix
          std::copy_n(present[rng() % present.size()].begin(), kStemBytes, key.begin());
        }
        present.push_back(key);
      }
      ops.push_back(VerkleOp::put(key, value));
    }
    auto gpu = (*on_gpu)->apply(ops);
    auto cpu = (*on_cpu)->apply(ops);
    ASSERT_TRUE(gpu.ok()) << gpu.status();
    ASSERT_TRUE(cpu.ok()) << cpu.status();
    ASSERT_EQ(gpu->root, cpu->root) << "batch of " << size;
  }
  // Every node record, byte for byte.
  auto gpu_view = store_->view("gpu");
  auto cpu_view = store_->view("cpu");
  ASSERT_TRUE(gpu_view.ok() && cpu_view.ok());
  std::vector<std::pair<std::string, std::string>> gpu_nodes, cpu_nodes;
  auto collect = [](std::vector<std::pair<std::string, std::string>>& into) {
    return [&into](std::string_view key, std::string_view value) {
      into.emplace_back(std::string(key), std::string(value));
      return true;
    };
  };
  ASSERT_TRUE(gpu_view->scan(storage::Space::kNodes, "", collect(gpu_nodes)).ok());
  ASSERT_TRUE(cpu_view->scan(storage::Space::kNodes, "", collect(cpu_nodes)).ok());
  ASSERT_EQ(gpu_nodes.size(), cpu_nodes.size());
  for (std::size_t i = 0; i < gpu_nodes.size(); ++i) {
    ASSERT_EQ(gpu_nodes[i], cpu_nodes[i]) << "node record " << i;
  }
}

}  // namespace
}  // namespace arbor::verkle
