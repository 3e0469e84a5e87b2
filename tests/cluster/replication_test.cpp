// Replication end to end inside one process (label `cluster`): engines on their own stores, each
// with a Replicator, on a 3-node NATS JetStream cluster started on loopback. A leader's changes
// (trees created, random batches on both schemes, idempotent writes, rollbacks, prunes) reach
// every follower with the same root at every version; followers refuse writes; a follower that
// was stopped catches up; a store copied from a checkpoint continues from the log after it; a
// second leader is fenced and becomes a follower; a wrong root in the log stops a follower; the
// NATS stream leader killed under load and a lost quorum lose no acknowledged write.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "host/replication/replicator.hpp"
#include "host/smt/smt_records.hpp"
#include "tests/support/nats_cluster.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::replication {
namespace {

using namespace std::chrono_literals;
using service::Engine;
using testing::NatsCluster;
using testing::TempDir;

// One node: an engine on its own data directory and its replicator.
struct Node {
  std::filesystem::path data;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<Replicator> replicator;

  void stop() {
    if (replicator) replicator->stop();
    if (engine) engine->shutdown();
    replicator.reset();
    engine.reset();
  }
  ~Node() { stop(); }
};

std::string random_key(const std::string& scheme, std::mt19937_64& rng) {
  if (scheme == "smt") return smt::fr_bytes(testing::random_fr(rng));
  std::string bytes(32, '\0');
  for (char& c : bytes) c = static_cast<char>(rng());
  bytes[0] = static_cast<char>(rng() % 4);  // shared stem prefixes
  return bytes;
}

class ReplicationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (NatsCluster::server_binary().empty()) {
      GTEST_SKIP() << "nats-server is not installed (scripts/install-deps installs it)";
    }
    auto cluster = NatsCluster::start(dir_.path() / "nats", 3);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = std::move(*cluster);
    seed_ = std::random_device{}();
    std::cout << "seed " << seed_ << "\n";
    rng_.seed(seed_);
  }

  ReplicatorOptions options(ReplicatorOptions::Role role, const std::string& name = "") const {
    ReplicatorOptions options;
    options.log.servers = cluster_->client_urls();
    options.log.lease_ttl = lease_ttl_;
    options.log.max_age = max_age_;
    options.role = role;
    options.advertise_address = name;
    options.use_lease = use_lease_;
    options.leader_address = "configured-leader.example:50051";
    options.retry_for = retry_for_;
    options.poll = 100ms;
    options.ack = ack_;
    options.max_unreplicated = max_unreplicated_;
    return options;
  }

  // Opens (or reopens) the node's engine on `data` and starts replicating. A new stream may need
  // an election before it answers: the start is retried.
  void start(Node& node, const std::filesystem::path& data, ReplicatorOptions::Role role) {
    node.data = data;
    service::EngineOptions engine_options;
    engine_options.data_dir = data;
    engine_options.checkpoint_dir = data.parent_path() / (data.filename().string() + "-cp");
    engine_options.warm_up_schemes = false;
    engine_options.replicated = true;
    absl::StatusOr<std::unique_ptr<Engine>> engine = Engine::open(engine_options);
    ASSERT_TRUE(engine.ok()) << engine.status();
    node.engine = std::move(*engine);
    absl::StatusOr<std::unique_ptr<Replicator>> replicator;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    do {
      replicator = Replicator::start(*node.engine,
                                     options(role, data.filename().string() + ".example:50051"));
    } while (!replicator.ok() && replicator.status().code() == absl::StatusCode::kUnavailable &&
             std::chrono::steady_clock::now() < deadline);
    ASSERT_TRUE(replicator.ok()) << replicator.status();
    node.replicator = std::move(*replicator);
  }

  static void expect_state(const Node& node, ReplicaState wanted) {
    const ReplicaState state = node.replicator->wait_for(wanted, 60s);
    ASSERT_EQ(to_string(state), to_string(wanted)) << node.replicator->status().failure;
  }

  // Writes until applied: right after a node starts leading, or during an election, a write can
  // meet UNAVAILABLE; an idempotency key makes the retry safe.
  absl::StatusOr<service::WriteOutcome> write(Engine& engine, const std::string& tree,
                                              std::vector<tree::Op> ops, std::string label) {
    service::WriteRequest request;
    request.ops = std::move(ops);
    request.label = std::move(label);
    request.idempotency_key = absl::StrCat("key-", writes_++);
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (true) {
      absl::StatusOr<service::WriteFuture> submitted = engine.write(tree, request);
      absl::StatusOr<service::WriteOutcome> outcome =
          submitted.ok() ? submitted->get()
                         : absl::StatusOr<service::WriteOutcome>(submitted.status());
      if (outcome.ok() || outcome.status().code() != absl::StatusCode::kUnavailable ||
          std::chrono::steady_clock::now() > deadline) {
        return outcome;
      }
      std::this_thread::sleep_for(100ms);
    }
  }

  std::vector<tree::Op> random_ops(const std::string& scheme, std::vector<std::string>& keys) {
    std::vector<tree::Op> ops;
    const int count = 1 + static_cast<int>(rng_() % 30);
    for (int i = 0; i < count; ++i) {
      if (!keys.empty() && rng_() % 5 == 0) {
        ops.push_back(tree::Op::erase(keys[rng_() % keys.size()]));
      } else if (!keys.empty() && rng_() % 3 == 0) {
        ops.push_back(tree::Op::put(keys[rng_() % keys.size()], random_key(scheme, rng_)));
      } else {
        keys.push_back(random_key(scheme, rng_));
        ops.push_back(tree::Op::put(keys.back(), random_key(scheme, rng_)));
      }
    }
    return ops;
  }

  // Waits until the follower's store holds the log up to the leader's position.
  static void wait_caught_up(const Node& follower, const Node& leader) {
    const std::uint64_t target = *leader.engine->log_position();
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (*follower.engine->log_position() < target &&
           follower.replicator->status().state != ReplicaState::kFailed &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(20ms);
    }
    ASSERT_EQ(*follower.engine->log_position(), target)
        << "follower " << to_string(follower.replicator->status().state) << " "
        << follower.replicator->status().failure;
  }

  // Same trees, heads, oldest versions, and the same root and label at every retained version.
  static void expect_same_trees(const Engine& a, const Engine& b) {
    absl::StatusOr<std::vector<service::TreeSummary>> trees = a.list_trees();
    ASSERT_TRUE(trees.ok()) << trees.status();
    absl::StatusOr<std::vector<service::TreeSummary>> other = b.list_trees();
    ASSERT_TRUE(other.ok()) << other.status();
    ASSERT_EQ(trees->size(), other->size());
    for (const service::TreeSummary& summary : *trees) {
      absl::StatusOr<service::TreeSummary> there = b.tree(summary.info.name);
      ASSERT_TRUE(there.ok()) << summary.info.name << ": " << there.status();
      EXPECT_EQ(there->info.scheme, summary.info.scheme);
      ASSERT_EQ(there->info.head_version, summary.info.head_version) << summary.info.name;
      EXPECT_EQ(there->info.oldest_version, summary.info.oldest_version) << summary.info.name;
      for (std::uint64_t v = summary.info.oldest_version; v <= summary.info.head_version; ++v) {
        absl::StatusOr<storage::VersionRecord> mine = a.version_record(summary.info.name, v);
        absl::StatusOr<storage::VersionRecord> theirs = b.version_record(summary.info.name, v);
        ASSERT_TRUE(mine.ok() && theirs.ok()) << summary.info.name << " v" << v;
        EXPECT_EQ(mine->root, theirs->root) << summary.info.name << " v" << v;
        EXPECT_EQ(mine->label, theirs->label) << summary.info.name << " v" << v;
        EXPECT_EQ(mine->entry_count, theirs->entry_count) << summary.info.name << " v" << v;
      }
    }
  }

  // Creates an SMT and a Verkle tree on the leader and writes `batches` random batches to each,
  // with a rollback and a prune along the way.
  void make_history(Engine& leader, int batches) {
    for (const std::string scheme : {"smt", "verkle"}) {
      const std::string name = "t-" + scheme;
      if (!leader.tree(name).ok()) {
        tree::CreateOptions create;
        absl::StatusOr<service::TreeSummary> created = leader.create_tree(name, scheme, create);
        ASSERT_TRUE(created.ok()) << created.status();
      }
      std::vector<std::string>& keys = keys_[name];
      for (int i = 0; i < batches; ++i) {
        absl::StatusOr<service::WriteOutcome> written =
            write(leader, name, random_ops(scheme, keys), absl::StrCat("block-", i));
        ASSERT_TRUE(written.ok()) << written.status();
        if (i == batches / 2) {
          const std::uint64_t head = written->version.version;
          absl::StatusOr<service::TreeSummary> rolled =
              leader.rollback(name, {head > 2 ? head - 2 : 1, std::nullopt});
          ASSERT_TRUE(rolled.ok()) << rolled.status();
          absl::StatusOr<storage::PruneResult> pruned =
              leader.prune(name, std::min<std::uint64_t>(2, rolled->info.head_version), false);
          ASSERT_TRUE(pruned.ok()) << pruned.status();
        }
      }
    }
  }

  TempDir dir_{"replication"};
  std::unique_ptr<NatsCluster> cluster_;
  std::uint64_t seed_ = 0;
  std::mt19937_64 rng_;
  std::map<std::string, std::vector<std::string>> keys_;
  int writes_ = 0;
  std::chrono::milliseconds retry_for_ = 20s;
  std::chrono::milliseconds lease_ttl_ = 2s;
  std::chrono::seconds max_age_ = std::chrono::hours(24);
  bool use_lease_ = true;
  ReplicatorOptions::Ack ack_ = ReplicatorOptions::Ack::kQuorum;
  std::size_t max_unreplicated_ = 10'000;
};

