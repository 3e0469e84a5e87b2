#include "host/smt/node_pages.hpp"

#include <algorithm>
#include <bit>
#include <unordered_set>

#include "absl/strings/str_cat.h"

namespace arbor::smt {
namespace {

KeyBits low_bits(const KeyBits& bits, int count) {
  KeyBits out{};
  for (int limb = 0; limb < 4 && count > 0; ++limb, count -= 64) {
    out[limb] = count >= 64 ? bits[limb] : bits[limb] & ((1ULL << count) - 1);
  }
  return out;
}

int slot_count(int levels) { return (1 << levels) - 1; }

}  // namespace

PageSlot page_slot(int depth, const KeyBits& path, int levels) {
  PageSlot where;
  where.page_depth = depth - depth % levels;
  where.page_path = low_bits(path, where.page_depth);
  const int relative = depth - where.page_depth;
  int below = 0;
  for (int i = 0; i < relative; ++i)
    below |= static_cast<int>(path_bit(path, where.page_depth + i)) << i;
  where.slot = (1 << relative) - 1 + below;
  return where;
}

std::string page_key(const PageSlot& where) { return node_key(where.page_depth, where.page_path); }

absl::StatusOr<std::pair<int, KeyBits>> parse_node_key(std::string_view key) {
  if (key.size() != kNodeKeyBytes || static_cast<std::uint8_t>(key[0]) > kMaxDepthLimit) {
    return absl::InternalError(absl::StrCat("a malformed SMT node key of ", key.size(), " bytes"));
  }
  KeyBits bits{};
  for (int limb = 0; limb < 4; ++limb) {
    for (int byte = 0; byte < 8; ++byte) {
      bits[limb] |= static_cast<std::uint64_t>(
                        static_cast<std::uint8_t>(key[1 + (3 - limb) * 8 + (7 - byte)]))
                    << (8 * byte);
    }
  }
  return std::pair<int, KeyBits>{static_cast<std::uint8_t>(key[0]), bits};
}

absl::StatusOr<NodePage> NodePage::decode(std::string bytes, int levels, std::string_view where) {
  auto corrupt = [&](std::string_view why) {
    return absl::DataLossError(absl::StrCat(std::string(where), " is corrupt: ", std::string(why)));
  };
  if (bytes.size() < kPageHeaderBytes) return corrupt("shorter than its bitmap");
  std::uint64_t present = 0;
  for (std::size_t i = 0; i < kPageHeaderBytes; ++i) {
    present = (present << 8) | static_cast<std::uint8_t>(bytes[i]);
  }
  if (present == 0) return corrupt("an empty page is never stored");
  if ((present >> slot_count(levels)) != 0) {
    return corrupt(absl::StrCat("its bitmap names slots past the ", slot_count(levels), " of a ",
                                levels, "-level page"));
  }
  const std::size_t expected = kPageHeaderBytes + std::popcount(present) * kNodeRecordBytes;
  if (bytes.size() != expected) {
    return corrupt(absl::StrCat(bytes.size(), " bytes for ", std::popcount(present),
                                " nodes, expected ", expected));
  }
  NodePage page;
  page.present_ = present;
  page.bytes_ = std::move(bytes);
  return page;
}

std::string NodePage::encode() const {
  std::string out = bytes_;
  for (std::size_t i = 0; i < kPageHeaderBytes; ++i) {
    out[i] = static_cast<char>(present_ >> (56 - 8 * i));
  }
  return out;
}

int NodePage::count() const { return std::popcount(present_); }

std::size_t NodePage::offset(int slot) const {
  return kPageHeaderBytes + std::popcount(present_ & ((1ULL << slot) - 1)) * kNodeRecordBytes;
}

std::optional<std::string_view> NodePage::record(int slot) const {
  if (!((present_ >> slot) & 1)) return std::nullopt;
  return std::string_view(bytes_).substr(offset(slot), kNodeRecordBytes);
}

void NodePage::set(int slot, std::string_view record) {
  const std::size_t at = offset(slot);
  if ((present_ >> slot) & 1) {
    bytes_.replace(at, kNodeRecordBytes, record);
  } else {
    bytes_.insert(at, record);
    present_ |= 1ULL << slot;
  }
}

void NodePage::clear(int slot) {
  if (!((present_ >> slot) & 1)) return;
  bytes_.erase(offset(slot), kNodeRecordBytes);
  present_ &= ~(1ULL << slot);
}

std::size_t PageSet::PageIdHash::operator()(const PageSlot& id) const {
  // splitmix64's finalizer over depth and path: page paths share their high limbs (zero).
  auto mix = [](std::uint64_t x) {
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
  };
  std::uint64_t h = mix(static_cast<std::uint64_t>(id.page_depth));
  for (std::uint64_t limb : id.page_path) h = mix(h ^ limb);
  return static_cast<std::size_t>(h);
}

PageSet::PageSet(int levels, Fetch fetch, std::string tree)
    : levels_(levels), fetch_(std::move(fetch)), tree_(std::move(tree)) {}

absl::Status PageSet::load_slots(std::span<const PageSlot> wanted) {
  std::vector<PageSlot> ids;
  std::unordered_set<PageSlot, PageIdHash> asked;
  std::vector<std::string> keys;
  for (const PageSlot& where : wanted) {
    const PageSlot id = page_id(where);
    if (pages_.contains(id) || !asked.insert(id).second) continue;
    ids.push_back(id);
  }
  if (ids.empty()) return absl::OkStatus();
  pages_.reserve(pages_.size() + ids.size());
  keys.reserve(ids.size());
  for (const PageSlot& id : ids) keys.push_back(page_key(id));
  absl::StatusOr<std::vector<std::optional<std::string>>> records = fetch_(keys);
  if (!records.ok()) return records.status();
  pages_read_ += ids.size();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    Loaded loaded;
    if ((*records)[i]) {
      // The error names the tree and depth; a decode that succeeds builds no message.
      absl::StatusOr<NodePage> page = NodePage::decode(std::move(*(*records)[i]), levels_, "it");
      if (!page.ok()) {
        return absl::DataLossError(absl::StrCat("tree \"", tree_, "\": the page at depth ",
                                                ids[i].page_depth, ": ", page.status().message()));
      }
      loaded.page = std::move(*page);
      loaded.stored = true;
    }
    pages_.emplace(ids[i], std::move(loaded));
  }
  return absl::OkStatus();
}

