#include "host/replication/log_writer.hpp"

#include <thread>

namespace arbor::replication {

absl::StatusOr<std::unique_ptr<LogWriter>> LogWriter::open(JetStreamLog& log,
                                                           std::chrono::milliseconds retry_for) {
  absl::StatusOr<std::optional<LogMessage>> tail = log.last();
  if (!tail.ok()) return tail.status();
  return std::make_unique<LogWriter>(log, tail->has_value() ? (*tail)->sequence : 0, retry_for);
}

absl::StatusOr<std::uint64_t> LogWriter::append(const LogEntry& entry) {
  return append(entry, [] { return true; });
}

absl::StatusOr<std::uint64_t> LogWriter::append(const LogEntry& entry,
                                                absl::FunctionRef<bool()> keep_trying) {
  if (broken_) {
    return absl::FailedPreconditionError(
        "replication: an earlier append's outcome is unknown; read the log's tail again");
  }
  const std::vector<std::string> messages = frame_entry(entry, log_.max_message_bytes());
  const std::uint64_t entry_after = tail_;
  for (std::uint32_t chunk = 0; chunk < messages.size(); ++chunk) {
    const std::string id = message_id(entry.tree, entry.version, chunk, entry_after);
    const auto deadline = std::chrono::steady_clock::now() + retry_for_;
    absl::StatusOr<JetStreamLog::Appended> appended = log_.append(id, messages[chunk], tail_);
    while (!appended.ok() && appended.status().code() == absl::StatusCode::kUnavailable &&
           std::chrono::steady_clock::now() < deadline && keep_trying()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      appended = log_.append(id, messages[chunk], tail_);
    }
    if (!appended.ok()) {
      if (appended.status().code() == absl::StatusCode::kUnavailable) broken_ = true;
      return appended.status();
    }
    tail_ = appended->sequence;
  }
  return tail_;
}

}  // namespace arbor::replication