// Waits until the node's log has every change it committed (ack = "leader").
void wait_replicated(const Node& node) {
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (node.replicator->status().unreplicated > 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(node.replicator->status().unreplicated, 0u)
      << to_string(node.replicator->status().state);
}

// Each acknowledged version is on `engine` with the root it was acknowledged with.
void expect_versions(const Engine& engine, const std::string& tree,
                     const std::vector<storage::VersionRecord>& acknowledged) {
  for (const storage::VersionRecord& version : acknowledged) {
    absl::StatusOr<storage::VersionRecord> there = engine.version_record(tree, version.version);
    ASSERT_TRUE(there.ok()) << "version " << version.version << ": " << there.status();
    EXPECT_EQ(there->root, version.root) << "version " << version.version;
  }
}

// One write, not retried.
absl::StatusOr<service::WriteOutcome> write_once(Engine& engine, const std::string& tree,
                                                 std::vector<tree::Op> ops, std::string key) {
  service::WriteRequest request;
  request.ops = std::move(ops);
  request.idempotency_key = std::move(key);
  absl::StatusOr<service::WriteFuture> submitted = engine.write(tree, request);
  if (!submitted.ok()) return submitted.status();
  return submitted->get();
}

TEST_F(ReplicationTest, FollowersHoldWhatTheLeaderDidVersionByVersion) {
  Node leader, first, second;
  start(leader, dir_.path() / "leader", ReplicatorOptions::Role::kLeader);
  expect_state(leader, ReplicaState::kLeading);
  start(first, dir_.path() / "first", ReplicatorOptions::Role::kFollower);
  make_history(*leader.engine, 12);
  start(second, dir_.path() / "second", ReplicatorOptions::Role::kFollower);
  for (Node* follower : {&first, &second}) {
    wait_caught_up(*follower, leader);
    expect_same_trees(*leader.engine, *follower->engine);
    expect_state(*follower, ReplicaState::kFollowing);
  }
  // A follower refuses writes and names the leader; nothing is applied.
  service::WriteRequest request;
  request.ops.push_back(tree::Op::put(random_key("smt", rng_), random_key("smt", rng_)));
  absl::StatusOr<service::WriteFuture> refused = first.engine->write("t-smt", request);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("at leader.example:50051"), std::string::npos)
      << refused.status();
  EXPECT_FALSE(first.engine->create_tree("other", "smt", {}).ok());
  EXPECT_FALSE(first.engine->rollback("t-smt", {1, std::nullopt}).ok());
  // Both ends counted their side of the log.
  EXPECT_GT(leader.replicator->status().entries_appended, 0u);
  EXPECT_GT(first.replicator->status().entries_applied, 0u);
}

