// Verkle tree proofs: witnesses from the store (the derived single-key vector byte for byte), the
// stateless verifier on every execution witness in ../shared/vectors/verkle (valid ones verify,
// invalid ones are rejected, blocks 72 and 73 reproduce their post-state roots), and random trees
// with every presence / absence case, older versions, post-state roots and tampering.
#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>

#include "gtest/gtest.h"
#include "host/backend/compute_backend.hpp"
#include "host/verkle/verkle_stateless.hpp"
#include "host/verkle/verkle_tree.hpp"
#include "host/verkle/verkle_witness.hpp"
#include "storage/store.hpp"
#include "tests/support/test_support.hpp"
#include "tests/support/verkle_keys.hpp"

namespace arbor::verkle {
namespace {

using testing::bytes_from_hex;
using testing::hex_of;
using testing::TempDir;

template <std::size_t N>
std::array<std::uint8_t, N> fixed(const std::string& hex) {
  const std::vector<std::uint8_t> b = bytes_from_hex(hex);
  EXPECT_EQ(b.size(), N) << hex;
  std::array<std::uint8_t, N> out{};
  std::copy_n(b.begin(), std::min(N, b.size()), out.begin());
  return out;
}

std::filesystem::path verkle_vectors() { return testing::vectors_dir() / "verkle"; }

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

host::ComputeBackend& backend() {
  static const std::unique_ptr<host::ComputeBackend> cpu = host::make_cpu_backend();
  return *cpu;
}

class VerkleProofTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = storage::Store::open(dir_.path() / "db");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }
  std::unique_ptr<VerkleTree> tree(const std::string& name) {
    auto t = VerkleTree::create(*store_, name, {}, backend());
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? *std::move(t) : nullptr;
  }
  TempDir dir_{"verkle-proof"};
  std::unique_ptr<storage::Store> store_;
};

// ---- vectors ------------------------------------------------------------------------------------

TEST_F(VerkleProofTest, DerivedSingleKeyProofByteForByte) {
  const nlohmann::json v =
      testing::read_json(verkle_vectors() / "derived_vectors.json")["single_key_proof"];
  auto t = tree("single");
  std::vector<VerkleOp> ops;
  std::vector<Key32> keys;
  for (const auto& [k, value] : v["tree"].items()) {
    ops.push_back(VerkleOp::put(fixed<32>(k), fixed<32>(value.get<std::string>())));
    keys.push_back(fixed<32>(k));
  }
  auto applied = t->apply(ops);
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(hex_of(applied->root), v["pre_state_root"]);
  auto witness = t->prove(keys);
  ASSERT_TRUE(witness.ok()) << witness.status();
  EXPECT_EQ(hex_of(witness->multiproof_bytes()),
            v["multiproof_bytes_go_ipa_format(D||L[8]||R[8]||a_LE)"]);
  const nlohmann::json expected = v["execution_witness_json_like_go_verkle"];
  EXPECT_EQ(nlohmann::json::parse(witness_to_json(*witness)), expected);
  auto checked = verify_witness(backend(), applied->root, *witness);
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_EQ(checked->openings, v["openings_in_order"].size());
}

struct WitnessCase {
  std::string file;
  RootCommitment pre_root;
  bool valid;
  std::optional<RootCommitment> header_root;  // block files: the post-state root
};

std::vector<WitnessCase> witness_cases() {
  std::vector<WitnessCase> out;
  const nlohmann::json index =
      testing::read_json(verkle_vectors() / "public_vectors.json")["execution_witnesses"];
  for (const auto& e : index) {
    WitnessCase c{e["file"], fixed<32>(e["pre_state_root_compressed"].get<std::string>()),
                  e["expect"] == "valid", std::nullopt};
    const nlohmann::json file = testing::read_json(verkle_vectors() / c.file);
    if (file.contains("header"))
      c.header_root = fixed<32>(file["header"]["stateRoot"].get<std::string>());
    out.push_back(c);
  }
  return out;
}

TEST(VerkleWitnessVectors, ValidVerifyAndInvalidAreRejected) {
  const std::vector<WitnessCase> cases = witness_cases();
  ASSERT_EQ(cases.size(), 6u);
  for (const WitnessCase& c : cases) {
    SCOPED_TRACE(c.file);
    auto witness = parse_witness(read_file(verkle_vectors() / c.file));
    ASSERT_TRUE(witness.ok()) << witness.status();
    auto checked = verify_witness(backend(), c.pre_root, *witness);
    if (c.valid) {
      ASSERT_TRUE(checked.ok()) << checked.status();
      EXPECT_EQ(checked->stems, witness->state_diff.size());
    } else {
      EXPECT_TRUE(absl::IsInvalidArgument(checked.status())) << checked.status();
    }
  }
}

