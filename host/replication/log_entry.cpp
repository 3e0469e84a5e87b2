#include "host/replication/log_entry.hpp"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "storage/byte_fields.hpp"
#include "storage/store.hpp"

namespace arbor::replication {
namespace {

using storage::codec::append_bytes;
using storage::codec::append_u16;
using storage::codec::append_u32;
using storage::codec::append_u64;
using storage::codec::append_u8;
using storage::codec::FieldReader;

// The smallest encoded op (a delete of an empty key): kind and key length.
constexpr std::size_t kMinOpBytes = 1 + 4;
// u8 format | u16 tree length | u64 version | u32 index | u32 count | u32 entry bytes, plus tree.
constexpr std::size_t kChunkHeaderBytes = 1 + 2 + 8 + 4 + 4 + 4;
// A scheme's name (storage::TreeSpec: 1..32 bytes) and a depth no scheme comes near.
constexpr std::uint32_t kMaxSchemeBytes = 32;
constexpr std::uint32_t kMaxDepthField = 4096;

absl::Status bad(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("replication log entry: ", std::string(what)));
}

bool known_kind(std::uint8_t kind) {
  return kind >= static_cast<std::uint8_t>(LogEntry::Kind::kApply) &&
         kind <= static_cast<std::uint8_t>(LogEntry::Kind::kCreate);
}

}  // namespace

bool operator==(const LogEntry& a, const LogEntry& b) {
  const auto same_op = [](const tree::Op& x, const tree::Op& y) {
    return x.kind == y.kind && x.key == y.key && x.value == y.value;
  };
  return a.kind == b.kind && a.tree == b.tree && a.version == b.version && a.root == b.root &&
         a.label == b.label && a.idempotent_writes == b.idempotent_writes && a.scheme == b.scheme &&
         a.create.keep_versions == b.create.keep_versions &&
         a.create.max_depth == b.create.max_depth &&
         std::equal(a.ops.begin(), a.ops.end(), b.ops.begin(), b.ops.end(), same_op);
}

std::string encode_entry(const LogEntry& entry) {
  std::string out;
  append_u8(out, static_cast<std::uint8_t>(entry.kind));
  append_u64(out, entry.version);
  append_bytes(out, entry.root);
  append_bytes(out, entry.label);
  if (entry.kind == LogEntry::Kind::kCreate) {
    append_bytes(out, entry.scheme);
    append_u64(out, entry.create.keep_versions);
    append_u32(out, static_cast<std::uint32_t>(entry.create.max_depth));
  }
  append_u32(out, static_cast<std::uint32_t>(entry.ops.size()));
  for (const tree::Op& op : entry.ops) {
    append_u8(out, op.kind == tree::Op::Kind::kPut ? 0 : 1);
    append_bytes(out, op.key);
    if (op.kind == tree::Op::Kind::kPut) append_bytes(out, op.value);
  }
  append_u32(out, static_cast<std::uint32_t>(entry.idempotent_writes.size()));
  for (const std::string& identity : entry.idempotent_writes) out.append(identity);
  return out;
}

