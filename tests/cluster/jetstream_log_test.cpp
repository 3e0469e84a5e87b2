// The replication log on a real 3-node NATS JetStream cluster on loopback (label `cluster`):
// fencing, retries after a lost acknowledgement, chunked entries, a killed stream leader and a
// lost quorum. Every acknowledged append must be readable afterwards, in order.
#include "host/replication/jetstream_log.hpp"

#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "host/replication/log_entry.hpp"
#include "host/replication/log_reader.hpp"
#include "host/replication/log_writer.hpp"
#include "tests/support/nats_cluster.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::replication {
namespace {

using testing::NatsCluster;
using testing::TempDir;

class JetStreamLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (NatsCluster::server_binary().empty()) {
      GTEST_SKIP() << "nats-server is not installed (scripts/install-deps installs it)";
    }
    auto cluster = NatsCluster::start(dir_.path(), 3);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = std::move(*cluster);
  }

  std::unique_ptr<JetStreamLog> open_log(int replicas = 3) {
    LogOptions options;
    options.servers = cluster_->client_urls();
    options.replicas = replicas;
    // Elections take 4-9 s; a stream just created may need one before it takes appends.
    absl::StatusOr<std::unique_ptr<JetStreamLog>> log;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    do {
      log = JetStreamLog::open(options);
    } while (!log.ok() && log.status().code() == absl::StatusCode::kUnavailable &&
             std::chrono::steady_clock::now() < deadline);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }

  // Appends until acknowledged or `limit` passes (an election, a lost quorum).
  static absl::StatusOr<JetStreamLog::Appended> append_retrying(JetStreamLog& log,
                                                                const std::string& id,
                                                                const std::string& data,
                                                                std::uint64_t after,
                                                                std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    absl::StatusOr<JetStreamLog::Appended> appended;
    do {
      appended = log.append(id, data, after);
    } while (!appended.ok() && appended.status().code() == absl::StatusCode::kUnavailable &&
             std::chrono::steady_clock::now() < deadline);
    return appended;
  }

  TempDir dir_{"nats"};
  std::unique_ptr<NatsCluster> cluster_;
};

TEST_F(JetStreamLogTest, AppendsAreFencedAndARetryIsRecognised) {
  std::unique_ptr<JetStreamLog> log = open_log();
  ASSERT_NE(log, nullptr);
  auto first = append_retrying(*log, "t/1/0@0", "one", 0, std::chrono::seconds(20));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->duplicate);
  // The same append again (its acknowledgement lost): recognised, not appended twice.
  auto retried = log->append("t/1/0@0", "one", 0);
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_TRUE(retried->duplicate);
  EXPECT_EQ(retried->sequence, first->sequence);
  auto second = log->append("t/2/0@1", "two", first->sequence);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->sequence, first->sequence + 1);
  // Another appender that still believes the log ends at `first` is fenced.
  auto stale = log->append("t/2/0@1-other", "two'", first->sequence);
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kFailedPrecondition) << stale.status();
  EXPECT_NE(stale.status().message().find("fenced"), std::string::npos) << stale.status();
  // And one that thinks the log is empty.
  EXPECT_EQ(log->append("t/1/0@0-other", "one'", 0).status().code(),
            absl::StatusCode::kFailedPrecondition);

  auto tail = log->last();
  ASSERT_TRUE(tail.ok() && tail->has_value()) << tail.status();
  EXPECT_EQ((*tail)->message_id, "t/2/0@1");
  EXPECT_EQ((*tail)->data, "two");
  auto read = log->read(first->sequence, 10, std::chrono::milliseconds(0));
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((*read)[0].data, "one");
  EXPECT_EQ((*read)[1].sequence, second->sequence);
  EXPECT_EQ((*read)[1].message_id, "t/2/0@1");
  auto bounds = log->bounds();
  ASSERT_TRUE(bounds.ok());
  EXPECT_EQ(bounds->last, second->sequence);

  // A second connection to the same stream sees the same log; other replicas are refused.
  std::unique_ptr<JetStreamLog> again = open_log();
  ASSERT_NE(again, nullptr);
  EXPECT_EQ((*again->last())->sequence, second->sequence);
  LogOptions other;
  other.servers = cluster_->client_urls();
  other.replicas = 1;
  EXPECT_EQ(JetStreamLog::open(other).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(JetStreamLogTest, AChunkedEntryComesBackWhole) {
  std::unique_ptr<JetStreamLog> log = open_log();
  ASSERT_NE(log, nullptr);
  auto rng = testing::seeded_rng("JetStreamLog.Chunked");
  LogEntry entry;
  entry.tree = "accounts";
  entry.version = 1;
  entry.root = std::string(32, 'r');
  for (int i = 0; i < 20000; ++i) {
    std::string key(32, '\0'), value(64, '\0');
    for (char& c : key) c = static_cast<char>(rng());
    for (char& c : value) c = static_cast<char>(rng());
    entry.ops.push_back(tree::Op::put(key, value));
  }
  const std::vector<std::string> messages = frame_entry(entry, log->max_message_bytes());
  EXPECT_EQ(log->max_message_bytes(), kDefaultMaxMessageBytes) << "a default server";
  // Over the limit: refused at once, not retried as if the server were away.
  EXPECT_EQ(log->append("big", std::string(log->max_message_bytes() + 1, 'x'), 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_GE(messages.size(), 2u);
  std::uint64_t after = 0;
  const std::uint64_t start_after = after;
  for (std::uint32_t chunk = 0; chunk < messages.size(); ++chunk) {
    auto appended = append_retrying(*log, message_id(entry.tree, entry.version, chunk, start_after),
                                    messages[chunk], after, std::chrono::seconds(20));
    ASSERT_TRUE(appended.ok()) << appended.status();
    after = appended->sequence;
  }
  auto read = log->read(1, messages.size() + 5, std::chrono::milliseconds(0));
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), messages.size());
  EntryAssembler assembler;
  std::optional<LogEntry> back;
  for (const LogMessage& message : *read) {
    auto added = assembler.add(message.data);
    ASSERT_TRUE(added.ok()) << added.status();
    if (added->has_value()) back = std::move(**added);
  }
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, entry);
}

