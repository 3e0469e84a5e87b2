// The store's operations: registry, commits, versions, rollback, prune, views, checkpoints, stats.
#include "storage/store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "storage/latency_histogram.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::storage {
namespace {

using arbor::testing::TempDir;

std::string key_of(uint64_t index, size_t bytes = 32) {
  std::string key(bytes, '\x5a');
  for (size_t i = 0; i < 8 && i < bytes; ++i) key[i] = static_cast<char>(index >> (56 - 8 * i));
  return key;
}

TreeSpec spec_of(const std::string& name, uint64_t keep_versions = 0) {
  TreeSpec spec;
  spec.name = name;
  spec.scheme = "smt";
  spec.params = "depth=64";
  spec.keep_versions = keep_versions;
  spec.empty_root = std::string(32, '\0');
  return spec;
}

StoreOptions quick_options() {
  StoreOptions options;
  options.sync = SyncMode::kAsync;  // tests that need fsync say so
  options.block_cache_bytes = 8 << 20;
  options.write_buffer_bytes = 4 << 20;
  return options;
}

std::unique_ptr<Store> open_store(const std::filesystem::path& dir,
                                  const StoreOptions& options = quick_options()) {
  auto store = Store::open(dir, options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

CommitRequest request_on(uint64_t parent, const std::string& root) {
  CommitRequest request;
  request.parent_version = parent;
  request.root = root;
  return request;
}

std::optional<std::string> read(const Store& store, const std::string& tree, Space space,
                                const std::string& key, std::optional<uint64_t> version = {}) {
  auto view = store.view(tree, version);
  EXPECT_TRUE(view.ok()) << view.status();
  if (!view.ok()) return std::nullopt;
  auto value = view->get(space, key);
  EXPECT_TRUE(value.ok()) << value.status();
  return value.ok() ? *value : std::nullopt;
}

TEST(StoreRegistry, CreateListInfoDrop) {
  TempDir dir("store");
  auto store = open_store(dir.path());
  ASSERT_NE(store, nullptr);
  auto created = store->create_tree(spec_of("accounts", 16));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->head_version, 0u);
  EXPECT_EQ(created->oldest_version, 0u);
  EXPECT_EQ(created->scheme, "smt");
  EXPECT_EQ(created->params, "depth=64");
  EXPECT_EQ(created->keep_versions, 16u);
  EXPECT_GT(created->created_unix_ms, 0);
  ASSERT_TRUE(store->create_tree(spec_of("storage")).ok());

  auto again = store->create_tree(spec_of("accounts"));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);

  auto trees = store->list_trees();
  ASSERT_TRUE(trees.ok());
  ASSERT_EQ(trees->size(), 2u);
  EXPECT_EQ((*trees)[0].name, "accounts");
  EXPECT_EQ((*trees)[1].name, "storage");

  auto view = store->view("accounts");
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(view->version().version, 0u);
  EXPECT_EQ(view->version().root, std::string(32, '\0'));

  // Records of a dropped tree do not come back with a new tree of the same name.
  CommitRequest request = request_on(0, "root-1");
  request.writes.put(Space::kValues, key_of(1), "one");
  ASSERT_TRUE(store->commit("accounts", request).ok());
  ASSERT_TRUE(store->drop_tree("accounts").ok());
  EXPECT_EQ(store->tree_info("accounts").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->drop_tree("accounts").code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(store->create_tree(spec_of("accounts")).ok());
  EXPECT_EQ(read(*store, "accounts", Space::kValues, key_of(1)), std::nullopt);
  EXPECT_EQ(store->tree_info("accounts")->head_version, 0u);
  EXPECT_EQ(read(*store, "storage", Space::kValues, key_of(1)), std::nullopt);
}

TEST(StoreRegistry, RejectsBadSpecs) {
  TempDir dir("store");
  auto store = open_store(dir.path());
  ASSERT_NE(store, nullptr);
  for (std::string name : {std::string(), std::string(129, 'a'), std::string("a/b"),
                           std::string("with space"), std::string("tab\t"), std::string("é")}) {
    auto created = store->create_tree(spec_of(name));
    EXPECT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_NE(created.status().message().find("tree name"), absl::string_view::npos);
  }
  TreeSpec spec = spec_of("ok");
  spec.scheme = "SMT!";
  EXPECT_EQ(store->create_tree(spec).status().code(), absl::StatusCode::kInvalidArgument);
  spec = spec_of("ok");
  spec.node_key_bytes = 0;
  EXPECT_EQ(store->create_tree(spec).status().code(), absl::StatusCode::kInvalidArgument);
  spec = spec_of("ok");
  spec.value_key_bytes = kMaxKeyBytes + 1;
  EXPECT_EQ(store->create_tree(spec).status().code(), absl::StatusCode::kInvalidArgument);
  spec = spec_of("ok");
  spec.empty_root = std::string(kMaxRootBytes + 1, 'r');
  EXPECT_EQ(store->create_tree(spec).status().code(), absl::StatusCode::kInvalidArgument);
  spec = spec_of("ok");
  spec.params = std::string(kMaxParamsBytes + 1, 'p');
  EXPECT_EQ(store->create_tree(spec).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(store->list_trees()->empty());
}

TEST(StoreCommit, VersionsStayReadable) {
  TempDir dir("store");
  auto store = open_store(dir.path());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->create_tree(spec_of("t")).ok());

  CommitRequest first = request_on(0, "root-1");
  first.label = "block 100";
  first.root_node_key = key_of(7);
  first.writes.put(Space::kNodes, key_of(7), "node-7");
  first.writes.put(Space::kValues, key_of(1), "one");
  first.writes.put(Space::kValues, key_of(2), "two");
  auto v1 = store->commit("t", first);
  ASSERT_TRUE(v1.ok()) << v1.status();
  EXPECT_EQ(v1->version, 1u);
  EXPECT_EQ(v1->record_count, 3u);

  CommitRequest second = request_on(1, "root-2");
  second.label = "block 101";
  second.writes.put(Space::kValues, key_of(1), "uno");
  second.writes.erase(Space::kValues, key_of(2));
  second.writes.put(Space::kValues, key_of(3), "");  // empty values are values
  ASSERT_TRUE(store->commit("t", second).ok());

  EXPECT_EQ(read(*store, "t", Space::kValues, key_of(1), 1), "one");
  EXPECT_EQ(read(*store, "t", Space::kValues, key_of(2), 1), "two");
  EXPECT_EQ(read(*store, "t", Space::kValues, key_of(3), 1), std::nullopt);
  EXPECT_EQ(read(*store, "t", Space::kValues, key_of(1)), "uno");
  EXPECT_EQ(read(*store, "t", Space::kValues, key_of(2)), std::nullopt);
  EXPECT_EQ(read(*store, "t", Space::kValues, key_of(3)), "");
  EXPECT_EQ(read(*store, "t", Space::kNodes, key_of(7)), "node-7");
  EXPECT_EQ(read(*store, "t", Space::kNodes, key_of(1)), std::nullopt);  // spaces are separate
  EXPECT_EQ(read(*store, "t", Space::kValues, key_of(1), 0), std::nullopt);

  auto info = store->tree_info("t");
  EXPECT_EQ(info->head_version, 2u);
  EXPECT_EQ(info->head_root, "root-2");
  auto versions = store->versions("t");
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 3u);
  EXPECT_EQ((*versions)[1].label, "block 100");
  EXPECT_EQ((*versions)[1].root, "root-1");
  EXPECT_EQ((*versions)[1].root_node_key, key_of(7));
  EXPECT_EQ((*versions)[2].label, "block 101");
  EXPECT_EQ((*versions)[2].record_count, 3u);

  {
    auto view = store->view("t", 1);
    ASSERT_TRUE(view.ok());
    std::vector<std::string> keys = {key_of(3), key_of(1), key_of(9), key_of(2)};
    auto many = view->get_many(Space::kValues, keys);
    ASSERT_TRUE(many.ok());
    EXPECT_EQ((*many)[0], std::nullopt);
    EXPECT_EQ((*many)[1], "one");
    EXPECT_EQ((*many)[2], std::nullopt);
    EXPECT_EQ((*many)[3], "two");
  }  // a view holds the database open; reopening needs it gone

  EXPECT_EQ(store->view("t", 3).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(store->view("nope").status().code(), absl::StatusCode::kNotFound);

  // Reopening keeps all of it.
  store.reset();
  store = open_store(dir.path());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->tree_info("t")->head_version, 2u);
  EXPECT_EQ(read(*store, "t", Space::kValues, key_of(1), 1), "one");
  EXPECT_EQ(read(*store, "t", Space::kValues, key_of(1)), "uno");
}

TEST(StoreCommit, LastWriteOfAKeyWins) {
  TempDir dir("store");
  auto store = open_store(dir.path());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->create_tree(spec_of("t")).ok());
  CommitRequest request = request_on(0, "r");
  request.writes.put(Space::kValues, key_of(1), "first");
  request.writes.put(Space::kValues, key_of(1), "second");
  request.writes.erase(Space::kValues, key_of(2));
  request.writes.put(Space::kValues, key_of(2), "back");
  request.writes.put(Space::kValues, key_of(3), "gone");
  request.writes.erase(Space::kValues, key_of(3));
  auto committed = store->commit("t", request);
  ASSERT_TRUE(committed.ok());
  EXPECT_EQ(committed->record_count, 3u);
  EXPECT_EQ(read(*store, "t", Space::kValues, key_of(1)), "second");
  EXPECT_EQ(read(*store, "t", Space::kValues, key_of(2)), "back");
  EXPECT_EQ(read(*store, "t", Space::kValues, key_of(3)), std::nullopt);
}

