// The replication log's entries and chunks (host/replication/log_entry.hpp): round trips of every
// kind through framing at several message sizes, and every malformed input refused.
#include "host/replication/log_entry.hpp"

#include <gtest/gtest.h>

#include <random>

#include "storage/byte_fields.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::replication {
namespace {

std::string random_bytes(std::mt19937_64& rng, std::size_t size) {
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(rng());
  return bytes;
}

LogEntry random_apply(std::mt19937_64& rng, std::size_t ops, std::size_t value_bytes) {
  LogEntry entry;
  entry.kind = LogEntry::Kind::kApply;
  entry.tree = "accounts";
  entry.version = 1 + rng() % 1000;
  entry.root = random_bytes(rng, 32);
  entry.label = "block-" + std::to_string(rng() % 100000);
  for (std::size_t i = 0; i < ops; ++i) {
    if (rng() % 4 == 0) {
      entry.ops.push_back(tree::Op::erase(random_bytes(rng, 32)));
    } else {
      entry.ops.push_back(tree::Op::put(random_bytes(rng, 32), random_bytes(rng, value_bytes)));
    }
  }
  for (std::size_t i = 0; i < rng() % 3; ++i)
    entry.idempotent_writes.push_back(random_bytes(rng, 32));
  return entry;
}

// The entry from its messages, fed in order to one assembler.
LogEntry reassembled(const std::vector<std::string>& messages) {
  EntryAssembler assembler;
  std::optional<LogEntry> out;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    absl::StatusOr<std::optional<LogEntry>> added = assembler.add(messages[i]);
    EXPECT_TRUE(added.ok()) << added.status();
    if (!added.ok()) return {};
    EXPECT_EQ(added->has_value(), i + 1 == messages.size()) << "chunk " << i;
    if (added->has_value()) out = std::move(**added);
  }
  EXPECT_FALSE(assembler.in_progress());
  return out.value_or(LogEntry{});
}

TEST(LogEntry, EveryKindRoundTripsThroughChunksOfEverySize) {
  auto rng = testing::seeded_rng("LogEntry.RoundTrip");
  LogEntry rollback;
  rollback.kind = LogEntry::Kind::kRollback;
  rollback.tree = "t";
  rollback.version = 7;
  rollback.root = random_bytes(rng, 32);
  LogEntry prune;
  prune.kind = LogEntry::Kind::kPrune;
  prune.tree = std::string(128, 'p');
  prune.version = 3;
  LogEntry create;
  create.kind = LogEntry::Kind::kCreate;
  create.tree = "accounts";
  create.scheme = "verkle";
  create.create.keep_versions = 1000;
  create.create.max_depth = 0;
  LogEntry create_smt = create;
  create_smt.scheme = "smt";
  create_smt.create.max_depth = 64;
  for (const LogEntry& entry :
       {random_apply(rng, 0, 0), random_apply(rng, 1, 32), random_apply(rng, 500, 40),
        random_apply(rng, 20, 70000), rollback, prune, create, create_smt}) {
    for (std::size_t max_message : {std::size_t{256}, std::size_t{4096}, kDefaultMaxMessageBytes}) {
      const std::vector<std::string> messages = frame_entry(entry, max_message);
      for (const std::string& message : messages) EXPECT_LE(message.size(), max_message);
      EXPECT_EQ(reassembled(messages), entry) << "max message " << max_message;
    }
  }
}

TEST(LogEntry, AVersionOfManyMegabytesIsChunkedToTheMessageLimit) {
  auto rng = testing::seeded_rng("LogEntry.Large");
  const LogEntry entry = random_apply(rng, 60000, 64);  // ~5.8 MB
  const std::vector<std::string> messages = frame_entry(entry);
  EXPECT_GE(messages.size(), 5u);
  for (const std::string& message : messages) EXPECT_LE(message.size(), kDefaultMaxMessageBytes);
  EXPECT_EQ(reassembled(messages), entry);
}

