// Byte layouts of the store's keys and records (see storage/README.md, "Layout").
// Internal to storage/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/byte_fields.hpp"
#include "storage/store.hpp"

namespace arbor::storage::codec {

inline constexpr size_t kNamespaceBytes = 8;
inline constexpr size_t kVersionBytes = 8;

// Fixed-length tree namespace: the first 8 bytes of SHA-256("arbor-tree:" + name).
std::string tree_namespace(std::string_view tree_name);
// Smallest key greater than every key that starts with `prefix`; empty when there is none.
std::string prefix_successor(std::string_view prefix);

// nodes / values: ns | key | ~version. Inverting the version puts the newest first, so one Seek
// finds the newest record at or below a version.
std::string record_key(std::string_view ns, std::string_view key, uint64_t version);
uint64_t record_key_version(std::string_view record_key);
// changes: ns | version | chunk — the journal of what each version wrote: chunks of up to
// kJournalChunkEntries (space, key) pairs. Keys have the tree's fixed lengths, so entries need no
// separators. One record per chunk, not per key, keeps a commit's extra writes small.
inline constexpr size_t kJournalChunkEntries = 4096;
std::string journal_prefix(std::string_view ns, uint64_t version);
std::string journal_key(std::string_view ns, uint64_t version, uint32_t chunk);
// The version of a journal key of namespace `ns`; nullopt when malformed.
std::optional<uint64_t> journal_key_version(std::string_view ns, std::string_view journal_key);
void append_journal_entry(std::string& chunk, Space space, std::string_view key);
struct JournalEntry {
  Space space;
  std::string_view key;  // points into the chunk
};
absl::StatusOr<std::vector<JournalEntry>> parse_journal_chunk(std::string_view chunk,
                                                              uint32_t node_key_bytes,
                                                              uint32_t value_key_bytes);
// roots: ns | version
std::string root_key(std::string_view ns, uint64_t version);
// meta
inline constexpr std::string_view kFormatKey = "format";
inline constexpr std::string_view kTreeKeyPrefix = "tree/";
// The replication log position (Store::log_position): u64, big-endian.
inline constexpr std::string_view kLogPositionKey = "replication/position";
// Entries committed before the replication log had them: prefix ‖ u64 id, big-endian.
inline constexpr std::string_view kUnreplicatedKeyPrefix = "replication/unreplicated/";
std::string unreplicated_key(uint64_t id);
std::string encode_log_position(uint64_t position);
absl::StatusOr<uint64_t> decode_log_position(std::string_view bytes);
std::string tree_meta_key(std::string_view name);
std::string encode_format_record(uint32_t format_version);
absl::StatusOr<uint32_t> decode_format_record(std::string_view bytes);

// Stored record values start with a tag: live data or a tombstone.
inline constexpr char kLiveTag = 1;
inline constexpr char kTombstoneTag = 0;

struct TreeRecord {
  TreeInfo info;
  std::string ns;
};
std::string encode_tree_record(const TreeRecord& record);
absl::StatusOr<TreeRecord> decode_tree_record(std::string_view bytes);
std::string encode_version_record(const VersionRecord& record);
absl::StatusOr<VersionRecord> decode_version_record(std::string_view bytes);

}  // namespace arbor::storage::codec
