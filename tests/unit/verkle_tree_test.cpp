// The Verkle tree: every tree-root vector, an independent model (sequential go-verkle operations on
// a pointer tree, commitments recomputed from scratch) on random batches with deletes, persistence,
// versions, rollback, prune and corrupt records.
#include "host/verkle/verkle_tree.hpp"

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <map>
#include <memory>
#include <random>

#include "absl/strings/escaping.h"
#include "host/backend/compute_backend.hpp"
#include "kernels/verkle/pedersen.hpp"
#include "storage/store.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::verkle {
namespace {

using testing::TempDir;

std::vector<std::uint8_t> unhex(std::string text) {
  if (text.rfind("0x", 0) == 0) text = text.substr(2);
  const std::string bytes = absl::HexStringToBytes(text);
  return {bytes.begin(), bytes.end()};
}
template <std::size_t N>
std::array<std::uint8_t, N> unhex_n(const std::string& text) {
  const auto bytes = unhex(text);
  EXPECT_EQ(bytes.size(), N) << text;
  std::array<std::uint8_t, N> out{};
  std::copy_n(bytes.begin(), std::min(N, bytes.size()), out.begin());
  return out;
}
std::string hex(std::span<const std::uint8_t> bytes) {
  return absl::BytesToHexString(std::string(as_view(bytes)));
}

// ---- the model: go-verkle's Insert / Delete on pointer nodes, hashed from scratch ---------------

struct ModelNode {
  bool leaf = false;
  Stem stem{};
  std::map<int, Value32> values;                         // leaf
  std::array<std::unique_ptr<ModelNode>, 256> children;  // internal
};

class Model {
 public:
  Model() : root_(std::make_unique<ModelNode>()) {}

  void insert(const Key32& key, const Value32& value) {
    const Stem stem = stem_of(key);
    ModelNode* node = root_.get();
    for (int depth = 0;; ++depth) {
      std::unique_ptr<ModelNode>& slot = node->children[stem[depth]];
      if (!slot) {
        slot = std::make_unique<ModelNode>();
        slot->leaf = true;
        slot->stem = stem;
        slot->values[key[31]] = value;
        return;
      }
      if (!slot->leaf) {
        node = slot.get();
        continue;
      }
      if (slot->stem == stem) {
        slot->values[key[31]] = value;
        return;
      }
      auto split = std::make_unique<ModelNode>();
      const std::uint8_t other = slot->stem[depth + 1];
      split->children[other] = std::move(slot);
      slot = std::move(split);
      node = slot.get();
    }
  }

  void erase(const Key32& key) { erase_in(*root_, stem_of(key), key[31], 0, true); }

  RootCommitment root() const { return serialize(commit(*root_)); }

 private:
  // True when the caller should drop this node (go-verkle's Delete return value).
  static bool erase_in(ModelNode& node, const Stem& stem, int suffix, int depth, bool is_root) {
    std::unique_ptr<ModelNode>& slot = node.children[stem[depth]];
    if (!slot) return false;
    if (slot->leaf) {
      if (slot->stem != stem) return false;
      slot->values.erase(suffix);
      if (!slot->values.empty()) return false;
      slot.reset();
    } else if (erase_in(*slot, stem, suffix, depth + 1, false)) {
      slot.reset();
    } else {
      return false;
    }
    if (is_root) return false;
    for (const auto& child : node.children) {
      if (child) return false;
    }
    return true;
  }

  static Point commit(const ModelNode& node) {
    const PedersenTables& tables = default_pedersen_tables();
    std::vector<Fr> scalars(256, Fr::zero());
    if (node.leaf) {
      std::vector<Fr> c1(256, Fr::zero()), c2(256, Fr::zero());
      for (const auto& [suffix, value] : node.values) {
        auto& c = suffix < 128 ? c1 : c2;
        c[2 * (suffix % 128)] = value_low_with_marker(value);
        c[2 * (suffix % 128) + 1] = value_high(value);
      }
      std::uint8_t stem_le[32] = {};
      std::copy(node.stem.begin(), node.stem.end(), stem_le);
      scalars[0] = Fr::one();
      scalars[1] = from_bytes_le_mod_order<BandersnatchFrParams>(stem_le);
      scalars[2] = map_to_scalar_field(*tables.commit(c1));
      scalars[3] = map_to_scalar_field(*tables.commit(c2));
    } else {
      for (int i = 0; i < 256; ++i) {
        if (node.children[i]) scalars[i] = map_to_scalar_field(commit(*node.children[i]));
      }
    }
    return *tables.commit(scalars);
  }

