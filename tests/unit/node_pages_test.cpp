// SMT node pages (host/smt/node_pages.hpp): the slot map, the record codec and its refusals, the
// page set's writes, and whole trees of every page height against one another.
#include "host/smt/node_pages.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "host/smt/smt_hash.hpp"
#include "host/smt/smt_tree.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::smt {
namespace {

using arbor::testing::TempDir;

KeyBits bits_of(std::uint64_t low) { return KeyBits{low, 0, 0, 0}; }

std::string leaf_record(std::uint64_t key) {
  return encode_leaf(field::from_u64(key), field::from_u64(key + 1));
}

TEST(NodePagesTest, SlotsAreBreadthFirstWithinAPageAndPagesAreKeyedByTheirRoot) {
  // Depth 0 is slot 0 of the root page; depth 1 path 1 is slot 2; depth 2 path 10 (bit 0 = 0,
  // bit 1 = 1) is slot 3 + 2.
  EXPECT_EQ(page_slot(0, bits_of(0b111), 6).slot, 0);
  EXPECT_EQ(page_slot(1, bits_of(0b1), 6).slot, 2);
  EXPECT_EQ(page_slot(2, bits_of(0b10), 6).slot, 5);
  EXPECT_EQ(page_slot(5, bits_of(0b11111), 6).slot, 62);
  // Depth 6 starts a page under the root page, keyed by its own root position.
  const PageSlot deep = page_slot(7, bits_of(0b1101011), 6);
  EXPECT_EQ(deep.page_depth, 6);
  EXPECT_EQ(deep.page_path, bits_of(0b101011));
  EXPECT_EQ(deep.slot, 2);
  EXPECT_EQ(page_key(deep), node_key(6, bits_of(0b1101011)));
  // Pages can straddle a 64-bit limb of the path.
  const PageSlot straddle = page_slot(65, KeyBits{1ULL << 63, 1, 0, 0}, 6);
  EXPECT_EQ(straddle.page_depth, 60);
  EXPECT_EQ(straddle.slot, (1 << 5) - 1 + 0b11000);
  // Every position of a page has its own slot.
  for (int levels = 1; levels <= kMaxPageLevels; ++levels) {
    std::set<int> slots;
    for (int depth = 0; depth < levels; ++depth) {
      for (std::uint64_t path = 0; path < (1ULL << depth); ++path) {
        const PageSlot where = page_slot(depth, bits_of(path), levels);
        EXPECT_EQ(where.page_depth, 0);
        slots.insert(where.slot);
      }
    }
    EXPECT_EQ(slots.size(), static_cast<size_t>((1 << levels) - 1));
    EXPECT_EQ(*slots.rbegin(), (1 << levels) - 2);
  }
}

TEST(NodePagesTest, NodeKeysParseBack) {
  auto rng = testing::seeded_rng("NodeKeysParseBack");
  for (int i = 0; i < 200; ++i) {
    const int depth = static_cast<int>(rng() % (kMaxDepthLimit + 1));
    const KeyBits bits = key_bits(testing::random_fr(rng));
    auto parsed = parse_node_key(node_key(depth, bits));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(parsed->first, depth);
    EXPECT_EQ(node_key(depth, parsed->second), node_key(depth, bits));
  }
  EXPECT_FALSE(parse_node_key("short").ok());
}

TEST(NodePagesTest, RecordsRoundTripAndKeepSlotOrder) {
  NodePage page;
  EXPECT_TRUE(page.empty());
  page.set(40, leaf_record(40));
  page.set(3, leaf_record(3));
  page.set(62, leaf_record(62));
  page.set(3, leaf_record(33));  // replaces
  page.clear(10);                // clearing an empty slot does nothing
  ASSERT_EQ(page.count(), 3);
  const std::string bytes = page.encode();
  ASSERT_EQ(bytes.size(), kPageHeaderBytes + 3 * kNodeRecordBytes);
  auto decoded = NodePage::decode(bytes, 6, "page");
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->record(3), leaf_record(33));
  EXPECT_EQ(decoded->record(40), leaf_record(40));
  EXPECT_EQ(decoded->record(62), leaf_record(62));
  EXPECT_EQ(decoded->record(4), std::nullopt);
  decoded->clear(40);
  EXPECT_EQ(decoded->record(62), leaf_record(62));
  EXPECT_EQ(decoded->count(), 2);
}