absl::Status PageSet::load(int depth, std::span<const KeyBits> paths) {
  std::vector<PageSlot> wanted;
  wanted.reserve(paths.size());
  for (const KeyBits& path : paths) {
    PageSlot where = page_slot(depth, path, levels_);
    if (!pages_.contains(page_id(where))) wanted.push_back(where);
  }
  return load_slots(wanted);
}

absl::StatusOr<NodeRecord> PageSet::node(int depth, const KeyBits& path) {
  const PageSlot where = page_slot(depth, path, levels_);
  auto found = pages_.find(page_id(where));
  if (found == pages_.end()) {
    if (absl::Status loaded = load_slots(std::span(&where, 1)); !loaded.ok()) return loaded;
    found = pages_.find(page_id(where));
  }
  std::optional<std::string_view> record = found->second.page.record(where.slot);
  if (!record) return NodeRecord{};
  absl::StatusOr<NodeRecord> decoded = decode_node(*record, "its record");
  if (!decoded.ok()) {
    return absl::DataLossError(absl::StrCat("tree \"", tree_, "\": the node at depth ", depth,
                                            " in slot ", where.slot,
                                            " of its page: ", decoded.status().message()));
  }
  return decoded;
}

absl::Status PageSet::write_pages(const storage::WriteSet& node_writes, storage::WriteSet& out) {
  std::vector<PageSlot> targets;
  targets.reserve(node_writes.size());
  for (const storage::WriteSet::Mutation& mutation : node_writes.mutations()) {
    absl::StatusOr<std::pair<int, KeyBits>> position = parse_node_key(mutation.key);
    if (!position.ok()) return position.status();
    if (!mutation.erase && mutation.value.size() != kNodeRecordBytes) {
      return absl::InternalError(absl::StrCat("an SMT node record of ", mutation.value.size(),
                                              " bytes, expected ", kNodeRecordBytes));
    }
    targets.push_back(page_slot(position->first, position->second, levels_));
  }
  if (absl::Status loaded = load_slots(targets); !loaded.ok()) return loaded;
  std::vector<PageSlot> dirty;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    Loaded& loaded = pages_.at(page_id(targets[i]));
    const storage::WriteSet::Mutation& mutation = node_writes.mutations()[i];
    if (mutation.erase) {
      loaded.page.clear(targets[i].slot);
    } else {
      loaded.page.set(targets[i].slot, mutation.value);
    }
    if (!loaded.dirty) {
      loaded.dirty = true;
      dirty.push_back(page_id(targets[i]));
    }
  }
  // In key order, so equal batches make equal commits whatever the planner's order.
  std::vector<std::pair<std::string, const Loaded*>> ordered;
  ordered.reserve(dirty.size());
  for (const PageSlot& id : dirty) ordered.emplace_back(page_key(id), &pages_.at(id));
  std::sort(ordered.begin(), ordered.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [key, loaded] : ordered) {
    if (!loaded->page.empty()) {
      out.put(storage::Space::kNodes, key, loaded->page.encode());
    } else if (loaded->stored) {
      out.erase(storage::Space::kNodes, key);
    }
  }
  return absl::OkStatus();
}

}  // namespace arbor::smt