TEST(StoreCommit, RejectedCommitsChangeNothing) {
  TempDir dir("store");
  auto store = open_store(dir.path());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->create_tree(spec_of("t")).ok());
  CommitRequest good = request_on(0, "r1");
  good.writes.put(Space::kValues, key_of(1), "one");
  ASSERT_TRUE(store->commit("t", good).ok());

  auto rejected = [&](CommitRequest request, absl::StatusCode code, std::string_view words) {
    auto result = store->commit("t", request);
    EXPECT_EQ(result.status().code(), code) << result.status();
    EXPECT_NE(result.status().message().find(std::string(words)), absl::string_view::npos)
        << result.status();
    EXPECT_EQ(store->tree_info("t")->head_version, 1u);
    EXPECT_EQ(read(*store, "t", Space::kValues, key_of(1)), "one");
    EXPECT_EQ(read(*store, "t", Space::kValues, key_of(2)), std::nullopt);
  };
  CommitRequest stale = request_on(0, "r2");
  stale.writes.put(Space::kValues, key_of(2), "two");
  rejected(stale, absl::StatusCode::kFailedPrecondition, "prepared on version 0");

  CommitRequest short_key = request_on(1, "r2");
  short_key.writes.put(Space::kValues, key_of(2), "two");
  short_key.writes.put(Space::kValues, "short", "x");
  rejected(short_key, absl::StatusCode::kInvalidArgument, "5 bytes");

  CommitRequest long_node = request_on(1, "r2");
  long_node.writes.put(Space::kValues, key_of(2), "two");
  long_node.writes.erase(Space::kNodes, key_of(1, 33));
  rejected(long_node, absl::StatusCode::kInvalidArgument, "33 bytes");

  CommitRequest huge = request_on(1, "r2");
  huge.writes.put(Space::kValues, key_of(2), std::string(kMaxRecordBytes + 1, 'x'));
  rejected(huge, absl::StatusCode::kInvalidArgument, "exceeds");

  CommitRequest big_root = request_on(1, std::string(kMaxRootBytes + 1, 'r'));
  big_root.writes.put(Space::kValues, key_of(2), "two");
  rejected(big_root, absl::StatusCode::kInvalidArgument, "root");

  CommitRequest big_label = request_on(1, "r2");
  big_label.label = std::string(kMaxLabelBytes + 1, 'l');
  big_label.writes.put(Space::kValues, key_of(2), "two");
  rejected(big_label, absl::StatusCode::kInvalidArgument, "label");

  CommitRequest dangling_root = request_on(1, "r2");
  dangling_root.root_node_key = key_of(42);
  dangling_root.writes.put(Space::kValues, key_of(2), "two");
  rejected(dangling_root, absl::StatusCode::kInvalidArgument, "root node");

  CommitRequest erased_root = request_on(1, "r2");
  erased_root.root_node_key = key_of(42);
  erased_root.writes.put(Space::kNodes, key_of(42), "n");
  erased_root.writes.erase(Space::kNodes, key_of(42));
  erased_root.writes.put(Space::kValues, key_of(2), "two");
  rejected(erased_root, absl::StatusCode::kInvalidArgument, "root node");

  EXPECT_EQ(store->commit("missing", good).status().code(), absl::StatusCode::kNotFound);

  // An empty commit is a version too (a block with no changes).
  auto empty = store->commit("t", request_on(1, "r1"));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->version, 2u);
  EXPECT_EQ(empty->record_count, 0u);
}