TEST_F(ReplicationTest, AStoppedFollowerCatchesUpAndACheckpointStartsANewReplica) {
  Node leader, follower;
  start(leader, dir_.path() / "leader", ReplicatorOptions::Role::kLeader);
  expect_state(leader, ReplicaState::kLeading);
  start(follower, dir_.path() / "follower", ReplicatorOptions::Role::kFollower);
  make_history(*leader.engine, 6);
  wait_caught_up(follower, leader);
  follower.stop();
  make_history(*leader.engine, 6);  // while it is down
  absl::StatusOr<std::filesystem::path> checkpoint = leader.engine->checkpoint("cp1");
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  make_history(*leader.engine, 4);  // after the checkpoint
  start(follower, dir_.path() / "follower", ReplicatorOptions::Role::kFollower);
  wait_caught_up(follower, leader);
  expect_same_trees(*leader.engine, *follower.engine);
  // A new replica from the checkpoint: the store says where in the log it stands.
  Node fresh;
  std::filesystem::copy(*checkpoint, dir_.path() / "fresh",
                        std::filesystem::copy_options::recursive);
  start(fresh, dir_.path() / "fresh", ReplicatorOptions::Role::kFollower);
  wait_caught_up(fresh, leader);
  expect_same_trees(*leader.engine, *fresh.engine);
  // A restarted leader reads the log from its position and leads again.
  leader.stop();
  start(leader, dir_.path() / "leader", ReplicatorOptions::Role::kLeader);
  expect_state(leader, ReplicaState::kLeading);
  make_history(*leader.engine, 3);
  wait_caught_up(follower, leader);
  expect_same_trees(*leader.engine, *follower.engine);
}