TEST(NodePagesTest, CorruptPagesAreDataLossNamingThePage) {
  NodePage page;
  page.set(1, leaf_record(1));
  const std::string good = page.encode();
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "shorter than its bitmap"},
      {std::string(8, '\0'), "an empty page is never stored"},
      {good.substr(0, good.size() - 1), "bytes for 1 nodes"},
      {good + "x", "bytes for 1 nodes"},
      {std::string("\x80\0\0\0\0\0\0\0", 8) + std::string(65, 'L'), "slots past the 63"},
  };
  for (const auto& [bytes, why] : bad) {
    auto decoded = NodePage::decode(bytes, 6, "tree \"t\": the page at depth 6");
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_NE(decoded.status().message().find(why), std::string_view::npos) << decoded.status();
    EXPECT_NE(decoded.status().message().find("page at depth 6"), std::string_view::npos);
  }
  // A 3-level page has 7 slots: slot 7 is past it.
  NodePage wide;
  wide.set(7, leaf_record(7));
  EXPECT_EQ(NodePage::decode(wide.encode(), 3, "p").status().code(), absl::StatusCode::kDataLoss);
}

TEST(NodePagesTest, WritesFoldIntoOnePutPerPageAndEmptiedPagesAreErased) {
  std::map<std::string, std::string> stored;
  NodePage root;
  root.set(0, encode_internal(field::from_u64(1), field::from_u64(2)));
  stored[node_key(0, KeyBits{})] = root.encode();
  NodePage below;
  below.set(0, leaf_record(9));
  stored[node_key(6, bits_of(5))] = below.encode();
  int fetches = 0;
  PageSet pages(
      6,
      [&](std::span<const std::string> keys)
          -> absl::StatusOr<std::vector<std::optional<std::string>>> {
        ++fetches;
        std::vector<std::optional<std::string>> out;
        for (const std::string& key : keys) {
          auto found = stored.find(key);
          out.push_back(found == stored.end() ? std::nullopt
                                              : std::optional<std::string>(found->second));
        }
        return out;
      },
      "t");
  storage::WriteSet nodes;
  nodes.put(storage::Space::kNodes, node_key(1, bits_of(1)), leaf_record(1));
  nodes.put(storage::Space::kNodes, node_key(2, bits_of(3)), leaf_record(2));
  nodes.erase(storage::Space::kNodes, node_key(6, bits_of(5)));                 // empties its page
  nodes.put(storage::Space::kNodes, node_key(12, bits_of(7)), leaf_record(3));  // a new page
  nodes.erase(storage::Space::kNodes, node_key(18, bits_of(7)));  // never stored: nothing
  storage::WriteSet out;
  ASSERT_TRUE(pages.write_pages(nodes, out).ok());
  EXPECT_EQ(fetches, 1);  // every page the writes touch, in one read
  ASSERT_EQ(out.size(), 3u);
  std::map<std::string, const storage::WriteSet::Mutation*> by_key;
  for (const auto& m : out.mutations()) by_key[m.key] = &m;
  const auto* root_write = by_key.at(node_key(0, KeyBits{}));
  ASSERT_FALSE(root_write->erase);
  auto written = NodePage::decode(root_write->value, 6, "root page");
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(written->count(), 3);
  EXPECT_EQ(written->record(2), leaf_record(1));
  EXPECT_EQ(written->record(6), leaf_record(2));
  EXPECT_TRUE(by_key.at(node_key(6, bits_of(5)))->erase);
  EXPECT_FALSE(by_key.at(node_key(12, bits_of(7)))->erase);
}

