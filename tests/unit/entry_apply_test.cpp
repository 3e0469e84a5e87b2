// A replica applying the leader's log entries (host/replication/entry_apply.hpp), for both
// schemes: random batches, rollbacks and prunes on a leader tree, replayed through encoded and
// chunked entries onto a tree in another store; roots equal after every entry; a wrong root in
// the log is refused before anything is committed; gaps and replays are recognised.
#include "host/replication/entry_apply.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "host/backend/compute_backend.hpp"
#include "host/smt/smt_records.hpp"
#include "host/smt/smt_tree.hpp"
#include "host/verkle/verkle_tree.hpp"
#include "storage/store.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::replication {
namespace {

using testing::TempDir;

struct Scheme {
  std::string name;
  std::function<std::unique_ptr<tree::Tree>(storage::Store&, host::ComputeBackend&)> create;
  std::function<std::string(std::mt19937_64&)> random_key;
  std::function<std::string(std::mt19937_64&)> random_value;
};

std::vector<Scheme> schemes() {
  Scheme smt;
  smt.name = "smt";
  smt.create = [](storage::Store& store, host::ComputeBackend& backend) {
    return std::unique_ptr<tree::Tree>(*smt::SmtTree::create(store, "t", {}, backend));
  };
  smt.random_key = [](std::mt19937_64& rng) { return smt::fr_bytes(testing::random_fr(rng)); };
  smt.random_value = smt.random_key;
  Scheme verkle;
  verkle.name = "verkle";
  verkle.create = [](storage::Store& store, host::ComputeBackend& backend) {
    return std::unique_ptr<tree::Tree>(*verkle::VerkleTree::create(store, "t", {}, backend));
  };
  verkle.random_key = [](std::mt19937_64& rng) {
    std::string bytes(32, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    bytes[0] = static_cast<char>(rng() % 4);  // shared stem prefixes: deeper paths
    return bytes;
  };
  verkle.random_value = verkle.random_key;
  return {smt, verkle};
}

// The entry as a follower would see it: encoded, chunked and joined again.
LogEntry through_the_log(const LogEntry& entry) {
  EntryAssembler assembler;
  std::optional<LogEntry> out;
  for (const std::string& message : frame_entry(entry, 4096)) {
    absl::StatusOr<std::optional<LogEntry>> added = assembler.add(message);
    EXPECT_TRUE(added.ok()) << added.status();
    if (added.ok() && added->has_value()) out = std::move(**added);
  }
  EXPECT_TRUE(out.has_value());
  return out.value_or(LogEntry{});
}

class EntryApplyTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    scheme_ = schemes()[GetParam()];
    leader_store_ = *storage::Store::open(dir_ / "leader");
    replica_store_ = *storage::Store::open(dir_ / "replica");
    leader_ = scheme_.create(*leader_store_, *backend_);
    replica_ = scheme_.create(*replica_store_, *backend_);
  }

  // What the leader does for one random batch, as a log entry.
  LogEntry leader_apply(std::mt19937_64& rng, std::vector<std::string>& keys) {
    std::vector<tree::Op> ops;
    const int count = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < count; ++i) {
      if (!keys.empty() && rng() % 5 == 0) {
        ops.push_back(tree::Op::erase(keys[rng() % keys.size()]));
      } else if (!keys.empty() && rng() % 4 == 0) {
        ops.push_back(tree::Op::put(keys[rng() % keys.size()], scheme_.random_value(rng)));
      } else {
        keys.push_back(scheme_.random_key(rng));
        ops.push_back(tree::Op::put(keys.back(), scheme_.random_value(rng)));
      }
    }
    tree::ApplyOptions options;
    options.label = "block-" + std::to_string(rng() % 1000);
    if (rng() % 3 == 0)
      options.idempotent_writes.push_back(std::string(32, static_cast<char>(rng())));
    absl::StatusOr<tree::ApplyResult> applied = leader_->apply(ops, options);
    EXPECT_TRUE(applied.ok()) << applied.status();
    return entry_for_apply("t", ops, options, applied->version.version, applied->version.root);
  }

  void expect_same_head(const std::string& when) {
    const storage::VersionRecord leader = *leader_->version_record();
    const storage::VersionRecord replica = *replica_->version_record();
    EXPECT_EQ(replica.version, leader.version) << when;
    EXPECT_EQ(replica.root, leader.root) << when;
    EXPECT_EQ(replica.label, leader.label) << when;
    EXPECT_EQ(replica.entry_count, leader.entry_count) << when;
  }

  TempDir dir_{"entry-apply"};
  Scheme scheme_;
  std::unique_ptr<host::ComputeBackend> backend_ = host::make_cpu_backend();
  std::unique_ptr<storage::Store> leader_store_, replica_store_;
  std::unique_ptr<tree::Tree> leader_, replica_;
};