// Automatic failover: the leader stops refreshing its lease (stopped, like a crash); the follower
// takes the lease once it expired, finishes the log and leads; the old leader, back, follows it.
TEST_F(ReplicationTest, AFollowerTakesOverWhenTheLeaderStopsAndTheOldLeaderFollows) {
  Node leader, follower;
  start(leader, dir_.path() / "leader", ReplicatorOptions::Role::kLeader);
  expect_state(leader, ReplicaState::kLeading);
  start(follower, dir_.path() / "follower", ReplicatorOptions::Role::kFollower);
  make_history(*leader.engine, 4);
  wait_caught_up(follower, leader);
  leader.stop();
  const auto stopped = std::chrono::steady_clock::now();
  expect_state(follower, ReplicaState::kLeading);
  std::cout << "failover after "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - stopped).count()
            << " s (lease TTL " << lease_ttl_.count() << " ms)\n";
  make_history(*follower.engine, 3);
  start(leader, dir_.path() / "leader", ReplicatorOptions::Role::kLeader);
  expect_state(leader, ReplicaState::kFollowing);
  wait_caught_up(leader, follower);
  expect_same_trees(*follower.engine, *leader.engine);
  // The old leader refuses writes and names the new one.
  service::WriteRequest request;
  request.ops.push_back(tree::Op::put(random_key("smt", rng_), random_key("smt", rng_)));
  absl::StatusOr<service::WriteFuture> refused = leader.engine->write("t-smt", request);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("follower.example:50051"), std::string::npos)
      << refused.status();
}

TEST_F(ReplicationTest, ASecondLeaderIsFencedAndFollows) {
  use_lease_ = false;  // two nodes that both believe they lead: only fencing keeps the log whole
  Node a, b;
  start(a, dir_.path() / "a", ReplicatorOptions::Role::kLeader);
  expect_state(a, ReplicaState::kLeading);
  make_history(*a.engine, 4);
  // b believes it leads too: it reads the log, then opens its writer at the tail.
  start(b, dir_.path() / "b", ReplicatorOptions::Role::kLeader);
  expect_state(b, ReplicaState::kLeading);
  make_history(*a.engine, 2);  // a extends the log past b's tail
  std::vector<std::string> keys;
  service::WriteRequest request;
  request.ops = random_ops("smt", keys);
  absl::StatusOr<service::WriteFuture> submitted = b.engine->write("t-smt", request);
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  absl::StatusOr<service::WriteOutcome> fenced = submitted->get();
  ASSERT_FALSE(fenced.ok());
  EXPECT_EQ(fenced.status().code(), absl::StatusCode::kFailedPrecondition) << fenced.status();
  // b applied nothing of its own; it follows a and holds what a did.
  expect_state(b, ReplicaState::kFollowing);
  wait_caught_up(b, a);
  expect_same_trees(*a.engine, *b.engine);
  make_history(*a.engine, 2);
  wait_caught_up(b, a);
  expect_same_trees(*a.engine, *b.engine);
}

