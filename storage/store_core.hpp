// Inside the store: what a Store and its TreeViews share (StoreCore: the database, the registry
// of trees, the cleanup worker, the counters), a tree's in-memory state, the column families and
// the read helpers both use. Not part of the API (that is storage/store.hpp); store.cpp and
// tree_view.cpp include it.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "spdlog/spdlog.h"
#include "storage/latency_histogram.hpp"
#include "storage/record_codec.hpp"
#include "storage/rocks_status.hpp"
#include "storage/store.hpp"
#include "storage/write_health.hpp"

namespace arbor::storage {

enum Family : int { kNodesFamily, kValuesFamily, kRootsFamily, kChangesFamily, kMetaFamily };
inline constexpr int kFamilyCount = 5;
inline constexpr std::array<const char*, kFamilyCount> kFamilyNames = {"nodes", "values", "roots",
                                                                       "changes", "meta"};
// Deletions per WriteBatch while cleaning up pruned versions: bounds memory and batch latency.
inline constexpr size_t kCleanupBatchEntries = 8192;

inline Family family_of(Space space) {
  return space == Space::kNodes ? kNodesFamily : kValuesFamily;
}

inline std::string in_quotes(std::string_view name) {
  return absl::StrCat("'", std::string(name), "'");
}

inline int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// create_tree's checks of a spec, apart from the registry's (store.cpp).
absl::Status check_tree_spec(const TreeSpec& spec, bool check_empty_root);

// The registry record of a new tree whose first version has `root` (store.cpp).
codec::TreeRecord new_tree_record(const TreeSpec& spec, std::string ns, std::string root);

inline absl::Status no_such_tree(std::string_view name) {
  return absl::NotFoundError(absl::StrCat("no tree named ", in_quotes(name)));
}

inline rocksdb::Slice slice(std::string_view bytes) {
  return rocksdb::Slice(bytes.data(), bytes.size());
}
inline std::string_view view_of(const rocksdb::Slice& bytes) {
  return {bytes.data(), bytes.size()};
}

struct TreeState {
  std::string ns;
  std::mutex writer;  // one commit, rollback, prune or drop of this tree at a time
  // Set by drop_tree under both `writer` and the store's cleanup mutex.
  std::atomic<bool> dropped{false};
  mutable std::mutex info_mutex;
  TreeInfo info;

  TreeInfo snapshot_info() const {
    std::lock_guard lock(info_mutex);
    return info;
  }
  void set_info(TreeInfo updated) {
    std::lock_guard lock(info_mutex);
    info = std::move(updated);
  }
};

class StoreCore {
 public:
  ~StoreCore() {
    if (!db) return;
    for (auto* handle : handles) db->DestroyColumnFamilyHandle(handle);
    rocksdb::Status closed = db->Close();
    if (!closed.ok()) spdlog::warn("closing the store at {}: {}", dir.string(), text(closed));
  }

  rocksdb::ColumnFamilyHandle* family(Family which) const { return handles[which]; }