// ack = "leader" keeps an entry whole, with its tree, in the store until the log has it.
TEST(LogEntry, AnEntryKeptWholeRoundTripsWithItsTree) {
  auto rng = testing::seeded_rng("LogEntry.Whole");
  for (const LogEntry& entry : {random_apply(rng, 0, 0), random_apply(rng, 60000, 64)}) {
    absl::StatusOr<std::string> kept = frame_whole_entry(entry);
    ASSERT_TRUE(kept.ok()) << kept.status();
    absl::StatusOr<LogEntry> back = unframe_whole_entry(*kept);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->tree, "accounts");
    EXPECT_EQ(*back, entry);
    EXPECT_FALSE(unframe_whole_entry(kept->substr(0, kept->size() - 1)).ok());
  }
  // One of several chunks is not an entry kept whole.
  const std::vector<std::string> chunks = frame_entry(random_apply(rng, 100, 64), 1024);
  ASSERT_GT(chunks.size(), 1u);
  EXPECT_EQ(unframe_whole_entry(chunks.front()).status().code(), absl::StatusCode::kDataLoss);
}

TEST(LogEntry, EveryCutOfAnEntryIsRefused) {
  auto rng = testing::seeded_rng("LogEntry.Cuts");
  const std::string bytes = encode_entry(random_apply(rng, 5, 20));
  ASSERT_TRUE(decode_entry(bytes).ok());
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    EXPECT_EQ(decode_entry(bytes.substr(0, cut)).status().code(),
              absl::StatusCode::kInvalidArgument)
        << "cut at " << cut;
  }
  EXPECT_FALSE(decode_entry(bytes + "x").ok()) << "trailing bytes";
}

TEST(LogEntry, ImpossibleCountsAndFieldsAreRefusedBeforeAllocating) {
  using storage::codec::append_bytes;
  using storage::codec::append_u32;
  using storage::codec::append_u64;
  auto header = [](std::uint8_t kind, std::uint64_t version) {
    std::string out(1, static_cast<char>(kind));
    append_u64(out, version);
    append_bytes(out, std::string(32, 'r'));
    append_bytes(out, "");
    return out;
  };
  std::string huge_ops = header(1, 5);
  append_u32(huge_ops, 0xffffffffu);
  EXPECT_NE(decode_entry(huge_ops).status().message().find("op count of 4294967295"),
            std::string::npos);
  std::string huge_identities = header(1, 5);
  append_u32(huge_identities, 0);
  append_u32(huge_identities, 0x7fffffffu);
  EXPECT_NE(decode_entry(huge_identities).status().message().find("identity count"),
            std::string::npos);
  std::string unknown_kind = header(9, 5);
  EXPECT_NE(decode_entry(unknown_kind).status().message().find("unknown kind 9"),
            std::string::npos);
  std::string version_zero = header(1, 0);
  append_u32(version_zero, 0);
  append_u32(version_zero, 0);
  EXPECT_NE(decode_entry(version_zero).status().message().find("version 0"), std::string::npos);
  std::string rollback_with_ops = header(2, 5);
  append_u32(rollback_with_ops, 1);
  rollback_with_ops.push_back(1);
  append_bytes(rollback_with_ops, "k");
  append_u32(rollback_with_ops, 0);
  EXPECT_NE(decode_entry(rollback_with_ops).status().message().find("only an apply"),
            std::string::npos);
  std::string create_at_five = header(4, 5);
  append_bytes(create_at_five, "smt");
  append_u64(create_at_five, 0);
  append_u32(create_at_five, 0);
  append_u32(create_at_five, 0);
  append_u32(create_at_five, 0);
  EXPECT_NE(decode_entry(create_at_five).status().message().find("version 0"), std::string::npos);
  std::string create_long_scheme = header(4, 0);
  append_bytes(create_long_scheme, std::string(33, 's'));
  EXPECT_FALSE(decode_entry(create_long_scheme).ok());
  std::string create_with_ops = header(4, 0);
  append_bytes(create_with_ops, "smt");
  append_u64(create_with_ops, 0);
  append_u32(create_with_ops, 0);
  append_u32(create_with_ops, 1);
  create_with_ops.push_back(1);
  append_bytes(create_with_ops, "k");
  append_u32(create_with_ops, 0);
  EXPECT_NE(decode_entry(create_with_ops).status().message().find("only an apply"),
            std::string::npos);
  std::string long_root(1, 1);
  append_u64(long_root, 5);
  append_u32(long_root, 5000);  // over kMaxRootBytes, and more than is there
  EXPECT_FALSE(decode_entry(long_root).ok());
}

