// StoreCore's journal walk and the cleanup of versions below a tree's oldest (store_core.hpp).
#include <array>
#include <map>

#include "storage/store_core.hpp"

namespace arbor::storage {

absl::Status StoreCore::walk_journal(
    const TreeInfo& info, std::string_view ns, uint64_t from, uint64_t to,
    const rocksdb::Snapshot* snapshot,
    absl::FunctionRef<absl::StatusOr<bool>(const JournalChunk&)> visit) const {
  std::string lower = codec::journal_prefix(ns, from);
  std::string upper = codec::journal_prefix(ns, to);
  rocksdb::Slice lower_slice(lower), upper_slice(upper);
  rocksdb::ReadOptions read;
  read.snapshot = snapshot;
  read.iterate_lower_bound = &lower_slice;
  read.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(read, family(kChangesFamily)));
  for (it->Seek(lower_slice); it->Valid(); it->Next()) {
    auto version = codec::journal_key_version(ns, view_of(it->key()));
    if (!version) return absl::DataLossError("a journal key of the store is malformed");
    auto entries =
        codec::parse_journal_chunk(view_of(it->value()), info.node_key_bytes, info.value_key_bytes);
    if (!entries.ok()) {
      return absl::DataLossError(absl::StrCat("tree ", in_quotes(info.name), ": ",
                                              std::string(entries.status().message())));
    }
    absl::StatusOr<bool> more = visit(JournalChunk{*version, view_of(it->key()), *entries});
    if (!more.ok()) return more.status();
    if (!*more) return absl::OkStatus();
  }
  if (!it->status().ok()) return to_status(it->status(), "reading the journal");
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> StoreCore::clean_below(const TreeState& tree) {
  std::lock_guard cleanup_lock(cleanup_mutex);
  // A dropped tree's namespace may already belong to a new tree of the same name.
  if (tree.dropped) return 0;
  const std::string& ns = tree.ns;
  const TreeInfo info = tree.snapshot_info();
  rocksdb::ReadOptions record_read;
  record_read.prefix_same_as_start = true;
  std::array<std::unique_ptr<rocksdb::Iterator>, 2> records;
  // Keys already cleaned in this batch, with the version they were cleaned at: the record
  // iterators do not see this batch's deletions, so a key's older records are not deleted twice.
  std::map<std::pair<Space, std::string>, uint64_t> cleaned;
  auto refresh = [&] {
    for (Space space : {Space::kNodes, Space::kValues}) {
      records[static_cast<int>(space)].reset(
          db->NewIterator(record_read, family(family_of(space))));
    }
    cleaned.clear();
  };
  refresh();

  uint64_t deleted = 0;
  rocksdb::WriteBatch batch;
  absl::Status walked = walk_journal(
      info, ns, 0, info.oldest_version, nullptr,
      [&](const JournalChunk& chunk) -> absl::StatusOr<bool> {
        for (const auto& entry : chunk.entries) {
          auto& record = *records[static_cast<int>(entry.space)];
          auto [previous, first_time] =
              cleaned.try_emplace({entry.space, std::string(entry.key)}, chunk.version);
          const bool seen_before = !first_time;
          const uint64_t cleaned_at = previous->second;
          previous->second = chunk.version;
          std::string target = codec::record_key(ns, entry.key, chunk.version);
          for (record.Seek(target); record.Valid(); record.Next()) {
            std::string_view key = view_of(record.key());
            if (key.size() != target.size()) break;
            uint64_t version = codec::record_key_version(key);
            bool tombstone = !record.value().empty() && record.value()[0] == codec::kTombstoneTag;
            if (seen_before && version < cleaned_at) break;  // deleted earlier in this batch
            bool drop = version == chunk.version
                            ? tombstone
                            : !(seen_before && version == cleaned_at && tombstone);
            if (drop) {
              batch.Delete(family(family_of(entry.space)), record.key());
              ++deleted;
            }
          }
          if (!record.status().ok()) {
            return to_status(record.status(), "cleaning up pruned versions");
          }
        }
        batch.Delete(family(kChangesFamily), slice(chunk.key));
        if (static_cast<size_t>(batch.Count()) >= kCleanupBatchEntries) {
          if (auto written = write(batch, "cleaning up pruned versions", Durability::kBackground);
              !written.ok()) {
            return written;
          }
          batch.Clear();
          // Closing the store should not wait for a long cleanup; the next open resumes it.
          if (stopping) return false;
          refresh();
        }
        return true;
      });
  if (!walked.ok()) return walked;
  if (batch.Count() > 0) {
    if (auto written = write(batch, "cleaning up pruned versions", Durability::kBackground);
        !written.ok()) {
      return written;
    }
  }
  records_pruned.fetch_add(deleted, std::memory_order_relaxed);
  return deleted;
}

}  // namespace arbor::storage