// Trees of every page height hold the same tree: equal roots and proofs through inserts, updates,
// deletes and reopening, and a store that holds pages, not nodes.
TEST(NodePagesTest, EveryPageHeightGivesTheSameTree) {
  TempDir dir("node-pages");
  storage::StoreOptions options;
  options.sync = storage::SyncMode::kNone;
  auto store = storage::Store::open(dir.path(), options);
  ASSERT_TRUE(store.ok()) << store.status();
  auto backend = host::make_cpu_backend();
  std::vector<std::unique_ptr<SmtTree>> trees;
  for (int levels = 1; levels <= kMaxPageLevels; ++levels) {
    SmtCreateOptions create;
    create.page_levels = levels;
    auto tree = SmtTree::create(**store, "pages" + std::to_string(levels), create, *backend);
    ASSERT_TRUE(tree.ok()) << tree.status();
    trees.push_back(std::move(*tree));
  }
  auto rng = testing::seeded_rng("EveryPageHeightGivesTheSameTree");
  std::vector<Fr> keys;
  for (int v = 1; v <= 12; ++v) {
    std::vector<SmtOp> ops;
    const int count = v == 1 ? 1 : (v % 4 == 0 ? 600 : 40);
    for (int i = 0; i < count; ++i) {
      const bool reuse = !keys.empty() && rng() % 3 == 0;
      const Fr key = reuse ? keys[rng() % keys.size()] : testing::random_fr(rng);
      if (!reuse) keys.push_back(key);
      ops.push_back(rng() % 5 == 0 ? SmtOp::erase(key) : SmtOp::put(key, testing::random_fr(rng)));
    }
    if (v == 9) {  // empty the tree, then fill it again
      ops.clear();
      for (const Fr& key : keys) ops.push_back(SmtOp::erase(key));
    }
    std::optional<Fr> root;
    for (auto& tree : trees) {
      auto applied = tree->apply(ops);
      ASSERT_TRUE(applied.ok()) << applied.status();
      if (root) {
        ASSERT_EQ(applied->root, *root) << "version " << v;
      }
      root = applied->root;
    }
    if (v == 9) {
      EXPECT_TRUE(root->is_zero());
    }
    for (int probe = 0; probe < 10; ++probe) {
      const Fr key = keys[rng() % keys.size()];
      auto expected = trees[0]->prove(key);
      ASSERT_TRUE(expected.ok()) << expected.status();
      for (auto& tree : trees) EXPECT_EQ(*tree->prove(key), *expected);
      EXPECT_EQ(*trees.back()->prove(key, v - 1), *trees[0]->prove(key, v - 1));
    }
  }
  // The 6-level tree's node space holds pages: fewer records than nodes, each one decoding.
  // (The default is 4 levels; 6 packs the most nodes per record.)
  auto view = (*store)->view("pages6");
  ASSERT_TRUE(view.ok());
  std::uint64_t records = 0, nodes = 0;
  ASSERT_TRUE(view->scan(storage::Space::kNodes, "",
                         [&](std::string_view, std::string_view bytes) {
                           auto page = NodePage::decode(std::string(bytes), 6, "page");
                           EXPECT_TRUE(page.ok()) << page.status();
                           ++records;
                           if (page.ok()) nodes += page->count();
                           return true;
                         })
                  .ok());
  EXPECT_GT(nodes, 3 * records) << records << " pages hold " << nodes << " nodes";
  // Reopened, the trees read their pages back.
  const Fr head = *trees[0]->root();
  trees.clear();
  auto reopened = SmtTree::open(**store, "pages4", *backend);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(*(*reopened)->root(), head);
  for (int probe = 0; probe < 20; ++probe) {
    auto proof = (*reopened)->prove(keys[rng() % keys.size()]);
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_TRUE(verify_proof(head, *proof).ok());
  }
}

}  // namespace
}  // namespace arbor::smt
