// A cache of the head version's node pages (host/smt/node_pages.hpp) near the root, where every
// path passes. Bounded twice: only page depths whose every possible page fits in the byte budget
// (each counted at its largest) are cached, and inserts stop at the budget. Commits update it in
// place; any other change of head (rollback) clears it.
//
// It is keyed by the root it describes, not by the version number: page records are a function
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
  std::uint64_t entries = 0;  // pages
  int max_depth = -1;         // nodes at depths 0..max_depth are cached; -1: disabled
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
};

class NodeCache {
 public:
  // What one cached page costs beyond its largest record, counted against the budget.
  static constexpr std::uint64_t kEntryOverheadBytes = 160;

  NodeCache(std::uint64_t budget_bytes, int page_levels);

  // Whether pages rooted at this depth are cached.
  bool covers(int page_depth) const { return page_depth < cached_node_depths_; }
  // Roots are the store's wire form (storage::VersionRecord::root).
  // The page record at `page_key` in the tree of root `root` if cached: a record, or nullopt
  // inside for "empty".
  std::optional<std::optional<std::string>> lookup(std::string_view root,
                                                   const std::string& page_key) const;
  void fill(std::string_view root, const std::string& page_key,
            const std::optional<std::string>& record);
  // Moves the cache from the tree of root `parent` to that of `root` with the page records of
  // the commit between them.
  void apply_commit(std::string_view parent, std::string_view root,
                    const storage::WriteSet& writes);
  // Empties the cache and makes it describe the tree of root `root`.
  void reset(std::string_view root);
  NodeCacheStats stats() const;

 private:
  void insert_locked(const std::string& page_key, const std::optional<std::string>& record)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const std::uint64_t budget_bytes_;
  const std::uint64_t entry_bytes_;
  const int cached_node_depths_;  // nodes at depths below it are cached: whole page rows
  mutable std::shared_mutex mutex_;
  std::string root_ ABSL_GUARDED_BY(mutex_);
  std::unordered_map<std::string, std::optional<std::string>> entries_ ABSL_GUARDED_BY(mutex_);
  mutable std::atomic<std::uint64_t> hits_ = 0;
  mutable std::atomic<std::uint64_t> misses_ = 0;
};

}  // namespace arbor::smt
