// The replication log's decoders (host/replication/log_entry.hpp): entries, chunk messages and
// the assembler that joins chunks read in stream order. The first input byte picks one; for the
// assembler the rest is a run of messages, each a u16 length and its bytes.
//
// Properties: memory in proportion to the input; an accepted entry encodes back to exactly its
// bytes and only an apply carries operations; an accepted chunk has its index below its count;
// refusals are INVALID_ARGUMENT (entries, chunks) or DATA_LOSS (the assembler: a log that was not
// written in order) with a message; an entry the assembler completes has exactly the bytes its
// chunks announced and re-frames to chunks that assemble to it again.
#include <cstdint>
#include <string>
#include <vector>

#include "host/replication/log_entry.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace arbor::fuzz {
namespace {

using replication::LogEntry;

enum Kind : std::uint8_t { kEntry, kChunk, kAssembler, kKinds };

void entry(std::string_view bytes) {
  AllocationMeter meter;
  absl::StatusOr<LogEntry> decoded = replication::decode_entry(bytes);
  check_allocation(meter, bytes.size(), "decode_entry");
  if (!decoded.ok()) {
    return check_refusal(decoded.status(), "decode_entry", {absl::StatusCode::kInvalidArgument});
  }
  check(replication::encode_entry(*decoded) == bytes, "an entry re-encodes to its bytes");
  check(decoded->kind == LogEntry::Kind::kApply ||
            (decoded->ops.empty() && decoded->idempotent_writes.empty()),
        "only an apply entry carries operations");
  check((decoded->kind == LogEntry::Kind::kCreate) == (decoded->version == 0),
        "a create entry, and only it, is at version 0");
}

void chunk(std::string_view bytes) {
  absl::StatusOr<replication::Chunk> decoded = replication::decode_chunk(bytes);
  if (!decoded.ok()) {
    return check_refusal(decoded.status(), "decode_chunk", {absl::StatusCode::kInvalidArgument});
  }
  check(decoded->index < decoded->count, "a chunk's index is below its count");
}

void assembler(std::string_view bytes) {
  AllocationMeter meter;
  const std::size_t input_bytes = bytes.size();
  replication::EntryAssembler joined;
  std::size_t payload_bytes = 0;
  while (bytes.size() >= 2) {
    const std::size_t length =
        static_cast<std::uint8_t>(bytes[0]) << 8 | static_cast<std::uint8_t>(bytes[1]);
    const std::string_view message = bytes.substr(2, length);
    bytes.remove_prefix(std::min(bytes.size(), 2 + length));
    if (absl::StatusOr<replication::Chunk> chunk = replication::decode_chunk(message); chunk.ok()) {
      payload_bytes += chunk->payload.size();
    }
    absl::StatusOr<std::optional<LogEntry>> added = joined.add(message);
    if (!added.ok()) {
      return check_refusal(added.status(), "EntryAssembler::add", {absl::StatusCode::kDataLoss});
    }
    if (!added->has_value()) continue;
    const LogEntry& entry = **added;
    check(replication::encode_entry(entry).size() <= payload_bytes,
          "a completed entry is no larger than the payloads that made it");
    replication::EntryAssembler again;
    std::optional<LogEntry> back;
    for (const std::string& reframed : replication::frame_entry(entry, 512)) {
      absl::StatusOr<std::optional<LogEntry>> step = again.add(reframed);
      check(step.ok(), "a re-framed entry assembles", step.status().ToString());
      if (step->has_value()) back = std::move(**step);
    }
    check(back.has_value() && *back == entry, "a re-framed entry assembles to itself");
    payload_bytes = 0;
  }
  check_allocation(meter, input_bytes, "EntryAssembler");
}

LogEntry sample_entry() {
  LogEntry entry;
  entry.tree = "accounts";
  entry.version = 7;
  entry.root = std::string(32, 'r');
  entry.label = "block-7";
  entry.ops.push_back(tree::Op::put(std::string(32, 'k'), std::string(32, 'v')));
  entry.ops.push_back(tree::Op::erase(std::string(32, 'e')));
  entry.idempotent_writes.push_back(std::string(32, 'i'));
  return entry;
}

}  // namespace

std::vector<std::string> seeds() {
  const LogEntry entry = sample_entry();
  std::vector<std::string> out;
  out.push_back(with_selector(kEntry, replication::encode_entry(entry)));
  const std::vector<std::string> messages = replication::frame_entry(entry, 256);
  out.push_back(with_selector(kChunk, messages.front()));
  std::string run;
  for (const std::string& message : messages) {
    run.push_back(static_cast<char>(message.size() >> 8));
    run.push_back(static_cast<char>(message.size()));
    run += message;
  }
  out.push_back(with_selector(kAssembler, run));
  LogEntry create;
  create.kind = LogEntry::Kind::kCreate;
  create.tree = "accounts";
  create.scheme = "smt";
  create.create.keep_versions = 100;
  create.create.max_depth = 64;
  out.push_back(with_selector(kEntry, replication::encode_entry(create)));
  return out;
}

void test_one(std::string_view input) {
  const std::optional<Selected> in = split_selector(input);
  if (!in) return;
  switch (in->selector % kKinds) {
    case kEntry:
      entry(in->rest);
      break;
    case kChunk:
      chunk(in->rest);
      break;
    case kAssembler:
      assembler(in->rest);
      break;
  }
}

}  // namespace arbor::fuzz