// Every acknowledged version must be on the follower with the root it was acknowledged with.
TEST_F(ReplicationTest, KillingTheStreamLeaderUnderLoadLosesNoAcknowledgedWrite) {
  lease_ttl_ = 20s;  // longer than the elections the kill causes: the lead stays where it is
  Node leader, follower;
  start(leader, dir_.path() / "leader", ReplicatorOptions::Role::kLeader);
  expect_state(leader, ReplicaState::kLeading);
  start(follower, dir_.path() / "follower", ReplicatorOptions::Role::kFollower);
  make_history(*leader.engine, 2);
  std::atomic<bool> stop{false};
  std::vector<storage::VersionRecord> acknowledged;
  std::vector<std::string> keys;
  std::vector<std::vector<tree::Op>> batches;
  for (int i = 0; i < 400; ++i) batches.push_back(random_ops("smt", keys));
  std::thread writer([&] {
    for (std::size_t i = 0; i < batches.size() && !stop; ++i) {
      absl::StatusOr<service::WriteOutcome> written =
          write(*leader.engine, "t-smt", batches[i], "load");
      if (written.ok()) acknowledged.push_back(written->version);
    }
  });
  std::this_thread::sleep_for(500ms);
  absl::StatusOr<std::unique_ptr<JetStreamLog>> log =
      JetStreamLog::open(options(ReplicatorOptions::Role::kLeader).log);
  ASSERT_TRUE(log.ok()) << log.status();
  absl::StatusOr<std::string> stream_leader = (*log)->stream_leader();
  ASSERT_TRUE(stream_leader.ok()) << stream_leader.status();
  const int node = cluster_->node_named(*stream_leader);
  ASSERT_GE(node, 0) << *stream_leader;
  log->reset();
  cluster_->kill(node);
  std::this_thread::sleep_for(3s);
  ASSERT_TRUE(cluster_->restart(node).ok());
  writer.join();
  ASSERT_GT(acknowledged.size(), 10u);
  expect_state(leader, ReplicaState::kLeading);
  wait_caught_up(follower, leader);
  expect_versions(*follower.engine, "t-smt", acknowledged);
  expect_same_trees(*leader.engine, *follower.engine);
}

// With two of three NATS nodes down, a write is not acknowledged (UNAVAILABLE: its outcome is
// unknown); once they are back, its retry under the same idempotency key is applied exactly once.
TEST_F(ReplicationTest, ALostQuorumRefusesWritesUntilItReturns) {
  retry_for_ = 3s;
  Node leader, follower;
  start(leader, dir_.path() / "leader", ReplicatorOptions::Role::kLeader);
  expect_state(leader, ReplicaState::kLeading);
  start(follower, dir_.path() / "follower", ReplicatorOptions::Role::kFollower);
  make_history(*leader.engine, 3);
  wait_caught_up(follower, leader);
  const std::uint64_t head = leader.engine->tree("t-smt")->info.head_version;
  cluster_->kill(1);
  cluster_->kill(2);
  std::vector<std::string> keys;
  service::WriteRequest request;
  request.ops = random_ops("smt", keys);
  request.idempotency_key = "during-the-outage";
  absl::StatusOr<service::WriteFuture> submitted = leader.engine->write("t-smt", request);
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  absl::StatusOr<service::WriteOutcome> refused = submitted->get();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();
  // Nothing else is taken meanwhile, and nothing was committed here.
  EXPECT_FALSE(leader.engine->write("t-smt", request).ok());
  EXPECT_EQ(leader.engine->tree("t-smt")->info.head_version, head);
  ASSERT_TRUE(cluster_->restart(1).ok());
  ASSERT_TRUE(cluster_->restart(2).ok());
  // The lease may have expired meanwhile: either node may lead now (a follower that saw it free
  // through a surviving replica takes it too). The retry goes to whichever leads.
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  Node* now_leading = nullptr;
  absl::StatusOr<service::WriteOutcome> retried = absl::UnavailableError("not tried");
  while (!retried.ok() && std::chrono::steady_clock::now() < deadline) {
    for (Node* node : {&leader, &follower}) {
      absl::StatusOr<service::WriteFuture> again = node->engine->write("t-smt", request);
      retried = again.ok() ? again->get() : absl::StatusOr<service::WriteOutcome>(again.status());
      if (retried.ok()) {
        now_leading = node;
        break;
      }
    }
    if (!retried.ok()) std::this_thread::sleep_for(200ms);
  }
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(retried->version.version, head + 1);  // applied once, whichever attempt made it
  Node& other = now_leading == &leader ? follower : leader;
  wait_caught_up(other, *now_leading);
  expect_same_trees(*now_leading->engine, *other.engine);
  EXPECT_EQ(other.engine->tree("t-smt")->info.head_version, head + 1);
}

