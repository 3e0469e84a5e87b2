// The service's engine: one store, one compute backend, every tree of the store with its write
// batcher, and the open transactions. The RPC layer translates wire messages into these calls;
// everything here is typed and validated (keys are field elements already).
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

#include "absl/status/statusor.h"
#include "host/backend/compute_backend.hpp"
#include "host/service/write_batcher.hpp"
#include "host/smt/smt_tree.hpp"
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
  std::filesystem::path data_dir = "data";
  storage::StoreOptions store;
  host::BackendChoice backend = host::BackendChoice::kAuto;
  std::uint64_t node_cache_bytes = 64ULL << 20;  // per tree
  BatcherOptions batcher;
  TxOptions tx;
  // Checkpoints are made in directories under this one (created on demand).
  std::filesystem::path checkpoint_dir = "checkpoints";
};

// A version named by number or by label; neither means the head.
struct VersionSelector {
  std::optional<std::uint64_t> version;
  std::optional<std::string> label;
};

struct TreeSummary {
  storage::TreeInfo info;
  storage::VersionRecord at;  // the selected (or head) version's record
  smt::Fr root = smt::Fr::zero();
};

struct GetOutcome {
  std::optional<smt::Fr> value;
  std::uint64_t version = 0;
  smt::Fr root = smt::Fr::zero();
  std::optional<smt::SmtProof> proof;
};

struct ProveOutcome {
  std::uint64_t version = 0;
  smt::Fr root = smt::Fr::zero();
  std::variant<smt::SmtProof, smt::SmtMultiProof> proof;
};

struct TxHandle {
  std::string id;
  std::uint32_t timeout_ms = 0;
};

struct TreeCounters {
  std::string tree;
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
                                                      BatchObserver observer = {});
  // Use open(); the key keeps construction there while make_unique can reach the constructor.
  struct ConstructionKey {
    explicit ConstructionKey() = default;
  };
  Engine(ConstructionKey, EngineOptions options, BatchObserver observer);
  ~Engine();  // shutdown() if not done
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Refuses new writes, applies and answers every accepted one, discards open transactions and
  // closes the store.
  void shutdown();

  const host::ComputeBackend& backend() const { return *backend_; }
  storage::Store& store() { return *store_; }

  absl::StatusOr<TreeSummary> create_tree(const std::string& name, const std::string& scheme,
                                          int max_depth, std::uint64_t keep_versions);
  absl::StatusOr<std::vector<TreeSummary>> list_trees() const;
  absl::StatusOr<TreeSummary> tree(const std::string& name, const VersionSelector& at = {}) const;

  absl::StatusOr<WriteFuture> write(const std::string& tree, WriteRequest request);

  absl::StatusOr<TxHandle> begin_tx(const std::string& tree, std::uint32_t timeout_ms);
  // Returns the transaction's operation count.
  absl::StatusOr<std::uint64_t> add_to_tx(const std::string& id, std::vector<smt::SmtOp> ops);
  // Hands the transaction to its tree's batcher as one write. When the batcher refuses it
  // (overload), the transaction stays open and can be committed again.
  absl::StatusOr<WriteFuture> commit_tx(const std::string& id,
                                        std::optional<std::uint64_t> expected_version,
                                        std::string label, bool with_proofs);
  // Returns how many operations were discarded.
  absl::StatusOr<std::uint64_t> abort_tx(const std::string& id);

  absl::StatusOr<GetOutcome> get(const std::string& tree, const smt::Fr& key,
                                 const VersionSelector& at, bool with_proof) const;
  absl::StatusOr<ProveOutcome> prove(const std::string& tree, const std::vector<smt::Fr>& keys,
                                     const VersionSelector& at) const;
  absl::StatusOr<TreeSummary> rollback(const std::string& tree, const VersionSelector& to);
  absl::StatusOr<storage::PruneResult> prune(const std::string& tree, std::uint64_t oldest_version,
                                             bool compact);
  // A consistent copy of the whole store in checkpoint_dir/name.
  absl::StatusOr<std::filesystem::path> checkpoint(const std::string& name);

  EngineStats stats() const;

 private:
  struct OpenTree {
    std::unique_ptr<smt::SmtTree> tree;
    std::unique_ptr<WriteBatcher> batcher;
  };
  struct Transaction {
    std::string tree;
    std::vector<smt::SmtOp> ops;
    std::chrono::milliseconds timeout{0};
    std::chrono::steady_clock::time_point expires;
  };

  absl::StatusOr<std::shared_ptr<OpenTree>> find(const std::string& name) const;
  absl::Status open_tree(const storage::TreeInfo& info);
  absl::StatusOr<std::uint64_t> resolve(const smt::SmtTree& tree, const VersionSelector& at) const;
  absl::StatusOr<TreeSummary> summary(const smt::SmtTree& tree, const VersionSelector& at) const;
  void expire_transactions();

  const EngineOptions options_;
  BatchObserver observer_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<host::ComputeBackend> backend_;

  mutable std::shared_mutex trees_mutex_;
  std::map<std::string, std::shared_ptr<OpenTree>> trees_;
  std::map<std::string, std::string> unserved_;  // tree -> scheme this build cannot serve

  mutable std::mutex tx_mutex_;
  std::condition_variable tx_reaper_wake_;
  std::map<std::string, Transaction> transactions_;
  std::uint64_t transaction_ops_ = 0;
  std::uint64_t transactions_expired_ = 0;
  bool stopping_ = false;
  std::thread tx_reaper_;
  std::atomic<bool> shut_down_{false};
};

}  // namespace arbor::service
