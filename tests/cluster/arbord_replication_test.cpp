// Replicated arbord processes (label `cluster`): a leader and a follower on a 3-node NATS cluster
// on loopback. Writers load the leader through gRPC and the leader gets a SIGKILL mid-commit (with
// either replication.ack); after its restart, every acknowledged write is on both nodes, their
// roots agree version by version, the follower refuses writes naming the leader, and /healthz and
// /metrics say where each stands.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tests/crash/write_ledger.hpp"
#include "tests/support/arbord_process.hpp"
#include "tests/support/nats_cluster.hpp"
#include "tests/support/test_support.hpp"

namespace arbor {
namespace {

using namespace std::chrono_literals;
using crash::Mutation;
using crash::WriteLedger;
using testing::ArbordProcess;
using testing::NatsCluster;
using testing::TempDir;

constexpr int kWriters = 4;
constexpr int kLeaseTtlMs = 2000;

std::string random_bytes32(std::mt19937_64& rng) {
  std::string bytes(32, '\0');
  for (char& c : bytes) c = static_cast<char>(rng());
  bytes[0] = 0;  // below the BN254 modulus: a valid SMT key and value
  return bytes;
}

// Retries while the node says UNAVAILABLE (starting, catching up with the log, an election).
template <typename Call>
grpc::Status until_available(Call call, std::chrono::seconds limit = 60s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  grpc::Status status;
  do {
    status = call();
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE) return status;
    std::this_thread::sleep_for(100ms);
  } while (std::chrono::steady_clock::now() < deadline);
  return status;
}

v1::TreeInfo tree_info(rpc::ArborClient& client, const std::string& tree,
                       std::optional<std::uint64_t> version = std::nullopt) {
  v1::GetTreeRequest request;
  request.set_tree(tree);
  if (version) request.mutable_at()->set_version(*version);
  v1::TreeInfo info;
  grpc::ClientContext context;
  const grpc::Status status = client.stub().GetTree(&context, request, &info);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return info;
}

// Creates an SMT tree through `node`, waiting while it is not yet leading.
grpc::Status create_tree(ArbordProcess& node, const std::string& name) {
  auto client = node.client();
  v1::CreateTreeRequest create;
  create.set_name(name);
  v1::TreeInfo info;
  return until_available([&] {
    grpc::ClientContext context;
    return client->stub().CreateTree(&context, create, &info);
  });
}

class ArbordReplicationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (NatsCluster::server_binary().empty()) {
      GTEST_SKIP() << "nats-server is not installed (scripts/install-deps installs it)";
    }
    auto cluster = NatsCluster::start(dir_.path() / "nats", 3);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = std::move(*cluster);
  }

  absl::StatusOr<std::unique_ptr<ArbordProcess>> start(const std::string& name, bool follow) {
    // A short lease, so that failover is quick.
    const std::filesystem::path config = dir_.path() / (name + ".toml");
    std::ofstream(config) << "[replication]\nlease_ttl_ms = " << lease_ttl_ms_ << "\nack = \""
                          << ack_ << "\"\n";
    testing::ArbordLaunch launch;
    launch.args = {"--sync",
                   "full",
                   "--nats",
                   absl::StrJoin(cluster_->client_urls(), ","),
                   "--advertise-address",
                   "the-" + name + ":50051",
                   "--config",
                   config.string()};
    if (follow) launch.args.push_back("--follow");
    launch.timeout = 90s;  // a new stream's first election
    return ArbordProcess::start_with(dir_.path() / name, launch);
  }

  // Writers load the leader, which is SIGKILLed mid-commit and restarted; then every
  // acknowledged write must be on both nodes, with the same root at every version.
  void kill_the_leader_under_load();

  TempDir dir_{"arbord-replication"};
  std::unique_ptr<NatsCluster> cluster_;
  int lease_ttl_ms_ = kLeaseTtlMs;
  std::string ack_ = "quorum";
};

TEST_F(ArbordReplicationTest, ALeaderKilledMidCommitLosesNoAcknowledgedWrite) {
  kill_the_leader_under_load();
}

// ack = "leader": writes are answered at the local commit; the kill leaves some committed and not
// yet in the log. The restarted leader (the lease still its own: no failover) appends them.
TEST_F(ArbordReplicationTest, WithAckLeaderARestartedLeaderAppendsWhatItAnswered) {
  ack_ = "leader";
  lease_ttl_ms_ = 30'000;
  kill_the_leader_under_load();
}