TEST(VerkleWitnessVectors, InvalidBlocksFailForTheirOwnReasons) {
  // 72: a changed stem makes the proof fail; 73: a commitment's x is not below p.
  auto w72 = parse_witness(
      read_file(verkle_vectors() / "rust-verkle-java-resources/invalid_block_72.json"));
  auto w73 = parse_witness(
      read_file(verkle_vectors() / "rust-verkle-java-resources/invalid_block_73.json"));
  ASSERT_TRUE(w72.ok() && w73.ok());
  const auto root72 = fixed<32>("64e1a647f42e5c2e3c434531ccf529e1b3e93363a40db9fc8eec81f492123510");
  const auto root73 = fixed<32>("18d1dfcc6ccc6f34d14af48a865895bf34bde7f3571d9ba24a4b98122841048c");
  const auto r72 = verify_witness(backend(), root72, *w72).status();
  const auto r73 = verify_witness(backend(), root73, *w73).status();
  EXPECT_TRUE(absl::IsInvalidArgument(r72)) << r72;
  EXPECT_TRUE(absl::IsInvalidArgument(r73)) << r73;
  EXPECT_NE(std::string(r73.message()).find("below the field modulus"), std::string::npos) << r73;
}

TEST(VerkleWitnessVectors, Blocks72And73ReproduceTheirPostStateRoots) {
  for (const WitnessCase& c : witness_cases()) {
    if (!c.valid || !c.header_root || c.file.find("block_7") == std::string::npos) continue;
    SCOPED_TRACE(c.file);
    auto witness = parse_witness(read_file(verkle_vectors() / c.file));
    ASSERT_TRUE(witness.ok());
    StatelessOptions options;
    options.expected_post_root = c.header_root;
    auto checked = verify_witness(backend(), c.pre_root, *witness, options);
    ASSERT_TRUE(checked.ok()) << checked.status();
    ASSERT_TRUE(checked->post_root);
    EXPECT_EQ(hex_of(*checked->post_root), hex_of(*c.header_root));
    RootCommitment wrong = *c.header_root;
    wrong[5] ^= 1;
    options.expected_post_root = wrong;
    EXPECT_FALSE(verify_witness(backend(), c.pre_root, *witness, options).ok());
  }
}