  absl::Status require_writable() const {
    if (read_only) {
      return absl::FailedPreconditionError(
          absl::StrCat("the store at ", dir.string(), " is open read-only"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::shared_ptr<TreeState>> find(std::string_view name) const {
    std::shared_lock lock(registry_mutex);
    auto found = trees.find(name);
    if (found == trees.end()) return no_such_tree(name);
    return found->second;
  }

  // ALREADY_EXISTS when a tree has this name, or another tree this namespace. Needs
  // registry_mutex held.
  absl::Status check_name_free(std::string_view name, std::string_view ns) const {
    if (trees.contains(name)) {
      return absl::AlreadyExistsError(absl::StrCat("tree ", in_quotes(name), " already exists"));
    }
    for (const auto& [other, state] : trees) {
      if (state->ns == ns) {
        return absl::AlreadyExistsError(absl::StrCat("tree name ", in_quotes(name),
                                                     " collides with tree ", in_quotes(other),
                                                     "; pick another name"));
      }
    }
    return absl::OkStatus();
  }

  // Reads the registry record of `name` as of `snapshot` (the latest state when null).
  absl::StatusOr<codec::TreeRecord> read_tree_record(std::string_view name,
                                                     const rocksdb::Snapshot* snapshot) const {
    rocksdb::ReadOptions read;
    read.snapshot = snapshot;
    std::string bytes;
    rocksdb::Status got =
        db->Get(read, family(kMetaFamily), slice(codec::tree_meta_key(name)), &bytes);
    if (got.IsNotFound()) return no_such_tree(name);
    if (!got.ok()) return to_status(got, absl::StrCat("reading tree ", in_quotes(name)));
    auto record = codec::decode_tree_record(bytes);
    if (!record.ok()) {
      return absl::DataLossError(
          absl::StrCat("tree ", in_quotes(name), ": ", std::string(record.status().message())));
    }
    return record;
  }

  absl::StatusOr<VersionRecord> read_version_record(std::string_view name, std::string_view ns,
                                                    uint64_t version,
                                                    const rocksdb::Snapshot* snapshot) const {
    rocksdb::ReadOptions read;
    read.snapshot = snapshot;
    std::string bytes;
    rocksdb::Status got =
        db->Get(read, family(kRootsFamily), slice(codec::root_key(ns, version)), &bytes);
    if (got.IsNotFound()) {
      return absl::DataLossError(absl::StrCat("tree ", in_quotes(name), ": the record of version ",
                                              version, " is missing"));
    }
    if (!got.ok()) return to_status(got, absl::StrCat("reading tree ", in_quotes(name)));
    auto record = codec::decode_version_record(bytes);
    if (!record.ok()) {
      return absl::DataLossError(absl::StrCat("tree ", in_quotes(name), ", version ", version, ": ",
                                              std::string(record.status().message())));
    }
    if (record->version != version) {
      return absl::DataLossError(absl::StrCat("tree ", in_quotes(name), ": the record of version ",
                                              version, " says version ", record->version));
    }
    return record;
  }

  enum class Durability {
    kSyncMode,    // what the configured sync mode promises for commits
    kBackground,  // may be lost on a crash and redone (cleanup)
    kAlwaysSync,  // WAL and fsync whatever the mode: creating and dropping trees
  };
  absl::Status write(rocksdb::WriteBatch& batch, std::string_view context,
                     Durability durability = Durability::kSyncMode) const {
    rocksdb::WriteOptions options = write_options;
    if (durability == Durability::kBackground) options.sync = false;
    if (durability == Durability::kAlwaysSync) {
      options.sync = true;
      options.disableWAL = false;
    }
    if (auto writable = health->check_before_write(); !writable.ok()) return writable;
    rocksdb::Status written = db->Write(options, &batch);
    if (!written.ok()) return health->on_failure(written, context);
    health->on_success();
    return absl::OkStatus();
  }

  // Adds the tree's new registry record to `batch`, writes it, then publishes the new info.
  void put_log_position(rocksdb::WriteBatch& batch, std::optional<uint64_t> position) {
    if (position) {
      batch.Put(family(kMetaFamily), slice(codec::kLogPositionKey),
                codec::encode_log_position(*position));
    }
  }

  absl::Status write_tree_update(TreeState& tree, rocksdb::WriteBatch& batch,
                                 const TreeInfo& updated, const std::string& context) {
    batch.Put(family(kMetaFamily), codec::tree_meta_key(updated.name),
              codec::encode_tree_record({updated, tree.ns}));
    if (auto written = write(batch, context); !written.ok()) return written;
    tree.set_info(updated);
    return absl::OkStatus();
  }

  // Drops what only versions below the tree's oldest retained version use. For each journal entry
  // of a version V < oldest it deletes the key's records older than V, and V's own record when that
  // is a tombstone; then the journal entry. The oldest version's journal stays: a rollback can make
  // it the head again, and open verifies the head with it. So records superseded exactly at the
  // oldest version go when the oldest moves past it. Versions at or above the oldest are never
  // touched, so this runs while the tree takes commits and rollbacks; drop excludes it through
  // cleanup_mutex. (store_journal.cpp)
  absl::StatusOr<uint64_t> clean_below(const TreeState& tree);

  // One chunk of a tree's journal, as walk_journal visits it.
  struct JournalChunk {
    uint64_t version = 0;  // the version that wrote it
    std::string_view key;  // its key in the changes family
    std::span<const codec::JournalEntry> entries;
  };
  // Visits the journal chunks of versions [from, to) of the tree `info` (namespace `ns`) in order,
  // as of `snapshot` (the latest state when null), while `visit` answers true. DATA_LOSS naming the
  // tree for a malformed key or chunk; `visit`'s error stops the walk and is returned.
  // (store_journal.cpp)
  absl::Status walk_journal(
      const TreeInfo& info, std::string_view ns, uint64_t from, uint64_t to,
      const rocksdb::Snapshot* snapshot,
      absl::FunctionRef<absl::StatusOr<bool>(const JournalChunk&)> visit) const;

  absl::Status clean_tree(std::string_view name) {
    auto state = find(name);
    if (!state.ok()) return absl::OkStatus();  // dropped meanwhile: nothing left to clean
    return clean_below(**state).status();
  }

  // Background cleanup after commits that pushed a tree past its retention.
  void schedule_cleanup(const std::string& name) {
    if (!options.background_cleanup || read_only) return;
    std::lock_guard lock(worker_mutex);
    pending_cleanup.insert(name);
    worker_wake.notify_all();
  }

  void run_worker() {
    std::unique_lock lock(worker_mutex);
    while (true) {
      worker_wake.wait(lock, [&] { return stopping || !pending_cleanup.empty(); });
      if (stopping) return;
      std::string name = *pending_cleanup.begin();
      pending_cleanup.erase(pending_cleanup.begin());
      worker_busy = true;
      lock.unlock();
      absl::Status cleaned = clean_tree(name);
      lock.lock();
      worker_busy = false;
      if (!cleaned.ok()) {
        spdlog::error("cleaning up pruned versions of tree '{}': {}", name,
                      std::string(cleaned.message()));
        last_cleanup_error = cleaned;
      }
      worker_idle.notify_all();
    }
  }

  std::filesystem::path dir;
  StoreOptions options;
  bool read_only = false;
  std::shared_ptr<rocksdb::Cache> cache;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // ours first, in Family order
  rocksdb::WriteOptions write_options;
  std::unique_ptr<WriteHealth> health;  // every write goes through write(), which keeps it

  mutable std::shared_mutex registry_mutex;
  std::map<std::string, std::shared_ptr<TreeState>, std::less<>> trees;

  std::atomic<bool> loading{false};  // a TreeLoader is at work (one per store)

  std::mutex cleanup_mutex;
  std::mutex worker_mutex;
  std::condition_variable worker_wake;
  std::condition_variable syncer_wake;
  std::condition_variable worker_idle;
  std::set<std::string> pending_cleanup;
  bool worker_busy = false;
  std::atomic<bool> stopping{false};  // written under worker_mutex; read anywhere
  absl::Status last_cleanup_error;
  std::thread worker;
  std::thread wal_syncer;

  LatencyHistogram commit_latency;
  std::atomic<uint64_t> commits{0};
  std::atomic<uint64_t> records_committed{0};
  std::atomic<uint64_t> rollbacks{0};
  std::atomic<uint64_t> records_pruned{0};
};

// A snapshot plus the point-read iterators made on it. Building a RocksDB iterator costs more than
// the Seek it serves, so reads lease one from the pool and give it back.
struct TreeView::SnapshotHolder {
  SnapshotHolder(std::shared_ptr<StoreCore> owner)
      : core(std::move(owner)), snapshot(core->db->GetSnapshot()) {}
  ~SnapshotHolder() {
    for (auto& pool : idle) pool.clear();
    core->db->ReleaseSnapshot(snapshot);
  }
  SnapshotHolder(const SnapshotHolder&) = delete;
  SnapshotHolder& operator=(const SnapshotHolder&) = delete;

  class Lease {
   public:
    Lease(SnapshotHolder& holder, Space space) : holder_(holder), space_(space) {
      {
        std::lock_guard lock(holder_.mutex);
        auto& pool = holder_.idle[static_cast<int>(space)];
        if (!pool.empty()) {
          iterator_ = std::move(pool.back());
          pool.pop_back();
        }
      }
      if (!iterator_) {
        rocksdb::ReadOptions read;
        read.snapshot = holder_.snapshot;
        read.prefix_same_as_start = true;
        iterator_.reset(
            holder_.core->db->NewIterator(read, holder_.core->family(family_of(space))));
      }
    }
    ~Lease() {
      // An iterator that failed keeps its error; do not hand it to the next reader.
      if (!iterator_->status().ok()) return;
      std::lock_guard lock(holder_.mutex);
      holder_.idle[static_cast<int>(space_)].push_back(std::move(iterator_));
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    rocksdb::Iterator& operator*() { return *iterator_; }

   private:
    SnapshotHolder& holder_;
    Space space_;
    std::unique_ptr<rocksdb::Iterator> iterator_;
  };

  std::shared_ptr<StoreCore> core;
  const rocksdb::Snapshot* snapshot;
  std::mutex mutex;
  std::array<std::vector<std::unique_ptr<rocksdb::Iterator>>, 2> idle;
};

// The newest record of `key` at or below `version`, given an iterator positioned by Seek on
// `target` (record_key(ns, key, version)).
absl::StatusOr<std::optional<std::string>> read_positioned(rocksdb::Iterator& it,
                                                           std::string_view target);
// The newest record of `key` at or below `version` in the latest state (no snapshot).
absl::StatusOr<std::optional<std::string>> read_latest(const StoreCore& core, Space space,
                                                       std::string_view ns, std::string_view key,
                                                       uint64_t version);

}  // namespace arbor::storage
