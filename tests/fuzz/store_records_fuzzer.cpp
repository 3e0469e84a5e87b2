// The store's record decoders: the registry (tree records), version records, the format record,
// the journal (chunks and keys), SMT nodes, pages and parameters, Verkle nodes. The first input
// byte picks the decoder, the rest is the record.
//
// Properties: every record a decoder accepts encodes back to exactly its bytes (parameters, which
// are JSON text, to a canonical text that decodes the same); what it refuses is DATA_LOSS with a
// message (these are the store's own records: damage, not bad requests); nothing it accepts
// breaks the invariants its readers rely on (namespace length, key lengths, oldest <= head,
// journal keys of the declared lengths).
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "host/smt/node_pages.hpp"
#include "host/smt/smt_records.hpp"
#include "host/verkle/verkle_records.hpp"
#include "storage/record_codec.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace arbor::fuzz {
namespace {

namespace codec = storage::codec;

enum Kind : std::uint8_t {
  kTreeRecord,
  kVersionRecord,
  kFormatRecord,
  kJournalChunkSmt,
  kJournalChunkVerkle,
  kJournalKey,
  kSmtNode,
  kSmtParams,
  kVerkleNode,
  kSmtPage,
  kKinds
};

void refused(const absl::Status& status, std::string_view what) {
  check_refusal(status, what, {absl::StatusCode::kDataLoss});
}

void tree_record(std::string_view bytes) {
  absl::StatusOr<codec::TreeRecord> record = codec::decode_tree_record(bytes);
  if (!record.ok()) return refused(record.status(), "decode_tree_record");
  check(codec::encode_tree_record(*record) == bytes, "a tree record re-encodes to its bytes");
  const storage::TreeInfo& info = record->info;
  check(record->ns.size() == codec::kNamespaceBytes && info.node_key_bytes > 0 &&
            info.value_key_bytes > 0 && info.oldest_version <= info.head_version,
        "an accepted tree record keeps the registry's invariants");
}

void version_record(std::string_view bytes) {
  absl::StatusOr<storage::VersionRecord> record = codec::decode_version_record(bytes);
  if (!record.ok()) return refused(record.status(), "decode_version_record");
  check(codec::encode_version_record(*record) == bytes, "a version record re-encodes");
}

void format_record(std::string_view bytes) {
  absl::StatusOr<std::uint32_t> version = codec::decode_format_record(bytes);
  if (!version.ok()) return refused(version.status(), "decode_format_record");
  check(codec::encode_format_record(*version) == bytes, "a format record re-encodes");
}

void journal_chunk(std::string_view bytes, std::uint32_t node_key_bytes,
                   std::uint32_t value_key_bytes) {
  absl::StatusOr<std::vector<codec::JournalEntry>> entries =
      codec::parse_journal_chunk(bytes, node_key_bytes, value_key_bytes);
  if (!entries.ok()) return refused(entries.status(), "parse_journal_chunk");
  std::string again;
  for (const codec::JournalEntry& entry : *entries) {
    const std::uint32_t expected =
        entry.space == storage::Space::kNodes ? node_key_bytes : value_key_bytes;
    check(entry.key.size() == expected, "journal entries have their space's key length");
    codec::append_journal_entry(again, entry.space, entry.key);
  }
  check(again == bytes, "a journal chunk re-encodes to its bytes");
}

void journal_key(std::string_view bytes) {
  const std::string ns = codec::tree_namespace("t");
  const std::string key = ns + std::string(bytes);
  const std::optional<std::uint64_t> version = codec::journal_key_version(ns, key);
  const std::optional<std::uint64_t> foreign =
      codec::journal_key_version(codec::tree_namespace("u"), key);
  check(!foreign, "a journal key of another namespace is not read as ours");
  if (!version) {
    check(bytes.size() != codec::kVersionBytes + 4, "a journal key of the right length parses");
    return;
  }
  std::uint32_t chunk = 0;
  for (char c : bytes.substr(codec::kVersionBytes))
    chunk = chunk << 8 | static_cast<std::uint8_t>(c);
  check(codec::journal_key(ns, *version, chunk) == key, "a journal key re-encodes");
  check(codec::journal_prefix(ns, *version) == key.substr(0, key.size() - 4),
        "a journal key starts with its version's prefix");
}

void smt_node(std::string_view bytes) {
  absl::StatusOr<smt::NodeRecord> node = smt::decode_node(bytes, "node");
  if (!node.ok()) return refused(node.status(), "smt::decode_node");
  const std::string again = node->kind == smt::NodeRecord::Kind::kLeaf
                                ? smt::encode_leaf(node->first, node->second)
                                : smt::encode_internal(node->first, node->second);
  check(node->kind != smt::NodeRecord::Kind::kEmpty, "a decoded SMT node is a leaf or internal");
  check(again == bytes, "an SMT node re-encodes to its bytes");
}

void smt_params(std::string_view bytes) {
  absl::StatusOr<smt::SmtParams> params = smt::decode_params(bytes);
  if (!params.ok()) return refused(params.status(), "smt::decode_params");
  check(params->max_depth >= 1 && params->max_depth <= smt::kMaxDepthLimit,
        "decoded SMT parameters are in range");
  const std::string text = smt::encode_params(*params);
  absl::StatusOr<smt::SmtParams> again = smt::decode_params(text);
  check(again.ok() && again->max_depth == params->max_depth &&
            again->page_levels == params->page_levels && smt::encode_params(*again) == text,
        "SMT parameters re-encode canonically");
}

// The first byte picks the page height (1..6).
void smt_page(std::string_view bytes) {
  if (bytes.empty()) return;
  const int levels = 1 + static_cast<std::uint8_t>(bytes[0]) % smt::kMaxPageLevels;
  const std::string_view record = bytes.substr(1);
  absl::StatusOr<smt::NodePage> page = smt::NodePage::decode(std::string(record), levels, "page");
  if (!page.ok()) return refused(page.status(), "smt::NodePage::decode");
  check(!page->empty() && page->encode() == record, "an SMT page re-encodes to its bytes");
  for (int slot = 0; slot < (1 << levels) - 1; ++slot) {
    const auto node = page->record(slot);
    check(!node || node->size() == smt::kNodeRecordBytes, "a page's slots are node-sized");
  }
}

void verkle_node(std::string_view bytes) {
  absl::StatusOr<verkle::VerkleNode> node = verkle::decode_node(bytes);
  if (!node.ok()) return refused(node.status(), "verkle::decode_node");
  check(verkle::encode_node(*node) == bytes, "a Verkle node re-encodes to its bytes");
  if (const auto* internal = std::get_if<verkle::InternalNode>(&*node)) {
    for (std::size_t i = 0; i < verkle::kNodeWidth; ++i) {
      check(internal->kinds[i] != verkle::ChildKind::kEmpty || internal->child_hashes[i].is_zero(),
            "an empty child has no hash");
    }
  } else {
    check(std::get<verkle::LeafNode>(*node).present.any(), "a decoded leaf holds a value");
  }
}

}  // namespace

