// The replication log on a NATS JetStream stream (libnats; host/replication/README.md).
//
// One subject per shard (`arbor.log.<shard>`) in one stream. Appends are fenced: each names the
// subject sequence it must follow (ExpectLastSubjectSeq, or ExpectNoMessage for the first), so of
// two leaders that both believe they lead, only one can extend the log; the other learns it was
// fenced. Each append carries a message id (log_entry.hpp) that JetStream deduplicates by, so a
// retry after a lost acknowledgement is acknowledged as a duplicate instead of appended twice.
// JetStream 2.9 checks the expected sequence before the duplicate, so such a retry can also be
// refused as "wrong last sequence" (error 10071); append() then reads the subject's last message
// and, if it is this very append, answers as for a duplicate.
//
// What an acknowledgement means: a quorum of the stream's replicas holds the message. nats-server
// 2.9 fsyncs stream files every 60 s (sync_interval came in 2.10), so an acknowledged append
// survives any process crash and the loss of a minority of machines, not a power loss of a quorum
// within that minute.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace arbor::replication {

struct LogOptions {
  std::vector<std::string> servers;  // nats://host:port, at least one
  std::string stream = "ARBOR_LOG";
  std::string subject = "arbor.log.0";  // the shard's subject; the stream takes arbor.log.>
  int replicas = 3;
  std::chrono::seconds max_age{7 * 24 * 3600};  // retention: longer than the checkpoint interval
  std::chrono::seconds duplicate_window{120};   // how long a retry is recognised by message id
  std::chrono::milliseconds timeout{5000};      // per request (publish, read); elections take 4-9 s
  // The leadership lease: one key in this KV bucket, dropped lease_ttl after its last refresh.
  std::string lease_bucket = "ARBOR_LEASE";
  std::chrono::milliseconds lease_ttl{10'000};
};

struct LogMessage {
  std::uint64_t sequence = 0;  // the stream's sequence
  std::string message_id;      // Nats-Msg-Id
  std::string data;
};

class JetStreamLog {
 public:
  // Connects (UNAVAILABLE when no server answers) and creates the stream when it is missing; an
  // existing stream with other subjects or replicas is FAILED_PRECONDITION.
  static absl::StatusOr<std::unique_ptr<JetStreamLog>> open(const LogOptions& options);
  ~JetStreamLog();
  JetStreamLog(const JetStreamLog&) = delete;
  JetStreamLog& operator=(const JetStreamLog&) = delete;

  struct Appended {
    std::uint64_t sequence = 0;
    bool duplicate = false;  // it was already there: an earlier attempt of this append
  };
  // Appends `data` to the subject after `after_sequence` (0: the subject must be empty). Answers:
  // the sequence; FAILED_PRECONDITION "fenced" when the subject's last message is another one (a
  // newer leader appended); UNAVAILABLE when the outcome is unknown (no quorum, a timeout): retry
  // the same append, or read the tail. INVALID_ARGUMENT for data over max_message_bytes().
  absl::StatusOr<Appended> append(std::string_view message_id, std::string_view data,
                                  std::uint64_t after_sequence);

  // The subject's last message; nullopt when it has none.
  absl::StatusOr<std::optional<LogMessage>> last() const;
  // The subject's messages from stream sequence `from` on, in order, at most `max_messages`,
  // waiting up to `wait` for the first. Sequences of other subjects are skipped.
  absl::StatusOr<std::vector<LogMessage>> read(std::uint64_t from, std::size_t max_messages,
                                               std::chrono::milliseconds wait) const;
  // The first sequence the stream still holds (retention may have dropped older ones) and the
  // last it was given; an empty stream holds none: first is last + 1 (1 and 0 when new).
  struct Bounds {
    std::uint64_t first = 0;
    std::uint64_t last = 0;
  };
  absl::StatusOr<Bounds> bounds() const;
  // The server that leads the stream's replicas now (empty during an election).
  absl::StatusOr<std::string> stream_leader() const;

  // The leadership lease (host/replication/README.md): who may lead. NATS drops the key
  // lease_ttl after its last write, so a holder that stops refreshing loses it.
  struct Lease {
    std::string holder;  // empty: free
    std::uint64_t revision = 0;
  };
  absl::StatusOr<Lease> read_lease() const;
  // Takes the free lease for `holder`; FAILED_PRECONDITION when another node holds it.
  absl::StatusOr<std::uint64_t> take_lease(std::string_view holder);
  // Refreshes the lease `holder` took (or last refreshed) at `revision`: the new revision, or
  // FAILED_PRECONDITION when it was lost (expired and taken, or written by another node).
  absl::StatusOr<std::uint64_t> refresh_lease(std::string_view holder, std::uint64_t revision);

  const LogOptions& options() const { return options_; }
  // The largest message this server takes (its max_payload) less room for headers: the
  // frame_entry() limit.
  std::size_t max_message_bytes() const;

  struct Handles;  // libnats' connection and JetStream context, kept out of this header
  // Use open(); the key keeps construction there while make_unique can reach the constructor.
  struct ConstructionKey {
    explicit ConstructionKey() = default;
  };
  JetStreamLog(ConstructionKey, LogOptions options, std::unique_ptr<Handles> handles);

 private:
  LogOptions options_;
  std::unique_ptr<Handles> handles_;
};

}  // namespace arbor::replication
