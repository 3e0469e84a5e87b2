// Arbor's persistent store: versioned records of many trees in one RocksDB database.
//
// The store knows trees only as namespaces of records: it does not know how a tree hashes or what
// a node means. Each tree has two record spaces (nodes and values) with fixed-length keys chosen at
// creation. Every commit is one atomic RocksDB WriteBatch that makes a new version: its records, a
// journal of which keys it wrote, its version record (root, label, time) and the tree's new head.
// Older versions stay readable until pruned; rollback() removes versions above a retained one.
// The on-disk layout is described in storage/README.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/store_options.hpp"

namespace arbor::storage {

// Bumped whenever the on-disk layout changes incompatibly; a database written with another value
// is refused at open, one of the previous format with a message naming `arbor migrate`
// (host/tree/migrate.hpp). 3: SMT nodes stored as pages (host/smt/node_pages.hpp); 2: one record
// per SMT node; 1: version records without an entry count.
inline constexpr uint32_t kFormatVersion = 3;
inline constexpr uint32_t kPreviousFormatVersion = 2;

enum class Space : uint8_t { kNodes = 0, kValues = 1 };
std::string_view to_string(Space space);

// Limits that keep records well inside RocksDB's comfort zone and make bad input fail early.
inline constexpr size_t kMaxTreeNameBytes = 128;
inline constexpr uint32_t kMaxKeyBytes = 256;
inline constexpr size_t kMaxRecordBytes = 16u << 20;
inline constexpr size_t kMaxRootBytes = 1024;
inline constexpr size_t kMaxLabelBytes = 1024;
// One idempotent write's identity in a version record: a key hash and a request digest.
inline constexpr size_t kWriteIdentityBytes = 32;
inline constexpr size_t kMaxParamsBytes = 64u << 10;

struct TreeSpec {
  std::string name;    // 1..128 of [A-Za-z0-9._-]
  std::string scheme;  // e.g. "smt", "verkle"; 1..32 of [a-z0-9_-]
  std::string params;  // scheme-defined, stored verbatim
  uint32_t node_key_bytes = 32;
  uint32_t value_key_bytes = 32;
  uint64_t keep_versions = 0;  // the last K versions stay readable; 0 keeps every version
  std::string empty_root;      // root of the tree's first version, the empty tree
  // The first version's number: 0, or for a tree migrated from another store whose oldest
  // retained version is above 0, the version below it (host/tree/migrate.hpp).
  uint64_t base_version = 0;
  std::optional<int64_t> created_unix_ms = std::nullopt;  // default: now
};

struct TreeInfo {
  std::string name;
  std::string scheme;
  std::string params;
  uint32_t node_key_bytes = 0;
  uint32_t value_key_bytes = 0;
  uint64_t keep_versions = 0;
  uint64_t head_version = 0;
  uint64_t oldest_version = 0;  // oldest version still readable
  std::string head_root;
  int64_t created_unix_ms = 0;
};

// What the store keeps per version.
struct VersionRecord {
  uint64_t version = 0;
  std::string root;
  // A node key that must resolve at this version (the tree's root node), checked at open.
  // Empty when the tree has no root node (e.g. the empty tree).
  std::string root_node_key;
  std::string label;  // caller's tag, e.g. a block number
  int64_t committed_unix_ms = 0;
  uint64_t record_count = 0;  // records this commit wrote (puts and erasures)
  uint64_t entry_count = 0;   // the tree's number of keys at this version, as its writer counted
  // The writes with an idempotency key that this version applied (host/service/idempotency.hpp),
  // kWriteIdentityBytes each; empty for most versions.
  std::vector<std::string> idempotent_writes;
};

// The records of one commit. A key written twice keeps its last write.
class WriteSet {
 public:
  void put(Space space, std::string_view key, std::string_view value);
  void erase(Space space, std::string_view key);
  size_t size() const { return mutations_.size(); }
  // The mutations' keys and values, in bytes (what the tree hands the store, before framing).
  size_t bytes() const;
  bool empty() const { return mutations_.empty(); }
  void clear() { mutations_.clear(); }
  void reserve(size_t count) { mutations_.reserve(count); }

  struct Mutation {
    Space space;
    bool erase;
    std::string key;
    std::string value;
  };
  const std::vector<Mutation>& mutations() const { return mutations_; }

