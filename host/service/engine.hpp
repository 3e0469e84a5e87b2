// The service's engine: one store, one compute backend, every tree of the store with its write
// batcher, and the open transactions. The RPC layer translates wire messages into these calls.
// Trees are known only as tree::Tree (every scheme of host/tree/schemes.hpp alike); keys, values,
// roots and proofs are bytes in the scheme's wire form, checked here against the tree's scheme
// (INVALID_ARGUMENT naming the field). Every read of one call uses one store snapshot.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "host/backend/compute_backend.hpp"
#include "host/replication/entry_apply.hpp"
#include "host/service/change_log.hpp"
#include "host/service/write_batcher.hpp"
#include "host/tree/schemes.hpp"
#include "host/tree/tree.hpp"
#include "storage/store.hpp"

namespace arbor::service {

struct TxOptions {
  std::uint32_t default_timeout_ms = 30'000;  // idle time before an open transaction is discarded
  std::uint32_t max_timeout_ms = 3'600'000;
  std::uint64_t max_ops_per_tx = 2'000'000;
  std::uint64_t max_open = 1024;
  std::uint64_t max_total_ops = 8'000'000;  // buffered in all open transactions together
};

struct EngineOptions {
  // Empty: no store at all, a stateless engine (only verify() works; every tree is NOT_FOUND and
  // create_tree FAILED_PRECONDITION). The CLI verifies offline this way.
  std::filesystem::path data_dir = "data";
  // Open the store read-only: reads and proofs work, every write is FAILED_PRECONDITION (the CLI's
  // reads, alongside a running arbord).
  bool read_only = false;
  // Build each scheme's tables at open (see tree::Scheme::warm_up): right for a server, which
  // then answers its first request at full speed; a one-shot CLI command that computes nothing
  // turns it off.
  bool warm_up_schemes = true;
  storage::StoreOptions store;
  host::BackendChoice backend = host::BackendChoice::kAuto;
  tree::OpenOptions tree;  // per tree (node cache)
  BatcherOptions batcher;
  TxOptions tx;
  // Checkpoints are made in directories under this one (created on demand).
  std::filesystem::path checkpoint_dir = "checkpoints";
  // The largest answer the caller can send (arbord: max_message_bytes); 0 for no limit. A write
  // with proofs whose answer could exceed it is refused before it is queued.
  std::uint64_t max_answer_bytes = 0;
  // Replication will attach a change log (attach_change_log): until it does, every change is
  // refused (UNAVAILABLE, nothing applied) rather than made outside the log.
  bool replicated = false;
};

using VersionSelector = tree::VersionSelector;

struct TreeSummary {
  storage::TreeInfo info;
  storage::VersionRecord at;  // the selected (or head) version's record; at.root is the root
};

struct GetOutcome {
  storage::VersionRecord version;
  std::optional<std::string> value;
  std::optional<tree::Proof> proof;
};

struct GetManyOutcome {
  storage::VersionRecord version;
  std::vector<std::optional<std::string>> values;  // one per key asked, in order
  std::optional<tree::Proof> proof;                // one proof of every key
};

struct ProveOutcome {
  storage::VersionRecord version;
  tree::Proof proof;
};

struct ScanOutcome {
  storage::VersionRecord version;
  tree::ScanPage page;
};

// Where a tree's version history stands, for watchers: a change of either means "look again".
struct FeedState {
  std::uint64_t head = 0;
  std::uint64_t rollbacks = 0;         // rollbacks since the engine opened
  std::uint64_t last_rollback_to = 0;  // the version the latest of them returned to
  bool operator==(const FeedState&) const = default;
};

struct CommitOptions {
  std::optional<std::uint64_t> expected_version;
  std::string label;
  bool with_proofs = false;
  std::string idempotency_key;
  // How a retry is recognised: by the transaction id (CommitTx: the client retries the same id)
  // or by the operations (a Transaction stream: a retry sends the operations again under a new
  // transaction).
  enum class IdentifyBy { kTransactionId, kOperations };
  IdentifyBy identify_by = IdentifyBy::kTransactionId;
};

struct TxHandle {
  std::string id;
  std::uint32_t timeout_ms = 0;
};

struct TreeCounters {
  std::string tree;
  std::string scheme;
  std::uint64_t version = 0;
  std::uint64_t size = 0;
  WriteBatcher::Counters batcher;
  std::uint64_t open_transactions = 0;
};

struct EngineStats {
  std::string backend;
  std::vector<TreeCounters> trees;
  std::uint64_t open_transactions = 0;
  std::uint64_t transaction_ops = 0;
  std::uint64_t transactions_expired = 0;
  storage::StoreStats store;
};

using WriteFuture = std::future<absl::StatusOr<WriteOutcome>>;

class Engine {
 public:
  // Opens (creating if needed) the store, picks the backend and opens every tree.
  static absl::StatusOr<std::unique_ptr<Engine>> open(const EngineOptions& options,
                                                      EngineObserver observer = {});
  // Use open(); the key keeps construction there while make_unique can reach the constructor.
  struct ConstructionKey {
    explicit ConstructionKey() = default;
  };
  Engine(ConstructionKey, EngineOptions options, EngineObserver observer);
  ~Engine();  // shutdown() if not done
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Refuses new writes, applies and answers every accepted one, discards open transactions and
  // closes the store.
  void shutdown();
  // For a shutdown out of time: every tree refuses new writes and answers its queued writes
  // UNAVAILABLE without applying them (WriteBatcher::refuse_queued); applies in progress finish.
  // Returns the number of writes refused.
  std::uint64_t refuse_queued_writes();

