// One node's part in replication (host/replication/README.md): the engine's change log while the
// node leads, the loop that applies the log while it follows or catches up.
//
// States: kCatchingUp (applying the log from the store's recorded position; a leader does this at
// start and after any append whose outcome it does not know), kLeading (every change is appended
// to the log, then committed with its position), kFollowing (applying entries as they come; writes
// are refused naming the leader), kFailed (the log and this store disagree: a wrong root, a gap,
// entries dropped by retention; nothing more is applied or served as current until an operator
// acts, and health says NOT_SERVING).
//
// A leader whose append is fenced (another node extended the log) becomes a follower. With
// ack = "quorum" a change is logged before it is committed, so a fenced or crashed leader holds
// no version the log lacks: there is nothing to roll back, only the log to read. With
// ack = "leader" a write is committed first, with its entry kept in the store, and an appender
// thread appends the kept entries in commit order. Reading the log then settles them: the next
// entry after the store's position is either the oldest kept one (appended before a crash or a
// lost answer: it is forgotten, nothing applied) or another leader's, and then every kept change
// is rolled back (its acknowledged writes are lost) before that entry is applied.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "host/replication/jetstream_log.hpp"
#include "host/replication/log_reader.hpp"
#include "host/replication/log_writer.hpp"
#include "host/service/change_log.hpp"
#include "host/service/engine.hpp"

namespace arbor::replication {

struct ReplicatorOptions {
  LogOptions log;  // with the lease's bucket and TTL
  // Who may lead is decided by the lease (LogOptions::lease_ttl): the node that holds it catches
  // up with the log, then leads. A leader takes a free lease at once; a follower only after it
  // has been free for one more TTL, so that a leader starting with it wins.
  enum class Role { kLeader, kFollower };
  Role role = Role::kLeader;
  // This node's address for clients ("host:port"): the lease's value, so followers name it.
  std::string advertise_address;
  // Named in a follower's refusals while no lease holder is known.
  std::string leader_address;
  // Without the lease, the role alone decides (a leader leads until fenced): for tests that need
  // two leaders.
  bool use_lease = true;
  // When a client is answered. kQuorum: once the log's quorum holds its change. kLeader: once
  // this node has committed it; the log gets it moments later, and a failover before then loses
  // it. Only writes: creations, rollbacks and prunes always wait for the quorum.
  enum class Ack { kQuorum, kLeader };
  Ack ack = Ack::kQuorum;
  // kLeader: at most this many changes committed here wait for the log; writes beyond are
  // refused (UNAVAILABLE, nothing applied) until it takes them.
  std::size_t max_unreplicated = 10'000;
  // How long an append whose outcome is unknown is retried (stream elections take 4-9 s).
  std::chrono::milliseconds retry_for{15'000};
  // How long a follower waits for new messages per read, and most messages per read.
  std::chrono::milliseconds poll{500};
  std::size_t read_batch = 512;
};

enum class ReplicaState { kCatchingUp, kLeading, kFollowing, kFailed };
std::string_view to_string(ReplicaState state);

struct ReplicaStatus {
  ReplicaState state = ReplicaState::kCatchingUp;
  std::uint64_t position = 0;           // the store's log position
  std::uint64_t log_last = 0;           // the log's last sequence when last looked at
  std::uint64_t entries_applied = 0;    // from the log, since start
  std::uint64_t entries_appended = 0;   // to the log, since start
  std::uint64_t entries_abandoned = 0;  // partial entries of fenced leaders skipped
  std::uint64_t unreplicated = 0;       // ack = "leader": committed here, not yet in the log
  std::uint64_t entries_discarded = 0;  // such changes rolled back: another node's log won
  std::string failure;                  // kFailed: why
  std::string lease_holder;             // the node that holds the lease, as last seen
};

class Replicator final : public service::ChangeLog {
 public:
  // Opens the log (UNAVAILABLE when no NATS server answers), attaches itself to `engine` and
  // starts catching up. The engine must outlive the replicator.
  static absl::StatusOr<std::unique_ptr<Replicator>> start(service::Engine& engine,
                                                           ReplicatorOptions options);
  // Use start(); the key keeps construction there while make_unique can reach the constructor.
  struct ConstructionKey {
    explicit ConstructionKey() = default;
  };
  Replicator(ConstructionKey, service::Engine& engine, ReplicatorOptions options,
             std::unique_ptr<JetStreamLog> log);
  ~Replicator() override;  // stop(), then detaches from the engine
  Replicator(const Replicator&) = delete;
  Replicator& operator=(const Replicator&) = delete;

  // Stops applying the log. The change log stays attached and, while leading, keeps taking
  // writes: a shutting-down engine still logs and commits the writes it drains. The destructor
  // then appends what ack = "leader" kept, for as long as the log answers (at most retry_for);
  // what is left is appended after a restart, if this node leads again first.
  void stop();

  absl::Status writable() const override;
  absl::Status log_then_commit(
      const LogEntry& entry, absl::FunctionRef<absl::Status(const tree::LogMark&)> commit) override;

  ReplicaStatus status() const;
  // OK unless replication stopped for good (kFailed): for health checks.
  absl::Status health() const;
  // Blocks until the state is `state` or kFailed, or `timeout` passes; returns the state.
  ReplicaState wait_for(ReplicaState state, std::chrono::milliseconds timeout) const;