TEST_F(JetStreamLogTest, KillingTheStreamLeaderLosesNoAcknowledgedAppend) {
  std::unique_ptr<JetStreamLog> log = open_log();
  ASSERT_NE(log, nullptr);
  std::vector<std::pair<std::uint64_t, std::string>> acknowledged;
  std::uint64_t after = 0;
  auto append_some = [&](int count) {
    for (int i = 0; i < count; ++i) {
      const std::string data = absl::StrCat("entry ", acknowledged.size());
      auto appended =
          append_retrying(*log, absl::StrCat("t/", acknowledged.size() + 1, "/0@", after), data,
                          after, std::chrono::seconds(40));
      ASSERT_TRUE(appended.ok()) << appended.status();
      acknowledged.emplace_back(appended->sequence, data);
      after = appended->sequence;
    }
  };
  append_some(50);
  if (HasFatalFailure()) return;
  auto leader = log->stream_leader();
  ASSERT_TRUE(leader.ok()) << leader.status();
  const int node = cluster_->node_named(*leader);
  ASSERT_GE(node, 0) << "stream leader '" << *leader << "'";
  const auto killed_at = std::chrono::steady_clock::now();
  cluster_->kill(node);
  append_some(50);  // waits out the election
  if (HasFatalFailure()) return;
  std::cout << "[ note ] appends resumed "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - killed_at)
                   .count()
            << " ms after the stream leader was killed (50 appends included)\n";
  ASSERT_TRUE(cluster_->restart(node).ok());
  auto read = log->read(1, 1000, std::chrono::milliseconds(0));
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), acknowledged.size()) << "every acknowledged append, once";
  for (std::size_t i = 0; i < acknowledged.size(); ++i) {
    EXPECT_EQ((*read)[i].sequence, acknowledged[i].first);
    EXPECT_EQ((*read)[i].data, acknowledged[i].second);
  }
}

TEST_F(JetStreamLogTest, WithoutAQuorumAppendsAreNotAcknowledgedUntilItReturns) {
  std::unique_ptr<JetStreamLog> log = open_log();
  ASSERT_NE(log, nullptr);
  auto first = append_retrying(*log, "t/1/0@0", "one", 0, std::chrono::seconds(20));
  ASSERT_TRUE(first.ok()) << first.status();
  // Two of three down: the one left cannot form a quorum.
  auto leader = log->stream_leader();
  ASSERT_TRUE(leader.ok());
  int kept = cluster_->node_named(*leader);
  if (kept < 0) kept = 0;
  std::vector<int> stopped;
  for (int i = 0; i < cluster_->size(); ++i) {
    if (i != kept) {
      cluster_->kill(i);
      stopped.push_back(i);
    }
  }
  auto refused = log->append("t/2/0@1", "two", first->sequence);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();
  for (int i : stopped) ASSERT_TRUE(cluster_->restart(i).ok());
  // The same append, retried: applied once, whether or not the unacknowledged attempt was kept.
  auto retried = append_retrying(*log, "t/2/0@1", "two", first->sequence, std::chrono::seconds(40));
  ASSERT_TRUE(retried.ok()) << retried.status();
  auto read = log->read(1, 10, std::chrono::milliseconds(0));
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((*read)[1].data, "two");
  EXPECT_EQ((*read)[1].sequence, retried->sequence);
}