absl::StatusOr<LogEntry> decode_entry(std::string_view bytes) {
  if (bytes.size() > kMaxEntryBytes) {
    return bad(absl::StrCat(bytes.size(), " bytes, more than the ", kMaxEntryBytes, " allowed"));
  }
  FieldReader reader(bytes);
  LogEntry entry;
  const std::uint8_t kind = reader.u8();
  if (reader.ok() && !known_kind(kind)) return bad(absl::StrCat("unknown kind ", kind));
  entry.kind = static_cast<LogEntry::Kind>(kind);
  entry.version = reader.u64();
  entry.root = reader.bytes(storage::kMaxRootBytes);
  entry.label = reader.bytes(storage::kMaxLabelBytes);
  if (!reader.ok()) return bad("its header is cut short or has a root or label over the limits");
  if (entry.kind == LogEntry::Kind::kCreate) {
    entry.scheme = reader.bytes(kMaxSchemeBytes);
    entry.create.keep_versions = reader.u64();
    const std::uint32_t max_depth = reader.u32();
    if (!reader.ok())
      return bad("a create entry's scheme or shape is cut short or over the limits");
    if (max_depth > kMaxDepthField) return bad(absl::StrCat("max_depth ", max_depth, " is absurd"));
    entry.create.max_depth = static_cast<int>(max_depth);
    if (entry.version != 0) {
      return bad(absl::StrCat("a create entry is at version 0, not ", entry.version));
    }
  } else if (entry.version == 0) {
    return bad("version 0 is the empty tree, never an entry");
  }
  const std::uint32_t op_count = reader.u32();
  if (!reader.ok() || op_count > reader.remaining() / kMinOpBytes) {
    return bad(absl::StrCat("an op count of ", op_count, " does not fit in the ",
                            reader.remaining(), " bytes left"));
  }
  if (entry.kind != LogEntry::Kind::kApply && op_count != 0) {
    return bad("only an apply entry carries operations");
  }
  entry.ops.reserve(op_count);
  for (std::uint32_t i = 0; i < op_count; ++i) {
    const std::uint8_t op_kind = reader.u8();
    if (reader.ok() && op_kind > 1) return bad(absl::StrCat("op ", i, ": unknown kind ", op_kind));
    tree::Op op;
    op.kind = op_kind == 0 ? tree::Op::Kind::kPut : tree::Op::Kind::kDelete;
    op.key = reader.bytes(storage::kMaxKeyBytes);
    if (op.kind == tree::Op::Kind::kPut) op.value = reader.bytes(storage::kMaxRecordBytes);
    if (!reader.ok()) return bad(absl::StrCat("op ", i, " is cut short or over the limits"));
    entry.ops.push_back(std::move(op));
  }
  const std::uint32_t identity_count = reader.u32();
  if (!reader.ok() || static_cast<std::uint64_t>(identity_count) * storage::kWriteIdentityBytes !=
                          reader.remaining()) {
    return bad(absl::StrCat("an identity count of ", identity_count, " does not match the ",
                            reader.remaining(), " bytes left"));
  }
  if (entry.kind != LogEntry::Kind::kApply && identity_count != 0) {
    return bad("only an apply entry carries idempotent writes");
  }
  entry.idempotent_writes.reserve(identity_count);
  for (std::uint32_t i = 0; i < identity_count; ++i) {
    entry.idempotent_writes.push_back(reader.raw(storage::kWriteIdentityBytes));
  }
  return entry;
}

std::vector<std::string> frame_entry(const LogEntry& entry, std::size_t max_message_bytes) {
  const std::string bytes = encode_entry(entry);
  const std::size_t header = kChunkHeaderBytes + entry.tree.size();
  const std::size_t room = std::max<std::size_t>(max_message_bytes, 256) - header;
  const std::size_t count = std::max<std::size_t>(1, (bytes.size() + room - 1) / room);
  std::vector<std::string> messages;
  messages.reserve(count);
  for (std::size_t index = 0; index < count; ++index) {
    std::string message;
    const std::string_view payload =
        std::string_view(bytes).substr(index * room, std::min(room, bytes.size() - index * room));
    message.reserve(header + payload.size());
    append_u8(message, kLogFormat);
    append_u16(message, static_cast<std::uint16_t>(entry.tree.size()));
    message.append(entry.tree);
    append_u64(message, entry.version);
    append_u32(message, static_cast<std::uint32_t>(index));
    append_u32(message, static_cast<std::uint32_t>(count));
    append_u32(message, static_cast<std::uint32_t>(bytes.size()));
    message.append(payload);
    messages.push_back(std::move(message));
  }
  return messages;
}

absl::StatusOr<std::string> frame_whole_entry(const LogEntry& entry) {
  const std::size_t header = kChunkHeaderBytes + entry.tree.size();
  std::vector<std::string> messages = frame_entry(entry, kMaxEntryBytes + header);
  if (messages.size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("the replication log entry of tree '", entry.tree, "' version ", entry.version,
                     " is over the log's limit of ", kMaxEntryBytes, " bytes"));
  }
  return std::move(messages.front());
}