 private:
  std::vector<Mutation> mutations_;
};

// A change committed before the replication log has its entry (replication.ack = "leader"): the
// entry's bytes, opaque to the store, under an id that orders them as they were committed.
struct UnreplicatedEntry {
  uint64_t id = 0;
  std::string bytes;
};

struct CommitRequest {
  uint64_t parent_version = 0;  // must equal the tree's head: optimistic concurrency
  std::string root;
  std::string root_node_key;
  std::string label;
  uint64_t entry_count = 0;  // stored in the version record: the tree's size after this commit
  std::vector<std::string> idempotent_writes;  // stored in the version record as given
  // The version record's commit time; default now. A migration keeps the source's.
  std::optional<int64_t> committed_unix_ms = std::nullopt;
  WriteSet writes;
  // Replication (host/replication): the position in the replication log this commit brings the
  // store to, written in the same batch (see Store::log_position).
  std::optional<uint64_t> log_position;
  // Or, with replication.ack = "leader", the change's log entry, kept with it until the log has
  // it (Store::unreplicated_entries).
  std::optional<UnreplicatedEntry> unreplicated;
  // Retention keeps this version and later ones whatever keep_versions says: the version an
  // unreplicated change would be rolled back to stays readable.
  std::optional<uint64_t> keep_from;
};

struct PruneResult {
  uint64_t oldest_version = 0;
  uint64_t versions_dropped = 0;
  uint64_t records_deleted = 0;
};

struct LatencySummary {
  uint64_t count = 0;
  double mean_us = 0;
  double p50_us = 0;
  double p99_us = 0;
  double max_us = 0;
};

struct FamilyStats {
  std::string name;
  uint64_t estimated_keys = 0;
  uint64_t sst_bytes = 0;
  uint64_t memtable_bytes = 0;
  uint64_t pending_compaction_bytes = 0;
};

struct StoreStats {
  std::vector<FamilyStats> families;
  uint64_t pending_compaction_bytes = 0;
  uint64_t block_cache_capacity = 0;
  uint64_t block_cache_usage = 0;
  uint64_t block_cache_pinned = 0;
  uint64_t commits = 0;
  uint64_t records_committed = 0;
  uint64_t rollbacks = 0;
  uint64_t records_pruned = 0;
  uint64_t write_failures = 0;  // writes the disk refused (full, failed fsync, read-only, ...)
  LatencySummary commit_latency;
};

class StoreCore;
class TreeLoader;

// A consistent read of one tree at one version: a RocksDB snapshot, so commits, rollbacks and
// prunes that happen while it is held do not change what it sees. Safe to use from many threads.
// It keeps the database open even if the Store that made it is destroyed first.
class TreeView {
 public:
  const TreeInfo& tree() const { return tree_; }
  const VersionRecord& version() const { return version_; }

  absl::StatusOr<std::optional<std::string>> get(Space space, std::string_view key) const;
  // One result per key, in the order given. Reads of more than a few hundred keys Seek in
  // parallel on the TBB pool, each thread on its own run of the sorted keys.
  absl::StatusOr<std::vector<std::optional<std::string>>> get_many(
      Space space, std::span<const std::string> keys) const;
  // Visits live records whose key starts with `prefix`, in key order, until `visit` returns false;
  // with `after` (a full key), only keys after it: a seek, so paging costs what it returns.
  absl::Status scan(Space space, std::string_view prefix,
                    const std::function<bool(std::string_view key, std::string_view value)>& visit,
                    std::string_view after = {}) const;

 private:
  friend class Store;
  struct SnapshotHolder;
  TreeView(std::shared_ptr<StoreCore> core, std::shared_ptr<SnapshotHolder> snapshot,
           std::string ns, TreeInfo tree, VersionRecord version);
  absl::Status check_key(Space space, std::string_view key) const;

