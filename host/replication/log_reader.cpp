#include "host/replication/log_reader.hpp"

namespace arbor::replication {

absl::StatusOr<std::vector<LogReader::Read>> LogReader::next(std::size_t max_messages,
                                                             std::chrono::milliseconds wait) {
  absl::StatusOr<std::vector<LogMessage>> messages = log_.read(read_, max_messages, wait);
  if (!messages.ok()) return messages.status();
  std::vector<Read> entries;
  for (const LogMessage& message : *messages) {
    read_ = message.sequence + 1;
    absl::StatusOr<std::optional<LogEntry>> added = assembler_.add(message.data);
    if (!added.ok()) return added.status();
    if (!added->has_value()) continue;
    resume_ = read_;
    entries.push_back(Read{std::move(**added), message.sequence});
  }
  return entries;
}

}  // namespace arbor::replication
