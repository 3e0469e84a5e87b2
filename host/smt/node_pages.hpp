// How the SMT groups its nodes into store records (store format 3): pages of several levels.
//
// A page holds the positions of `levels` consecutive depths under one position, its root: depths
// d0 .. d0 + levels - 1 with d0 a multiple of `levels`, 2^levels - 1 positions. Its store key is
// the node key of its root position (smt_records.hpp), so the tree's root page is keyed by the
// root node key. Its record is the 64-bit bitmap of the slots that hold a node (big-endian, bit i
// = slot i) followed by those slots' 65-byte node records in slot order. A node at relative depth
// r whose path bits d0 .. d0 + r - 1 read b (bit d0 lowest) is in slot 2^r - 1 + b. A page holds
// a node exactly when its root position does (nodes form subtrees), and an empty page has no
// record.
//
// Paging turns a path read into one read per `levels` depths and a commit into one record per
// touched page instead of one per node, and shares the 49 bytes of key and version that every
// store record carries among up to 63 nodes.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "host/smt/smt_records.hpp"
#include "storage/store.hpp"

namespace arbor::smt {

inline constexpr std::size_t kNodeRecordBytes = 65;
inline constexpr std::size_t kPageHeaderBytes = 8;

inline constexpr std::size_t max_page_bytes(int levels) {
  return kPageHeaderBytes + ((std::size_t{1} << levels) - 1) * kNodeRecordBytes;
}
static_assert(max_page_bytes(kMaxPageLevels) == 4103);

// Where a position's node lives.
struct PageSlot {
  int page_depth = 0;   // the page root's depth
  KeyBits page_path{};  // the page root's path: the low page_depth bits
  int slot = 0;

  bool operator==(const PageSlot&) const = default;
};
PageSlot page_slot(int depth, const KeyBits& path, int levels);
std::string page_key(const PageSlot& where);
// The position of a node key (smt_records.hpp's node_key); INTERNAL when malformed.
absl::StatusOr<std::pair<int, KeyBits>> parse_node_key(std::string_view key);

// One page's nodes.
class NodePage {
 public:
  // A stored record, taken over without a copy; DATA_LOSS (naming `where`) when it is not a page
  // of `levels` levels.
  static absl::StatusOr<NodePage> decode(std::string bytes, int levels, std::string_view where);
  std::string encode() const;

  bool empty() const { return present_ == 0; }
  int count() const;
  // The slot's 65-byte node record, or nullopt when the slot is empty.
  std::optional<std::string_view> record(int slot) const;
  void set(int slot, std::string_view record);  // record: kNodeRecordBytes
  void clear(int slot);

 private:
  std::size_t offset(int slot) const;

  std::uint64_t present_ = 0;
  // The record as stored: a bitmap (rewritten by encode) then kNodeRecordBytes per present slot,
  // in slot order.
  std::string bytes_ = std::string(kPageHeaderBytes, '\0');
};

// The pages one operation (an apply, a proof) reads and changes, each read at most once. Reads go
// through `fetch`, which answers the stored record of each page key (the tree's node cache, then
// the store view); this class keeps no state across operations.
class PageSet {
 public:
  using Fetch = std::function<absl::StatusOr<std::vector<std::optional<std::string>>>(
      std::span<const std::string> page_keys)>;

  // `tree` names the tree in errors.
  PageSet(int levels, Fetch fetch, std::string tree);

  // Reads the pages holding these positions that are not loaded yet, in one fetch.
  absl::Status load(int depth, std::span<const KeyBits> paths);
  // The node at a position (kind kEmpty when it holds none), loading its page when needed.
  absl::StatusOr<NodeRecord> node(int depth, const KeyBits& path);

  // Pages fetched so far.
  std::uint64_t pages_read() const { return pages_read_; }

  // Applies node writes (node keys, as the planner makes them; the last write of a position wins)
  // to the pages and appends each changed page's put, or erase when it emptied, to `out`.
  absl::Status write_pages(const storage::WriteSet& node_writes, storage::WriteSet& out);

 private:
  struct PageIdHash {
    std::size_t operator()(const PageSlot& id) const;
  };
  struct Loaded {
    NodePage page;
    bool stored = false;  // a record existed before this operation
    bool dirty = false;
  };
  absl::Status load_slots(std::span<const PageSlot> wanted);
  static PageSlot page_id(const PageSlot& where) { return {where.page_depth, where.page_path, 0}; }

  const int levels_;
  Fetch fetch_;
  const std::string tree_;
  std::unordered_map<PageSlot, Loaded, PageIdHash> pages_;
  std::uint64_t pages_read_ = 0;
};

}  // namespace arbor::smt