void ArbordReplicationTest::kill_the_leader_under_load() {
  const std::uint64_t seed = std::random_device{}();
  std::cout << "seed " << seed << "\n";
  std::mt19937_64 rng(seed);
  auto leader = start("leader", false);
  ASSERT_TRUE(leader.ok()) << leader.status();
  auto follower = start("follower", true);
  ASSERT_TRUE(follower.ok()) << follower.status();
  const grpc::Status created = create_tree(**leader, "accounts");
  ASSERT_TRUE(created.ok()) << created.error_message();

  WriteLedger ledger;
  std::atomic<bool> stop{false};
  std::atomic<int> acknowledged{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      std::mt19937_64 local(seed + 1 + w);
      auto client = (*leader)->client();
      while (!stop) {
        v1::WriteRequest request;
        request.set_tree("accounts");
        std::vector<Mutation> ops;
        for (int i = 0; i < 1 + static_cast<int>(local() % 8); ++i) {
          v1::Op* op = request.add_ops();
          op->set_kind(v1::OP_KIND_PUT);
          op->set_key(random_bytes32(local));
          op->set_value(random_bytes32(local));
          ops.push_back(Mutation{op->key(), op->value()});
        }
        v1::WriteResponse response;
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + 30s);
        ledger.sent(ops);
        const grpc::Status status = client->stub().Write(&context, request, &response);
        if (status.ok()) {
          ledger.acknowledged(ops);
          ++acknowledged;
        } else if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
                   status.error_message().find("nothing was applied") != std::string::npos) {
          ledger.refused(ops);
          std::this_thread::sleep_for(50ms);
        } else {
          ledger.unknown(ops);  // killed in flight: applied or not
        }
      }
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (acknowledged < 50 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 500));
  (*leader)->kill_now();
  stop = true;
  for (std::thread& writer : writers) writer.join();
  ASSERT_GT(acknowledged.load(), 0);

  // The restarted leader reads the log from its store's position (its last entry may be in the
  // log and not in its store) and leads again.
  leader = start("leader", false);
  ASSERT_TRUE(leader.ok()) << leader.status();
  // ack = "leader": what the kill left committed and not yet in the log, as the restart says.
  const std::string restart_log = (*leader)->log();
  if (const std::size_t kept = restart_log.find("are not in the log yet");
      kept != std::string::npos) {
    const std::size_t line = restart_log.rfind('\n', kept);
    std::cout << "at the restart: "
              << restart_log.substr(line == std::string::npos ? 0 : line + 1,
                                    restart_log.find('\n', kept) - line)
              << "\n";
  } else if (ack_ == "leader") {
    std::cout << "at the restart: every change answered was in the log already\n";
  }
  auto leader_client = (*leader)->client();
  auto follower_client = (*follower)->client();
  // One more write: accepted once the leader leads again, and a marker for the follower's lag.
  v1::WriteRequest marker;
  marker.set_tree("accounts");
  v1::Op* op = marker.add_ops();
  op->set_kind(v1::OP_KIND_PUT);
  op->set_key(random_bytes32(rng));
  op->set_value(random_bytes32(rng));
  marker.set_idempotency_key("marker");
  v1::WriteResponse marked;
  const grpc::Status written = until_available([&] {
    grpc::ClientContext context;
    return leader_client->stub().Write(&context, marker, &marked);
  });
  ASSERT_TRUE(written.ok()) << written.error_message();
  const std::uint64_t head = marked.version();
  const auto caught_up_by = std::chrono::steady_clock::now() + 60s;
  while (tree_info(*follower_client, "accounts").version() < head &&
         std::chrono::steady_clock::now() < caught_up_by) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(tree_info(*follower_client, "accounts").version(), head);
  const absl::Status on_leader = crash::check_every_key(*leader_client, "accounts", ledger);
  EXPECT_TRUE(on_leader.ok()) << "leader: " << on_leader;
  const absl::Status on_follower = crash::check_every_key(*follower_client, "accounts", ledger);
  EXPECT_TRUE(on_follower.ok()) << "follower: " << on_follower;
  const v1::TreeInfo leader_head = tree_info(*leader_client, "accounts");
  for (std::uint64_t v = leader_head.oldest_version(); v <= head; ++v) {
    EXPECT_EQ(tree_info(*leader_client, "accounts", v).root(),
              tree_info(*follower_client, "accounts", v).root())
        << "version " << v;
  }

  // The follower says it follows (it may still be reading the marker's neighbourhood)...
  const auto following_by = std::chrono::steady_clock::now() + 30s;
  absl::StatusOr<testing::HttpAnswer> health;
  do {
    health = testing::http_get((*follower)->metrics_port(), "/healthz");
    if (health.ok() && health->body.find("replication: following") != std::string::npos) break;
    std::this_thread::sleep_for(50ms);
  } while (std::chrono::steady_clock::now() < following_by);
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->status, 200);
  EXPECT_NE(health->body.find("replication: following"), std::string::npos)
      << health->body << (*follower)->log();
  // ... refuses writes and names the leader.
  v1::WriteResponse refused;
  grpc::ClientContext context;
  const grpc::Status refusal = follower_client->stub().Write(&context, marker, &refused);
  EXPECT_EQ(refusal.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(refusal.error_message().find("at the-leader:50051"), std::string::npos)
      << refusal.error_message();
  auto metrics = testing::http_get((*leader)->metrics_port(), "/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_NE(metrics->body.find("arbor_replication_state{state=\"leading\"} 1"), std::string::npos);
  // Clean stops. The channels go first: a server's shutdown waits for connected clients.
  leader_client.reset();
  follower_client.reset();
  EXPECT_EQ((*follower)->terminate(), 0) << (*follower)->log();
  EXPECT_EQ((*leader)->terminate(), 0) << (*leader)->log();
}

