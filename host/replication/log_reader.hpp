// A replica's end of the replication log: whole entries from a stream sequence on, joined from
// their chunks (log_entry.hpp), with the sequence to resume from after each.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "host/replication/jetstream_log.hpp"
#include "host/replication/log_entry.hpp"

namespace arbor::replication {

class LogReader {
 public:
  // Reads from `next_sequence` (1 for the whole log), which must be an entry's first chunk: the
  // sequence after the last entry this replica applied.
  LogReader(const JetStreamLog& log, std::uint64_t next_sequence)
      : log_(log), resume_(next_sequence), read_(next_sequence) {}

  struct Read {
    LogEntry entry;
    std::uint64_t resume_after = 0;  // its last chunk's sequence: resume at this + 1
  };
  // The entries completed by the next messages (at most `max_messages` read), waiting up to
  // `wait` for the first; empty when none came. OUT_OF_RANGE when retention dropped the messages
  // this replica needs (it needs a checkpoint); DATA_LOSS when the log is not one appender's.
  absl::StatusOr<std::vector<Read>> next(std::size_t max_messages, std::chrono::milliseconds wait);

  // Where a restarted replica resumes: after the last entry returned.
  std::uint64_t resume_sequence() const { return resume_; }
  std::uint64_t abandoned_entries() const { return assembler_.abandoned(); }
  // The sequence the next read starts at: every message before it has been read.
  std::uint64_t next_read() const { return read_; }

 private:
  const JetStreamLog& log_;
  std::uint64_t resume_;  // after the last complete entry
  std::uint64_t read_;    // after the last message read
  EntryAssembler assembler_;
};

}  // namespace arbor::replication