TEST(StoreRollback, DiscardsLaterVersions) {
  TempDir dir("store");
  auto store = open_store(dir.path());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->create_tree(spec_of("t")).ok());
  for (uint64_t v = 1; v <= 5; ++v) {
    CommitRequest request = request_on(v - 1, absl::StrCat("root-", v));
    request.writes.put(Space::kValues, key_of(0), absl::StrCat("v", v));
    request.writes.put(Space::kValues, key_of(v), "only-" + std::to_string(v));
    ASSERT_TRUE(store->commit("t", request).ok());
  }
  EXPECT_EQ(store->rollback("t", 6).status().code(), absl::StatusCode::kOutOfRange);
  auto same = store->rollback("t", 5);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->head_version, 5u);

  auto rolled = store->rollback("t", 2);
  ASSERT_TRUE(rolled.ok()) << rolled.status();
  EXPECT_EQ(rolled->head_version, 2u);
  EXPECT_EQ(rolled->head_root, "root-2");
  EXPECT_EQ(read(*store, "t", Space::kValues, key_of(0)), "v2");
  EXPECT_EQ(read(*store, "t", Space::kValues, key_of(3)), std::nullopt);
  EXPECT_EQ(store->view("t", 3).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(store->versions("t")->size(), 3u);
  EXPECT_EQ(store->stats()->rollbacks, 1u);

  // The chain continues from version 2 with new content.
  CommitRequest fork = request_on(2, "fork-3");
  fork.writes.put(Space::kValues, key_of(0), "fork");
  auto forked = store->commit("t", fork);
  ASSERT_TRUE(forked.ok());
  EXPECT_EQ(forked->version, 3u);
  EXPECT_EQ(read(*store, "t", Space::kValues, key_of(0)), "fork");
  EXPECT_EQ(read(*store, "t", Space::kValues, key_of(3)), std::nullopt);
  EXPECT_EQ(read(*store, "t", Space::kValues, key_of(0), 2), "v2");

  // The rollback survives a reopen and the head verifies.
  store.reset();
  store = open_store(dir.path());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->tree_info("t")->head_root, "fork-3");
  EXPECT_EQ(read(*store, "t", Space::kValues, key_of(0)), "fork");
}