// SIGSTOP the leader until its lease expires: the follower takes over and takes writes. SIGCONT:
// the old leader finds its lease gone (or is fenced by the new leader's appends), applies nothing
// of its own, and follows; both hold every acknowledged write with the same roots.
TEST_F(ArbordReplicationTest, APausedLeaderLosesTheLeadAndFollowsTheNewOne) {
  std::mt19937_64 rng(std::random_device{}());
  auto leader = start("leader", false);
  ASSERT_TRUE(leader.ok()) << leader.status();
  auto follower = start("follower", true);
  ASSERT_TRUE(follower.ok()) << follower.status();
  auto write_to = [&](ArbordProcess& node, const std::string& key_name) {
    auto client = node.client();
    v1::WriteRequest request;
    request.set_tree("accounts");
    v1::Op* op = request.add_ops();
    op->set_kind(v1::OP_KIND_PUT);
    op->set_key(random_bytes32(rng));
    op->set_value(random_bytes32(rng));
    request.set_idempotency_key(key_name);
    v1::WriteResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 10s);
    return client->stub().Write(&context, request, &response);
  };
  const grpc::Status created = create_tree(**leader, "accounts");
  ASSERT_TRUE(created.ok()) << created.error_message();
  ASSERT_TRUE(until_available([&] { return write_to(**leader, "before"); }).ok());

  ::kill((*leader)->pid(), SIGSTOP);
  const auto paused = std::chrono::steady_clock::now();
  // The follower refuses (FAILED_PRECONDITION) until it leads: retried until then.
  grpc::Status taken_over;
  do {
    taken_over = write_to(**follower, "after");
    if (taken_over.ok()) break;
    std::this_thread::sleep_for(100ms);
  } while (std::chrono::steady_clock::now() < paused + 60s);
  const double failover_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - paused).count();
  ::kill((*leader)->pid(), SIGCONT);
  ASSERT_TRUE(taken_over.ok()) << taken_over.error_message() << (*follower)->log();
  std::cout << "failover: the follower took a write " << failover_s << " s after the pause (lease "
            << lease_ttl_ms_ << " ms)\n";

  // The old leader follows: it refuses writes naming the new leader and holds both writes.
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  grpc::Status refused;
  do {
    refused = write_to(**leader, "refused");
    if (refused.error_code() == grpc::StatusCode::FAILED_PRECONDITION &&
        refused.error_message().find("at the-follower:50051") != std::string::npos) {
      break;  // it follows, and has looked at the lease since
    }
    std::this_thread::sleep_for(100ms);
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << refused.error_message();
  EXPECT_NE(refused.error_message().find("at the-follower:50051"), std::string::npos)
      << refused.error_message();
  auto leader_client = (*leader)->client();
  auto follower_client = (*follower)->client();
  const std::uint64_t head = tree_info(*follower_client, "accounts").version();
  const auto caught_up_by = std::chrono::steady_clock::now() + 60s;
  while (tree_info(*leader_client, "accounts").version() < head &&
         std::chrono::steady_clock::now() < caught_up_by) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(tree_info(*leader_client, "accounts").version(), head);
  for (std::uint64_t v = 1; v <= head; ++v) {
    EXPECT_EQ(tree_info(*leader_client, "accounts", v).root(),
              tree_info(*follower_client, "accounts", v).root())
        << "version " << v;
  }
  EXPECT_EQ(head, 2u);  // "before" and "after": the paused leader applied nothing of its own
  leader_client.reset();
  follower_client.reset();
  EXPECT_EQ((*leader)->terminate(), 0) << (*leader)->log();
  EXPECT_EQ((*follower)->terminate(), 0) << (*follower)->log();
}

}  // namespace
}  // namespace arbor
