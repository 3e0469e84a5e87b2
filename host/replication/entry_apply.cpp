#include "host/replication/entry_apply.hpp"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace arbor::replication {
namespace {

std::string hex(std::string_view bytes) {
  return "0x" + absl::BytesToHexString(absl::string_view(bytes.data(), bytes.size()));
}

absl::Status diverged(const tree::Tree& tree, std::uint64_t version, std::string_view here,
                      std::string_view leader) {
  return absl::DataLossError(absl::StrCat("tree '", tree.name(), "' version ", version,
                                          ": this replica has root ", hex(here),
                                          ", the leader's log says ", hex(leader)));
}

absl::StatusOr<EntryOutcome> apply_version(tree::Tree& tree, const LogEntry& entry,
                                           const storage::TreeInfo& info,
                                           std::optional<std::uint64_t> log_position) {
  const std::uint64_t head = info.head_version;
  // Older than anything retained: it was applied before the prune that dropped it.
  if (entry.version < info.oldest_version) return EntryOutcome::kAlreadyApplied;
  if (entry.version <= head) {
    absl::StatusOr<storage::VersionRecord> held = tree.version_record(entry.version);
    if (!held.ok()) return held.status();
    if (held->root != entry.root) return diverged(tree, entry.version, held->root, entry.root);
    return EntryOutcome::kAlreadyApplied;
  }
  if (entry.version != head + 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("tree '", tree.name(), "' is at version ", head, "; the log's next entry is ",
                     "version ", entry.version, ": entries are missing"));
  }
  tree::ApplyOptions options;
  options.label = entry.label;
  options.expected_version = head;
  options.idempotent_writes = entry.idempotent_writes;
  options.expected_root = entry.root;
  options.log_position = log_position;
  absl::StatusOr<tree::ApplyResult> applied = tree.apply(entry.ops, options);
  if (!applied.ok()) return applied.status();
  return EntryOutcome::kApplied;
}

absl::StatusOr<EntryOutcome> apply_rollback(tree::Tree& tree, const LogEntry& entry,
                                            std::uint64_t head,
                                            std::optional<std::uint64_t> log_position) {
  absl::StatusOr<storage::VersionRecord> target = tree.version_record(entry.version);
  if (!target.ok()) return target.status();
  if (target->root != entry.root) return diverged(tree, entry.version, target->root, entry.root);
  if (entry.version == head) return EntryOutcome::kAlreadyApplied;
  absl::StatusOr<storage::TreeInfo> rolled = tree.rollback(entry.version, log_position);
  if (!rolled.ok()) return rolled.status();
  return EntryOutcome::kApplied;
}

absl::StatusOr<EntryOutcome> apply_prune(tree::Tree& tree, const LogEntry& entry,
                                         std::optional<std::uint64_t> log_position) {
  absl::StatusOr<storage::TreeInfo> info = tree.info();
  if (!info.ok()) return info.status();
  if (info->oldest_version >= entry.version) return EntryOutcome::kAlreadyApplied;
  absl::StatusOr<storage::PruneResult> pruned = tree.prune(entry.version, false, log_position);
  if (!pruned.ok()) return pruned.status();
  return EntryOutcome::kApplied;
}

}  // namespace

LogEntry entry_for_apply(std::string_view tree, std::span<const tree::Op> ops,
                         const tree::ApplyOptions& options, std::uint64_t version,
                         std::string_view root) {
  LogEntry entry;
  entry.kind = LogEntry::Kind::kApply;
  entry.tree = std::string(tree);
  entry.version = version;
  entry.root = std::string(root);
  entry.label = options.label;
  entry.ops.assign(ops.begin(), ops.end());
  entry.idempotent_writes = options.idempotent_writes;
  return entry;
}

absl::StatusOr<EntryOutcome> apply_entry(tree::Tree& tree, const LogEntry& entry,
                                         std::optional<std::uint64_t> log_position) {
  if (entry.tree != tree.name()) {
    return absl::InvalidArgumentError(
        absl::StrCat("an entry of tree '", entry.tree, "' given to tree '", tree.name(), "'"));
  }
  absl::StatusOr<storage::TreeInfo> info = tree.info();
  if (!info.ok()) return info.status();
  switch (entry.kind) {
    case LogEntry::Kind::kApply:
      return apply_version(tree, entry, *info, log_position);
    case LogEntry::Kind::kRollback:
      return apply_rollback(tree, entry, info->head_version, log_position);
    case LogEntry::Kind::kPrune:
      return apply_prune(tree, entry, log_position);
    case LogEntry::Kind::kCreate:
      return absl::InvalidArgumentError(
          absl::StrCat("tree '", tree.name(), "': a create entry is not applied to a tree"));
  }
  return absl::InvalidArgumentError("an entry of unknown kind");
}

}  // namespace arbor::replication