TEST(LogEntry, ChunksOutOfTurnAreDataLoss) {
  auto rng = testing::seeded_rng("LogEntry.OutOfTurn");
  const std::vector<std::string> first = frame_entry(random_apply(rng, 200, 40), 1024);
  LogEntry other = random_apply(rng, 200, 40);
  other.version += 1000;
  const std::vector<std::string> second = frame_entry(other, 1024);
  ASSERT_GE(first.size(), 3u);
  {
    EntryAssembler assembler;  // starts in the middle of an entry
    EXPECT_EQ(assembler.add(first[1]).status().code(), absl::StatusCode::kDataLoss);
  }
  {
    EntryAssembler assembler;  // a chunk of the middle of another entry interrupts
    ASSERT_TRUE(assembler.add(first[0]).ok());
    EXPECT_EQ(assembler.add(second[1]).status().code(), absl::StatusCode::kDataLoss);
  }
  {
    // Another entry starts: the first was a fenced appender's partial entry, abandoned.
    EntryAssembler assembler;
    ASSERT_TRUE(assembler.add(first[0]).ok());
    ASSERT_TRUE(assembler.add(first[1]).ok());
    std::optional<LogEntry> joined;
    for (const std::string& message : second) {
      absl::StatusOr<std::optional<LogEntry>> added = assembler.add(message);
      ASSERT_TRUE(added.ok()) << added.status();
      if (added->has_value()) joined = std::move(**added);
    }
    EXPECT_EQ(joined, other);
    EXPECT_EQ(assembler.abandoned(), 1u);
  }
  {
    EntryAssembler assembler;  // a chunk skipped
    ASSERT_TRUE(assembler.add(first[0]).ok());
    EXPECT_EQ(assembler.add(first[2]).status().code(), absl::StatusCode::kDataLoss);
  }
  {
    EntryAssembler assembler;  // a chunk repeated
    ASSERT_TRUE(assembler.add(first[0]).ok());
    ASSERT_TRUE(assembler.add(first[1]).ok());
    EXPECT_EQ(assembler.add(first[1]).status().code(), absl::StatusCode::kDataLoss);
  }
  for (std::size_t cut = 0; cut < 24; ++cut) {
    EntryAssembler assembler;
    EXPECT_EQ(assembler.add(first[0].substr(0, cut)).status().code(), absl::StatusCode::kDataLoss)
        << "a message cut at " << cut;
  }
  std::string other_format = first[0];
  other_format[0] = 2;
  EXPECT_NE(decode_chunk(other_format).status().message().find("format 2"), std::string::npos);
}

TEST(LogEntry, MessageIdsTellRetriesFromVersionsReusedAfterARollback) {
  EXPECT_EQ(message_id("t", 5, 0, 41), "t/5/0@41");
  EXPECT_EQ(message_id("t", 5, 0, 41), message_id("t", 5, 0, 41));  // the same append, retried
  EXPECT_NE(message_id("t", 5, 0, 41), message_id("t", 5, 0, 44));  // version 5 again, later
  EXPECT_NE(message_id("t", 5, 0, 41), message_id("t", 5, 1, 41));
}

}  // namespace
}  // namespace arbor::replication