TEST(VerkleWitnessVectors, WrongRootAndEveryTamperingAreRejected) {
  const auto file = verkle_vectors() / "rust-verkle-java-resources/valid_block_73.json";
  auto base = parse_witness(read_file(file));
  ASSERT_TRUE(base.ok());
  const auto root = fixed<32>("18d1dfcc6ccc6f34d14af48a865895bf34bde7f3571d9ba24a4b98122841048c");
  ASSERT_TRUE(verify_witness(backend(), root, *base).ok());
  auto expect_rejected = [&](const VerkleWitness& w, const std::string& what) {
    const absl::Status s = verify_witness(backend(), root, w).status();
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << what << ": " << s;
  };
  RootCommitment other_root = root;
  other_root[31] ^= 1;
  EXPECT_FALSE(verify_witness(backend(), other_root, *base).ok());
  std::mt19937_64 rng = testing::seeded_rng("VerkleWitnessTamper");
  for (int i = 0; i < 12; ++i) {
    VerkleWitness w = *base;
    w.commitments_by_path[rng() % w.commitments_by_path.size()][31] ^= 1 << (rng() % 8);
    expect_rejected(w, "a commitment byte");
  }
  {
    VerkleWitness w = *base;
    w.d[30] ^= 4;
    expect_rejected(w, "D");
  }
  {
    VerkleWitness w = *base;
    w.final_evaluation_le[0] ^= 1;
    expect_rejected(w, "the final scalar");
  }
  {
    VerkleWitness w = *base;
    for (StemDiff& sd : w.state_diff) {
      for (SuffixDiff& d : sd.suffixes) {
        if (d.current) {
          (*d.current)[7] ^= 1;
          goto changed;
        }
      }
    }
  changed:
    expect_rejected(w, "a value");
  }
  {
    VerkleWitness w = *base;
    w.extension_statuses.pop_back();
    expect_rejected(w, "a status fewer");
  }
  {
    VerkleWitness w = *base;
    w.extension_statuses[0] = static_cast<std::uint8_t>((w.extension_statuses[0] & ~7) | 3);
    expect_rejected(w, "status 3");
  }
  {
    VerkleWitness w = *base;
    w.extension_statuses[3] = static_cast<std::uint8_t>(w.extension_statuses[3] + 8);
    expect_rejected(w, "a depth");
  }
  {
    VerkleWitness w = *base;
    ASSERT_GE(w.other_stems.size(), 2u);
    std::swap(w.other_stems[0], w.other_stems[1]);
    expect_rejected(w, "unsorted otherStems");
  }
  {
    VerkleWitness w = *base;
    Stem extra = w.other_stems.back();
    extra[30] ^= 0xff;
    if (w.other_stems.back() < extra)
      w.other_stems.push_back(extra);
    else
      w.other_stems.insert(w.other_stems.end() - 1, extra);
    expect_rejected(w, "an unused otherStem");
  }
  {
    VerkleWitness w = *base;
    w.commitments_by_path.push_back(w.commitments_by_path.back());
    expect_rejected(w, "a leftover commitment");
  }
  {
    VerkleWitness w = *base;
    w.commitments_by_path.pop_back();
    expect_rejected(w, "a missing commitment");
  }
  {
    VerkleWitness w = *base;
    std::swap(w.state_diff[0], w.state_diff[1]);
    expect_rejected(w, "unsorted stems");
  }
  {
    // A value for a stem proved absent.
    VerkleWitness w = *base;
    for (std::size_t i = 0; i < w.state_diff.size(); ++i) {
      if ((w.extension_statuses[i] & 3) != 2) {
        w.state_diff[i].suffixes[0].current = Value32{};
        break;
      }
    }
    expect_rejected(w, "a value for an absent stem");
  }
  {
    VerkleWitness w = *base;
    w.state_diff.clear();
    w.extension_statuses.clear();
    expect_rejected(w, "no stems");
  }
}

// ---- random trees -------------------------------------------------------------------------------

Value32 random_value(std::mt19937_64& rng) {
  Value32 v;
  for (auto& b : v) b = static_cast<std::uint8_t>(rng());
  if (rng() % 8 == 0) v = Value32{};  // a written zero is a value
  return v;
}

TEST_F(VerkleProofTest, RandomTreesEveryCaseVerifiesAndTamperingIsRejected) {
  std::mt19937_64 rng = testing::seeded_rng("VerkleProofRandom");
  auto t = tree("random");
  std::vector<Key32> present;
  // The empty tree first.
  {
    auto root = t->root();
    ASSERT_TRUE(root.ok());
    const std::vector<Key32> keys = testing::probe_verkle_keys(rng, {}, 5);
    auto w = t->prove(keys);
    ASSERT_TRUE(w.ok()) << w.status();
    EXPECT_TRUE(verify_witness(backend(), *root, *w).ok());
  }
  std::map<int, RootCommitment> roots;
  std::map<Key32, Value32> contents;
  for (int batch = 1; batch <= 4; ++batch) {
    std::vector<VerkleOp> ops;
    for (int i = 0; i < 300; ++i) {
      const Key32 k = testing::random_verkle_key(rng, present);
      const Value32 v = random_value(rng);
      ops.push_back(VerkleOp::put(k, v));
      present.push_back(k);
      contents[k] = v;
    }
    auto applied = t->apply(ops);
    ASSERT_TRUE(applied.ok()) << applied.status();
    roots[batch] = applied->root;
    for (std::size_t n : {1u, 7u, 60u}) {
      const std::vector<Key32> keys = testing::probe_verkle_keys(rng, present, n);
      auto w = t->prove(keys);
      ASSERT_TRUE(w.ok()) << w.status();
      auto checked = verify_witness(backend(), applied->root, *w);
      ASSERT_TRUE(checked.ok()) << checked.status() << " batch " << batch << " n " << n;
      // Every value in the witness is the tree's.
      for (const StemDiff& sd : w->state_diff) {
        for (const SuffixDiff& d : sd.suffixes) {
          Key32 k;
          std::copy(sd.stem.begin(), sd.stem.end(), k.begin());
          k[31] = d.suffix;
          auto it = contents.find(k);
          ASSERT_EQ(d.current.has_value(), it != contents.end());
          if (d.current) {
            EXPECT_EQ(*d.current, it->second);
          }
        }
      }
      // Binary and JSON forms give the same witness.
      auto from_json = parse_witness(witness_to_json(*w));
      auto from_binary = parse_witness(witness_to_binary(*w));
      ASSERT_TRUE(from_json.ok() && from_binary.ok());
      EXPECT_EQ(witness_to_binary(*from_json), witness_to_binary(*w));
      EXPECT_EQ(witness_to_binary(*from_binary), witness_to_binary(*w));
      // One changed commitment bit or value is rejected.
      if (!w->commitments_by_path.empty()) {
        VerkleWitness bad = *w;
        bad.commitments_by_path[rng() % bad.commitments_by_path.size()][31] ^= 2;
        EXPECT_FALSE(verify_witness(backend(), applied->root, bad).ok());
      }
      VerkleWitness bad = *w;
      SuffixDiff& d = bad.state_diff[rng() % bad.state_diff.size()].suffixes[0];
      if (d.current) {
        (*d.current)[0] ^= 0x80;
      } else {
        d.current = Value32{};
      }
      EXPECT_FALSE(verify_witness(backend(), applied->root, bad).ok());
    }
  }
  // Older versions still prove against their own roots, not the head's.
  const std::vector<Key32> keys = testing::probe_verkle_keys(rng, present, 40);
  auto old = t->prove(keys, 2);
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_TRUE(verify_witness(backend(), roots[2], *old).ok());
  EXPECT_FALSE(verify_witness(backend(), roots[4], *old).ok());
  EXPECT_TRUE(absl::IsInvalidArgument(t->prove({}).status()));
}