  std::unique_ptr<ModelNode> root_;
};

// ---- fixtures -----------------------------------------------------------------------------------

class VerkleTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = storage::Store::open(dir_.path() / "db");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    auto tree = VerkleTree::create(*store_, "t", {}, *backend_);
    ASSERT_TRUE(tree.ok()) << tree.status();
    tree_ = std::move(*tree);
  }

  VerkleApplyResult apply(const std::vector<VerkleOp>& ops) {
    auto result = tree_->apply(ops);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : VerkleApplyResult{};
  }

  TempDir dir_{"verkle-tree"};
  std::unique_ptr<host::ComputeBackend> backend_ = host::make_cpu_backend();
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<VerkleTree> tree_;
};

std::vector<VerkleOp> puts_from_json(const nlohmann::json& pairs) {
  std::vector<VerkleOp> ops;
  for (const auto& kv : pairs) {
    ops.push_back(VerkleOp::put(unhex_n<32>(kv[0].get<std::string>()),
                                unhex_n<32>(kv[1].get<std::string>())));
  }
  return ops;
}

// ---- vectors ------------------------------------------------------------------------------------

TEST_F(VerkleTreeTest, EmptyTreeRootIsZero) {
  auto root = tree_->root();
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(hex(*root), std::string(64, '0'));
  auto hash = tree_->root_hash();
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(hex(*hash), std::string(64, '0'));
}

TEST_F(VerkleTreeTest, PublicTreeVectors) {
  const auto vectors = testing::read_json(testing::vectors_dir() / "verkle/public_vectors.json");
  int checked = 0;
  for (const auto& v : vectors["tree_vectors"]) {
    if (!v.contains("insert")) continue;
    auto tree = VerkleTree::create(*store_, "pub" + std::to_string(checked), {}, *backend_);
    ASSERT_TRUE(tree.ok());
    auto applied = (*tree)->apply(puts_from_json(v["insert"]));
    ASSERT_TRUE(applied.ok()) << applied.status();
    if (v.contains("root_commitment")) {
      EXPECT_EQ(hex(applied->root), v["root_commitment"].get<std::string>()) << v["src"];
    }
    if (v.contains("root_hash_le")) {
      EXPECT_EQ(hex(*(*tree)->root_hash()), v["root_hash_le"].get<std::string>()) << v["src"];
    }
    ++checked;
  }
  EXPECT_GE(checked, 6);
}

TEST_F(VerkleTreeTest, DerivedTreeVectors) {
  const auto vectors = testing::read_json(testing::vectors_dir() / "verkle/derived_vectors.json");
  int n = 0;
  for (const auto& v : vectors["tree_roots"]) {
    std::vector<VerkleOp> ops;
    const std::string name = v["name"];
    if (v.contains("kvs")) {
      ops = puts_from_json(v["kvs"]);
    } else if (name.find("same stem") != std::string::npos) {
      for (int i = 0; i < 256; ++i) {
        Key32 key{};
        key[31] = static_cast<std::uint8_t>(i);
        ops.push_back(VerkleOp::put(key, key));
      }
    } else {
      ASSERT_NE(name.find("distinct stems"), std::string::npos) << name;
      for (int i = 0; i < 256; ++i) {
        Key32 key{};
        key[0] = static_cast<std::uint8_t>(i);
        ops.push_back(VerkleOp::put(key, key));
      }
    }
    auto tree = VerkleTree::create(*store_, "d" + std::to_string(n++), {}, *backend_);
    ASSERT_TRUE(tree.ok());
    auto applied = (*tree)->apply(ops);
    ASSERT_TRUE(applied.ok()) << applied.status();
    EXPECT_EQ(hex(applied->root), v["root_commitment"].get<std::string>()) << name;
    EXPECT_EQ(hex(*(*tree)->root_hash()), v["root_hash_le"].get<std::string>()) << name;
  }
  EXPECT_EQ(n, 7);
}

