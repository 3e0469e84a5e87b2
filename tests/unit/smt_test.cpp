// The SMT against the iden3 vectors and an independent in-memory model: roots, values, proofs,
// versions, rollback, max depth, and batches that must change nothing.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "host/smt/smt_hash.hpp"
#include "host/smt/smt_tree.hpp"
#include "kernels/field/bn254_fr_text.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::smt {
namespace {

using arbor::testing::TempDir;

Fr fr(const std::string& text) {
  auto value = field::parse_fr(text);
  EXPECT_TRUE(value.ok()) << value.status();
  return value.ok() ? *value : Fr::zero();
}

Fr small(std::uint64_t value) { return field::from_u64(value); }

struct FrLess {
  bool operator()(const Fr& a, const Fr& b) const { return key_bits(a) < key_bits(b); }
};
using Model = std::map<Fr, Fr, FrLess>;

// The root straight from the definition: no storage, no planning, no backend.
Fr model_root(std::vector<std::pair<Fr, Fr>> entries, int depth = 0) {
  if (entries.empty()) return Fr::zero();
  if (entries.size() == 1) return leaf_hash(entries[0].first, entries[0].second);
  std::vector<std::pair<Fr, Fr>> side[2];
  for (auto& entry : entries) side[path_bit(key_bits(entry.first), depth)].push_back(entry);
  return node_hash(model_root(side[0], depth + 1), model_root(side[1], depth + 1));
}
Fr model_root(const Model& model) {
  return model_root(std::vector<std::pair<Fr, Fr>>(model.begin(), model.end()));
}

storage::StoreOptions quick_options() {
  storage::StoreOptions options;
  options.sync = storage::SyncMode::kNone;
  options.block_cache_bytes = 8 << 20;
  options.write_buffer_bytes = 4 << 20;
  return options;
}

class SmtTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = storage::Store::open(dir_.path(), quick_options());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  std::unique_ptr<SmtTree> make_tree(const std::string& name, SmtCreateOptions create = {},
                                     SmtTreeOptions options = {}) {
    auto tree = SmtTree::create(*store_, name, create, *backend_, options);
    EXPECT_TRUE(tree.ok()) << tree.status();
    return tree.ok() ? std::move(*tree) : nullptr;
  }

  ApplyResult apply(SmtTree& tree, const std::vector<SmtOp>& ops) {
    auto result = tree.apply(ops);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : ApplyResult{};
  }

  TempDir dir_{"smt"};
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<host::ComputeBackend> backend_ = host::make_cpu_backend();
};

std::vector<SmtOp> vector_ops(const nlohmann::json& ops) {
  std::vector<SmtOp> out;
  for (const auto& op : ops) {
    if (op["op"] == "insert") {
      out.push_back(SmtOp::put(fr(op["key"]), fr(op["value"])));
    } else {
      out.push_back(SmtOp::erase(fr(op["key"])));
    }
  }
  return out;
}

TEST_F(SmtTest, VectorRootsOneOpPerVersionAndAllInOne) {
  const auto vectors = testing::read_json(testing::vectors_dir() / "smt_iden3.json");
  int index = 0;
  for (const auto& entry : vectors["roots"]) {
    const std::vector<SmtOp> ops = vector_ops(entry["ops"]);
    const Fr expected = fr(entry["root_dec"]);
    auto stepwise = make_tree("step" + std::to_string(index));
    ApplyResult last;
    for (const SmtOp& op : ops) last = apply(*stepwise, {op});
    EXPECT_EQ(field::to_decimal(last.root), field::to_decimal(expected)) << "vector " << index;
    EXPECT_EQ(last.version, ops.size());
    auto batched = make_tree("batch" + std::to_string(index));
    EXPECT_EQ(field::to_decimal(apply(*batched, ops).root), field::to_decimal(expected))
        << "vector " << index;
    ++index;
  }
  EXPECT_EQ(index, 13);
}