LogEntry sample_entry(std::mt19937_64& rng, std::uint64_t version, int ops) {
  LogEntry entry;
  entry.tree = "accounts";
  entry.version = version;
  entry.root = std::string(32, static_cast<char>(version));
  entry.label = absl::StrCat("block-", version);
  for (int i = 0; i < ops; ++i) {
    std::string key(32, '\0'), value(64, '\0');
    for (char& c : key) c = static_cast<char>(rng());
    for (char& c : value) c = static_cast<char>(rng());
    entry.ops.push_back(tree::Op::put(key, value));
  }
  return entry;
}

TEST_F(JetStreamLogTest, WritersAppendWholeEntriesInOrderReadersJoinThemAndAStaleWriterIsFenced) {
  std::unique_ptr<JetStreamLog> log = open_log();
  ASSERT_NE(log, nullptr);
  auto rng = testing::seeded_rng("JetStreamLog.Writers");
  auto leader = LogWriter::open(*log, std::chrono::seconds(20));
  auto stale = LogWriter::open(*log, std::chrono::seconds(20));  // believes the same tail
  ASSERT_TRUE(leader.ok() && stale.ok());
  std::vector<LogEntry> written = {sample_entry(rng, 1, 3), sample_entry(rng, 2, 30000),
                                   sample_entry(rng, 3, 1)};
  std::vector<std::uint64_t> ends;
  for (const LogEntry& entry : written) {
    absl::StatusOr<std::uint64_t> end = (*leader)->append(entry);
    ASSERT_TRUE(end.ok()) << end.status();
    ends.push_back(*end);
  }
  EXPECT_GT(ends[1], ends[0] + 1) << "the large entry took several messages";
  absl::StatusOr<std::uint64_t> fenced = (*stale)->append(sample_entry(rng, 2, 1));
  EXPECT_EQ(fenced.status().code(), absl::StatusCode::kFailedPrecondition) << fenced.status();

  // A leader fenced part way through an entry leaves its first chunk; the next leader appends
  // after it, and readers skip the partial entry.
  const LogEntry partial = sample_entry(rng, 4, 30000);
  const std::vector<std::string> chunks = frame_entry(partial, log->max_message_bytes());
  ASSERT_GE(chunks.size(), 2u);
  ASSERT_TRUE(log->append(message_id("accounts", 4, 0, ends[2]), chunks[0], ends[2]).ok());
  auto next_leader = LogWriter::open(*log, std::chrono::seconds(20));
  ASSERT_TRUE(next_leader.ok());
  written.push_back(sample_entry(rng, 4, 2));
  absl::StatusOr<std::uint64_t> end = (*next_leader)->append(written.back());
  ASSERT_TRUE(end.ok()) << end.status();
  ends.push_back(*end);

  LogReader reader(*log, 1);
  std::vector<LogReader::Read> read;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (read.size() < written.size() && std::chrono::steady_clock::now() < deadline) {
    absl::StatusOr<std::vector<LogReader::Read>> more =
        reader.next(100, std::chrono::milliseconds(200));
    ASSERT_TRUE(more.ok()) << more.status();
    for (LogReader::Read& one : *more) read.push_back(std::move(one));
  }
  ASSERT_EQ(read.size(), written.size());
  for (std::size_t i = 0; i < written.size(); ++i) {
    EXPECT_EQ(read[i].entry, written[i]) << "entry " << i;
    EXPECT_EQ(read[i].resume_after, ends[i]) << "entry " << i;
  }
  EXPECT_EQ(reader.abandoned_entries(), 1u);
  EXPECT_EQ(reader.resume_sequence(), ends.back() + 1);

  // A replica restarted after entry 2 resumes with entry 3.
  LogReader resumed(*log, ends[1] + 1);
  absl::StatusOr<std::vector<LogReader::Read>> rest =
      resumed.next(100, std::chrono::milliseconds(0));
  ASSERT_TRUE(rest.ok()) << rest.status();
  ASSERT_EQ(rest->size(), 2u);
  EXPECT_EQ((*rest)[0].entry, written[2]);
  EXPECT_EQ((*rest)[1].entry, written[3]);
}

}  // namespace
}  // namespace arbor::replication
