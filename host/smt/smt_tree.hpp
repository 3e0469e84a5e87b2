// The iden3/circomlib Poseidon sparse Merkle tree, persisted and versioned in an Arbor store.
//
// A batch is applied as DESIGN.md's write path says: sort and dedupe the keys, read the touched
// paths top-down (one batched read per level, the node cache first), plan every changed node on
// the host, hash all new leaves in one backend job and then each level of internal nodes in one
// job, deepest first, and write nodes, values and the new root in one store commit.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "host/backend/compute_backend.hpp"
#include "host/smt/node_cache.hpp"
#include "host/smt/smt_proof.hpp"
#include "host/smt/smt_records.hpp"
#include "storage/store.hpp"

namespace arbor::smt {

struct SmtOp {
  enum class Kind : std::uint8_t { kPut, kDelete };
  Kind kind = Kind::kPut;
  Fr key = Fr::zero();
  Fr value = Fr::zero();  // kPut only

  static SmtOp put(const Fr& key, const Fr& value) { return {Kind::kPut, key, value}; }
  static SmtOp erase(const Fr& key) { return {Kind::kDelete, key, Fr::zero()}; }
};

struct SmtCreateOptions {
  int max_depth = kDefaultMaxDepth;  // leaves sit at depth <= max_depth; 1..254
  std::uint64_t keep_versions = 0;   // 0 keeps every version
};

struct SmtTreeOptions {
  std::uint64_t node_cache_bytes = 64ULL << 20;  // 0 disables the cache
};

struct ApplyOptions {
  std::string label;                              // stored with the version (e.g. a block number)
  std::optional<std::uint64_t> expected_version;  // ABORTED when the head is elsewhere
};

struct ApplyStats {
  std::uint64_t ops = 0;  // after dedupe: one per distinct key
  std::uint64_t inserted = 0;
  std::uint64_t updated = 0;
  std::uint64_t deleted = 0;
  std::uint64_t absent_deletes = 0;  // deletes of keys that were not there: no-ops
  std::uint64_t nodes_read = 0;
  std::uint64_t leaf_hashes = 0;
  std::uint64_t node_hashes = 0;
  std::uint64_t records_written = 0;
  double read_ms = 0, plan_ms = 0, hash_ms = 0, commit_ms = 0;
};

struct ApplyResult {
  std::uint64_t version = 0;
  Fr root = Fr::zero();
  std::uint64_t entry_count = 0;  // keys in the tree at the new version
  ApplyStats stats;
};

class SmtTree {
 public:
  // Registers a new SMT named `name` in `store`. The store and backend must outlive the tree.
  static absl::StatusOr<std::unique_ptr<SmtTree>> create(storage::Store& store,
                                                         const std::string& name,
                                                         const SmtCreateOptions& create,
                                                         host::ComputeBackend& backend,
                                                         const SmtTreeOptions& options = {});
  // Opens an existing SMT; FAILED_PRECONDITION when `name` holds another scheme.
  static absl::StatusOr<std::unique_ptr<SmtTree>> open(storage::Store& store,
                                                       const std::string& name,
                                                       host::ComputeBackend& backend,
                                                       const SmtTreeOptions& options = {});

  const std::string& name() const { return name_; }
  int max_depth() const { return params_.max_depth; }

  // Applies the operations atomically as one new version. Several operations on one key: the
  // last wins. Deleting an absent key does nothing. A batch that would need a leaf deeper than
  // max_depth is refused (OUT_OF_RANGE) and changes nothing; so is any other failure.
  absl::StatusOr<ApplyResult> apply(std::span<const SmtOp> ops, const ApplyOptions& options = {});

  // Reads at the head, or at a retained version.
  absl::StatusOr<storage::TreeInfo> info() const;
  absl::StatusOr<storage::VersionRecord> version_record(
      std::optional<std::uint64_t> version = std::nullopt) const;
  absl::StatusOr<Fr> root(std::optional<std::uint64_t> version = std::nullopt) const;
  absl::StatusOr<std::optional<Fr>> get(const Fr& key,
                                        std::optional<std::uint64_t> version = std::nullopt) const;
  absl::StatusOr<SmtProof> prove(const Fr& key,
                                 std::optional<std::uint64_t> version = std::nullopt) const;
  // One proof for several keys (duplicates are proved once).
  absl::StatusOr<SmtMultiProof> prove_many(
      std::span<const Fr> keys, std::optional<std::uint64_t> version = std::nullopt) const;

  absl::StatusOr<storage::TreeInfo> rollback(std::uint64_t version);
  absl::StatusOr<storage::PruneResult> prune(std::uint64_t version, bool compact = false);

  NodeCacheStats cache_stats() const { return cache_.stats(); }

 private:
  SmtTree(storage::Store& store, std::string name, SmtParams params, host::ComputeBackend& backend,
          const SmtTreeOptions& options, std::uint64_t head);

  // Node records of one view: the cache when the view is the cached version, else the store.
  absl::StatusOr<std::vector<std::optional<std::string>>> read_nodes(
      const storage::TreeView& view, std::span<const std::string> keys) const;
  absl::StatusOr<SmtProof> prove_in(const storage::TreeView& view, const Fr& key) const;

  storage::Store& store_;
  const std::string name_;
  const SmtParams params_;
  host::ComputeBackend& backend_;
  mutable NodeCache cache_;
  std::mutex writer_;  // one apply, rollback or prune at a time
};

}  // namespace arbor::smt