TEST_F(SmtTest, VectorProofs) {
  const auto vectors = testing::read_json(testing::vectors_dir() / "smt_iden3.json");
  int index = 0;
  for (const auto& entry : vectors["proofs"]) {
    auto tree = make_tree("proof" + std::to_string(index++));
    std::vector<SmtOp> ops;
    for (const auto& pair : entry["tree"]) ops.push_back(SmtOp::put(fr(pair[0]), fr(pair[1])));
    const ApplyResult applied = apply(*tree, ops);
    auto proof = tree->prove(fr(entry["key"]));
    ASSERT_TRUE(proof.ok()) << proof.status();
    ASSERT_EQ(proof->siblings.size(), entry["siblings"].size());
    for (size_t i = 0; i < proof->siblings.size(); ++i) {
      EXPECT_EQ(field::to_decimal(proof->siblings[i]), entry["siblings"][i].get<std::string>());
    }
    EXPECT_EQ(proof->existence, entry["found"].get<bool>());
    if (proof->existence) {
      EXPECT_EQ(field::to_decimal(proof->value), entry["value"].get<std::string>());
    } else {
      EXPECT_EQ(!proof->aux.has_value(), entry["isOld0"].get<bool>());
      ASSERT_TRUE(proof->aux.has_value());
      EXPECT_EQ(field::to_decimal(proof->aux->key), entry["notFoundKey"].get<std::string>());
      EXPECT_EQ(field::to_decimal(proof->aux->value), entry["notFoundValue"].get<std::string>());
    }
    EXPECT_TRUE(verify_proof(applied.root, *proof).ok()) << verify_proof(applied.root, *proof);
  }
}

TEST_F(SmtTest, EmptyTreeAndEmptyBatch) {
  auto tree = make_tree("empty");
  auto root = tree->root();
  ASSERT_TRUE(root.ok());
  EXPECT_TRUE(root->is_zero());
  auto proof = tree->prove(small(5));
  ASSERT_TRUE(proof.ok()) << proof.status();
  EXPECT_FALSE(proof->existence);
  EXPECT_FALSE(proof->aux.has_value());
  EXPECT_TRUE(proof->siblings.empty());
  EXPECT_TRUE(verify_proof(Fr::zero(), *proof).ok());
  // An empty batch still makes a version, with the same root.
  const ApplyResult applied = apply(*tree, {});
  EXPECT_EQ(applied.version, 1u);
  EXPECT_TRUE(applied.root.is_zero());
  // Deleting what is not there is a no-op that is counted.
  const ApplyResult deleted = apply(*tree, {SmtOp::erase(small(3))});
  EXPECT_TRUE(deleted.root.is_zero());
  EXPECT_EQ(deleted.stats.absent_deletes, 1u);
  apply(*tree, {SmtOp::put(small(7), small(8))});
  const ApplyResult emptied = apply(*tree, {SmtOp::erase(small(7))});
  EXPECT_TRUE(emptied.root.is_zero());
  EXPECT_EQ(emptied.stats.deleted, 1u);
  auto value = tree->get(small(7));
  ASSERT_TRUE(value.ok());
  EXPECT_FALSE(value->has_value());
  auto old_value = tree->get(small(7), 3);
  ASSERT_TRUE(old_value.ok());
  ASSERT_TRUE(old_value->has_value());
  EXPECT_EQ(**old_value, small(8));
}

TEST_F(SmtTest, LastWriteInBatchWins) {
  auto tree = make_tree("lww");
  const ApplyResult result =
      apply(*tree, {SmtOp::put(small(1), small(10)), SmtOp::put(small(2), small(20)),
                    SmtOp::put(small(1), small(11)), SmtOp::erase(small(2)),
                    SmtOp::put(small(3), small(30)), SmtOp::erase(small(3)),
                    SmtOp::put(small(3), small(31))});
  Model model{{small(1), small(11)}, {small(3), small(31)}};
  EXPECT_EQ(result.root, model_root(model));
  EXPECT_EQ(result.stats.ops, 3u);
  EXPECT_EQ(result.stats.inserted, 2u);
  EXPECT_EQ(result.stats.absent_deletes, 1u);
}

// Keys that often share long path prefixes: chains of one-child nodes, collapses several levels
// up.
Fr random_key(std::mt19937_64& rng) {
  switch (rng() % 4) {
    case 0:
      return small(rng() % 64);  // dense low keys
    case 1:
      return small((rng() % 16) << (rng() % 48));  // long shared zero prefixes
    case 2: {                                      // same low 40 bits, random high
      Fr high = testing::random_fr(rng);
      KeyBits bits = key_bits(high);
      bits[0] = (bits[0] & ~((1ULL << 40) - 1)) | 0x5a5a5a5a5aULL;
      std::uint64_t limbs[4] = {bits[0], bits[1], bits[2], bits[3] & 0x0fffffffffffffffULL};
      return field::from_canonical_limbs(limbs);
    }
    default:
      return testing::random_fr_with_edges(rng);
  }
}

