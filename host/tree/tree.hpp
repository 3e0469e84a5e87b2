// The scheme-neutral tree: what the engine, the write batcher, the gRPC service and the CLI know of
// a tree. Keys, values, roots and proofs are bytes in the scheme's wire form (rpc/arbor/v1's
// proto says which); a scheme (host/smt, host/verkle) derives from Tree, checks those bytes and
// does its own hashing and proving.
//
// Contract:
// - Tree owns the store plumbing shared by every scheme: versions, labels, rollback, prune,
//   readers. A scheme adds check_key/check_value, apply and the two proof calls.
// - apply() makes one new version atomically, or changes nothing. Only one apply, rollback or
//   prune runs at a time per tree (writer_mutex_).
// - A Reader is bound to ONE store snapshot at one version: every call on it answers from that
//   version, even if versions are committed, rolled back or pruned meanwhile. It must not outlive
//   its tree.
// - In every stored version record, `root` is the wire root and the values space holds each
//   present key's value under the key's wire bytes, so reads and scans need no scheme.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "host/backend/compute_backend.hpp"
#include "storage/store.hpp"

namespace arbor::tree {

// Milliseconds since `start`: the timings in ApplyStats and the load reports.
inline double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

struct Op {
  enum class Kind : std::uint8_t { kPut, kDelete };
  Kind kind = Kind::kPut;
  std::string key;
  std::string value;  // kPut only

  static Op put(std::string key, std::string value) {
    return {Kind::kPut, std::move(key), std::move(value)};
  }
  static Op erase(std::string key) { return {Kind::kDelete, std::move(key), {}}; }
};

// A version named by number or by label (the newest retained version with it); neither: the head.
struct VersionSelector {
  std::optional<std::uint64_t> version;
  std::optional<std::string> label;
};

// Replication's part of a commit: storage::CommitRequest's fields of the same names.
struct LogMark {
  std::optional<std::uint64_t> log_position;  // the log has the change at this position
  std::optional<storage::UnreplicatedEntry> unreplicated;  // or: it will, after the commit
  std::optional<std::uint64_t> keep_from;  // retention keeps this version on (a rollback target)
};

struct ApplyOptions {
  std::string label;                              // stored with the version (e.g. a block number)
  std::optional<std::uint64_t> expected_version;  // ABORTED when the head is elsewhere
  std::vector<std::string> idempotent_writes;     // recorded with the version (VersionRecord)
  // A replica's check (host/replication): the new version's wire root must be this, or nothing is
  // committed and the answer is DATA_LOSS naming both roots.
  std::optional<std::string> expected_root;
  // A replica's position in the replication log once this version is committed
  // (storage::CommitRequest::log_position).
  std::optional<std::uint64_t> log_position;
  // The version record's commit time instead of now (a migration keeps the source's).
  std::optional<std::int64_t> committed_unix_ms = std::nullopt;
  // A replicating leader's gate (host/service/change_log.hpp): given the version about to be
  // committed (its number and wire root), it logs the version and then calls `commit` with the
  // log position of its entry (or, with replication.ack = "leader", commits first with the entry
  // to append after). Nothing is committed unless it calls `commit`; what it returns is apply()'s
  // answer.
  using CommitFunction =
      absl::FunctionRef<absl::StatusOr<storage::VersionRecord>(const LogMark& mark)>;
  std::function<absl::StatusOr<storage::VersionRecord>(std::uint64_t version, std::string_view root,
                                                       CommitFunction commit)>
      commit_gate;
};
// What a scheme's apply() calls to commit the version it computed: checks expected_root, then
// commits through commit_gate when there is one, with log_position otherwise.
absl::StatusOr<storage::VersionRecord> commit_version(const ApplyOptions& options,
                                                      storage::Store& store, std::string_view tree,
                                                      std::uint64_t version,
                                                      storage::CommitRequest& request);

// What one apply cost, in the terms every scheme shares (zero where a scheme has no such phase).
struct ApplyStats {
  std::uint64_t ops = 0;  // after dedupe: one per distinct key
  std::uint64_t inserted = 0;
  std::uint64_t updated = 0;
  std::uint64_t deleted = 0;
  std::uint64_t absent_deletes = 0;  // deletes of keys that were not there: no-ops
  std::uint64_t nodes_read = 0;
  std::uint64_t records_written = 0;
  std::uint64_t bytes_written = 0;  // the written records' keys and values, as the tree gave them
  std::uint64_t leaf_hashes = 0;    // smt: Poseidon leaf hashes
  std::uint64_t node_hashes = 0;    // smt: Poseidon node hashes
  std::uint64_t commitment_deltas = 0;  // verkle: fixed-base multiplications
  double read_ms = 0;                   // reading the touched paths
  double plan_ms = 0;                   // planning the changed nodes on the host
  double compute_ms = 0;                // the backend's hashing or commitment math
  double commit_ms = 0;                 // the store commit
};

struct ApplyResult {
  storage::VersionRecord version;  // the new version: number, wire root, label, time, size
  ApplyStats stats;
};

enum class ProofEncoding { kBinary, kJson };

struct Proof {
  // The encoding's name: "smt-binary", "smt-json", "verkle-witness-binary", "verkle-witness-json".
  std::string format;
  std::string bytes;
};

// The proof a write is answered with: SMT proves each key on its own (`proof` of each entry);
// Verkle proves all of a write's keys in one witness (`combined`, entries' `proof` empty).
struct WrittenKey {
  std::string key;
  std::optional<std::string> value;  // at the new version
  std::string proof;
};
struct WriteProofs {
  std::vector<WrittenKey> keys;  // one per distinct key, in the order first written
  std::optional<Proof> combined;
};

struct ScanPage {
  std::vector<std::pair<std::string, std::string>> entries;  // key order
  bool more = false;  // entries past the last one exist: ask again after its key
};

// The scheme-defined shape of a new tree. A scheme refuses options it does not take.
struct CreateOptions {
  std::uint64_t keep_versions = 0;  // 0 keeps every version
  int max_depth = 0;                // smt: 1..254, 0 for the default; verkle: must be 0
  // A migrated tree's first version and creation time (storage::TreeSpec's fields).
  std::uint64_t base_version = 0;
  std::optional<std::int64_t> created_unix_ms = std::nullopt;
};
// Per open tree, for its in-memory state.
struct OpenOptions {
  std::uint64_t node_cache_bytes = 64ULL << 20;  // smt: the node cache; 0 disables it
};

// Largest batches a reader answers in one call; keeps one request's cost bounded.
inline constexpr std::size_t kMaxKeysPerRead = 65'536;
inline constexpr std::size_t kMaxScanLimit = 10'000;

class Tree;

class Reader {
 public:
  const storage::VersionRecord& version() const { return view_.version(); }
  const std::string& root() const { return view_.version().root; }
  const Tree& tree() const { return *tree_; }
  const storage::TreeView& view() const { return view_; }

