// A cache of the head version's nodes near the root, where every path passes. Bounded twice: only
// depths whose every possible position fits in the byte budget are cached, and inserts stop at
// the budget. Commits update it in place; any other change of head (rollback) clears it.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

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
  // The record at `node_key` for `version` if cached: a record, or nullopt inside for "empty".
  std::optional<std::optional<std::string>> lookup(std::uint64_t version,
                                                   const std::string& node_key) const;
  void fill(std::uint64_t version, const std::string& node_key,
            const std::optional<std::string>& record);
  // Moves the cache from `parent` to `version` with the node records of that commit.
  void apply_commit(std::uint64_t parent, std::uint64_t version, const storage::WriteSet& writes);
  // Empties the cache and makes it describe `version`.
  void reset(std::uint64_t version);
  NodeCacheStats stats() const;

 private:
  void insert_locked(const std::string& node_key, const std::optional<std::string>& record);

  const std::uint64_t budget_bytes_;
  const int max_depth_;
  mutable std::shared_mutex mutex_;
  std::uint64_t version_ = 0;
  std::unordered_map<std::string, std::optional<std::string>> entries_;
  mutable std::atomic<std::uint64_t> hits_ = 0;
  mutable std::atomic<std::uint64_t> misses_ = 0;
};

}  // namespace arbor::smt