TEST_P(EntryApplyTest, AReplicaFollowsBatchesRollbacksAndPrunesWithEqualRoots) {
  auto rng = testing::seeded_rng("EntryApplyTest.Follow");
  std::vector<std::string> keys;
  for (int step = 0; step < 40; ++step) {
    LogEntry entry;
    const std::uint64_t head = leader_->info()->head_version;
    if (step % 13 == 12 && head > 3) {
      entry.kind = LogEntry::Kind::kRollback;  // a reorg: back two versions
      entry.tree = "t";
      entry.version = head - 2;
      entry.root = leader_->version_record(entry.version)->root;
      ASSERT_TRUE(leader_->rollback(entry.version).ok());
    } else if (step % 17 == 16 && head > 2) {
      entry.kind = LogEntry::Kind::kPrune;
      entry.tree = "t";
      entry.version = head - 2;
      ASSERT_TRUE(leader_->prune(entry.version).ok());
    } else {
      entry = leader_apply(rng, keys);
    }
    absl::StatusOr<EntryOutcome> outcome = apply_entry(*replica_, through_the_log(entry));
    ASSERT_TRUE(outcome.ok()) << "step " << step << ": " << outcome.status();
    EXPECT_EQ(*outcome, EntryOutcome::kApplied) << "step " << step;
    expect_same_head("after step " + std::to_string(step));
    // The same entry again (a replay after a restart) changes nothing.
    absl::StatusOr<EntryOutcome> again = apply_entry(*replica_, entry);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(*again, EntryOutcome::kAlreadyApplied);
  }
  EXPECT_EQ(replica_->info()->oldest_version, leader_->info()->oldest_version);
}

TEST_P(EntryApplyTest, AWrongRootInTheLogIsRefusedBeforeAnythingIsCommitted) {
  auto rng = testing::seeded_rng("EntryApplyTest.WrongRoot");
  std::vector<std::string> keys;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(apply_entry(*replica_, leader_apply(rng, keys)).ok());
  LogEntry tampered = leader_apply(rng, keys);
  tampered.root[5] ^= 1;
  const storage::VersionRecord before = *replica_->version_record();
  absl::StatusOr<EntryOutcome> refused = apply_entry(*replica_, tampered);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss) << refused.status();
  EXPECT_NE(refused.status().message().find("nothing was committed"), std::string::npos)
      << refused.status();
  const storage::VersionRecord after = *replica_->version_record();
  EXPECT_EQ(after.version, before.version);
  EXPECT_EQ(after.root, before.root);
  // A replayed entry whose root differs from the replica's version is divergence too.
  LogEntry old = tampered;
  old.version = before.version;
  EXPECT_EQ(apply_entry(*replica_, old).status().code(), absl::StatusCode::kDataLoss);
  // A rollback to a version whose root is not the log's.
  LogEntry rollback;
  rollback.kind = LogEntry::Kind::kRollback;
  rollback.tree = "t";
  rollback.version = 1;
  rollback.root = std::string(32, 'x');
  EXPECT_EQ(apply_entry(*replica_, rollback).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(replica_->version_record()->version, before.version);
}

TEST_P(EntryApplyTest, AGapOrAnotherTreesEntryIsRefused) {
  auto rng = testing::seeded_rng("EntryApplyTest.Gap");
  std::vector<std::string> keys;
  const LogEntry first = leader_apply(rng, keys);
  const LogEntry second = leader_apply(rng, keys);
  absl::StatusOr<EntryOutcome> skipped = apply_entry(*replica_, second);
  EXPECT_EQ(skipped.status().code(), absl::StatusCode::kFailedPrecondition) << skipped.status();
  EXPECT_NE(skipped.status().message().find("entries are missing"), std::string::npos);
  LogEntry other = first;
  other.tree = "u";
  EXPECT_EQ(apply_entry(*replica_, other).status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(apply_entry(*replica_, first).ok());
  ASSERT_TRUE(apply_entry(*replica_, second).ok());
  expect_same_head("after both");
}

INSTANTIATE_TEST_SUITE_P(Schemes, EntryApplyTest, ::testing::Values(0, 1),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return schemes()[info.param].name;
                         });

}  // namespace
}  // namespace arbor::replication