// Replication: the log position moves with the change that carries it, in the same batch, and
// survives a reopen; a refused change moves nothing.
TEST(StoreLogPosition, MovesAtomicallyWithEachChange) {
  TempDir dir("store");
  auto store = open_store(dir.path());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(*store->log_position(), 0u);
  ASSERT_TRUE(store->create_tree(spec_of("t")).ok());
  ASSERT_TRUE(store->record_log_position(3).ok());
  EXPECT_EQ(*store->log_position(), 3u);
  for (uint64_t v = 1; v <= 4; ++v) {
    CommitRequest request = request_on(v - 1, absl::StrCat("root-", v));
    request.writes.put(Space::kValues, key_of(v), "x");
    request.log_position = 10 + v;
    ASSERT_TRUE(store->commit("t", request).ok());
    EXPECT_EQ(*store->log_position(), 10 + v);
  }
  CommitRequest unpositioned = request_on(4, "root-5");
  ASSERT_TRUE(store->commit("t", unpositioned).ok());
  EXPECT_EQ(*store->log_position(), 14u);          // a change without a position leaves it
  CommitRequest refused = request_on(2, "stale");  // not on the head
  refused.log_position = 99;
  EXPECT_FALSE(store->commit("t", refused).ok());
  EXPECT_EQ(*store->log_position(), 14u);
  ASSERT_TRUE(store->rollback("t", 3, 20).ok());
  EXPECT_EQ(*store->log_position(), 20u);
  ASSERT_TRUE(store->rollback("t", 3, 21).ok());  // already the head: only the position moves
  EXPECT_EQ(*store->log_position(), 21u);
  EXPECT_EQ(store->rollback("t", 9, 98).status().code(), absl::StatusCode::kOutOfRange);
  ASSERT_TRUE(store->prune("t", 2, false, 22).ok());
  EXPECT_EQ(*store->log_position(), 22u);
  ASSERT_TRUE(store->prune("t", 1, false, 23).ok());  // below the oldest: only the position
  EXPECT_EQ(*store->log_position(), 23u);
  EXPECT_EQ(store->prune("t", 9, false, 97).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(*store->log_position(), 23u);
  store.reset();
  store = open_store(dir.path());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(*store->log_position(), 23u);
  EXPECT_EQ(store->tree_info("t")->head_version, 3u);
}

// replication.ack = "leader": a commit keeps its log entry until the log has it; marking it
// replicated moves the position in the same batch; keep_from holds retention back so that the
// version before a kept change stays readable (a failover rolls back to it).
TEST(StoreUnreplicated, EntriesAreKeptWithTheirCommitsUntilReplicated) {
  TempDir dir("store");
  auto store = open_store(dir.path());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->create_tree(spec_of("t", 2)).ok());
  for (uint64_t v = 1; v <= 4; ++v) {
    CommitRequest request = request_on(v - 1, absl::StrCat("root-", v));
    request.writes.put(Space::kValues, key_of(v), "x");
    request.unreplicated = UnreplicatedEntry{v, absl::StrCat("entry-", v)};
    request.keep_from = 0;  // the version before the oldest kept change
    ASSERT_TRUE(store->commit("t", request).ok());
  }
  EXPECT_EQ(store->tree_info("t")->oldest_version, 0u);  // keep_versions alone would say 3
  CommitRequest refused = request_on(1, "stale");
  refused.unreplicated = UnreplicatedEntry{9, "never"};
  EXPECT_FALSE(store->commit("t", refused).ok());
  auto kept = store->unreplicated_entries();
  ASSERT_TRUE(kept.ok()) << kept.status();
  ASSERT_EQ(kept->size(), 4u);
  for (uint64_t i = 0; i < 4; ++i) {
    EXPECT_EQ((*kept)[i].id, i + 1);
    EXPECT_EQ((*kept)[i].bytes, absl::StrCat("entry-", i + 1));
  }
  ASSERT_TRUE(store->mark_replicated(1, 7).ok());
  EXPECT_EQ(*store->log_position(), 7u);
  const std::vector<uint64_t> rolled_back{2, 3};
  ASSERT_TRUE(store->forget_unreplicated(rolled_back).ok());
  store.reset();
  store = open_store(dir.path());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(*store->log_position(), 7u);
  kept = store->unreplicated_entries();
  ASSERT_TRUE(kept.ok()) << kept.status();
  ASSERT_EQ(kept->size(), 1u);
  EXPECT_EQ(kept->front().id, 4u);
  // Once nothing holds it back, retention catches up at the next commit.
  CommitRequest next = request_on(4, "root-5");
  ASSERT_TRUE(store->commit("t", next).ok());
  EXPECT_EQ(store->tree_info("t")->oldest_version, 4u);
  EXPECT_EQ(*store->log_position(), 7u);
}