// rust-verkle's / verkle-trie-ref's insert-100 vector: key = value = SHA256(u64_le(i) || 0^32),
// cumulative roots after 100, 200, ... 5000 keys, applied in batches of uneven sizes.
TEST_F(VerkleTreeTest, PrngCumulativeRootVectors) {
  const auto vectors = testing::read_json(testing::vectors_dir() / "verkle/public_vectors.json");
  nlohmann::json vector;
  for (const auto& v : vectors["tree_vectors"]) {
    if (v.contains("cumulative_roots_hash_le")) vector = v;
  }
  ASSERT_FALSE(vector.is_null());
  std::map<int, std::string> hashes, commitments;
  for (const auto& [count, hash] : vector["cumulative_roots_hash_le"].items()) {
    hashes[std::stoi(count)] = hash;
  }
  for (const auto& [count, root] : vector["cumulative_roots_commitment_DERIVED_locally"].items()) {
    commitments[std::stoi(count)] = root;
  }
  std::mt19937_64 rng = testing::seeded_rng("verkle prng batches");
  int done = 0;
  for (const auto& [count, hash] : hashes) {
    while (done < count) {
      // Batches of 1..400, cut at the checkpoints.
      const int size = std::min<int>(count - done, 1 + static_cast<int>(rng() % 400));
      std::vector<VerkleOp> ops;
      for (int i = done; i < done + size; ++i) {
        std::uint8_t input[40] = {};
        const auto index = static_cast<std::uint64_t>(i);
        for (int b = 0; b < 8; ++b) input[b] = static_cast<std::uint8_t>(index >> (8 * b));
        Key32 key;
        SHA256(input, sizeof input, key.data());
        ops.push_back(VerkleOp::put(key, key));
      }
      apply(ops);
      done += size;
    }
    EXPECT_EQ(hex(*tree_->root_hash()), hash) << count << " keys";
    EXPECT_EQ(hex(*tree_->root()), commitments[count]) << count << " keys";
  }
}

// ---- the model on random batches ----------------------------------------------------------------

// Keys crowd a few stems and long shared stem prefixes, so splits, deep leaves, shared leaves and
// emptied subtrees all happen.
Key32 random_key(std::mt19937_64& rng, const std::vector<Key32>& pool) {
  Key32 key{};
  switch (rng() % 4) {
    case 0:  // fully random
      for (auto& b : key) b = static_cast<std::uint8_t>(rng());
      break;
    case 1:  // another suffix of a known stem
      key = pool.empty() ? key : pool[rng() % pool.size()];
      key[31] = static_cast<std::uint8_t>(rng());
      break;
    default: {  // a known stem's prefix, then random
      if (!pool.empty()) key = pool[rng() % pool.size()];
      const int keep = static_cast<int>(rng() % 31);
      for (int i = keep; i < 32; ++i) key[i] = static_cast<std::uint8_t>(rng() % 3);
    }
  }
  return key;
}

TEST_F(VerkleTreeTest, RandomBatchesMatchTheModel) {
  std::mt19937_64 rng = testing::seeded_rng("verkle model");
  Model model;
  std::map<Key32, Value32> contents;
  std::vector<Key32> pool;
  std::vector<RootCommitment> roots{tree_->root().value()};
  std::uint64_t erased_nodes = 0, deleted = 0;
  for (int batch = 0; batch < 40; ++batch) {
    std::vector<VerkleOp> ops;
    const int size = 1 + static_cast<int>(rng() % (batch < 20 ? 120 : 30));
    for (int i = 0; i < size; ++i) {
      const bool erase = !contents.empty() && rng() % 3 == 0;
      if (erase) {
        auto it = contents.begin();
        std::advance(it, rng() % contents.size());
        ops.push_back(VerkleOp::erase(rng() % 8 == 0 ? random_key(rng, pool) : it->first));
      } else {
        const Key32 key = rng() % 4 == 0 && !contents.empty()
                              ? std::next(contents.begin(), rng() % contents.size())->first
                              : random_key(rng, pool);
        Value32 value{};
        if (rng() % 5) {
          for (auto& b : value) b = static_cast<std::uint8_t>(rng());
        }
        ops.push_back(VerkleOp::put(key, value));
        pool.push_back(key);
      }
    }
    // The model's order: last op per key wins, then deletes before puts.
    std::map<Key32, VerkleOp> last;
    for (const VerkleOp& op : ops) last[op.key] = op;
    for (const auto& [key, op] : last) {
      if (op.kind == VerkleOp::Kind::kDelete) {
        model.erase(key);
        contents.erase(key);
      }
    }
    for (const auto& [key, op] : last) {
      if (op.kind == VerkleOp::Kind::kPut) {
        model.insert(key, op.value);
        contents[key] = op.value;
      }
    }
    const VerkleApplyResult result = apply(ops);
    ASSERT_EQ(hex(result.root), hex(model.root())) << "batch " << batch;
    EXPECT_EQ(result.entry_count, contents.size());
    roots.push_back(result.root);
    erased_nodes += result.stats.nodes_erased;
    deleted += result.stats.deleted;
  }
  // The batches did remove values and whole nodes (not only add).
  EXPECT_GT(deleted, 0u);
  EXPECT_GT(erased_nodes, 0u);
  // Values at the head, absent keys absent.
  for (const auto& [key, value] : contents) {
    auto got = tree_->get(key);
    ASSERT_TRUE(got.ok());
    ASSERT_TRUE(got->has_value());
    EXPECT_EQ(**got, value);
  }
  // Old versions keep their roots; rollback returns the exact old root and continues from it.
  for (std::uint64_t v = 0; v < roots.size(); ++v) EXPECT_EQ(*tree_->root(v), roots[v]);
  ASSERT_TRUE(tree_->rollback(17).ok());
  EXPECT_EQ(*tree_->root(), roots[17]);
  EXPECT_EQ(tree_->version_record()->version, 17u);
  // Deleting everything leaves the zero root.
  std::vector<VerkleOp> wipe;
  auto view = store_->view("t");
  ASSERT_TRUE(view.ok());
  ASSERT_TRUE(view->scan(storage::Space::kValues, "",
                         [&](std::string_view key, std::string_view) {
                           Key32 k;
                           std::copy(key.begin(), key.end(), k.begin());
                           wipe.push_back(VerkleOp::erase(k));
                           return true;
                         })
                  .ok());
  const VerkleApplyResult wiped = apply(wipe);
  EXPECT_EQ(hex(wiped.root), std::string(64, '0'));
  EXPECT_EQ(wiped.entry_count, 0u);
}

