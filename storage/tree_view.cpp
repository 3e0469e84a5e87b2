// TreeView: reads of one tree at one version, on a snapshot (storage/store.hpp).
#include <algorithm>
#include <numeric>

#include "storage/store_core.hpp"
#include "tbb/parallel_for.h"

namespace arbor::storage {

TreeView::TreeView(std::shared_ptr<StoreCore> core, std::shared_ptr<SnapshotHolder> snapshot,
                   std::string ns, TreeInfo tree, VersionRecord version)
    : core_(std::move(core)),
      snapshot_(std::move(snapshot)),
      ns_(std::move(ns)),
      tree_(std::move(tree)),
      version_(std::move(version)) {}

absl::Status TreeView::check_key(Space space, std::string_view key) const {
  uint32_t expected = space == Space::kNodes ? tree_.node_key_bytes : tree_.value_key_bytes;
  if (key.size() != expected) {
    return absl::InvalidArgumentError(absl::StrCat("tree ", in_quotes(tree_.name), ": a ",
                                                   std::string(to_string(space)), " key has ",
                                                   key.size(), " bytes, expected ", expected));
  }
  return absl::OkStatus();
}

// The newest record of `key` at or below `version`, given an iterator positioned by Seek.
absl::StatusOr<std::optional<std::string>> read_positioned(rocksdb::Iterator& it,
                                                           std::string_view target) {
  if (it.Valid()) {
    std::string_view found = view_of(it.key());
    if (found.size() == target.size() &&
        found.substr(0, found.size() - codec::kVersionBytes) ==
            target.substr(0, target.size() - codec::kVersionBytes)) {
      std::string_view value = view_of(it.value());
      if (value.empty() || (value[0] != codec::kLiveTag && value[0] != codec::kTombstoneTag)) {
        return absl::DataLossError("a stored record has an unknown tag");
      }
      if (value[0] == codec::kTombstoneTag) return std::optional<std::string>();
      return std::optional<std::string>(std::string(value.substr(1)));
    }
  }
  if (!it.status().ok()) return to_status(it.status(), "reading a record");
  return std::optional<std::string>();
}

// The newest record of `key` at or below `version` in the latest state (no snapshot).
absl::StatusOr<std::optional<std::string>> read_latest(const StoreCore& core, Space space,
                                                       std::string_view ns, std::string_view key,
                                                       uint64_t version) {
  rocksdb::ReadOptions read;
  read.prefix_same_as_start = true;
  std::unique_ptr<rocksdb::Iterator> it(core.db->NewIterator(read, core.family(family_of(space))));
  std::string target = codec::record_key(ns, key, version);
  it->Seek(target);
  return read_positioned(*it, target);
}

absl::StatusOr<std::optional<std::string>> TreeView::get(Space space, std::string_view key) const {
  if (auto checked = check_key(space, key); !checked.ok()) return checked;
  SnapshotHolder::Lease it(*snapshot_, space);
  std::string target = codec::record_key(ns_, key, version_.version);
  (*it).Seek(target);
  return read_positioned(*it, target);
}

absl::StatusOr<std::vector<std::optional<std::string>>> TreeView::get_many(
    Space space, std::span<const std::string> keys) const {
  for (const auto& key : keys) {
    if (auto checked = check_key(space, key); !checked.ok()) return checked;
  }
  std::vector<size_t> order(keys.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return keys[a] < keys[b]; });
  std::vector<std::optional<std::string>> results(keys.size());
  // Each run of the sorted keys Seeks forward on its own iterator of the snapshot.
  auto read_run = [&](size_t begin, size_t end) -> absl::Status {
    SnapshotHolder::Lease it(*snapshot_, space);
    std::string target;
    for (size_t i = begin; i < end; ++i) {
      target = codec::record_key(ns_, keys[order[i]], version_.version);
      (*it).Seek(target);
      auto found = read_positioned(*it, target);
      if (!found.ok()) return found.status();
      results[order[i]] = std::move(*found);
    }
    return absl::OkStatus();
  };
  // Large reads (a tree's level of pages) share the cores; small ones stay on the caller's thread.
  constexpr size_t kSeeksPerTask = 512;
  if (order.size() <= kSeeksPerTask) {
    if (auto read = read_run(0, order.size()); !read.ok()) return read;
    return results;
  }
  const size_t runs = (order.size() + kSeeksPerTask - 1) / kSeeksPerTask;
  std::vector<absl::Status> failed(runs);
  tbb::parallel_for(size_t{0}, runs, [&](size_t run) {
    failed[run] = read_run(run * kSeeksPerTask, std::min(order.size(), (run + 1) * kSeeksPerTask));
  });
  for (const absl::Status& status : failed) {
    if (!status.ok()) return status;
  }
  return results;
}

absl::Status TreeView::scan(
    Space space, std::string_view prefix,
    const std::function<bool(std::string_view key, std::string_view value)>& visit,
    std::string_view after) const {
  uint32_t key_bytes = space == Space::kNodes ? tree_.node_key_bytes : tree_.value_key_bytes;
  if (prefix.size() > key_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("tree ", in_quotes(tree_.name), ": a scan prefix of ", prefix.size(),
                     " bytes is longer than its ", key_bytes, "-byte keys"));
  }
  std::string lower = absl::StrCat(ns_, std::string(prefix));
  std::string upper = codec::prefix_successor(lower);
  rocksdb::Slice lower_slice(lower), upper_slice(upper);
  rocksdb::ReadOptions read;
  read.snapshot = snapshot_->snapshot;
  read.total_order_seek = true;
  read.iterate_lower_bound = &lower_slice;
  read.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(
      core_->db->NewIterator(read, core_->family(family_of(space))));
  const uint64_t version = version_.version;
  if (after.empty()) {
    it->Seek(lower_slice);
  } else {
    if (after.size() != key_bytes) {
      return absl::InvalidArgumentError(absl::StrCat("tree ", in_quotes(tree_.name),
                                                     ": a scan start of ", after.size(),
                                                     " bytes, its keys have ", key_bytes));
    }
    // Past every version of `after`: version 0 sorts last and is never written.
    const std::string past = codec::record_key(ns_, after, 0);
    it->Seek(past);
    if (it->Valid() && view_of(it->key()) == past) it->Next();
  }
  while (it->Valid()) {
    std::string_view found = view_of(it->key());
    if (found.size() != ns_.size() + key_bytes + codec::kVersionBytes) {
      return absl::DataLossError(absl::StrCat("tree ", in_quotes(tree_.name), ": a stored ",
                                              std::string(to_string(space)),
                                              " key has the wrong length"));
    }
    std::string key(found.substr(ns_.size(), key_bytes));
    if (codec::record_key_version(found) > version) {
      it->Seek(codec::record_key(ns_, key, version));  // newest at or below the view
      continue;
    }
    std::string_view value = view_of(it->value());
    if (value.empty() || (value[0] != codec::kLiveTag && value[0] != codec::kTombstoneTag)) {
      return absl::DataLossError("a stored record has an unknown tag");
    }
    if (value[0] == codec::kLiveTag && !visit(key, value.substr(1))) return absl::OkStatus();
    // Past this key's older versions: version 0 sorts last and is never written.
    std::string past = codec::record_key(ns_, key, 0);
    it->Seek(past);
    if (it->Valid() && view_of(it->key()) == past) it->Next();
  }
  if (!it->status().ok()) return to_status(it->status(), "scanning records");
  return absl::OkStatus();
}

}  // namespace arbor::storage