TEST(StorePrune, RetentionAndExplicitPrune) {
  TempDir dir("store");
  auto store = open_store(dir.path());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->create_tree(spec_of("t", 3)).ok());
  for (uint64_t v = 1; v <= 10; ++v) {
    CommitRequest request = request_on(v - 1, absl::StrCat("root-", v));
    request.writes.put(Space::kValues, key_of(0), absl::StrCat("v", v));
    if (v == 2) request.writes.put(Space::kValues, key_of(2), "set at 2");
    if (v == 4) request.writes.erase(Space::kValues, key_of(0));
    ASSERT_TRUE(store->commit("t", request).ok());
  }
  ASSERT_TRUE(store->wait_for_cleanup().ok());
  auto info = store->tree_info("t");
  EXPECT_EQ(info->oldest_version, 8u);
  auto pruned = store->view("t", 7);
  EXPECT_EQ(pruned.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_NE(pruned.status().message().find("pruned"), absl::string_view::npos);
  EXPECT_EQ(store->rollback("t", 7).status().code(), absl::StatusCode::kOutOfRange);
  for (uint64_t v = 8; v <= 10; ++v) {
    EXPECT_EQ(read(*store, "t", Space::kValues, key_of(0), v), "v" + std::to_string(v));
    // Written once, long before the window: still there.
    EXPECT_EQ(read(*store, "t", Space::kValues, key_of(2), v), "set at 2");
  }
  EXPECT_GE(store->stats()->records_pruned, 6u);
  EXPECT_EQ(store->versions("t")->size(), 3u);

  EXPECT_EQ(store->prune("t", 11).status().code(), absl::StatusCode::kOutOfRange);
  auto explicit_prune = store->prune("t", 10);
  ASSERT_TRUE(explicit_prune.ok()) << explicit_prune.status();
  EXPECT_EQ(explicit_prune->oldest_version, 10u);
  EXPECT_EQ(explicit_prune->versions_dropped, 2u);
  EXPECT_EQ(read(*store, "t", Space::kValues, key_of(0)), "v10");
  EXPECT_EQ(read(*store, "t", Space::kValues, key_of(2)), "set at 2");
  auto noop = store->prune("t", 3);
  ASSERT_TRUE(noop.ok());
  EXPECT_EQ(noop->oldest_version, 10u);
  EXPECT_EQ(noop->versions_dropped, 0u);

  // Retention can change; lowering it prunes at once.
  ASSERT_TRUE(store->set_keep_versions("t", 0).ok());
  for (uint64_t v = 11; v <= 14; ++v) {
    ASSERT_TRUE(store->commit("t", request_on(v - 1, "r")).ok());
  }
  EXPECT_EQ(store->tree_info("t")->oldest_version, 10u);
  auto lowered = store->set_keep_versions("t", 2);
  ASSERT_TRUE(lowered.ok());
  EXPECT_EQ(lowered->oldest_version, 13u);
  ASSERT_TRUE(store->wait_for_cleanup().ok());
  EXPECT_EQ(read(*store, "t", Space::kValues, key_of(2)), "set at 2");
}

uint64_t total_sst_bytes(const Store& store) {
  uint64_t total = 0;
  auto stats = store.stats();
  for (const auto& family : stats->families) total += family.sst_bytes;
  return total;
}

TEST(StorePrune, ReclaimsSpace) {
  TempDir dir("store");
  StoreOptions options = quick_options();
  options.compression = Compression::kNone;
  auto store = open_store(dir.path(), options);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->create_tree(spec_of("t")).ok());
  std::mt19937_64 rng(7);
  std::string value(1024, '\0');
  constexpr int kVersions = 12;
  constexpr int kKeys = 1500;
  for (int v = 1; v <= kVersions; ++v) {
    CommitRequest request = request_on(v - 1, "r");
    for (int k = 0; k < kKeys; ++k) {
      for (auto& c : value) c = static_cast<char>(rng());
      request.writes.put(Space::kNodes, key_of(k), value);
    }
    ASSERT_TRUE(store->commit("t", request).ok());
  }
  ASSERT_TRUE(store->compact("t").ok());
  uint64_t before = total_sst_bytes(*store);
  EXPECT_GT(before, uint64_t{kVersions} * kKeys * 1024 * 9 / 10);
  // Records superseded exactly at the oldest version go once the oldest moves past it.
  ASSERT_TRUE(store->commit("t", request_on(kVersions, "r")).ok());
  auto pruned = store->prune("t", kVersions + 1, /*compact=*/true);
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(pruned->records_deleted, uint64_t{kVersions - 1} * kKeys);  // each exactly once
  uint64_t after = total_sst_bytes(*store);
  std::printf("SST bytes before prune %llu, after prune + compaction %llu\n",
              static_cast<unsigned long long>(before), static_cast<unsigned long long>(after));
  EXPECT_LT(after, before / 8);  // 12 versions of every key down to one
  EXPECT_GE(after, uint64_t{kKeys} * 1024);
  auto view = store->view("t");
  ASSERT_TRUE(view.ok());
  size_t live = 0;
  ASSERT_TRUE(view->scan(Space::kNodes, "",
                         [&](std::string_view, std::string_view) {
                           ++live;
                           return true;
                         })
                  .ok());
  EXPECT_EQ(live, static_cast<size_t>(kKeys));
}

