// The iden3/circomlib Poseidon sparse Merkle tree, persisted and versioned in an Arbor store.
//
// A batch is applied as DESIGN.md's write path says: sort and dedupe the keys, read the touched
// paths top-down (one batched read per page depth, the node cache first: nodes are stored in
// pages of several levels, host/smt/node_pages.hpp), plan every changed node on the host, hash
// all new leaves in one backend job and then each level of internal nodes in one job, deepest
// first, and write the changed pages, values and the new root in one store commit.
//
// SmtTree is a tree::Tree (host/tree/tree.hpp): the engine, the batcher and the service use it
// through that interface, with keys, values and roots as 32-byte big-endian field elements. The
// typed calls below are the same operations for callers that hold field elements.
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
#include "host/smt/node_pages.hpp"
#include "host/smt/smt_proof.hpp"
#include "host/smt/smt_proof_codec.hpp"
#include "host/smt/smt_records.hpp"
#include "host/tree/tree.hpp"
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
  std::uint64_t base_version = 0;    // storage::TreeSpec's, for a migrated tree
  std::optional<std::int64_t> created_unix_ms = std::nullopt;
  int page_levels = kDefaultPageLevels;  // levels per node page, 1..6 (host/smt/node_pages.hpp)
};

// The store's description of a new SMT; INVALID_ARGUMENT for options out of range.
absl::StatusOr<storage::TreeSpec> smt_tree_spec(const std::string& name,
                                                const SmtCreateOptions& create);

struct SmtTreeOptions {
  std::uint64_t node_cache_bytes = 64ULL << 20;  // 0 disables the cache
};

using ApplyOptions = tree::ApplyOptions;

// compute_ms is the Poseidon hashing on the backend.
using ApplyStats = tree::ApplyStats;

struct ApplyResult {
  std::uint64_t version = 0;
  Fr root = Fr::zero();
  std::uint64_t entry_count = 0;  // keys in the tree at the new version
  ApplyStats stats;
  storage::VersionRecord record;  // as committed
};

// The proof encodings' names (tree::Proof::format).
inline constexpr std::string_view kBinaryFormat = "smt-binary";
inline constexpr std::string_view kJsonFormat = "smt-json";

class SmtTree final : public tree::Tree {
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

  int max_depth() const { return params_.max_depth; }

  // tree::Tree
  std::string_view scheme() const override { return kScheme; }
  absl::Status check_key(std::string_view key, std::string_view field) const override;
  absl::Status check_value(std::string_view value, std::string_view field) const override;
  absl::StatusOr<tree::ApplyResult> apply(std::span<const tree::Op> ops,
                                          const tree::ApplyOptions& options) override;

  // Applies the operations atomically as one new version. Several operations on one key: the
  // last wins. Deleting an absent key does nothing. A batch that would need a leaf deeper than
  // max_depth is refused (OUT_OF_RANGE) and changes nothing; so is any other failure.
  absl::StatusOr<ApplyResult> apply(std::span<const SmtOp> ops, const ApplyOptions& options = {});

  // Reads at the head, or at a retained version (each call its own snapshot; reader() binds one).
  absl::StatusOr<Fr> root(std::optional<std::uint64_t> version = std::nullopt) const;
  absl::StatusOr<std::optional<Fr>> get(const Fr& key,
                                        std::optional<std::uint64_t> version = std::nullopt) const;
  absl::StatusOr<SmtProof> prove(const Fr& key,
                                 std::optional<std::uint64_t> version = std::nullopt) const;
  // One proof for several keys (duplicates are proved once).
  absl::StatusOr<SmtMultiProof> prove_many(
      std::span<const Fr> keys, std::optional<std::uint64_t> version = std::nullopt) const;

  NodeCacheStats cache_stats() const { return cache_.stats(); }

  // Each key's binary proof at depth <= max_depth, and its value.
  std::uint64_t max_written_proof_bytes(std::uint64_t keys) const override {
    return keys * (max_proof_binary_bytes(params_.max_depth) + 32);
  }

 protected:
  absl::StatusOr<tree::Proof> prove_in(const storage::TreeView& view,
                                       std::span<const std::string> keys,
                                       tree::ProofEncoding encoding) const override;
  absl::StatusOr<tree::WriteProofs> prove_written_in(
      const storage::TreeView& view, std::span<const std::string> keys) const override;
  void after_rollback(const storage::TreeInfo& head) override { cache_.reset(head.head_root); }

 private:
  SmtTree(storage::Store& store, std::string name, SmtParams params, host::ComputeBackend& backend,
          const SmtTreeOptions& options, std::string_view head_root);

  // Page records of one view: the cache when the view is the cached version, else the store.
  absl::StatusOr<std::vector<std::optional<std::string>>> read_pages(
      const storage::TreeView& view, std::span<const std::string> page_keys) const;
  // The pages one operation on `view` reads.
  PageSet page_set(const storage::TreeView& view) const;
  absl::StatusOr<SmtProof> prove_key(const storage::TreeView& view, const Fr& key) const;
  absl::StatusOr<SmtMultiProof> prove_keys(const storage::TreeView& view,
                                           std::span<const Fr> keys) const;

  const SmtParams params_;
  mutable NodeCache cache_;
};

}  // namespace arbor::smt
