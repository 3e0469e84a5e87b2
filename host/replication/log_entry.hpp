// The replication log's entries and their framing into messages (issue 18;
// host/replication/README.md).
//
// A leader appends, after each local change of a tree, one entry saying what a follower must do to
// make the same change: the logical operations of a version (not its records, so a follower
// computes every hash itself and compares the root it gets with the leader's), a rollback or a
// prune. An entry is cut into chunks that each fit one JetStream message (1 MB by default); chunks
// of one entry are appended one after the other, so a reader reassembles them in stream order.
//
// Message layout (integers big-endian):
//   u8 format (1) | u16 tree length | tree | u64 version | u32 chunk index | u32 chunk count |
//   u32 entry bytes | payload (a slice of the entry bytes)
// Entry layout:
//   u8 kind | u64 version | u32+root | u32+label | u32 op count | ops | u32 identity count |
//   identities (32 bytes each); kCreate adds, after the label, u32+scheme | u64 keep_versions |
//   u32 max_depth (and carries no ops or identities)
//   op: u8 kind (0 put, 1 delete) | u32+key | u32+value (puts only)
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "host/tree/tree.hpp"

namespace arbor::replication {

inline constexpr std::uint8_t kLogFormat = 1;
// JetStream's default max_payload (1 MiB) counts the message's headers too (its id, the expected
// sequence): a chunk leaves them 4 KiB. JetStreamLog::max_message_bytes() says it for a server.
inline constexpr std::size_t kMessageHeaderRoom = 4096;
inline constexpr std::size_t kDefaultMaxMessageBytes = (1u << 20) - kMessageHeaderRoom;
// An entry is at most this large: a version's operations as one gRPC write could carry them
// (64 MiB) with room for their framing. Larger claims are refused before anything is allocated.
inline constexpr std::size_t kMaxEntryBytes = 96u << 20;

struct LogEntry {
  enum class Kind : std::uint8_t {
    kApply = 1,     // `version` is new: apply `ops` on version - 1, the root must equal `root`
    kRollback = 2,  // make retained `version` the head again; `root` is its root
    kPrune = 3,     // make `version` the oldest retained
    kCreate = 4,    // a new tree of `scheme` shaped by `create`; `version` is 0
  };
  Kind kind = Kind::kApply;
  std::string tree;
  std::uint64_t version = 0;
  std::string root;           // the leader's root bytes at `version` (kApply, kRollback)
  std::string label;          // kApply
  std::vector<tree::Op> ops;  // kApply
  std::vector<std::string> idempotent_writes;  // kApply: identities, 32 bytes each
  std::string scheme;                          // kCreate
  tree::CreateOptions create;                  // kCreate: keep_versions, max_depth
};
bool operator==(const LogEntry& a, const LogEntry& b);

// The entry's bytes (without chunk framing) and back. Decoding refuses unknown kinds, fields over
// the store's limits, counts the remaining bytes cannot hold (before allocating), and trailing
// bytes, each with INVALID_ARGUMENT naming the field; its cost is linear in the input.
std::string encode_entry(const LogEntry& entry);
absl::StatusOr<LogEntry> decode_entry(std::string_view bytes);

// The messages of `entry`, each at most `max_message_bytes` (at least 256).
std::vector<std::string> frame_entry(const LogEntry& entry,
                                     std::size_t max_message_bytes = kDefaultMaxMessageBytes);

// `entry` as one message, whatever its size (INVALID_ARGUMENT over kMaxEntryBytes), and back:
// how a leader keeps an entry it has yet to append (replication.ack = "leader").
absl::StatusOr<std::string> frame_whole_entry(const LogEntry& entry);
absl::StatusOr<LogEntry> unframe_whole_entry(std::string_view message);

// One decoded message.
struct Chunk {
  std::string tree;
  std::uint64_t version = 0;
  std::uint32_t index = 0;
  std::uint32_t count = 0;
  std::uint32_t entry_bytes = 0;
  std::string_view payload;  // points into the message
};
absl::StatusOr<Chunk> decode_chunk(std::string_view message);

// Reassembles entries from messages read in stream order. The first chunk of a new entry while
// another is under way abandons that one: its appender was fenced part way (it never acknowledged
// it), and the next leader appended after its chunks. Any other chunk that does not continue the
// entry under way (another tree or version, an index out of turn, sizes that disagree) is
// DATA_LOSS: the log was not written by one appender in order.
class EntryAssembler {
 public:
  // The entry, once `message` completed one; nullopt while more chunks are needed.
  absl::StatusOr<std::optional<LogEntry>> add(std::string_view message);
  bool in_progress() const { return expected_ != 0; }
  // Entries abandoned part way so far.
  std::uint64_t abandoned() const { return abandoned_; }

 private:
  std::string tree_;
  std::uint64_t version_ = 0;
  std::uint32_t next_index_ = 0;
  std::uint32_t expected_ = 0;  // chunk count of the entry under way; 0: none
  std::uint32_t entry_bytes_ = 0;
  std::string bytes_;
  std::uint64_t abandoned_ = 0;
};

// The message id JetStream deduplicates by: tree, version, chunk and the stream sequence the entry
// is appended after, so a retried append is recognised while a version number reused after a
// rollback is not mistaken for the old one.
std::string message_id(std::string_view tree, std::uint64_t version, std::uint32_t chunk,
                       std::uint64_t after_sequence);

}  // namespace arbor::replication