// Puts into a slot whose leaf loses all of its values in the same batch: the deletes go first, so
// the new stem takes the freed slot rather than splitting with the dying leaf.
TEST_F(VerkleTreeTest, DeletesApplyBeforePutsWithinABatch) {
  Key32 a{}, b{};
  a[0] = 7;
  b[0] = 7;
  b[1] = 9;
  Value32 one{};
  one[0] = 1;
  apply({VerkleOp::put(a, one)});
  apply({VerkleOp::put(b, one), VerkleOp::erase(a)});
  Model model;
  model.insert(b, one);
  EXPECT_EQ(hex(*tree_->root()), hex(model.root()));
  // The other order (split first, then delete) would leave b one level deeper.
  Model split_first;
  split_first.insert(a, one);
  split_first.insert(b, one);
  split_first.erase(a);
  EXPECT_NE(hex(*tree_->root()), hex(split_first.root()));
}

TEST_F(VerkleTreeTest, NoOpBatchesMakeVersionsWithTheSameRoot) {
  Key32 k{};
  k[5] = 1;
  const VerkleApplyResult first = apply({VerkleOp::erase(k)});
  EXPECT_EQ(first.version, 1u);
  EXPECT_EQ(first.stats.absent_deletes, 1u);
  EXPECT_EQ(hex(first.root), std::string(64, '0'));
  const VerkleApplyResult second = apply({VerkleOp::put(k, Value32{})});
  EXPECT_EQ(second.stats.inserted, 1u);
  const VerkleApplyResult third = apply({VerkleOp::put(k, Value32{})});
  EXPECT_EQ(third.stats.updated, 1u);
  EXPECT_EQ(third.root, second.root);
  EXPECT_EQ(third.stats.records_written, 0u);
  EXPECT_NE(hex(second.root), std::string(64, '0'));  // a zero value is not an absent one
}

TEST_F(VerkleTreeTest, ReopenNeedsNoRecomputationAndContinues) {
  std::mt19937_64 rng = testing::seeded_rng("verkle reopen");
  Model model;
  std::vector<VerkleOp> ops;
  for (int i = 0; i < 300; ++i) {
    Key32 key{};
    Value32 value{};
    for (auto& x : key) x = static_cast<std::uint8_t>(rng());
    key[0] = static_cast<std::uint8_t>(i % 5);
    for (auto& x : value) x = static_cast<std::uint8_t>(rng());
    ops.push_back(VerkleOp::put(key, value));
    model.insert(key, value);
  }
  const VerkleApplyResult first = apply(ops);
  tree_.reset();
  store_.reset();
  auto store = storage::Store::open(dir_.path() / "db");
  ASSERT_TRUE(store.ok());
  store_ = std::move(*store);
  auto tree = VerkleTree::open(*store_, "t", *backend_);
  ASSERT_TRUE(tree.ok()) << tree.status();
  tree_ = std::move(*tree);
  EXPECT_EQ(*tree_->root(), first.root);
  EXPECT_EQ(tree_->info()->head_version, 1u);
  // The next batch is incremental over the stored commitments.
  const VerkleApplyResult second = apply({VerkleOp::erase(ops[3].key)});
  model.erase(ops[3].key);
  EXPECT_EQ(hex(second.root), hex(model.root()));
  EXPECT_LE(second.stats.commitment_deltas, 12u);
}

