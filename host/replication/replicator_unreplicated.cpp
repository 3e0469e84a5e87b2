// replication.ack = "leader" (host/replication/README.md, "Acknowledged by the leader"): a write
// is committed with its log entry kept in the store, and the appender thread appends kept
// entries in commit order while this node leads. Reading the log settles what a restart, a lost
// answer or a failover left kept.
#include <map>

#include "absl/strings/str_cat.h"
#include "host/replication/replicator.hpp"
#include "spdlog/spdlog.h"

namespace arbor::replication {
namespace {

// How long the appender waits before trying again when it may not append (not leading, no
// answer).
constexpr std::chrono::milliseconds kAppenderPause{50};

std::string in_quotes(std::string_view text) { return absl::StrCat("\"", std::string(text), "\""); }

}  // namespace

absl::Status Replicator::load_unreplicated() {
  absl::StatusOr<std::vector<storage::UnreplicatedEntry>> kept = engine_.unreplicated_entries();
  if (!kept.ok()) return kept.status();
  std::lock_guard order(order_mutex_);
  std::lock_guard lock(unreplicated_mutex_);
  for (storage::UnreplicatedEntry& stored : *kept) {
    absl::StatusOr<LogEntry> entry = unframe_whole_entry(stored.bytes);
    if (!entry.ok()) {
      return absl::DataLossError(absl::StrCat("the store's unreplicated entry ", stored.id,
                                              " cannot be read: ", entry.status().message()));
    }
    unreplicated_.push_back(
        std::make_shared<const Unreplicated>(Unreplicated{stored.id, std::move(*entry)}));
    next_unreplicated_id_ = stored.id + 1;
  }
  if (!unreplicated_.empty()) {
    spdlog::warn(
        "replication: {} changes committed here (ack = \"leader\") are not in the log yet; they "
        "are appended if this node leads on, and rolled back if another node's entries follow",
        unreplicated_.size());
  }
  return absl::OkStatus();
}

absl::Status Replicator::commit_then_log(
    const LogEntry& entry, absl::FunctionRef<absl::Status(const tree::LogMark&)> commit) {
  absl::StatusOr<std::string> kept_bytes = frame_whole_entry(entry);
  if (!kept_bytes.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(kept_bytes.status().message(), "; nothing was applied"));
  }
  tree::LogMark mark;
  {
    std::lock_guard lock(unreplicated_mutex_);
    if (unreplicated_.size() >= options_.max_unreplicated) {
      return absl::UnavailableError(
          absl::StrCat(unreplicated_.size(),
                       " changes committed here are not in the replication log yet "
                       "(replication.max_unreplicated); nothing was applied, retry shortly"));
    }
    // The version before the tree's oldest kept change stays readable: it is where a failover
    // rolls the tree back to.
    mark.keep_from = entry.version - 1;
    for (const std::shared_ptr<const Unreplicated>& kept : unreplicated_) {
      if (kept->entry.tree == entry.tree) {
        mark.keep_from = kept->entry.version - 1;
        break;
      }
    }
  }
  const std::uint64_t id = next_unreplicated_id_;
  mark.unreplicated = storage::UnreplicatedEntry{id, std::move(*kept_bytes)};
  if (absl::Status committed = commit(mark); !committed.ok()) return committed;
  ++next_unreplicated_id_;
  {
    std::lock_guard lock(unreplicated_mutex_);
    unreplicated_.push_back(std::make_shared<const Unreplicated>(Unreplicated{id, entry}));
  }
  unreplicated_changed_.notify_all();
  return absl::OkStatus();
}

absl::Status Replicator::wait_until_replicated() {
  std::unique_lock lock(unreplicated_mutex_);
  if (unreplicated_changed_.wait_for(
          lock, options_.retry_for,
          [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return unreplicated_.empty(); })) {
    return absl::OkStatus();
  }
  return absl::UnavailableError(absl::StrCat(
      unreplicated_.size(),
      " earlier changes committed here are not in the replication log yet, and this one must "
      "follow them there; nothing was applied, retry shortly"));
}

void Replicator::run_appender() {
  while (true) {
    {
      std::unique_lock lock(unreplicated_mutex_);
      unreplicated_changed_.wait(lock, [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return appender_stopping_ || !unreplicated_.empty();
      });
      if (unreplicated_.empty()) return;  // stopping, nothing left
      if (appender_stopping_ && std::chrono::steady_clock::now() >= appender_deadline_) break;
    }
    if (append_oldest_unreplicated().ok()) continue;
    std::unique_lock lock(unreplicated_mutex_);
    if (appender_stopping_) break;  // not leading, or no answer: not worth waiting at shutdown
    unreplicated_changed_.wait_for(lock, kAppenderPause);
  }
  std::lock_guard lock(unreplicated_mutex_);
  if (!unreplicated_.empty()) {
    spdlog::warn(
        "replication: stopping with {} changes committed here (ack = \"leader\") not in the log "
        "yet; they are appended after a restart if this node leads again before another does",
        unreplicated_.size());
  }
}

