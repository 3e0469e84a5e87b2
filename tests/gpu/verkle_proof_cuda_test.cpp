// Verkle proofs made with the CUDA backend against the same proofs made with the CPU backend: the
// same random tree applied in two stores (one per backend) must give byte-identical witnesses
// (witness_to_binary) for random sets of present and absent keys, which the stateless verifier on
// the CUDA backend accepts; and multiproof_prove on random polynomials must give identical
// encode_multiproof bytes. Skips with a message where Arbor was built without CUDA or no device
// answers.
#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "host/backend/compute_backend.hpp"
#include "host/verkle/multiproof.hpp"
#include "host/verkle/verkle_stateless.hpp"
#include "host/verkle/verkle_tree.hpp"
#include "host/verkle/verkle_witness.hpp"
#include "kernels/verkle/evaluation_domain.hpp"
#include "kernels/verkle/pedersen.hpp"
#include "kernels/verkle/transcript.hpp"
#include "storage/store.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::verkle {
namespace {

using arbor::testing::TempDir;

Fr random_scalar(std::mt19937_64& rng) {
  const std::uint64_t x[4] = {rng(), rng(), rng(), rng()};
  return from_limbs_mod_order<BandersnatchFrParams>(x);
}

class VerkleProofCudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<host::ComputeBackend>> backend = host::make_cuda_backend();
    if (!backend.ok()) GTEST_SKIP() << "no GPU to test: " << backend.status().message();
    cuda_ = std::move(*backend);
    cpu_ = host::make_cpu_backend();
  }

  static std::unique_ptr<storage::Store> open_store(const TempDir& dir) {
    storage::StoreOptions options;
    options.sync = storage::SyncMode::kNone;
    auto store = storage::Store::open(dir.path(), options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  std::mt19937_64 rng_ = testing::seeded_rng("VerkleProofCuda");
  std::unique_ptr<host::ComputeBackend> cuda_, cpu_;
};

TEST_F(VerkleProofCudaTest, TreeWitnessesMatchCpuByteForByte) {
  TempDir cpu_dir{"verkle-proof-cpu"}, gpu_dir{"verkle-proof-gpu"};
  std::unique_ptr<storage::Store> cpu_store = open_store(cpu_dir);
  std::unique_ptr<storage::Store> gpu_store = open_store(gpu_dir);
  ASSERT_TRUE(cpu_store && gpu_store);
  auto on_cpu = VerkleTree::create(*cpu_store, "t", {}, *cpu_);
  auto on_gpu = VerkleTree::create(*gpu_store, "t", {}, *cuda_);
  ASSERT_TRUE(on_cpu.ok()) << on_cpu.status();
  ASSERT_TRUE(on_gpu.ok()) << on_gpu.status();

  // A few thousand keys in random batches: new stems, shared stems, stems with a long common
  // prefix, updates and deletes.
  std::vector<Key32> touched;  // every key ever put (some deleted since)
  std::vector<RootCommitment> roots = {RootCommitment{}};
  for (const int size : {1, 40, 700, 2500, 300}) {
    std::vector<VerkleOp> ops;
    std::set<Key32> deleted;
    for (int i = 0; i < size; ++i) {
      Key32 key;
      Value32 value;
      for (auto& b : value) b = static_cast<std::uint8_t>(rng_());
      if (!touched.empty() && rng_() % 5 == 0) {
        key = touched[rng_() % touched.size()];
        if (rng_() % 3 == 0) {
          ops.push_back(VerkleOp::erase(key));
          deleted.insert(key);
          continue;
        }
        if (deleted.count(key) != 0) continue;  // deletes go before puts within a batch
      } else {
        for (auto& b : key) b = static_cast<std::uint8_t>(rng_());
        if (!touched.empty()) {
          const Key32& other = touched[rng_() % touched.size()];
          switch (rng_() % 4) {
            case 0:  // same stem, another suffix
              std::copy_n(other.begin(), kStemBytes, key.begin());
              break;
            case 1:  // a long common prefix
              std::copy_n(other.begin(), 1 + rng_() % (kStemBytes - 1), key.begin());
              break;
            default:
              break;
          }
        }
        if (deleted.count(key) != 0) continue;
        touched.push_back(key);
      }
      ops.push_back(VerkleOp::put(key, value));
    }
    auto cpu = (*on_cpu)->apply(ops);
    auto gpu = (*on_gpu)->apply(ops);
    ASSERT_TRUE(cpu.ok()) << cpu.status();
    ASSERT_TRUE(gpu.ok()) << gpu.status();
    ASSERT_EQ(gpu->root, cpu->root) << "batch of " << size;
    roots.push_back(cpu->root);
  }
  const std::uint64_t head = roots.size() - 1;

  // Random key sets: keys ever put (present, updated or deleted), absent suffixes of their stems,
  // absent stems (random, or sharing a long prefix with a present stem).
  auto random_keys = [&](std::size_t count) {
    std::vector<Key32> keys;
    while (keys.size() < count) {
      Key32 key = touched[rng_() % touched.size()];
      switch (rng_() % 4) {
        case 0:
          key[kStemBytes] = static_cast<std::uint8_t>(rng_());
          break;
        case 1:
          for (auto& b : key) b = static_cast<std::uint8_t>(rng_());
          break;
        case 2:
          for (std::size_t i = 1 + rng_() % (kStemBytes - 1); i < key.size(); ++i) {
            key[i] = static_cast<std::uint8_t>(rng_());
          }
          break;
        default:
          break;
      }
      keys.push_back(key);
    }
    return keys;
  };

  for (const std::size_t count : {std::size_t{1}, std::size_t{200}, std::size_t{2000}}) {
    for (const std::uint64_t version : {head, head - 2}) {
      SCOPED_TRACE(::testing::Message() << count << " keys at version " << version);
      const std::vector<Key32> keys = random_keys(count);
      auto cpu = (*on_cpu)->prove(keys, version);
      auto gpu = (*on_gpu)->prove(keys, version);
      ASSERT_TRUE(cpu.ok()) << cpu.status();
      ASSERT_TRUE(gpu.ok()) << gpu.status();
      const std::string cpu_bytes = witness_to_binary(*cpu);
      const std::string gpu_bytes = witness_to_binary(*gpu);
      ASSERT_EQ(gpu_bytes.size(), cpu_bytes.size());
      EXPECT_TRUE(gpu_bytes == cpu_bytes) << "the witnesses differ";
      EXPECT_EQ(witness_to_json(*gpu), witness_to_json(*cpu));
      for (const VerkleWitness* witness : {&*cpu, &*gpu}) {
        auto checked = verify_witness(*cuda_, roots[version], *witness);
        ASSERT_TRUE(checked.ok()) << checked.status();
        EXPECT_EQ(checked->keys, std::set<Key32>(keys.begin(), keys.end()).size());
      }
      auto on_cpu_verifier = verify_witness(*cpu_, roots[version], *gpu);
      EXPECT_TRUE(on_cpu_verifier.ok()) << on_cpu_verifier.status();
      if (version != head && roots[version] != roots[head]) {
        EXPECT_FALSE(verify_witness(*cuda_, roots[head], *gpu).ok());
      }
    }
  }
}

TEST_F(VerkleProofCudaTest, MultiproofsMatchCpuByteForByte) {
  struct Shape {
    int polys;
    int openings;
  };
  for (const Shape shape : {Shape{1, 1}, Shape{3, 2}, Shape{20, 100}, Shape{300, 3000}}) {
    SCOPED_TRACE(::testing::Message()
                 << shape.polys << " polynomials, " << shape.openings << " openings");
    std::vector<ProverPolynomial> polys;
    std::vector<Point> commitments;
    std::vector<PointBytes> commitment_bytes;
    for (int p = 0; p < shape.polys; ++p) {
      // Dense, sparse, or a single entry.
      const int kind = static_cast<int>(rng_() % 3);
      DensePoly f;
      for (std::size_t i = 0; i < kDomainSize; ++i) {
        const bool set = kind == 0 || (kind == 1 && rng_() % 16 == 0);
        f[i] = set ? random_scalar(rng_) : Fr::zero();
      }
      if (kind == 2) f[rng_() % kDomainSize] = random_scalar(rng_);
      absl::StatusOr<Point> c = default_pedersen_tables().commit(f);
      ASSERT_TRUE(c.ok()) << c.status();
      ProverPolynomial poly;
      poly.commitment = serialize(*c);
      for (std::uint32_t i = 0; i < kDomainSize; ++i) {
        if (!f[i].is_zero()) poly.f.push_back({i, f[i]});
      }
      polys.push_back(poly);
      commitments.push_back(*c);
      commitment_bytes.push_back(poly.commitment);
    }
    std::vector<ProverOpening> openings;
    for (int i = 0; i < shape.openings; ++i) {
      // z = 0 and 255 among them, and repeated (polynomial, z) pairs.
      const std::uint8_t z = i == 0 ? 0 : i == 1 ? 255 : static_cast<std::uint8_t>(rng_());
      openings.push_back({static_cast<std::uint32_t>(rng_() % polys.size()), z});
    }
    if (shape.openings > 2) openings.push_back(openings[2]);

    Transcript cpu_transcript("vt"), gpu_transcript("vt");
    auto cpu = multiproof_prove(*cpu_, cpu_transcript, polys, openings);
    auto gpu = multiproof_prove(*cuda_, gpu_transcript, polys, openings);
    ASSERT_TRUE(cpu.ok()) << cpu.status();
    ASSERT_TRUE(gpu.ok()) << gpu.status();
    const MultiproofBytes cpu_bytes = encode_multiproof(*cpu);
    const MultiproofBytes gpu_bytes = encode_multiproof(*gpu);
    EXPECT_EQ(testing::hex_of(gpu_bytes), testing::hex_of(cpu_bytes));

    std::vector<VerifierOpening> claims;
    for (const ProverOpening& o : openings) {
      claims.push_back({o.poly, o.z, evaluate_sparse(polys[o.poly].f, o.z)});
    }
    for (host::ComputeBackend* backend : {cuda_.get(), cpu_.get()}) {
      Transcript verifier("vt");
      const absl::Status verified =
          multiproof_verify(*backend, verifier, commitments, commitment_bytes, claims, *gpu);
      EXPECT_TRUE(verified.ok()) << verified;
    }
    // A wrong claim is refused on the device too.
    claims.back().y = add(claims.back().y, Fr::one());
    Transcript verifier("vt");
    EXPECT_TRUE(absl::IsInvalidArgument(
        multiproof_verify(*cuda_, verifier, commitments, commitment_bytes, claims, *gpu)));
  }
}

}  // namespace
}  // namespace arbor::verkle