// One valid record of each kind, with its selector byte.
std::vector<std::string> seeds() {
  std::vector<std::string> out;
  auto add = [&](Kind kind, const std::string& record) {
    out.push_back(with_selector(kind, record));
  };
  codec::TreeRecord tree;
  tree.ns = codec::tree_namespace("accounts");
  tree.info = {"accounts", "smt", smt::encode_params({32}), 33,           32, 10,
               7,          3,     std::string(32, 'r'),     1700000000000};
  add(kTreeRecord, codec::encode_tree_record(tree));
  add(kVersionRecord, codec::encode_version_record({7, std::string(32, 'r'), std::string(33, 'k'),
                                                    "block-7", 1700, 12, 99}));
  add(kFormatRecord, codec::encode_format_record(1));
  std::string chunk;
  codec::append_journal_entry(chunk, storage::Space::kNodes, std::string(33, 'n'));
  codec::append_journal_entry(chunk, storage::Space::kValues, std::string(32, 'v'));
  add(kJournalChunkSmt, chunk);
  std::string verkle_chunk;
  codec::append_journal_entry(verkle_chunk, storage::Space::kNodes, std::string(32, 'n'));
  add(kJournalChunkVerkle, verkle_chunk);
  add(kJournalKey, codec::journal_key("", 42, 3));
  add(kSmtNode, smt::encode_leaf(field::from_u64(5), field::from_u64(55)));
  add(kSmtNode, smt::encode_internal(field::from_u64(1), field::Fr::zero()));
  add(kSmtParams, smt::encode_params({64}));
  verkle::LeafNode leaf;
  leaf.stem.fill(3);
  leaf.commitment = verkle::Point::generator();
  leaf.present.set(0);
  leaf.present.set(200);
  add(kVerkleNode, verkle::encode_node(leaf));
  verkle::InternalNode internal;
  internal.commitment = verkle::dbl(verkle::Point::generator());
  internal.kinds[0] = verkle::ChildKind::kLeaf;
  internal.kinds[9] = verkle::ChildKind::kInternal;
  internal.child_hashes[0] = verkle::Fr::one();
  internal.child_hashes[9] = verkle::Fr::one();
  add(kVerkleNode, verkle::encode_node(internal));
  smt::NodePage page;
  page.set(0, smt::encode_internal(field::from_u64(1), field::from_u64(2)));
  page.set(2, smt::encode_leaf(field::from_u64(5), field::from_u64(55)));
  add(kSmtPage, std::string(1, '\x05') + page.encode());
  return out;
}

void test_one(std::string_view input) {
  const std::optional<Selected> in = split_selector(input);
  if (!in) return;
  const std::string_view record = in->rest;
  switch (in->selector % kKinds) {
    case kTreeRecord:
      tree_record(record);
      break;
    case kVersionRecord:
      version_record(record);
      break;
    case kFormatRecord:
      format_record(record);
      break;
    case kJournalChunkSmt:
      journal_chunk(record, smt::kNodeKeyBytes, smt::kValueKeyBytes);
      break;
    case kJournalChunkVerkle:
      journal_chunk(record, verkle::kNodeKeyBytes, verkle::kValueKeyBytes);
      break;
    case kJournalKey:
      journal_key(record);
      break;
    case kSmtNode:
      smt_node(record);
      break;
    case kSmtParams:
      smt_params(record);
      break;
    case kVerkleNode:
      verkle_node(record);
      break;
    case kSmtPage:
      smt_page(record);
      break;
  }
}

}  // namespace arbor::fuzz