TEST_F(SmtTest, MatchesModelOnRandomBatches) {
  auto rng = testing::seeded_rng("MatchesModelOnRandomBatches");
  auto tree = make_tree("model", SmtCreateOptions{kMaxDepthLimit, 0});
  Model model;
  std::vector<Fr> known;
  for (int batch = 0; batch < 60; ++batch) {
    std::vector<SmtOp> ops;
    const int size = 1 + static_cast<int>(rng() % (batch % 5 == 0 ? 300 : 25));
    for (int i = 0; i < size; ++i) {
      const bool reuse = !known.empty() && rng() % 2;
      const Fr key = reuse ? known[rng() % known.size()] : random_key(rng);
      if (!reuse) known.push_back(key);
      if (rng() % 3 == 0) {
        ops.push_back(SmtOp::erase(key));
        model.erase(key);
      } else {
        const Fr value = testing::random_fr_with_edges(rng);
        ops.push_back(SmtOp::put(key, value));
        model[key] = value;
      }
    }
    const ApplyResult result = apply(*tree, ops);
    ASSERT_EQ(field::to_hex(result.root), field::to_hex(model_root(model))) << "batch " << batch;
    ASSERT_EQ(result.entry_count, model.size()) << "batch " << batch;
    auto record = tree->version_record();
    ASSERT_TRUE(record.ok()) << record.status();
    ASSERT_EQ(record->entry_count, model.size());
    // Spot-check values and proofs of present and absent keys.
    for (int probe = 0; probe < 12; ++probe) {
      const Fr key = probe % 3 == 2 ? random_key(rng) : known[rng() % known.size()];
      auto value = tree->get(key);
      ASSERT_TRUE(value.ok()) << value.status();
      auto expected = model.find(key);
      ASSERT_EQ(value->has_value(), expected != model.end());
      if (expected != model.end()) {
        EXPECT_EQ(**value, expected->second);
      }
      auto proof = tree->prove(key);
      ASSERT_TRUE(proof.ok()) << proof.status();
      EXPECT_EQ(proof->existence, expected != model.end());
      EXPECT_TRUE(verify_proof(result.root, *proof).ok()) << verify_proof(result.root, *proof);
    }
  }
}

TEST_F(SmtTest, RootIndependentOfBatchSplitAndOrder) {
  auto rng = testing::seeded_rng("RootIndependentOfBatchSplitAndOrder");
  std::vector<SmtOp> ops;
  Model model;
  for (int i = 0; i < 400; ++i) {
    const Fr key = random_key(rng);
    const Fr value = testing::random_fr(rng);
    if (model.count(key)) continue;
    model[key] = value;
    ops.push_back(SmtOp::put(key, value));
  }
  const Fr expected = model_root(model);
  auto whole = make_tree("whole", SmtCreateOptions{kMaxDepthLimit, 0});
  EXPECT_EQ(apply(*whole, ops).root, expected);
  std::shuffle(ops.begin(), ops.end(), rng);
  auto split = make_tree("split", SmtCreateOptions{kMaxDepthLimit, 0});
  ApplyResult last;
  for (size_t at = 0; at < ops.size();) {
    const size_t size = std::min<size_t>(ops.size() - at, 1 + rng() % 40);
    last = apply(*split, std::vector<SmtOp>(ops.begin() + at, ops.begin() + at + size));
    at += size;
  }
  EXPECT_EQ(last.root, expected);
  // Deleting half in one order or another leaves the same tree.
  std::vector<SmtOp> deletes;
  for (size_t i = 0; i < ops.size(); i += 2) {
    deletes.push_back(SmtOp::erase(ops[i].key));
    model.erase(ops[i].key);
  }
  EXPECT_EQ(apply(*whole, deletes).root, model_root(model));
  std::reverse(deletes.begin(), deletes.end());
  for (const SmtOp& op : deletes) last = apply(*split, {op});
  EXPECT_EQ(last.root, model_root(model));
}

