// The leader's end of the replication log: entries appended in order, each after the last, in
// chunks, every chunk fenced by the sequence before it (jetstream_log.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "host/replication/jetstream_log.hpp"
#include "host/replication/log_entry.hpp"

namespace arbor::replication {

// One leader's appender: not thread-safe (entries must reach the log in the order they were made).
class LogWriter {
 public:
  // Starts after the log's tail as it is now: what a leader does once it holds the lease and has
  // applied the log. An append whose outcome is unknown (no quorum, an election) is retried with
  // the same message ids for `retry_for`.
  static absl::StatusOr<std::unique_ptr<LogWriter>> open(JetStreamLog& log,
                                                         std::chrono::milliseconds retry_for);
  LogWriter(JetStreamLog& log, std::uint64_t tail, std::chrono::milliseconds retry_for)
      : log_(log), tail_(tail), retry_for_(retry_for) {}

  // Appends `entry`. OK: every chunk is acknowledged; the answer is its last chunk's sequence.
  // FAILED_PRECONDITION "fenced": another appender extended the log, so this one must stop
  // leading (a partial entry it leaves is skipped by readers). UNAVAILABLE: `retry_for` passed
  // without an answer; the entry may be in the log or not, so it must not be acknowledged, and
  // the writer is unusable until the tail is read again (open a new one).
  // While the answer is unknown, retries go on only as long as `keep_trying` says (and at most
  // `retry_for`): a leader that gives up the lead or shuts down stops waiting.
  absl::StatusOr<std::uint64_t> append(const LogEntry& entry);
  absl::StatusOr<std::uint64_t> append(const LogEntry& entry,
                                       absl::FunctionRef<bool()> keep_trying);

  std::uint64_t tail() const { return tail_; }  // the sequence the next append follows

 private:
  JetStreamLog& log_;
  std::uint64_t tail_;
  std::chrono::milliseconds retry_for_;
  bool broken_ = false;  // an append's outcome is unknown
};

}  // namespace arbor::replication
