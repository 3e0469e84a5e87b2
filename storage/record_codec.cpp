#include "storage/record_codec.hpp"

#include <openssl/sha.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace arbor::storage::codec {
namespace {

constexpr std::string_view kFormatMagic = "arbor-store";
constexpr uint8_t kTreeRecordLayout = 1;
// Layout 3 is layout 2 followed by the idempotent writes; a version without any keeps layout 2,
// so stores that never use idempotency keys stay readable by older builds.
constexpr uint8_t kVersionRecordLayout = 2;
constexpr uint8_t kVersionRecordLayoutWithWrites = 3;

}  // namespace

std::string tree_namespace(std::string_view tree_name) {
  std::string input = absl::StrCat("arbor-tree:", std::string(tree_name));
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), kNamespaceBytes);
}

std::string prefix_successor(std::string_view prefix) {
  std::string next(prefix);
  while (!next.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(next.back());
    if (last != 0xff) {
      ++last;
      return next;
    }
    next.pop_back();
  }
  return next;
}

std::string record_key(std::string_view ns, std::string_view key, uint64_t version) {
  std::string out;
  out.reserve(ns.size() + key.size() + kVersionBytes);
  out.append(ns);
  out.append(key);
  append_u64(out, ~version);
  return out;
}

uint64_t record_key_version(std::string_view record_key) {
  return ~read_u64(record_key.substr(record_key.size() - kVersionBytes));
}

std::string journal_prefix(std::string_view ns, uint64_t version) {
  std::string out(ns);
  append_u64(out, version);
  return out;
}

std::string journal_key(std::string_view ns, uint64_t version, uint32_t chunk) {
  std::string out = journal_prefix(ns, version);
  append_u32(out, chunk);
  return out;
}

std::optional<uint64_t> journal_key_version(std::string_view ns, std::string_view journal_key) {
  if (journal_key.size() != ns.size() + kVersionBytes + 4 || !journal_key.starts_with(ns)) {
    return std::nullopt;
  }
  return read_u64(journal_key.substr(ns.size()));
}

void append_journal_entry(std::string& chunk, Space space, std::string_view key) {
  chunk.push_back(static_cast<char>(space));
  chunk.append(key);
}

absl::StatusOr<std::vector<JournalEntry>> parse_journal_chunk(std::string_view chunk,
                                                              uint32_t node_key_bytes,
                                                              uint32_t value_key_bytes) {
  std::vector<JournalEntry> entries;
  while (!chunk.empty()) {
    auto space = static_cast<uint8_t>(chunk[0]);
    if (space > static_cast<uint8_t>(Space::kValues)) {
      return absl::DataLossError(absl::StrCat("a journal chunk names unknown space ", space));
    }
    size_t key_bytes = space == 0 ? node_key_bytes : value_key_bytes;
    if (chunk.size() < 1 + key_bytes) {
      return absl::DataLossError("a journal chunk ends inside an entry");
    }
    entries.push_back({static_cast<Space>(space), chunk.substr(1, key_bytes)});
    chunk.remove_prefix(1 + key_bytes);
  }
  return entries;
}

std::string root_key(std::string_view ns, uint64_t version) { return journal_prefix(ns, version); }

std::string tree_meta_key(std::string_view name) {
  return absl::StrCat(std::string(kTreeKeyPrefix), std::string(name));
}

std::string encode_format_record(uint32_t format_version) {
  std::string out(kFormatMagic);
  append_u32(out, format_version);
  return out;
}

absl::StatusOr<uint32_t> decode_format_record(std::string_view bytes) {
  if (bytes.size() != kFormatMagic.size() + 4 || !bytes.starts_with(kFormatMagic)) {
    return absl::DataLossError("the store's format record is corrupt");
  }
  FieldReader reader(bytes.substr(kFormatMagic.size()));
  return reader.u32();
}

std::string unreplicated_key(uint64_t id) {
  std::string key(kUnreplicatedKeyPrefix);
  append_u64(key, id);
  return key;
}

std::string encode_log_position(uint64_t position) {
  std::string out;
  append_u64(out, position);
  return out;
}

absl::StatusOr<uint64_t> decode_log_position(std::string_view bytes) {
  if (bytes.size() != 8) {
    return absl::DataLossError(absl::StrCat("the store's replication log position record has ",
                                            bytes.size(), " bytes, not 8"));
  }
  return read_u64(bytes);
}