TEST(StoreView, ScanVisitsLiveKeysInOrderAtItsVersion) {
  TempDir dir("store");
  auto store = open_store(dir.path());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->create_tree(spec_of("t")).ok());
  CommitRequest first = request_on(0, "r1");
  for (uint64_t k : {5ull, 1ull, 3ull, 0x0100000000000000ull, 2ull}) {
    first.writes.put(Space::kValues, key_of(k), "a" + std::to_string(k));
  }
  ASSERT_TRUE(store->commit("t", first).ok());
  CommitRequest second = request_on(1, "r2");
  second.writes.erase(Space::kValues, key_of(3));
  second.writes.put(Space::kValues, key_of(2), "b2");
  second.writes.put(Space::kValues, key_of(4), "b4");
  ASSERT_TRUE(store->commit("t", second).ok());

  auto collect = [&](uint64_t version, std::string prefix, size_t limit = 100) {
    std::vector<std::pair<std::string, std::string>> seen;
    auto view = store->view("t", version);
    EXPECT_TRUE(view.ok());
    EXPECT_TRUE(view->scan(Space::kValues, prefix,
                           [&](std::string_view key, std::string_view v) {
                             seen.emplace_back(std::string(key), std::string(v));
                             return seen.size() < limit;
                           })
                    .ok());
    return seen;
  };
  auto at1 = collect(1, "");
  ASSERT_EQ(at1.size(), 5u);
  EXPECT_EQ(at1[0], std::pair(key_of(1), std::string("a1")));
  EXPECT_EQ(at1[1], std::pair(key_of(2), std::string("a2")));
  EXPECT_EQ(at1[2], std::pair(key_of(3), std::string("a3")));
  EXPECT_EQ(at1[4].first, key_of(0x0100000000000000ull));
  auto at2 = collect(2, "");
  ASSERT_EQ(at2.size(), 5u);
  EXPECT_EQ(at2[1], std::pair(key_of(2), std::string("b2")));
  EXPECT_EQ(at2[2], std::pair(key_of(4), std::string("b4")));
  EXPECT_EQ(collect(2, std::string(7, '\0')).size(), 4u);
  EXPECT_EQ(collect(2, std::string(1, '\x01')).size(), 1u);
  EXPECT_EQ(collect(2, "", 2).size(), 2u);
  EXPECT_EQ(collect(0, "").size(), 0u);

  auto view = store->view("t");
  auto too_long = view->scan(Space::kValues, std::string(33, 'x'),
                             [](std::string_view, std::string_view) { return true; });
  EXPECT_EQ(too_long.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(view->get(Space::kValues, "short").status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<std::string> bad = {key_of(1), "x"};
  EXPECT_EQ(view->get_many(Space::kValues, bad).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Random commits, rollbacks, prunes and reopens against an in-memory model of every version.
class StoreModelTest : public ::testing::TestWithParam<uint64_t> {};

TEST_P(StoreModelTest, MatchesModel) {
  const uint64_t keep = GetParam();
  auto rng = arbor::testing::seeded_rng("store model");
  TempDir dir("store");
  auto store = open_store(dir.path());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->create_tree(spec_of("m", keep)).ok());
  using State = std::array<std::map<std::string, std::string>, 2>;
  std::vector<State> states(1);  // index = version
  std::vector<std::string> roots = {std::string(32, '\0')};
  uint64_t oldest = 0;
  constexpr uint64_t kKeySpace = 48;

  auto check_version = [&](uint64_t version) {
    auto view = store->view("m", version);
    ASSERT_TRUE(view.ok()) << view.status();
    EXPECT_EQ(view->version().root, roots[version]);
    for (Space space : {Space::kNodes, Space::kValues}) {
      const auto& expected = states[version][static_cast<int>(space)];
      std::vector<std::string> keys;
      for (uint64_t k = 0; k < kKeySpace; ++k) keys.push_back(key_of(k));
      auto many = view->get_many(space, keys);
      ASSERT_TRUE(many.ok());
      for (uint64_t k = 0; k < kKeySpace; ++k) {
        auto found = expected.find(keys[k]);
        std::optional<std::string> want;
        if (found != expected.end()) want = found->second;
        ASSERT_EQ((*many)[k], want) << "version " << version << " key " << k;
        if (k % 8 == 0) {
          ASSERT_EQ(*view->get(space, keys[k]), want);
        }
      }
      std::map<std::string, std::string> scanned;
      ASSERT_TRUE(view->scan(space, "",
                             [&](std::string_view key, std::string_view value) {
                               scanned.emplace(key, value);
                               return true;
                             })
                      .ok());
      ASSERT_EQ(scanned, expected) << "scan at version " << version;
    }
  };

  for (int step = 0; step < 160; ++step) {
    uint64_t head = states.size() - 1;
    int choice = static_cast<int>(rng() % 100);
    if (choice < 65) {
      CommitRequest request = request_on(head, "root-" + std::to_string(rng()));
      State next = states.back();
      int count = static_cast<int>(rng() % 24);
      for (int i = 0; i < count; ++i) {
        Space space = rng() % 3 == 0 ? Space::kNodes : Space::kValues;
        std::string key = key_of(rng() % kKeySpace);
        auto& model = next[static_cast<int>(space)];
        if (rng() % 4 == 0) {
          request.writes.erase(space, key);
          model.erase(key);
        } else {
          std::string value = std::to_string(rng() % 1000);
          request.writes.put(space, key, value);
          model[key] = value;
        }
      }
      auto committed = store->commit("m", request);
      ASSERT_TRUE(committed.ok()) << committed.status();
      ASSERT_EQ(committed->version, head + 1);
      states.push_back(std::move(next));
      roots.push_back(request.root);
      if (keep > 0 && head + 2 > keep) oldest = std::max(oldest, head + 2 - keep);
    } else if (choice < 78) {
      uint64_t target = oldest + rng() % (head - oldest + 1);
      auto rolled = store->rollback("m", target);
      ASSERT_TRUE(rolled.ok()) << rolled.status();
      states.resize(target + 1);
      roots.resize(target + 1);
    } else if (choice < 86) {
      uint64_t target = oldest + rng() % (head - oldest + 1);
      auto pruned = store->prune("m", target, rng() % 2 == 0);
      ASSERT_TRUE(pruned.ok()) << pruned.status();
      oldest = std::max(oldest, target);
    } else if (choice < 90) {
      store.reset();
      store = open_store(dir.path());
      ASSERT_NE(store, nullptr);
    }
    head = states.size() - 1;
    auto info = store->tree_info("m");
    ASSERT_EQ(info->head_version, head);
    ASSERT_EQ(info->oldest_version, oldest);
    check_version(head);
    check_version(oldest + rng() % (head - oldest + 1));
    if (oldest > 0) {
      ASSERT_EQ(store->view("m", oldest - 1).status().code(), absl::StatusCode::kOutOfRange);
    }
    ASSERT_EQ(store->view("m", head + 1).status().code(), absl::StatusCode::kOutOfRange);
  }
  ASSERT_TRUE(store->wait_for_cleanup().ok());
  for (uint64_t v = oldest; v < states.size(); ++v) check_version(v);
}

INSTANTIATE_TEST_SUITE_P(Retention, StoreModelTest, ::testing::Values(0u, 4u),
                         [](const auto& info) { return "keep" + std::to_string(info.param); });

// Every version writes the same 16 keys with its own number: a view that mixed two versions would
// see two numbers.
TEST(StoreConcurrency, ReadersSeeWholeVersionsDuringCommits) {
  TempDir dir("store");
  auto store = open_store(dir.path());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->create_tree(spec_of("c", 6)).ok());
  constexpr int kKeys = 16;
  constexpr uint64_t kVersions = 300;
  std::atomic<bool> done{false};
  std::atomic<uint64_t> checks{0};
  std::atomic<int> failures{0};

  std::thread writer([&] {
    for (uint64_t v = 1; v <= kVersions; ++v) {
      CommitRequest request = request_on(v - 1, std::to_string(v));
      for (int k = 0; k < kKeys; ++k)
        request.writes.put(Space::kValues, key_of(k), std::to_string(v));
      if (!store->commit("c", request).ok()) failures.fetch_add(1);
    }
    done = true;
  });
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&, r] {
      std::vector<std::string> keys;
      for (int k = 0; k < kKeys; ++k) keys.push_back(key_of(k));
      while (!done) {
        auto view = store->view("c");
        if (!view.ok()) {
          failures.fetch_add(1);
          continue;
        }
        uint64_t version = view->version().version;
        std::string expected = version == 0 ? "" : std::to_string(version);
        if (view->version().root != (version == 0 ? std::string(32, '\0') : expected)) {
          failures.fetch_add(1);
        }
        // Hold the view a little: later commits and retention pruning must not change it.
        if (r == 0) std::this_thread::sleep_for(std::chrono::microseconds(500));
        auto values = view->get_many(Space::kValues, keys);
        if (!values.ok()) {
          failures.fetch_add(1);
          continue;
        }
        for (const auto& value : *values) {
          if (version == 0 ? value.has_value() : value != expected) failures.fetch_add(1);
        }
        size_t scanned = 0;
        auto status = view->scan(Space::kValues, "", [&](std::string_view, std::string_view v) {
          if (v != expected) failures.fetch_add(1);
          ++scanned;
          return true;
        });
        if (!status.ok() || scanned != (version == 0 ? 0u : size_t{kKeys})) failures.fetch_add(1);
        checks.fetch_add(1);
      }
    });
  }
  writer.join();
  for (auto& reader : readers) reader.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(checks.load(), 10u);
  EXPECT_EQ(store->tree_info("c")->head_version, kVersions);
  EXPECT_EQ(store->tree_info("c")->oldest_version, kVersions - 5);
}