TEST_F(VerkleTreeTest, ExpectedVersionPruneAndOldReads) {
  Key32 k{};
  Value32 v1{}, v2{};
  v1[0] = 1;
  v2[0] = 2;
  apply({VerkleOp::put(k, v1)});
  apply({VerkleOp::put(k, v2)});
  VerkleApplyOptions stale;
  stale.expected_version = 1;
  EXPECT_EQ(tree_->apply(std::vector{VerkleOp::put(k, v1)}, stale).status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(**tree_->get(k, 1), v1);
  EXPECT_EQ(**tree_->get(k), v2);
  ASSERT_TRUE(tree_->prune(2).ok());
  EXPECT_EQ(tree_->get(k, 1).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(**tree_->get(k), v2);
}

TEST_F(VerkleTreeTest, OpenRefusesOtherSchemes) {
  storage::TreeSpec spec;
  spec.name = "other";
  spec.scheme = "smt";
  spec.empty_root = std::string(32, '\0');
  ASSERT_TRUE(store_->create_tree(spec).ok());
  EXPECT_EQ(VerkleTree::open(*store_, "other", *backend_).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(VerkleTree::open(*store_, "missing", *backend_).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(VerkleTreeTest, NodeRecordsRoundTripAndExposeTheStructure) {
  Key32 a{}, b{};
  b[0] = 1;
  Value32 v{};
  v[3] = 3;
  apply({VerkleOp::put(a, v), VerkleOp::put(b, v)});
  auto root = tree_->node(root_node_key());
  ASSERT_TRUE(root.ok() && root->has_value());
  const auto& internal = std::get<InternalNode>(**root);
  EXPECT_EQ(internal.child_count(), 2u);
  EXPECT_EQ(internal.kinds[0], ChildKind::kLeaf);
  EXPECT_EQ(internal.kinds[1], ChildKind::kLeaf);
  EXPECT_EQ(serialize(internal.commitment), *tree_->root());
  const std::uint8_t path[1] = {1};
  auto leaf = tree_->node(node_key(1, path));
  ASSERT_TRUE(leaf.ok() && leaf->has_value());
  const auto& l = std::get<LeafNode>(**leaf);
  EXPECT_EQ(l.stem, stem_of(b));
  EXPECT_TRUE(l.present[0]);
  EXPECT_EQ(map_to_scalar_field(l.commitment), internal.child_hashes[1]);
  EXPECT_EQ(encode_node(**leaf), encode_node(*decode_node(encode_node(**leaf))));
}

TEST(VerkleRecords, CorruptRecordsAreDataLoss) {
  InternalNode internal;
  internal.kinds[4] = ChildKind::kLeaf;
  internal.child_hashes[4] = Fr::one();
  const std::string good = encode_node(internal);
  ASSERT_TRUE(decode_node(good).ok());
  std::vector<std::string> bad = {
      "",
      std::string(1, '\x07'),
      good.substr(0, good.size() - 1),
      good + "x",
      std::string(1, '\x02') + std::string(10, '\0'),
  };
  std::string unknown_kind = good;
  unknown_kind[1 + 64] = '\x03';  // child 0 of kind 3
  bad.push_back(unknown_kind);
  std::string big_x = good;
  for (int i = 1; i < 33; ++i) big_x[i] = '\xff';  // x >= p
  bad.push_back(big_x);
  std::string big_hash = good;
  for (std::size_t i = big_hash.size() - 32; i < big_hash.size(); ++i) big_hash[i] = '\xff';
  bad.push_back(big_hash);
  LeafNode leaf;
  std::string empty_leaf = encode_node(leaf);  // a leaf with no value cannot be stored
  bad.push_back(empty_leaf);
  for (const std::string& record : bad) {
    EXPECT_EQ(decode_node(record).status().code(), absl::StatusCode::kDataLoss)
        << absl::BytesToHexString(record);
  }
}

}  // namespace
}  // namespace arbor::verkle
