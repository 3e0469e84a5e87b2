// Group commit for one tree: concurrent writes queue here and a single worker applies them,
// several writes per tree version. Admission is bounded by counts (max_queue_writes/ops: memory)
// and by time (max_queue_delay at the measured apply rate: latency); after a burst the worker
// hands freed memory back to the system.
//
// A write is atomic: all of its operations land in one version or none do. The worker takes what
// has queued (up to max_batch_ops, waiting at most max_delay for more after the first) and
// applies it as one version; every caller of that version is answered after the commit returns,
// i.e. after it is durable per the store's sync mode. Writes that ask for proofs get them from a
// snapshot of their version, made once the apply lock is released (a rollback or prune need not
// wait for them; in parallel on all cores where they are costly, see parallel_proofs_above_ms)
// and before the worker takes its next group, so proofs throttle applies instead of piling up. A write that carries an expected version
// always begins a group, so "the tree is at v" is checked against the version its operations
// are applied on. When a group fails for a reason that one write can cause (a leaf past max
// depth), each write of the group is retried alone so only that write is refused. The batcher
// knows a tree only through tree::Tree, so it serves every scheme alike.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "host/service/change_log.hpp"
#include "host/service/idempotency.hpp"
#include "host/tree/tree.hpp"

namespace arbor::service {

struct BatcherOptions {
  std::uint64_t max_batch_ops =
      100'000;  // operations per version (a larger single write goes alone)
  std::chrono::microseconds max_delay{250};  // wait for more writes after the first
  std::uint64_t max_queue_ops = 2'000'000;   // queued operations before RESOURCE_EXHAUSTED
  std::uint64_t max_queue_writes = 100'000;  // queued writes before RESOURCE_EXHAUSTED
  // Refuse a write (RESOURCE_EXHAUSTED) when the queue, with it, holds more than this much work
  // at the measured apply rate (the worker's recent ops per ms, proofs included), so that an
  // accepted write is answered within about this long plus one version. 0 turns it off; an
  // empty queue always takes a write; before a rate is measured only the caps above apply.
  std::chrono::milliseconds max_queue_delay{1000};
  std::size_t idempotency_keys = 100'000;  // keyed writes remembered (idempotency.hpp)
  // A version's writes are proved in parallel once one write's proofs have recently taken this
  // long (a moving average); below it, handing them to other cores costs more than it saves.
  double parallel_proofs_above_ms = 0.5;
};

struct WriteRequest {
  std::vector<tree::Op> ops;  // checked by the tree's check_ops() before submit()
  std::optional<std::uint64_t> expected_version;
  std::string label;  // a coalesced version keeps the label of its last labelled write
  bool with_proofs = false;
  std::string idempotency_key;  // the client's; Engine::write checks it and sets `identity`
  // Set for a write given an idempotency key: write_identity() or commit_identity().
  std::string identity;
};

struct WriteOutcome {
  storage::VersionRecord version;  // number, wire root, label, commit time, tree size
  tree::WriteProofs proofs;        // when asked for: the write's keys at the new version
  std::uint32_t coalesced_writes = 1;
  bool replayed = false;  // a retry of an idempotent write: the first attempt's version
};

// What one applied version cost; reported to an observer (metrics) after each commit.
struct BatchReport {
  std::string tree;
  std::string scheme;
  std::uint32_t writes = 0;
  std::uint64_t ops = 0;
  double queue_wait_ms = 0;  // first write queued -> apply started
  double apply_ms = 0;
  tree::ApplyStats stats;
  bool ok = true;
};

// A proof made for a reader or a write, for metrics.
struct ProofReport {
  std::string tree;
  std::string scheme;
  std::uint64_t keys = 0;
  std::uint64_t bytes = 0;
  double ms = 0;
  bool ok = true;
};

// Either callback may be empty. Called from batcher workers and RPC threads: must be thread-safe.
struct EngineObserver {
  std::function<void(const BatchReport&)> on_batch;
  std::function<void(const ProofReport&)> on_proof;
};

class WriteBatcher {
 public:
  // `on_version` runs on the worker after each committed version (version feeds for watchers).
  WriteBatcher(tree::Tree& tree, BatcherOptions options, EngineObserver observer = {},
               std::function<void(const storage::VersionRecord&)> on_version = {});
  ~WriteBatcher();  // drains: every accepted write is applied and answered
  WriteBatcher(const WriteBatcher&) = delete;
  WriteBatcher& operator=(const WriteBatcher&) = delete;

  // Queues a write. RESOURCE_EXHAUSTED when the queue is full and UNAVAILABLE after stop(); in
  // both cases nothing was queued and `request` is left as it was (a transaction keeps its
  // operations). Otherwise it is moved from, and the future is answered after the commit.
  // A request with an identity is first looked up in the ledger (idempotency.hpp): a known one
  // is answered at once with its version (proofs made again when asked for), a conflicting one
  // ALREADY_EXISTS, one still in flight UNAVAILABLE.
  absl::StatusOr<std::future<absl::StatusOr<WriteOutcome>>> submit(WriteRequest&& request);
  // The answer to a retry of an idempotent write that was applied (or is in flight), or nullopt
  // when this tree has no such write (nothing is claimed). Without proofs: for a commit whose
  // transaction is gone.
  std::optional<absl::StatusOr<std::future<absl::StatusOr<WriteOutcome>>>> replay(
      const std::string& identity);