 private:
  void run();
  // Applies what the log holds after the store's position: entries read in one call (at most
  // read_batch messages, waiting up to `wait`). Returns how many messages were read.
  absl::StatusOr<std::size_t> apply_next(std::chrono::milliseconds wait);
  // A leader that has caught up opens its writer at the tail and starts leading.
  absl::Status try_to_lead();
  void set_state(ReplicaState state);
  // Refreshes, takes or watches the lease, every quarter TTL (loop thread).
  void tend_lease();
  // Stops leading (the lease is lost or could not be refreshed in time).
  void give_up_leading(std::string_view why);
  bool may_lead() const;
  void fail(const absl::Status& why);
  // The log's last sequence; refuses a store that is ahead of it (replicated through another log).
  absl::StatusOr<std::uint64_t> check_log_tail();
  // What a failed append means for this node (log_then_commit's and the appender's): fenced, it
  // follows; unknown, it reads the log again. The writer is gone after either.
  void on_append_failure(const absl::Status& why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_mutex_);
  // OK while the lease lets this node append.
  absl::Status check_lease() const;

  // ack = "leader" (replicator_unreplicated.cpp).
  // Loads the store's kept entries at start.
  absl::Status load_unreplicated();
  // Commits `entry`'s change with the entry kept, then queues it for the appender.
  absl::Status commit_then_log(const LogEntry& entry,
                               absl::FunctionRef<absl::Status(const tree::LogMark&)> commit)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(order_mutex_);
  // Waits until every kept entry is in the log (before a change that must be logged first).
  absl::Status wait_until_replicated() ABSL_EXCLUSIVE_LOCKS_REQUIRED(order_mutex_);
  // The appender thread: appends the oldest kept entry while this node leads.
  void run_appender();
  absl::Status append_oldest_unreplicated();
  // A log entry read after the store's position, while entries are kept: true when it is the
  // oldest kept one (forgotten, nothing to apply); otherwise every kept change is rolled back.
  absl::StatusOr<bool> settle_unreplicated(const LogEntry& read, std::uint64_t position);
  absl::Status discard_unreplicated(const LogEntry& superseding);

  service::Engine& engine_;
  const ReplicatorOptions options_;
  std::unique_ptr<JetStreamLog> log_;

  // Lock order: a batcher's exclusion, order_mutex_, writer_mutex_, then unreplicated_mutex_ or
  // state_mutex_.
  // Held from the start to the end of each change logged and committed (log_then_commit):
  // changes reach the store, and positions the store's record, in the log's order.
  std::mutex order_mutex_;
  // Held over each append and what it records.
  std::mutex writer_mutex_;
  std::unique_ptr<LogWriter> writer_ ABSL_GUARDED_BY(writer_mutex_);

  // ack = "leader": the changes committed here whose entries the log does not have yet, oldest
  // first (the store keeps them too: storage::Store::unreplicated_entries).
  struct Unreplicated {
    std::uint64_t id = 0;
    LogEntry entry;
  };
  mutable std::mutex unreplicated_mutex_;
  std::condition_variable unreplicated_changed_;
  std::deque<std::shared_ptr<const Unreplicated>> unreplicated_
      ABSL_GUARDED_BY(unreplicated_mutex_);
  bool appender_stopping_ ABSL_GUARDED_BY(unreplicated_mutex_) = false;
  std::chrono::steady_clock::time_point appender_deadline_ ABSL_GUARDED_BY(unreplicated_mutex_);
  std::uint64_t next_unreplicated_id_ ABSL_GUARDED_BY(order_mutex_) = 1;
  std::atomic<std::uint64_t> entries_discarded_{0};
  std::thread appender_;

  // The loop thread's reader, made again from the store's position after every change of state.
  std::unique_ptr<LogReader> reader_;

  mutable std::mutex state_mutex_;
  mutable std::condition_variable state_changed_;
  ReplicaState state_ ABSL_GUARDED_BY(state_mutex_) = ReplicaState::kCatchingUp;
  bool demoted_ ABSL_GUARDED_BY(state_mutex_) = false;  // fenced: follows from then on
  bool stopping_ ABSL_GUARDED_BY(state_mutex_) = false;
  std::string failure_ ABSL_GUARDED_BY(state_mutex_);
  std::uint64_t log_last_ ABSL_GUARDED_BY(state_mutex_) = 0;
  bool reader_stale_ ABSL_GUARDED_BY(state_mutex_) = true;
  // The lease, as this node knows it.
  bool holds_lease_ ABSL_GUARDED_BY(state_mutex_) = false;
  std::uint64_t lease_revision_ ABSL_GUARDED_BY(state_mutex_) = 0;
  std::chrono::steady_clock::time_point lease_valid_until_ ABSL_GUARDED_BY(state_mutex_);
  std::string lease_holder_ ABSL_GUARDED_BY(state_mutex_);                 // empty: free or unknown
  std::optional<std::chrono::steady_clock::time_point> lease_free_since_;  // loop thread
  std::chrono::steady_clock::time_point next_lease_check_;                 // loop thread

  std::atomic<std::uint64_t> entries_applied_{0};
  std::atomic<std::uint64_t> entries_appended_{0};
  std::atomic<std::uint64_t> entries_abandoned_{0};
  std::thread loop_;
};

}  // namespace arbor::replication