  std::shared_ptr<StoreCore> core_;
  std::shared_ptr<SnapshotHolder> snapshot_;
  std::string ns_;
  TreeInfo tree_;
  VersionRecord version_;
};

class Store {
 public:
  // Opens the database in `dir`, creating it (and the directory) when options.create_if_missing.
  static absl::StatusOr<std::unique_ptr<Store>> open(const std::filesystem::path& dir,
                                                     const StoreOptions& options = {});
  // Opens for reading only (e.g. a checkpoint); every write answers FAILED_PRECONDITION.
  static absl::StatusOr<std::unique_ptr<Store>> open_read_only(const std::filesystem::path& dir,
                                                               const StoreOptions& options = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  absl::StatusOr<TreeInfo> create_tree(const TreeSpec& spec);
  // Starts a bulk load of a new tree (storage/tree_loader.hpp): the spec is checked as by
  // create_tree, except its empty_root, since TreeLoader::finish gives the first version's root.
  // FAILED_PRECONDITION while another load of this store runs.
  absl::StatusOr<std::unique_ptr<TreeLoader>> load_tree(const TreeSpec& spec);
  // Removes the tree and all of its records.
  absl::Status drop_tree(std::string_view name);
  absl::StatusOr<TreeInfo> tree_info(std::string_view name) const;
  absl::StatusOr<std::vector<TreeInfo>> list_trees() const;
  absl::StatusOr<TreeInfo> set_keep_versions(std::string_view name, uint64_t keep_versions);

  // A commit (CommitRequest::log_position), a rollback and a prune may carry `log_position`: the
  // replication log's position (a stream sequence, host/replication) that the change brings the
  // store to, written atomically with it, so that after any crash a replica knows which log
  // entries its store holds. Callers give positions in increasing order.
  //
  // Writes a new version (head + 1) atomically and durably per the sync mode.
  absl::StatusOr<VersionRecord> commit(std::string_view tree, const CommitRequest& request);
  // Makes `version` the head again, deleting every later version, atomically.
  absl::StatusOr<TreeInfo> rollback(std::string_view tree, uint64_t version,
                                    std::optional<uint64_t> log_position = std::nullopt);
  // Makes `version` the oldest readable version and deletes what only older versions used.
  // With `compact`, also compacts the tree's key ranges so the space returns to the filesystem.
  absl::StatusOr<PruneResult> prune(std::string_view tree, uint64_t version, bool compact = false,
                                    std::optional<uint64_t> log_position = std::nullopt);
  // The log position of the latest change that carried one; 0 when none did.
  absl::StatusOr<uint64_t> log_position() const;
  // Moves the log position alone: after a log entry whose change is idempotent by itself (a tree
  // created again is refused) or that this store already holds.
  absl::Status record_log_position(uint64_t position);
  // Entries of changes committed before the log had them (CommitRequest::unreplicated), by id.
  absl::StatusOr<std::vector<UnreplicatedEntry>> unreplicated_entries() const;
  // The log has entry `id` at `position`: forgets it and moves the log position, atomically. Not
  // synced whatever the sync mode: a crash may undo it, never a later write without it, and the
  // replicator then finds the entry in the log and marks it again.
  absl::Status mark_replicated(uint64_t id, uint64_t position);
  // Forgets entries whose changes were rolled back (another node's log superseded them).
  absl::Status forget_unreplicated(std::span<const uint64_t> ids);

  // A view of `version` (head when absent).
  absl::StatusOr<TreeView> view(std::string_view tree,
                                std::optional<uint64_t> version = std::nullopt) const;
  // Retained versions, oldest first.
  absl::StatusOr<std::vector<VersionRecord>> versions(std::string_view tree) const;
  // The keys of `space` that retained version `version` wrote (puts and erasures), from its
  // journal, in the order written.
  absl::StatusOr<std::vector<std::string>> written_keys(std::string_view tree, uint64_t version,
                                                        Space space) const;

  // A consistent, openable copy in `dir` (which must not exist), taken while writes continue.
  absl::Status checkpoint(const std::filesystem::path& dir) const;
  // Compacts the tree's key ranges (or the whole database when `tree` is empty).
  absl::Status compact(std::string_view tree = {});
  // Blocks until background cleanup has caught up with every tree's retention.
  absl::Status wait_for_cleanup();

  absl::StatusOr<StoreStats> stats() const;
  const std::filesystem::path& directory() const;
  bool read_only() const;
  // Whether writes are taken now (storage/README.md, "Disk faults"). OK; RESOURCE_EXHAUSTED while
  // the disk is full (writes resume by themselves within seconds of space being freed); UNAVAILABLE
  // once a write failed in a way only reopening the store clears (a failed fsync, a read-only file
  // system). Cheap: no I/O.
  absl::Status write_health() const;

 private:
  explicit Store(std::shared_ptr<StoreCore> core);
  std::shared_ptr<StoreCore> core_;
};

}  // namespace arbor::storage