  const host::ComputeBackend& backend() const { return *backend_; }
  // Whether the store takes writes (storage::Store::write_health): OK, RESOURCE_EXHAUSTED while
  // the disk is full, UNAVAILABLE once only a restart can clear a write failure. Cheap.
  absl::Status store_health() const;

  // `scheme` empty means "smt".
  absl::StatusOr<TreeSummary> create_tree(const std::string& name, const std::string& scheme,
                                          const tree::CreateOptions& create);
  absl::StatusOr<std::vector<TreeSummary>> list_trees() const;
  absl::StatusOr<TreeSummary> tree(const std::string& name, const VersionSelector& at = {}) const;

  // `ops_field` names the operations in errors (e.g. "write.ops" inside a stream).
  absl::StatusOr<WriteFuture> write(const std::string& tree, WriteRequest request,
                                    std::string_view ops_field = "ops");

  absl::StatusOr<TxHandle> begin_tx(const std::string& tree, std::uint32_t timeout_ms);
  // Returns the transaction's operation count.
  absl::StatusOr<std::uint64_t> add_to_tx(const std::string& id, std::vector<tree::Op> ops,
                                          std::string_view ops_field = "ops");
  // Hands the transaction to its tree's batcher as one write. When the batcher refuses it
  // (overload), the transaction stays open and can be committed again. With an idempotency key,
  // a retry of a commit that was applied is answered with its version even though the
  // transaction is gone (idempotency.hpp).
  absl::StatusOr<WriteFuture> commit_tx(const std::string& id, CommitOptions options);
  // Returns how many operations were discarded.
  absl::StatusOr<std::uint64_t> abort_tx(const std::string& id);

  absl::StatusOr<GetOutcome> get(const std::string& tree, const std::string& key,
                                 const VersionSelector& at, bool with_proof) const;
  absl::StatusOr<GetManyOutcome> get_many(const std::string& tree,
                                          const std::vector<std::string>& keys,
                                          const VersionSelector& at, bool with_proof) const;
  // `encoding`: "binary" (or empty) or "json".
  absl::StatusOr<ProveOutcome> prove(const std::string& tree, const std::vector<std::string>& keys,
                                     const VersionSelector& at,
                                     std::string_view encoding = {}) const;
  absl::StatusOr<ScanOutcome> scan(const std::string& tree, const VersionSelector& at,
                                   const std::string& after, std::size_t limit) const;
  // Stateless: the scheme is told by the proof's encoding.
  absl::StatusOr<tree::VerifyOutcome> verify(std::string_view proof,
                                             std::optional<std::string_view> root,
                                             const tree::VerifyOptions& options = {}) const;
  // The record of one retained version (watchers).
  absl::StatusOr<storage::VersionRecord> version_record(const std::string& tree,
                                                        std::uint64_t version) const;
  // Returns the tree's feed state as soon as it differs from `seen`, or after `timeout`.
  absl::StatusOr<FeedState> wait_for_versions(const std::string& tree, const FeedState& seen,
                                              std::chrono::milliseconds timeout) const;
  absl::StatusOr<TreeSummary> rollback(const std::string& tree, const VersionSelector& to);
  absl::StatusOr<storage::PruneResult> prune(const std::string& tree, std::uint64_t oldest_version,
                                             bool compact);
  // A consistent copy of the whole store in checkpoint_dir/name.
  absl::StatusOr<std::filesystem::path> checkpoint(const std::string& name);

  EngineStats stats() const;