// A replica that needs entries the stream's retention has dropped says it needs a checkpoint,
// applies nothing, and is failed (NOT_SERVING); a replica from a checkpoint is fine.
TEST_F(ReplicationTest, AReplicaBehindTheRetainedLogNeedsACheckpoint) {
  max_age_ = 1s;
  Node leader;
  start(leader, dir_.path() / "leader", ReplicatorOptions::Role::kLeader);
  expect_state(leader, ReplicaState::kLeading);
  make_history(*leader.engine, 3);
  absl::StatusOr<std::filesystem::path> checkpoint = leader.engine->checkpoint("cp");
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  std::this_thread::sleep_for(2500ms);  // every entry so far ages out
  Node late;
  start(late, dir_.path() / "late", ReplicatorOptions::Role::kFollower);
  expect_state(late, ReplicaState::kFailed);
  EXPECT_NE(late.replicator->status().failure.find("needs a checkpoint"), std::string::npos)
      << late.replicator->status().failure;
  EXPECT_TRUE(late.engine->list_trees()->empty());
  Node restored;
  std::filesystem::copy(*checkpoint, dir_.path() / "restored",
                        std::filesystem::copy_options::recursive);
  start(restored, dir_.path() / "restored", ReplicatorOptions::Role::kFollower);
  expect_state(restored, ReplicaState::kFollowing);
  // The leader writes on after its own entries aged out, and the replica follows.
  make_history(*leader.engine, 2);
  wait_caught_up(restored, leader);
  expect_same_trees(*leader.engine, *restored.engine);
}

TEST_F(ReplicationTest, AWrongRootInTheLogStopsAFollowerBeforeItCommits) {
  Node follower;
  start(follower, dir_.path() / "follower", ReplicatorOptions::Role::kFollower);
  // The log written by hand: a tree, then a version whose root is not what its ops make.
  LogOptions log_options = options(ReplicatorOptions::Role::kLeader).log;
  absl::StatusOr<std::unique_ptr<JetStreamLog>> log = JetStreamLog::open(log_options);
  ASSERT_TRUE(log.ok()) << log.status();
  absl::StatusOr<std::unique_ptr<LogWriter>> writer = LogWriter::open(**log, 20s);
  ASSERT_TRUE(writer.ok()) << writer.status();
  LogEntry create;
  create.kind = LogEntry::Kind::kCreate;
  create.tree = "t";
  create.scheme = "smt";
  ASSERT_TRUE((*writer)->append(create).ok());
  LogEntry apply;
  apply.kind = LogEntry::Kind::kApply;
  apply.tree = "t";
  apply.version = 1;
  apply.root = std::string(32, '\x01');
  apply.ops.push_back(tree::Op::put(random_key("smt", rng_), random_key("smt", rng_)));
  ASSERT_TRUE((*writer)->append(apply).ok());
  expect_state(follower, ReplicaState::kFailed);
  EXPECT_EQ(follower.replicator->health().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(follower.replicator->status().failure.find("root"), std::string::npos)
      << follower.replicator->status().failure;
  // The tree exists (the create was fine) and holds no version 1.
  absl::StatusOr<service::TreeSummary> tree = follower.engine->tree("t");
  ASSERT_TRUE(tree.ok()) << tree.status();
  EXPECT_EQ(tree->info.head_version, 0u);
  // It still serves reads of what it holds, and takes no writes.
  EXPECT_TRUE(follower.engine->get("t", random_key("smt", rng_), {}, false).ok());
  service::WriteRequest request;
  request.ops = apply.ops;
  EXPECT_EQ(follower.engine->write("t", request).status().code(), absl::StatusCode::kUnavailable);
}

// ack = "leader": with two of three NATS nodes down, writes are still answered, at the local
// commit, up to max_unreplicated; the leader is stopped with them kept in its store; once NATS is
// back, the restarted leader appends them and the follower holds each with the root it was
// answered with.
TEST_F(ReplicationTest, AckLeaderAnswersDuringAnOutageAndAppendsAfterARestart) {
  ack_ = ReplicatorOptions::Ack::kLeader;
  max_unreplicated_ = 4;
  retry_for_ = 3s;
  lease_ttl_ = 60s;  // the restarted leader finds the lease still its own
  Node leader, follower;
  start(leader, dir_.path() / "leader", ReplicatorOptions::Role::kLeader);
  expect_state(leader, ReplicaState::kLeading);
  start(follower, dir_.path() / "follower", ReplicatorOptions::Role::kFollower);
  make_history(*leader.engine, 3);
  wait_replicated(leader);
  wait_caught_up(follower, leader);
  expect_same_trees(*leader.engine, *follower.engine);
  const std::uint64_t head = leader.engine->tree("t-smt")->info.head_version;
  cluster_->kill(1);
  cluster_->kill(2);
  std::vector<storage::VersionRecord> acknowledged;
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<service::WriteOutcome> written = write_once(
        *leader.engine, "t-smt", random_ops("smt", keys_["t-smt"]), absl::StrCat("outage-", i));
    ASSERT_TRUE(written.ok()) << written.status();
    EXPECT_EQ(written->version.version, head + 1 + i);
    acknowledged.push_back(written->version);
  }
  absl::StatusOr<service::WriteOutcome> refused =
      write_once(*leader.engine, "t-smt", random_ops("smt", keys_["t-smt"]), "one-too-many");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();
  EXPECT_NE(refused.status().message().find("max_unreplicated"), std::string::npos)
      << refused.status();
  EXPECT_EQ(leader.replicator->status().unreplicated, 4u);
  EXPECT_EQ(follower.engine->tree("t-smt")->info.head_version, head);
  leader.stop();
  ASSERT_TRUE(cluster_->restart(1).ok());
  ASSERT_TRUE(cluster_->restart(2).ok());
  start(leader, dir_.path() / "leader", ReplicatorOptions::Role::kLeader);
  expect_state(leader, ReplicaState::kLeading);
  wait_replicated(leader);
  wait_caught_up(follower, leader);
  expect_versions(*follower.engine, "t-smt", acknowledged);
  expect_same_trees(*leader.engine, *follower.engine);
  EXPECT_EQ(leader.replicator->status().entries_discarded, 0u);
}