absl::StatusOr<LogEntry> unframe_whole_entry(std::string_view message) {
  EntryAssembler assembler;
  absl::StatusOr<std::optional<LogEntry>> entry = assembler.add(message);
  if (!entry.ok()) return entry.status();
  if (!entry->has_value()) return absl::DataLossError("an entry kept whole has more chunks");
  return std::move(**entry);
}

absl::StatusOr<Chunk> decode_chunk(std::string_view message) {
  FieldReader reader(message);
  const std::uint8_t format = reader.u8();
  if (reader.ok() && format != kLogFormat) {
    return absl::InvalidArgumentError(absl::StrCat("replication log message: format ", format,
                                                   "; this build reads format ", kLogFormat));
  }
  Chunk chunk;
  const std::uint16_t tree_bytes = reader.u16();
  if (tree_bytes > storage::kMaxTreeNameBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("replication log message: a tree name of ", tree_bytes, " bytes"));
  }
  chunk.tree = reader.raw(tree_bytes);
  chunk.version = reader.u64();
  chunk.index = reader.u32();
  chunk.count = reader.u32();
  chunk.entry_bytes = reader.u32();
  if (!reader.ok()) return absl::InvalidArgumentError("replication log message: cut short");
  if (chunk.count == 0 || chunk.index >= chunk.count || chunk.entry_bytes > kMaxEntryBytes) {
    return absl::InvalidArgumentError(absl::StrCat("replication log message: chunk ", chunk.index,
                                                   " of ", chunk.count, " of an entry of ",
                                                   chunk.entry_bytes, " bytes"));
  }
  chunk.payload = reader.raw_view(reader.remaining());
  return chunk;
}

absl::StatusOr<std::optional<LogEntry>> EntryAssembler::add(std::string_view message) {
  absl::StatusOr<Chunk> chunk = decode_chunk(message);
  if (!chunk.ok()) return absl::DataLossError(std::string(chunk.status().message()));
  const bool continues = expected_ != 0 && chunk->tree == tree_ && chunk->version == version_ &&
                         chunk->index == next_index_ && chunk->count == expected_ &&
                         chunk->entry_bytes == entry_bytes_;
  if (expected_ != 0 && !continues && chunk->index == 0) {
    ++abandoned_;  // a fenced appender's partial entry: the next one starts here
    expected_ = 0;
  }
  if (expected_ != 0 && !continues) {
    return absl::DataLossError(
        absl::StrCat("replication log: chunk ", chunk->index, "/", chunk->count, " of tree '",
                     chunk->tree, "' version ", chunk->version, " interrupts chunk ", next_index_,
                     "/", expected_, " of tree '", tree_, "' version ", version_));
  }
  if (expected_ == 0) {
    if (chunk->index != 0) {
      return absl::DataLossError(absl::StrCat("replication log: an entry starts at chunk ",
                                              chunk->index, " of ", chunk->count));
    }
    tree_ = chunk->tree;
    version_ = chunk->version;
    expected_ = chunk->count;
    entry_bytes_ = chunk->entry_bytes;
    next_index_ = 0;
    bytes_.clear();
  }
  if (bytes_.size() + chunk->payload.size() > entry_bytes_) {
    expected_ = 0;
    return absl::DataLossError("replication log: an entry's chunks hold more than it says");
  }
  bytes_.append(chunk->payload);
  if (++next_index_ < expected_) return std::optional<LogEntry>();
  expected_ = 0;
  if (bytes_.size() != entry_bytes_) {
    return absl::DataLossError(absl::StrCat("replication log: an entry of ", entry_bytes_,
                                            " bytes came in ", bytes_.size()));
  }
  absl::StatusOr<LogEntry> entry = decode_entry(bytes_);
  if (!entry.ok()) return absl::DataLossError(std::string(entry.status().message()));
  entry->tree = tree_;
  if (entry->version != version_) {
    return absl::DataLossError(absl::StrCat("replication log: chunks of version ", version_,
                                            " hold an entry of version ", entry->version));
  }
  return std::optional<LogEntry>(std::move(*entry));
}

std::string message_id(std::string_view tree, std::uint64_t version, std::uint32_t chunk,
                       std::uint64_t after_sequence) {
  return absl::StrCat(std::string(tree), "/", version, "/", chunk, "@", after_sequence);
}

}  // namespace arbor::replication