  // Replication (change_log.hpp, host/replication/replicator.hpp). With a change log attached,
  // every change (a version, a tree created, a rollback, a prune) is logged before it is
  // committed, and changes are refused while the log says this node may not make them. Attach
  // before serving; detach (null) before the change log goes away.
  void attach_change_log(ChangeLog* change_log);
  // A replica makes the change of the leader's log entry found at `position` (the sequence of its
  // last message), recording that position with it: entry_apply.hpp's rules, and for kCreate a
  // new tree (a create the leader refused as INVALID_ARGUMENT or ALREADY_EXISTS is refused here
  // the same way: only the position moves). DATA_LOSS when the result differs from the leader's.
  absl::StatusOr<replication::EntryOutcome> apply_replicated(const replication::LogEntry& entry,
                                                             std::uint64_t position);
  // The log position the store holds (storage::Store::log_position).
  absl::StatusOr<std::uint64_t> log_position() const;
  // Changes committed before the log had them (replication.ack = "leader"; the store's
  // unreplicated entries: storage::Store::unreplicated_entries and what follows it).
  absl::StatusOr<std::vector<storage::UnreplicatedEntry>> unreplicated_entries() const;
  absl::Status mark_replicated(std::uint64_t id, std::uint64_t position);
  absl::Status forget_unreplicated(std::span<const std::uint64_t> ids);

 private:
  struct VersionFeed {
    mutable std::mutex mutex;
    mutable std::condition_variable changed;
    FeedState state ABSL_GUARDED_BY(mutex);
    void publish(std::uint64_t head, bool rolled_back);
  };
  struct OpenTree {
    std::unique_ptr<tree::Tree> tree;
    VersionFeed feed;
    std::unique_ptr<WriteBatcher> batcher;  // last: stopped before the tree goes
  };
  struct Transaction {
    std::string tree;
    std::vector<tree::Op> ops;
    std::chrono::milliseconds timeout{0};
    std::chrono::steady_clock::time_point expires;
  };

  absl::StatusOr<std::shared_ptr<OpenTree>> find(const std::string& name) const;
  // UNAVAILABLE (not applied) when the store has failed, so writes are refused before queueing.
  absl::Status refuse_if_store_failed() const;
  // As refuse_if_store_failed(), and also while replication does not let this node change trees.
  absl::Status refuse_unless_writable() const;
  // Logs `entry` through the change log, if any, then runs `commit` (with the entry's position).
  absl::Status log_then_commit(
      const replication::LogEntry& entry,
      absl::FunctionRef<absl::Status(std::optional<std::uint64_t>)> commit);
  absl::StatusOr<replication::EntryOutcome> apply_replicated_create(
      const replication::LogEntry& entry, std::uint64_t position);
  // INVALID_ARGUMENT when the proofs of `ops`' keys might not fit in max_answer_bytes.
  absl::Status check_answer_fits(const tree::Tree& tree, std::span<const tree::Op> ops,
                                 std::string_view what) const;
  // Wraps an opened tree with its feed and batcher.
  std::shared_ptr<OpenTree> serve(std::unique_ptr<tree::Tree> tree);
  absl::StatusOr<TreeSummary> summary(const tree::Tree& tree, const VersionSelector& at) const;
  void report_proof(const tree::Tree& tree, std::size_t keys,
                    const absl::StatusOr<tree::Proof>& proof,
                    std::chrono::steady_clock::time_point started) const;
  void expire_transactions();

  const EngineOptions options_;
  EngineObserver observer_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<host::ComputeBackend> backend_;

  mutable std::shared_mutex trees_mutex_;
  std::map<std::string, std::shared_ptr<OpenTree>> trees_ ABSL_GUARDED_BY(trees_mutex_);
  // tree -> scheme this build cannot serve
  std::map<std::string, std::string> unserved_ ABSL_GUARDED_BY(trees_mutex_);

  mutable std::mutex tx_mutex_;
  std::condition_variable tx_reaper_wake_;
  std::map<std::string, Transaction> transactions_ ABSL_GUARDED_BY(tx_mutex_);
  std::uint64_t transaction_ops_ ABSL_GUARDED_BY(tx_mutex_) = 0;
  std::uint64_t transactions_expired_ ABSL_GUARDED_BY(tx_mutex_) = 0;
  bool stopping_ ABSL_GUARDED_BY(tx_mutex_) = false;
  std::thread tx_reaper_;
  std::atomic<bool> shut_down_{false};
  std::atomic<ChangeLog*> change_log_{nullptr};
};

}  // namespace arbor::service
