// What the engine needs from replication (host/replication/replicator.hpp implements it): whether
// this node may change its trees, and a log that each change goes to before it is committed. The
// engine knows nothing of NATS; with no change log attached it behaves as an unreplicated server.
#pragma once

#include <cstdint>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "host/replication/log_entry.hpp"

namespace arbor::service {

class ChangeLog {
 public:
  virtual ~ChangeLog() = default;

  // OK while this node leads; otherwise FAILED_PRECONDITION naming the leader (a follower), or
  // UNAVAILABLE while it cannot tell (starting, catching up, no quorum). Nothing was applied.
  virtual absl::Status writable() const = 0;

  // Logs `entry` and commits its change (`commit`), in the log's order: no other change is
  // logged or committed in between, so the store's recorded position follows the log.
  //
  // Normally (replication.ack = "quorum", and creations, rollbacks and prunes always) it appends
  // first, then calls `commit` with the entry's log position (LogMark::log_position). When the
  // append fails, `commit` is not called and nothing was applied: FAILED_PRECONDITION (this node
  // no longer leads) or UNAVAILABLE (the outcome is unknown: the entry may be in the log, and the
  // node stops taking writes until it has read the log again). When `commit` fails after the
  // append, the entry is in the log but not in this store: the node stops leading and the answer
  // is UNAVAILABLE saying so.
  //
  // With replication.ack = "leader", a write (kApply) is committed first, carrying its entry
  // (LogMark::unreplicated), and appended afterwards in commit order: OK then means committed
  // here. UNAVAILABLE, with nothing applied, while too many such changes wait for the log.
  virtual absl::Status log_then_commit(
      const replication::LogEntry& entry,
      absl::FunctionRef<absl::Status(const tree::LogMark&)> commit) = 0;
};

}  // namespace arbor::service
