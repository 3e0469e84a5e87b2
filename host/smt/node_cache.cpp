#include "host/smt/node_cache.hpp"

#include <mutex>

#include "host/smt/smt_records.hpp"

namespace arbor::smt {
namespace {

// The deepest level whose positions, with all those above it, fit in the budget.
int cached_depth_for(std::uint64_t budget_bytes) {
  int depth = -1;
  while (depth < kMaxDepthLimit && depth < 62 &&
         ((2ULL << (depth + 1)) - 1) * NodeCache::kEntryBytes <= budget_bytes) {
    ++depth;
  }
  return depth;
}

int depth_of(const std::string& node_key) { return static_cast<std::uint8_t>(node_key[0]); }

}  // namespace

NodeCache::NodeCache(std::uint64_t budget_bytes)
    : budget_bytes_(budget_bytes), max_depth_(cached_depth_for(budget_bytes)) {}

std::optional<std::optional<std::string>> NodeCache::lookup(std::string_view root,
                                                            const std::string& node_key) const {
  if (!covers(depth_of(node_key))) return std::nullopt;
  std::shared_lock lock(mutex_);
  if (root != root_) return std::nullopt;
  auto found = entries_.find(node_key);
  if (found == entries_.end()) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  hits_.fetch_add(1, std::memory_order_relaxed);
  return found->second;
}

void NodeCache::fill(std::string_view root, const std::string& node_key,
                     const std::optional<std::string>& record) {
  if (!covers(depth_of(node_key))) return;
  std::unique_lock lock(mutex_);
  if (root != root_) return;
  insert_locked(node_key, record);
}

void NodeCache::insert_locked(const std::string& node_key,
                              const std::optional<std::string>& record) {
  auto [slot, inserted] = entries_.try_emplace(node_key);
  if (inserted && (entries_.size() * kEntryBytes > budget_bytes_)) {
    entries_.erase(slot);
    return;
  }
  slot->second = record;
}

void NodeCache::apply_commit(std::string_view parent, std::string_view root,
                             const storage::WriteSet& writes) {
  std::unique_lock lock(mutex_);
  if (parent != root_) {
    entries_.clear();
    root_ = root;
    return;
  }
  for (const auto& mutation : writes.mutations()) {
    if (mutation.space != storage::Space::kNodes || !covers(depth_of(mutation.key))) continue;
    // Keep only positions already cached: a commit should not pull cold nodes in.
    auto found = entries_.find(mutation.key);
    if (found == entries_.end()) continue;
    if (mutation.erase) {
      found->second.reset();
    } else {
      found->second = mutation.value;
    }
  }
  root_ = root;
}

void NodeCache::reset(std::string_view root) {
  std::unique_lock lock(mutex_);
  entries_.clear();
  root_ = root;
}

NodeCacheStats NodeCache::stats() const {
  std::shared_lock lock(mutex_);
  return NodeCacheStats{budget_bytes_,   entries_.size() * kEntryBytes,
                        entries_.size(), max_depth_,
                        hits_.load(),    misses_.load()};
}

}  // namespace arbor::smt