TEST_F(SmtTest, VersionsRollbackAndPrune) {
  auto rng = testing::seeded_rng("VersionsRollbackAndPrune");
  auto tree = make_tree("versions", SmtCreateOptions{kMaxDepthLimit, 0});
  std::vector<Model> models{Model{}};
  std::vector<Fr> roots{Fr::zero()};
  Model model;
  for (int v = 1; v <= 12; ++v) {
    std::vector<SmtOp> ops;
    for (int i = 0; i < 20; ++i) {
      const Fr key = random_key(rng);
      if (rng() % 4 == 0 && !model.empty()) {
        auto victim = std::next(model.begin(), static_cast<long>(rng() % model.size()));
        ops.push_back(SmtOp::erase(victim->first));
        model.erase(victim);
      } else {
        const Fr value = testing::random_fr(rng);
        ops.push_back(SmtOp::put(key, value));
        model[key] = value;
      }
    }
    roots.push_back(apply(*tree, ops).root);
    models.push_back(model);
  }
  // Every version reads as it was.
  for (std::uint64_t v = 0; v < roots.size(); ++v) {
    auto root = tree->root(v);
    ASSERT_TRUE(root.ok());
    EXPECT_EQ(*root, roots[v]);
    for (const auto& [key, value] : models[v]) {
      auto got = tree->get(key, v);
      ASSERT_TRUE(got.ok() && got->has_value()) << "version " << v;
      EXPECT_EQ(**got, value);
      auto proof = tree->prove(key, v);
      ASSERT_TRUE(proof.ok());
      EXPECT_TRUE(proof->existence);
      EXPECT_TRUE(verify_proof(roots[v], *proof).ok());
    }
  }
  // Rollback returns exactly the old root and contents, and the tree goes on from there.
  auto rolled = tree->rollback(5);
  ASSERT_TRUE(rolled.ok()) << rolled.status();
  EXPECT_EQ(*tree->root(), roots[5]);
  for (const auto& [key, value] : models[12]) {
    auto got = tree->get(key);
    ASSERT_TRUE(got.ok());
    auto expected = models[5].find(key);
    ASSERT_EQ(got->has_value(), expected != models[5].end());
    if (got->has_value()) {
      EXPECT_EQ(**got, expected->second);
    }
  }
  Model continued = models[5];
  continued[small(424242)] = small(1);
  const ApplyResult after = apply(*tree, {SmtOp::put(small(424242), small(1))});
  EXPECT_EQ(after.version, 6u);
  EXPECT_EQ(after.root, model_root(continued));
  // Prune: versions below 4 are gone, 4 and later still read.
  ASSERT_TRUE(tree->prune(4, true).ok());
  EXPECT_FALSE(tree->root(3).ok());
  EXPECT_EQ(*tree->root(4), roots[4]);
  for (const auto& [key, value] : models[4]) {
    auto proof = tree->prove(key, 4);
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_TRUE(verify_proof(roots[4], *proof).ok());
  }
}

