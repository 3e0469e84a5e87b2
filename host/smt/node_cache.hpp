// A cache of the head version's nodes near the root, where every path passes. Bounded twice: only
// depths whose every possible position fits in the byte budget are cached, and inserts stop at
// the budget. Commits update it in place; any other change of head (rollback) clears it.
//
// It is keyed by the root it describes, not by the version number: node records are a function
// of the tree's contents, so a view whose root equals the cached one may use it, and a view of a
// version number that a rollback and a new commit gave other contents never does (nor fills it
// with that version's records).
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "storage/store.hpp"

namespace arbor::smt {

struct NodeCacheStats {
  std::uint64_t budget_bytes = 0;
  std::uint64_t bytes = 0;
  std::uint64_t entries = 0;
  int max_depth = -1;  // depths 0..max_depth are cached; -1: disabled
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
};

class NodeCache {
 public:
  // What one cached position costs, counted against the budget.
  static constexpr std::uint64_t kEntryBytes = 224;

  explicit NodeCache(std::uint64_t budget_bytes);

  bool covers(int depth) const { return depth <= max_depth_; }
  // Roots are the store's wire form (storage::VersionRecord::root).
  // The record at `node_key` in the tree of root `root` if cached: a record, or nullopt inside
  // for "empty".
  std::optional<std::optional<std::string>> lookup(std::string_view root,
                                                   const std::string& node_key) const;
  void fill(std::string_view root, const std::string& node_key,
            const std::optional<std::string>& record);
  // Moves the cache from the tree of root `parent` to that of `root` with the node records of
  // the commit between them.
  void apply_commit(std::string_view parent, std::string_view root,
                    const storage::WriteSet& writes);
  // Empties the cache and makes it describe the tree of root `root`.
  void reset(std::string_view root);
  NodeCacheStats stats() const;

 private:
  void insert_locked(const std::string& node_key, const std::optional<std::string>& record)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const std::uint64_t budget_bytes_;
  const int max_depth_;
  mutable std::shared_mutex mutex_;
  std::string root_ ABSL_GUARDED_BY(mutex_);
  std::unordered_map<std::string, std::optional<std::string>> entries_ ABSL_GUARDED_BY(mutex_);
  mutable std::atomic<std::uint64_t> hits_ = 0;
  mutable std::atomic<std::uint64_t> misses_ = 0;
};

}  // namespace arbor::smt