TEST_F(VerkleProofTest, PostStateRootOfInsertsUpdatesAndSplits) {
  std::mt19937_64 rng = testing::seeded_rng("VerklePostState");
  auto t = tree("post");
  std::vector<Key32> present;
  std::vector<VerkleOp> first;
  for (int i = 0; i < 400; ++i) {
    const Key32 k = testing::random_verkle_key(rng, present);
    present.push_back(k);
    first.push_back(VerkleOp::put(k, random_value(rng)));
  }
  ASSERT_TRUE(t->apply(first).ok());
  auto key_of = [](const StemDiff& sd, const SuffixDiff& d) {
    Key32 k;
    std::copy(sd.stem.begin(), sd.stem.end(), k.begin());
    k[31] = d.suffix;
    return k;
  };
  for (int round = 0; round < 4; ++round) {
    // A block: writes to present keys, new suffixes, new stems in empty slots and next to
    // other stems' leaves (splits), several new stems in one slot.
    const std::vector<Key32> written = testing::probe_verkle_keys(rng, present, 40);
    auto pre = t->prove(written);
    ASSERT_TRUE(pre.ok());
    auto head = t->info();
    auto pre_root = t->root();
    ASSERT_TRUE(head.ok() && pre_root.ok());
    std::map<Key32, Value32> writes;
    for (const Key32& k : written) writes[k] = random_value(rng);

    // Half of the keys written, the others left with a null newValue.
    VerkleWitness partial = *pre;
    std::vector<VerkleOp> some;
    bool take = false;
    for (StemDiff& sd : partial.state_diff) {
      for (SuffixDiff& d : sd.suffixes) {
        if ((take = !take)) {
          d.next = writes.at(key_of(sd, d));
          some.push_back(VerkleOp::put(key_of(sd, d), *d.next));
        }
      }
    }
    auto partial_root = t->apply(some);
    ASSERT_TRUE(partial_root.ok());
    StatelessOptions options;
    options.expected_post_root = partial_root->root;
    auto partial_checked = verify_witness(backend(), *pre_root, partial, options);
    ASSERT_TRUE(partial_checked.ok()) << partial_checked.status() << " round " << round;
    ASSERT_TRUE(t->rollback(head->head_version).ok());

    // Every key written.
    VerkleWitness w = *pre;
    std::vector<VerkleOp> ops;
    for (StemDiff& sd : w.state_diff) {
      for (SuffixDiff& d : sd.suffixes) {
        d.next = writes.at(key_of(sd, d));
        ops.push_back(VerkleOp::put(key_of(sd, d), *d.next));
      }
    }
    auto post = t->apply(ops);
    ASSERT_TRUE(post.ok());
    options.expected_post_root = post->root;
    auto checked = verify_witness(backend(), *pre_root, w, options);
    ASSERT_TRUE(checked.ok()) << checked.status() << " round " << round;
    for (const Key32& k : written) present.push_back(k);
  }
}

}  // namespace
}  // namespace arbor::verkle