  IdempotencyLedger& ledger() { return ledger_; }

  // Replication (change_log.hpp): every version is logged before it is committed, and writes are
  // refused while the log says this node may not write. Null: unreplicated.
  void set_change_log(ChangeLog* change_log) {
    change_log_.store(change_log, std::memory_order_release);
  }

  // Runs `action` between two versions, with no apply in progress (rollback, prune).
  template <typename Action>
  auto exclusive(Action&& action) {
    std::lock_guard lock(apply_mutex_);
    return action();
  }

  // Refuses new writes, then applies what was accepted and stops the worker.
  void stop();

  // Refuses new writes and answers every queued write whose apply has not begun with UNAVAILABLE
  // (nothing of it was applied); a group already being applied finishes and is answered as
  // usual. For a shutdown whose grace is running out. Returns the number of writes refused.
  std::uint64_t refuse_queued();

  struct Counters {
    std::uint64_t queued_writes = 0;
    std::uint64_t queued_ops = 0;
    std::uint64_t accepted_writes = 0;
    std::uint64_t versions = 0;
    std::uint64_t refused_overload = 0;     // by either bound
    std::uint64_t refused_queue_delay = 0;  // of those, by max_queue_delay
    std::uint64_t refused_at_shutdown = 0;
    double apply_ms_per_op = 0;  // the measured rate admission uses; 0 until measured
  };
  Counters counters() const;

 private:
  struct Pending {
    WriteRequest request;
    std::promise<absl::StatusOr<WriteOutcome>> reply;
    std::chrono::steady_clock::time_point queued_at;
  };

  void run();
  // The worker's cost per operation over the recent versions; 0 until one was measured.
  double ms_per_op() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mutex_);
  // After a burst has drained, gives freed heap back to the system (worker only).
  void trim_after_burst();
  // Both run with apply_mutex_ held.
  std::vector<Pending> take_group();
  void apply_group(std::vector<Pending>& group);
  // Applies the writes as one version; answers each of them.
  absl::Status apply_together(std::vector<Pending*>& writes,
                              std::chrono::steady_clock::time_point queued_at);
  // A committed version's writes that asked for proofs, with a snapshot of the version.
  struct ProofWork {
    absl::StatusOr<tree::Reader> reader = absl::UnknownError("no reader");
    storage::VersionRecord version;
    std::uint32_t coalesced_writes = 0;
    std::vector<Pending> writes;
    std::uint64_t ops = 0;  // the group's, for the rate window
    std::chrono::steady_clock::time_point started;
  };
  // Proves each write of `work` (in parallel where that pays) and answers it.
  void answer_with_proofs(ProofWork& work);
  void record_cost(std::uint64_t ops, double ms);
  // Answers a write that was not applied (its idempotency key is released).
  void refuse(Pending& pending, absl::Status status);
  // The answer for a claim that found an applied or conflicting write.
  absl::StatusOr<std::future<absl::StatusOr<WriteOutcome>>> answer_known(
      const IdempotencyLedger::ClaimResult& known, const WriteRequest& request);

  tree::Tree& tree_;
  const BatcherOptions options_;
  EngineObserver observer_;
  std::function<void(const storage::VersionRecord&)> on_version_;
  IdempotencyLedger ledger_;

  mutable std::mutex queue_mutex_;
  std::condition_variable queue_changed_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(queue_mutex_);
  std::uint64_t queued_ops_ ABSL_GUARDED_BY(queue_mutex_) = 0;
  bool stopping_ ABSL_GUARDED_BY(queue_mutex_) = false;
  Counters counters_ ABSL_GUARDED_BY(queue_mutex_);
  // The last kRateWindow groups' operations and worker milliseconds (apply and proofs).
  static constexpr std::size_t kRateWindow = 32;
  struct GroupCost {
    std::uint64_t ops = 0;
    double ms = 0;
  };
  std::array<GroupCost, kRateWindow> recent_ ABSL_GUARDED_BY(queue_mutex_){};
  std::size_t recent_next_ ABSL_GUARDED_BY(queue_mutex_) = 0;
  std::uint64_t peak_queued_ops_ ABSL_GUARDED_BY(queue_mutex_) = 0;  // since the last trim
  size_t last_group_writes_ = 0;                                     // worker only
  bool log_refused_ = false;  // worker only: the last group's log append failed
  // Worker only: filled by apply_together under apply_mutex_, answered by run() after it.
  std::vector<ProofWork> proof_work_;
  // Worker only: the recent time of one write's proofs (a moving average; 0 until the first).
  double proof_ms_per_write_ = 0;
  std::atomic<ChangeLog*> change_log_{nullptr};

  std::mutex apply_mutex_;
  std::thread worker_;
};

}  // namespace arbor::service
