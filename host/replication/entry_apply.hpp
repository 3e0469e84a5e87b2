// A replica's side of the log (host/replication/README.md): one entry applied to a tree as the
// leader applied it, with the leader's root checked before anything is committed.
#pragma once

#include "absl/status/statusor.h"
#include "host/replication/log_entry.hpp"
#include "host/tree/tree.hpp"

namespace arbor::replication {

// The leader's log entry for a version it just applied locally.
LogEntry entry_for_apply(std::string_view tree, std::span<const tree::Op> ops,
                         const tree::ApplyOptions& options, std::uint64_t version,
                         std::string_view root);

enum class EntryOutcome {
  kApplied,        // the tree changed as the entry says
  kAlreadyApplied  // the tree already holds it (a replay after a restart): nothing done
};

// Applies `entry` to `tree`:
// - kApply on head version - 1 with the entry's label and idempotent writes; the new root must
//   be the leader's, or nothing is committed and the answer is DATA_LOSS. An entry at or below
//   the head whose version has the same root is kAlreadyApplied; with another root, DATA_LOSS.
// - kRollback: the retained version must have the entry's root (DATA_LOSS otherwise), then it
//   becomes the head; kAlreadyApplied when it is the head already.
// - kPrune: the oldest retained version moves up to the entry's; kAlreadyApplied when it is there.
// An entry for a version past head + 1 is FAILED_PRECONDITION: the log skipped versions. A change
// it makes records `log_position` in the same store batch (the entry's place in the log). kCreate
// is the caller's (there is no tree yet): INVALID_ARGUMENT here.
absl::StatusOr<EntryOutcome> apply_entry(tree::Tree& tree, const LogEntry& entry,
                                         std::optional<std::uint64_t> log_position = {});

}  // namespace arbor::replication