TEST_F(SmtTest, ReopenKeepsEverything) {
  Fr root;
  {
    auto tree = make_tree("reopen", SmtCreateOptions{40, 3});
    apply(*tree, {SmtOp::put(small(1), small(2)), SmtOp::put(small(33), small(44))});
    root = apply(*tree, {SmtOp::put(small(1234), small(9876))}).root;
  }
  store_.reset();
  auto store = storage::Store::open(dir_.path(), quick_options());
  ASSERT_TRUE(store.ok()) << store.status();
  store_ = std::move(*store);
  auto tree = SmtTree::open(*store_, "reopen", *backend_);
  ASSERT_TRUE(tree.ok()) << tree.status();
  EXPECT_EQ((*tree)->max_depth(), 40);
  EXPECT_EQ(field::to_decimal(*(*tree)->root()),
            "14204494359367183802864593755198662203838502594566452929175967972147978322084");
  EXPECT_EQ(*(*tree)->root(), root);
  // Not an SMT: refused by name.
  storage::TreeSpec other;
  other.name = "verk";
  other.scheme = "verkle";
  other.empty_root = std::string(32, '\0');
  ASSERT_TRUE(store_->create_tree(other).ok());
  auto wrong = SmtTree::open(*store_, "verk", *backend_);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(SmtTree::open(*store_, "nope", *backend_).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(SmtTest, MaxDepthOverflowChangesNothing) {
  auto tree = make_tree("shallow", SmtCreateOptions{4, 0});
  const ApplyResult first =
      apply(*tree, {SmtOp::put(small(1), small(1)), SmtOp::put(small(2), small(2))});
  // 3 and 3 + 16 share their low 4 bits: they would need depth 5.
  auto refused =
      tree->apply(std::vector<SmtOp>{SmtOp::put(small(5), small(5)), SmtOp::put(small(3), small(1)),
                                     SmtOp::put(small(19), small(1))});
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kOutOfRange) << refused.status();
  EXPECT_NE(refused.status().message().find("max depth 4"), std::string::npos);
  EXPECT_EQ(*tree->root(), first.root);
  EXPECT_EQ(tree->info()->head_version, 1u);
  EXPECT_FALSE(tree->get(small(5))->has_value());
  // Against an existing leaf too; keys that fit at depth 4 exactly are fine.
  EXPECT_EQ(tree->apply(std::vector<SmtOp>{SmtOp::put(small(17), small(1))}).status().code(),
            absl::StatusCode::kOutOfRange);
  Model model{{small(1), small(1)}, {small(2), small(2)}, {small(9), small(9)}};
  EXPECT_EQ(apply(*tree, {SmtOp::put(small(9), small(9))}).root, model_root(model));
  for (int bad : {0, 255, -1}) {
    auto made = SmtTree::create(*store_, "bad" + std::to_string(bad + 1), SmtCreateOptions{bad, 0},
                                *backend_);
    EXPECT_EQ(made.status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(SmtTree::create(*store_, "shallow", {}, *backend_).status().code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_F(SmtTest, ExpectedVersion) {
  auto tree = make_tree("cas");
  apply(*tree, {SmtOp::put(small(1), small(1))});
  ApplyOptions options;
  options.expected_version = 0;
  auto stale = tree->apply(std::vector<SmtOp>{SmtOp::put(small(2), small(2))}, options);
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted);
  options.expected_version = 1;
  options.label = "block 7";
  auto fresh = tree->apply(std::vector<SmtOp>{SmtOp::put(small(2), small(2))}, options);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ(tree->version_record()->label, "block 7");
}

TEST_F(SmtTest, MultiProofs) {
  auto rng = testing::seeded_rng("MultiProofs");
  auto tree = make_tree("multi", SmtCreateOptions{kMaxDepthLimit, 0});
  std::vector<SmtOp> ops;
  std::vector<Fr> keys;
  for (int i = 0; i < 500; ++i) {
    keys.push_back(random_key(rng));
    ops.push_back(SmtOp::put(keys.back(), testing::random_fr(rng)));
  }
  const Fr root = apply(*tree, ops).root;
  for (int round = 0; round < 20; ++round) {
    std::vector<Fr> subset;
    const int count = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < count; ++i) {
      subset.push_back(rng() % 3 ? keys[rng() % keys.size()] : random_key(rng));
    }
    auto multi = tree->prove_many(subset);
    ASSERT_TRUE(multi.ok()) << multi.status();
    EXPECT_TRUE(verify_multi_proof(root, *multi).ok()) << verify_multi_proof(root, *multi);
    size_t single_siblings = 0;
    for (const MultiProofEntry& entry : multi->entries) single_siblings += entry.depth;
    EXPECT_LE(multi->siblings.size(), single_siblings);
    if (multi->entries.size() > 1) {
      EXPECT_LT(multi->siblings.size(), single_siblings);
    }
    // Tampering with any sibling or claim breaks it.
    if (!multi->siblings.empty()) {
      SmtMultiProof bad = *multi;
      bad.siblings[rng() % bad.siblings.size()] = testing::random_fr(rng);
      EXPECT_FALSE(verify_multi_proof(root, bad).ok());
      bad = *multi;
      bad.siblings.pop_back();
      EXPECT_FALSE(verify_multi_proof(root, bad).ok());
      bad = *multi;
      bad.siblings.push_back(Fr::zero());
      EXPECT_FALSE(verify_multi_proof(root, bad).ok());
    }
    SmtMultiProof bad = *multi;
    MultiProofEntry& victim = bad.entries[rng() % bad.entries.size()];
    if (victim.existence) {
      victim.value = field::add(victim.value, Fr::one());
    } else {
      // Claiming an absent key present (an absent key's bits beyond the path could change
      // freely: it would still be absent).
      victim.existence = true;
      victim.aux.reset();
      victim.value = testing::random_fr(rng);
    }
    EXPECT_FALSE(verify_multi_proof(root, bad).ok());
  }
}

TEST_F(SmtTest, NodeCacheServesHeadAndFollowsCommitsAndRollback) {
  SmtTreeOptions options;
  options.node_cache_bytes = 1 << 20;
  auto cached = make_tree("cached", SmtCreateOptions{kMaxDepthLimit, 0}, options);
  auto uncached = make_tree("uncached", SmtCreateOptions{kMaxDepthLimit, 0}, SmtTreeOptions{0});
  auto rng = testing::seeded_rng("NodeCache");
  std::vector<Fr> keys;
  for (int v = 1; v <= 20; ++v) {
    std::vector<SmtOp> ops;
    for (int i = 0; i < 50; ++i) {
      const bool reuse = !keys.empty() && rng() % 2;
      const Fr key = reuse ? keys[rng() % keys.size()] : random_key(rng);
      if (!reuse) keys.push_back(key);
      ops.push_back(rng() % 4 == 0 ? SmtOp::erase(key) : SmtOp::put(key, testing::random_fr(rng)));
    }
    const Fr a = apply(*cached, ops).root;
    ASSERT_EQ(a, apply(*uncached, ops).root) << "version " << v;
    // Proofs served through the cache match the store's, at the head and at an older version.
    for (int probe = 0; probe < 5; ++probe) {
      const Fr key = keys[rng() % keys.size()];
      EXPECT_EQ(*cached->prove(key), *uncached->prove(key));
      EXPECT_EQ(*cached->prove(key, v / 2), *uncached->prove(key, v / 2));
    }
    if (v == 10) {
      ASSERT_TRUE(cached->rollback(6).ok());
      ASSERT_TRUE(uncached->rollback(6).ok());
      ASSERT_EQ(*cached->root(), *uncached->root());
    }
  }
  const NodeCacheStats stats = cached->cache_stats();
  EXPECT_GT(stats.hits, 0u);
  EXPECT_GT(stats.entries, 0u);
  EXPECT_LE(stats.bytes, options.node_cache_bytes);
  EXPECT_EQ(stats.max_depth, 11);  // 2^13 - 1 positions of 224 bytes exceed 1 MiB
  EXPECT_EQ(uncached->cache_stats().max_depth, -1);
  EXPECT_EQ(uncached->cache_stats().entries, 0u);
}

// A reader still holding a version that a rollback and a new commit replaced (the same number,
// other contents) must neither read the new version's cached nodes nor fill the cache with its
// own: the cache follows the root, not the version number.
TEST_F(SmtTest, NodeCacheIgnoresAReplacedVersionOfTheSameNumber) {
  SmtTreeOptions options;
  options.node_cache_bytes = 1 << 20;
  auto tree = make_tree("replaced", SmtCreateOptions{kMaxDepthLimit, 0}, options);
  auto twin = make_tree("twin", SmtCreateOptions{kMaxDepthLimit, 0}, SmtTreeOptions{0});
  auto rng = testing::seeded_rng("NodeCacheReplacedVersion");
  auto random_ops = [&](std::vector<Fr>& keys) {
    std::vector<SmtOp> ops;
    for (int i = 0; i < 200; ++i) {
      keys.push_back(random_key(rng));
      ops.push_back(SmtOp::put(keys.back(), testing::random_fr(rng)));
    }
    return ops;
  };
  std::vector<Fr> first, replaced, replacing;
  const std::vector<SmtOp> v1 = random_ops(first);
  apply(*tree, v1);
  apply(*twin, v1);
  const Fr replaced_root = apply(*tree, random_ops(replaced)).root;
  absl::StatusOr<tree::Reader> old_reader = tree->reader({2, std::nullopt});
  ASSERT_TRUE(old_reader.ok()) << old_reader.status();

  ASSERT_TRUE(tree->rollback(1).ok());
  const std::vector<SmtOp> v2 = random_ops(replacing);
  const Fr new_root = apply(*tree, v2).root;
  ASSERT_EQ(new_root, apply(*twin, v2).root);
  ASSERT_NE(new_root, replaced_root);
  for (const Fr& key : replacing) ASSERT_TRUE(tree->prove(key).ok());  // warm the cache

  // The old reader proves its own version, whose keys the new version does not hold.
  for (const Fr& key : replaced) {
    const std::string wire = fr_bytes(key);
    absl::StatusOr<tree::WriteProofs> proofs = old_reader->prove_written(std::span(&wire, 1));
    ASSERT_TRUE(proofs.ok()) << proofs.status();
    absl::StatusOr<SmtProof> proof = decode_proof_binary(proofs->keys.at(0).proof);
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_TRUE(proof->existence);
    EXPECT_TRUE(verify_proof(replaced_root, *proof).ok());
  }
  // ... and left the cache as the head's: later commits agree with an uncached tree.
  std::vector<Fr> more;
  const std::vector<SmtOp> v3 = random_ops(more);
  EXPECT_EQ(apply(*tree, v3).root, apply(*twin, v3).root);
  for (const Fr& key : replacing) EXPECT_EQ(*tree->prove(key), *twin->prove(key));
}

}  // namespace
}  // namespace arbor::smt