  // INVALID_ARGUMENT naming `field` for a key not in the scheme's wire form.
  absl::StatusOr<std::optional<std::string>> get(std::string_view key,
                                                 std::string_view field = "key") const;
  absl::StatusOr<std::vector<std::optional<std::string>>> get_many(
      std::span<const std::string> keys, std::string_view field = "keys") const;
  // One proof of every key (present or absent); duplicates are proved once. `encoding` is
  // "binary" (or empty) or "json".
  absl::StatusOr<Proof> prove(std::span<const std::string> keys, std::string_view field = "keys",
                              std::string_view encoding = {}) const;
  // The proofs of a write's keys (see WriteProofs).
  absl::StatusOr<WriteProofs> prove_written(std::span<const std::string> keys) const;
  // Up to `limit` entries with keys after `after` (from the first when empty), in key order.
  absl::StatusOr<ScanPage> scan(std::string_view after, std::size_t limit) const;

 private:
  friend class Tree;
  Reader(const Tree& tree, storage::TreeView view) : tree_(&tree), view_(std::move(view)) {}
  absl::Status check_keys(std::span<const std::string> keys, std::string_view field) const;

  const Tree* tree_;
  storage::TreeView view_;
};

class Tree {
 public:
  virtual ~Tree() = default;
  Tree(const Tree&) = delete;
  Tree& operator=(const Tree&) = delete;

  const std::string& name() const { return name_; }
  virtual std::string_view scheme() const = 0;

  // The scheme's wire forms; INVALID_ARGUMENT naming `field` otherwise.
  virtual absl::Status check_key(std::string_view key, std::string_view field) const = 0;
  virtual absl::Status check_value(std::string_view value, std::string_view field) const = 0;
  // Every op: its key, and its value (puts) or an empty value (deletes). `field` is e.g. "ops".
  absl::Status check_ops(std::span<const Op> ops, std::string_view field) const;

  // Applies the operations atomically as one new version (several on one key: the last wins;
  // deleting an absent key does nothing). On any failure nothing changes.
  virtual absl::StatusOr<ApplyResult> apply(std::span<const Op> ops,
                                            const ApplyOptions& options) = 0;

  // An upper bound on the bytes of the proofs prove_written() gives for `keys` distinct keys
  // (proofs and values), whatever the tree holds: a caller refuses a write whose answer could not
  // be sent before anything is applied.
  virtual std::uint64_t max_written_proof_bytes(std::uint64_t keys) const = 0;

  // A reader of the selected version (the head when none is selected). NOT_FOUND for a label no
  // retained version has, OUT_OF_RANGE for a version above the head or below the oldest retained.
  absl::StatusOr<Reader> reader(const VersionSelector& at = {}) const;
  // The selected version's number (see reader()).
  absl::StatusOr<std::uint64_t> resolve(const VersionSelector& at) const;

  absl::StatusOr<storage::TreeInfo> info() const;
  absl::StatusOr<storage::VersionRecord> version_record(
      std::optional<std::uint64_t> version = std::nullopt) const;
  // Retained versions, oldest first.
  absl::StatusOr<std::vector<storage::VersionRecord>> versions() const;
  // `log_position`: see storage::Store::rollback.
  absl::StatusOr<storage::TreeInfo> rollback(std::uint64_t version,
                                             std::optional<std::uint64_t> log_position = {});
  absl::StatusOr<storage::PruneResult> prune(std::uint64_t version, bool compact = false,
                                             std::optional<std::uint64_t> log_position = {});

 protected:
  Tree(storage::Store& store, std::string name, host::ComputeBackend& backend)
      : store_(store), name_(std::move(name)), backend_(backend) {}

  // The scheme's proofs at one snapshot; keys are checked already.
  virtual absl::StatusOr<Proof> prove_in(const storage::TreeView& view,
                                         std::span<const std::string> keys,
                                         ProofEncoding encoding) const = 0;
  virtual absl::StatusOr<WriteProofs> prove_written_in(const storage::TreeView& view,
                                                       std::span<const std::string> keys) const = 0;
  // Called with writer_mutex_ held after a rollback made `head` the head (drop caches).
  virtual void after_rollback(const storage::TreeInfo& /*head*/) {}

  storage::Store& store_;
  const std::string name_;
  host::ComputeBackend& backend_;
  // One apply, rollback or prune at a time; a scheme's apply() takes it.
  std::mutex writer_mutex_;

 private:
  friend class Reader;
};

}  // namespace arbor::tree