absl::Status Replicator::append_oldest_unreplicated() {
  std::lock_guard writing(writer_mutex_);
  if (!writer_) return absl::UnavailableError("not leading");
  if (absl::Status lease = check_lease(); !lease.ok()) return lease;
  std::shared_ptr<const Unreplicated> oldest;
  {
    std::lock_guard lock(unreplicated_mutex_);
    if (unreplicated_.empty()) return absl::OkStatus();
    oldest = unreplicated_.front();
  }
  auto keep_trying = [this] {
    {
      std::lock_guard lock(unreplicated_mutex_);
      if (appender_stopping_ && std::chrono::steady_clock::now() >= appender_deadline_) {
        return false;
      }
    }
    return may_lead();
  };
  absl::StatusOr<std::uint64_t> appended = writer_->append(oldest->entry, keep_trying);
  if (!appended.ok()) {
    if (appended.status().code() == absl::StatusCode::kInvalidArgument) {
      // Committed here, and the log can never take it: replicas could not follow.
      writer_.reset();
      fail(absl::InvalidArgumentError(absl::StrCat(
          "the log refused the entry of tree ", in_quotes(oldest->entry.tree), " version ",
          oldest->entry.version, ", committed here: ", appended.status().message())));
      return appended.status();
    }
    on_append_failure(appended.status());
    return appended.status();
  }
  entries_appended_.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard lock(state_mutex_);
    log_last_ = *appended;
  }
  if (absl::Status marked = engine_.mark_replicated(oldest->id, *appended); !marked.ok()) {
    // The log has it; reading the log again settles it.
    spdlog::warn("replication: an appended change could not be recorded ({}); reading the log",
                 marked.ToString());
    writer_.reset();
    set_state(ReplicaState::kCatchingUp);
    return marked;
  }
  {
    std::lock_guard lock(unreplicated_mutex_);
    unreplicated_.pop_front();
  }
  unreplicated_changed_.notify_all();
  return absl::OkStatus();
}

absl::StatusOr<bool> Replicator::settle_unreplicated(const LogEntry& read, std::uint64_t position) {
  std::shared_ptr<const Unreplicated> oldest;
  {
    std::lock_guard lock(unreplicated_mutex_);
    if (unreplicated_.empty()) return false;
    oldest = unreplicated_.front();
  }
  if (oldest->entry == read) {
    // Appended before a crash or a lost answer: committed here already.
    if (absl::Status marked = engine_.mark_replicated(oldest->id, position); !marked.ok()) {
      return marked;
    }
    {
      std::lock_guard lock(unreplicated_mutex_);
      unreplicated_.pop_front();
    }
    unreplicated_changed_.notify_all();
    return true;
  }
  if (absl::Status discarded = discard_unreplicated(read); !discarded.ok()) return discarded;
  return false;
}

absl::Status Replicator::discard_unreplicated(const LogEntry& superseding) {
  std::vector<std::shared_ptr<const Unreplicated>> kept;
  {
    std::lock_guard lock(unreplicated_mutex_);
    kept.assign(unreplicated_.begin(), unreplicated_.end());
  }
  std::map<std::string, std::uint64_t> oldest_version;  // per tree, its oldest kept change
  for (const std::shared_ptr<const Unreplicated>& change : kept) {
    oldest_version.try_emplace(change->entry.tree, change->entry.version);
  }
  absl::StatusOr<std::uint64_t> position = engine_.log_position();
  if (!position.ok()) return position.status();
  for (const auto& [tree, version] : oldest_version) {
    absl::StatusOr<service::TreeSummary> summary = engine_.tree(tree);
    if (!summary.ok()) return summary.status();
    if (summary->info.head_version < version) continue;  // rolled back before a restart
    absl::StatusOr<storage::VersionRecord> target = engine_.version_record(tree, version - 1);
    if (!target.ok()) {
      return absl::Status(target.status().code(),
                          absl::StrCat("rolling back tree ", in_quotes(tree),
                                       " to before its unreplicated version ", version, ": ",
                                       target.status().message()));
    }
    LogEntry rollback;
    rollback.kind = LogEntry::Kind::kRollback;
    rollback.tree = tree;
    rollback.version = version - 1;
    rollback.root = target->root;
    absl::StatusOr<EntryOutcome> rolled = engine_.apply_replicated(rollback, *position);
    if (!rolled.ok()) return rolled.status();
  }
  std::vector<std::uint64_t> ids;
  for (const std::shared_ptr<const Unreplicated>& change : kept) ids.push_back(change->id);
  if (absl::Status forgotten = engine_.forget_unreplicated(ids); !forgotten.ok()) return forgotten;
  {
    std::lock_guard lock(unreplicated_mutex_);
    unreplicated_.clear();
  }
  unreplicated_changed_.notify_all();
  entries_discarded_.fetch_add(kept.size(), std::memory_order_relaxed);
  spdlog::error(
      "replication: another node's entry (tree {} version {}) follows this store's log position "
      "{}: {} changes committed and acknowledged here with ack = \"leader\" never reached the log "
      "and were rolled back; their writes are lost",
      superseding.tree, superseding.version, *position, kept.size());
  return absl::OkStatus();
}

}  // namespace arbor::replication