std::string encode_tree_record(const TreeRecord& record) {
  const TreeInfo& info = record.info;
  std::string out;
  out.push_back(static_cast<char>(kTreeRecordLayout));
  append_bytes(out, record.ns);
  append_bytes(out, info.name);
  append_bytes(out, info.scheme);
  append_bytes(out, info.params);
  append_u32(out, info.node_key_bytes);
  append_u32(out, info.value_key_bytes);
  append_u64(out, info.keep_versions);
  append_u64(out, info.head_version);
  append_u64(out, info.oldest_version);
  append_bytes(out, info.head_root);
  append_u64(out, static_cast<uint64_t>(info.created_unix_ms));
  return out;
}

absl::StatusOr<TreeRecord> decode_tree_record(std::string_view bytes) {
  FieldReader reader(bytes);
  TreeRecord record;
  TreeInfo& info = record.info;
  uint8_t layout = reader.u8();
  record.ns = reader.bytes(kNamespaceBytes);
  info.name = reader.bytes(kMaxTreeNameBytes);
  info.scheme = reader.bytes(kMaxTreeNameBytes);
  info.params = reader.bytes(kMaxParamsBytes);
  info.node_key_bytes = reader.u32();
  info.value_key_bytes = reader.u32();
  info.keep_versions = reader.u64();
  info.head_version = reader.u64();
  info.oldest_version = reader.u64();
  info.head_root = reader.bytes(kMaxRootBytes);
  info.created_unix_ms = static_cast<int64_t>(reader.u64());
  if (!reader.finished_cleanly() || layout != kTreeRecordLayout ||
      record.ns.size() != kNamespaceBytes || info.node_key_bytes == 0 ||
      info.node_key_bytes > kMaxKeyBytes || info.value_key_bytes == 0 ||
      info.value_key_bytes > kMaxKeyBytes || info.oldest_version > info.head_version) {
    return absl::DataLossError(absl::StrCat("tree record of ", bytes.size(), " bytes is corrupt"));
  }
  return record;
}

std::string encode_version_record(const VersionRecord& record) {
  std::string out;
  const bool with_writes = !record.idempotent_writes.empty();
  out.push_back(
      static_cast<char>(with_writes ? kVersionRecordLayoutWithWrites : kVersionRecordLayout));
  append_u64(out, record.version);
  append_bytes(out, record.root);
  append_bytes(out, record.root_node_key);
  append_bytes(out, record.label);
  append_u64(out, static_cast<uint64_t>(record.committed_unix_ms));
  append_u64(out, record.record_count);
  append_u64(out, record.entry_count);
  if (with_writes) {
    append_u32(out, static_cast<uint32_t>(record.idempotent_writes.size()));
    for (const std::string& identity : record.idempotent_writes) out.append(identity);
  }
  return out;
}

absl::StatusOr<VersionRecord> decode_version_record(std::string_view bytes) {
  FieldReader reader(bytes);
  VersionRecord record;
  uint8_t layout = reader.u8();
  record.version = reader.u64();
  record.root = reader.bytes(kMaxRootBytes);
  record.root_node_key = reader.bytes(kMaxKeyBytes);
  record.label = reader.bytes(kMaxLabelBytes);
  record.committed_unix_ms = static_cast<int64_t>(reader.u64());
  record.record_count = reader.u64();
  record.entry_count = reader.u64();
  if (layout == kVersionRecordLayoutWithWrites) {
    const uint32_t count = reader.u32();
    // The count is checked against the bytes present before anything is allocated.
    if (count == 0 || reader.remaining() != static_cast<uint64_t>(count) * kWriteIdentityBytes) {
      return absl::DataLossError(
          absl::StrCat("version record of ", bytes.size(), " bytes is corrupt"));
    }
    record.idempotent_writes.reserve(count);
    for (uint32_t i = 0; i < count; ++i) {
      record.idempotent_writes.push_back(reader.raw(kWriteIdentityBytes));
    }
  }
  if (!reader.finished_cleanly() ||
      (layout != kVersionRecordLayout && layout != kVersionRecordLayoutWithWrites)) {
    return absl::DataLossError(
        absl::StrCat("version record of ", bytes.size(), " bytes is corrupt"));
  }
  return record;
}

}  // namespace arbor::storage::codec
