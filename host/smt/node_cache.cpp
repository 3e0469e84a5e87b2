#include "host/smt/node_cache.hpp"

#include <mutex>

#include "host/smt/node_pages.hpp"

namespace arbor::smt {
namespace {

// How many node depths whole rows of pages cover when every page of those rows fits the budget.
int cached_depths_for(std::uint64_t budget_bytes, std::uint64_t entry_bytes, int page_levels) {
  std::uint64_t pages = 0;
  int depths = 0;
  for (int row = 0; depths + page_levels <= kMaxDepthLimit + 1 && row * page_levels < 60; ++row) {
    pages += 1ULL << (row * page_levels);
    if (pages * entry_bytes > budget_bytes) break;
    depths += page_levels;
  }
  return depths;
}

int depth_of(const std::string& page_key) { return static_cast<std::uint8_t>(page_key[0]); }

}  // namespace

NodeCache::NodeCache(std::uint64_t budget_bytes, int page_levels)
    : budget_bytes_(budget_bytes),
      entry_bytes_(max_page_bytes(page_levels) + kEntryOverheadBytes),
      cached_node_depths_(cached_depths_for(budget_bytes, entry_bytes_, page_levels)) {}

std::optional<std::optional<std::string>> NodeCache::lookup(std::string_view root,
                                                            const std::string& page_key) const {
  if (!covers(depth_of(page_key))) return std::nullopt;
  std::shared_lock lock(mutex_);
  if (root != root_) return std::nullopt;
  auto found = entries_.find(page_key);
  if (found == entries_.end()) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  hits_.fetch_add(1, std::memory_order_relaxed);
  return found->second;
}

void NodeCache::fill(std::string_view root, const std::string& page_key,
                     const std::optional<std::string>& record) {
  if (!covers(depth_of(page_key))) return;
  std::unique_lock lock(mutex_);
  if (root != root_) return;
  insert_locked(page_key, record);
}

void NodeCache::insert_locked(const std::string& page_key,
                              const std::optional<std::string>& record) {
  auto [slot, inserted] = entries_.try_emplace(page_key);
  if (inserted && (entries_.size() * entry_bytes_ > budget_bytes_)) {
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
  return NodeCacheStats{budget_bytes_,   entries_.size() * entry_bytes_,
                        entries_.size(), cached_node_depths_ - 1,
                        hits_.load(),    misses_.load()};
}

}  // namespace arbor::smt