TEST(StoreView, OutlivesPruneAndRollback) {
  TempDir dir("store");
  auto store = open_store(dir.path());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->create_tree(spec_of("t")).ok());
  for (uint64_t v = 1; v <= 4; ++v) {
    CommitRequest request = request_on(v - 1, "r");
    request.writes.put(Space::kValues, key_of(1), std::to_string(v));
    ASSERT_TRUE(store->commit("t", request).ok());
  }
  auto old_view = store->view("t", 2);
  auto head_view = store->view("t");
  ASSERT_TRUE(old_view.ok() && head_view.ok());
  ASSERT_TRUE(store->prune("t", 3, true).ok());
  ASSERT_TRUE(store->rollback("t", 3).ok());
  EXPECT_EQ(*old_view->get(Space::kValues, key_of(1)), "2");
  EXPECT_EQ(*head_view->get(Space::kValues, key_of(1)), "4");
  EXPECT_EQ(read(*store, "t", Space::kValues, key_of(1)), "3");
  // A view keeps the database open after its store is gone.
  store.reset();
  EXPECT_EQ(*old_view->get(Space::kValues, key_of(1)), "2");
}

TEST(StoreCheckpoint, ConsistentCopyWhileWriting) {
  TempDir dir("store");
  auto store = open_store(dir.path());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->create_tree(spec_of("t")).ok());
  constexpr int kKeys = 64;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> committed{0};
  std::thread writer([&] {
    for (uint64_t v = 1; !stop; ++v) {
      CommitRequest request = request_on(v - 1, std::to_string(v));
      for (int k = 0; k < kKeys; ++k)
        request.writes.put(Space::kNodes, key_of(k), std::to_string(v));
      if (!store->commit("t", request).ok()) return;
      committed = v;
    }
  });
  while (committed < 20) std::this_thread::yield();
  TempDir copies("checkpoint");
  ASSERT_TRUE(store->checkpoint(copies / "one").ok());
  while (committed < 60) std::this_thread::yield();
  ASSERT_TRUE(store->checkpoint(copies / "two").ok());
  stop = true;
  writer.join();
  EXPECT_EQ(store->checkpoint(copies / "two").code(), absl::StatusCode::kAlreadyExists);

  for (const char* name : {"one", "two"}) {
    auto copy = Store::open_read_only(copies / name, quick_options());
    ASSERT_TRUE(copy.ok()) << copy.status();
    auto info = (*copy)->tree_info("t");
    ASSERT_TRUE(info.ok());
    EXPECT_GE(info->head_version, 20u);
    auto view = (*copy)->view("t");
    ASSERT_TRUE(view.ok());
    EXPECT_EQ(view->version().root, std::to_string(info->head_version));
    for (int k = 0; k < kKeys; ++k) {
      EXPECT_EQ(*view->get(Space::kNodes, key_of(k)), std::to_string(info->head_version));
    }
    EXPECT_EQ((*copy)->commit("t", request_on(info->head_version, "x")).status().code(),
              absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ((*copy)->create_tree(spec_of("u")).status().code(),
              absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ((*copy)->rollback("t", 1).status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ((*copy)->prune("t", 1).status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ((*copy)->drop_tree("t").code(), absl::StatusCode::kFailedPrecondition);
  }
  // The original is untouched by its checkpoints and still opens read-write.
  store.reset();
  store = open_store(dir.path());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->tree_info("t")->head_version, committed.load());
}

TEST(StoreOptionsTest, EverySyncModeAndCompressionKeepsCommitsAcrossReopen) {
  for (SyncMode sync : {SyncMode::kNone, SyncMode::kAsync, SyncMode::kFull}) {
    for (Compression compression :
         {Compression::kLz4Zstd, Compression::kLz4, Compression::kZstd, Compression::kNone}) {
      SCOPED_TRACE(std::string(to_string(sync)) + " " + std::string(to_string(compression)));
      TempDir dir("store");
      StoreOptions options = quick_options();
      options.sync = sync;
      options.compression = compression;
      options.async_sync_interval_ms = 5;
      {
        auto store = open_store(dir.path(), options);
        ASSERT_NE(store, nullptr);
        ASSERT_TRUE(store->create_tree(spec_of("t")).ok());
        CommitRequest request = request_on(0, "r");
        for (int k = 0; k < 200; ++k) request.writes.put(Space::kValues, key_of(k), "value");
        ASSERT_TRUE(store->commit("t", request).ok());
        ASSERT_TRUE(store->compact().ok());
      }
      auto store = open_store(dir.path(), options);
      ASSERT_NE(store, nullptr);
      EXPECT_EQ(read(*store, "t", Space::kValues, key_of(199)), "value");
    }
  }
}

TEST(StoreOptionsTest, ParsesNames) {
  EXPECT_EQ(*parse_sync_mode("none"), SyncMode::kNone);
  EXPECT_EQ(*parse_sync_mode("async"), SyncMode::kAsync);
  EXPECT_EQ(*parse_sync_mode("full"), SyncMode::kFull);
  EXPECT_EQ(parse_sync_mode("FULL").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(parse_sync_mode("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*parse_compression("lz4+zstd"), Compression::kLz4Zstd);
  EXPECT_EQ(*parse_compression("lz4"), Compression::kLz4);
  EXPECT_EQ(*parse_compression("zstd"), Compression::kZstd);
  EXPECT_EQ(*parse_compression("none"), Compression::kNone);
  auto bad = parse_compression("snappy");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("snappy"), absl::string_view::npos);
}

TEST(StoreStatsTest, CountsCommitsAndReportsFamilies) {
  TempDir dir("store");
  StoreOptions options = quick_options();
  options.block_cache_bytes = 3 << 20;
  auto store = open_store(dir.path(), options);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->create_tree(spec_of("t")).ok());
  for (uint64_t v = 1; v <= 5; ++v) {
    CommitRequest request = request_on(v - 1, "r");
    for (int k = 0; k < 100; ++k) request.writes.put(Space::kNodes, key_of(k), "n");
    ASSERT_TRUE(store->commit("t", request).ok());
  }
  ASSERT_TRUE(store->compact().ok());
  auto stats = store->stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->commits, 5u);
  EXPECT_EQ(stats->records_committed, 500u);
  EXPECT_EQ(stats->commit_latency.count, 5u);
  EXPECT_GT(stats->commit_latency.p50_us, 0.0);
  EXPECT_LE(stats->commit_latency.p50_us, stats->commit_latency.p99_us);
  EXPECT_LE(stats->commit_latency.p99_us, stats->commit_latency.max_us);
  EXPECT_EQ(stats->block_cache_capacity, 3u << 20);
  ASSERT_EQ(stats->families.size(), 5u);
  EXPECT_EQ(stats->families[0].name, "nodes");
  EXPECT_GE(stats->families[0].estimated_keys, 400u);
  EXPECT_GT(stats->families[0].sst_bytes, 0u);
}

TEST(LatencyHistogramTest, PercentilesFollowTheSamples) {
  LatencyHistogram histogram;
  EXPECT_EQ(histogram.summary().count, 0u);
  for (int i = 1; i <= 1000; ++i) histogram.record(i);
  auto summary = histogram.summary();
  EXPECT_EQ(summary.count, 1000u);
  EXPECT_NEAR(summary.mean_us, 500.5, 0.01);
  EXPECT_GE(summary.p50_us, 500.0);
  EXPECT_LE(summary.p50_us, 500.0 * 1.19);
  EXPECT_GE(summary.p99_us, 990.0);
  EXPECT_LE(summary.p99_us, 1000.0);
  EXPECT_DOUBLE_EQ(summary.max_us, 1000.0);
}

}  // namespace
}  // namespace arbor::storage