// ack = "leader": a leader answers a write at its commit, then finds its append fenced (another
// node extended the log): it rolls the write back, applies the other node's entries and follows.
// The acknowledged write is lost, as the README says it can be, and counted.
TEST_F(ReplicationTest, AckLeaderRollsBackAnAnsweredWriteWhenFenced) {
  use_lease_ = false;  // two nodes that both believe they lead
  Node a, b;
  start(a, dir_.path() / "a", ReplicatorOptions::Role::kLeader);
  expect_state(a, ReplicaState::kLeading);
  make_history(*a.engine, 4);
  ack_ = ReplicatorOptions::Ack::kLeader;
  start(b, dir_.path() / "b", ReplicatorOptions::Role::kLeader);
  expect_state(b, ReplicaState::kLeading);
  make_history(*a.engine, 2);  // a extends the log past b's tail
  const std::uint64_t b_head = b.engine->tree("t-smt")->info.head_version;
  std::vector<std::string> keys;
  absl::StatusOr<service::WriteOutcome> answered =
      write_once(*b.engine, "t-smt", random_ops("smt", keys), "lost-in-failover");
  ASSERT_TRUE(answered.ok()) << answered.status();
  EXPECT_EQ(answered->version.version, b_head + 1);
  expect_state(b, ReplicaState::kFollowing);
  wait_replicated(b);
  wait_caught_up(b, a);
  expect_same_trees(*a.engine, *b.engine);
  EXPECT_EQ(b.replicator->status().entries_discarded, 1u);
  ASSERT_TRUE(write(*a.engine, "t-smt", random_ops("smt", keys), "after").ok());
  wait_caught_up(b, a);
  expect_same_trees(*a.engine, *b.engine);
  // The answered version's number now holds a's version (a rolled back to b's tail, then wrote).
  absl::StatusOr<storage::VersionRecord> now =
      b.engine->version_record("t-smt", answered->version.version);
  ASSERT_TRUE(now.ok()) << now.status();
  EXPECT_NE(now->root, answered->version.root);
}

}  // namespace
}  // namespace arbor::replication
