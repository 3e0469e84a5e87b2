#include "host/smt/smt_bulk_load.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdio>
#include <memory>

#include "absl/strings/str_cat.h"
#include "host/smt/node_pages.hpp"
#include "host/tree/bulk_load.hpp"
#include "kernels/field/bn254_fr_text.hpp"
#include "storage/tree_loader.hpp"
#include "tbb/parallel_sort.h"

namespace arbor::smt {
namespace {

using Clock = std::chrono::steady_clock;
using storage::Space;

using tree::ms_since;

// Hashes per backend job: large enough for a GPU, small enough to bound the inputs' memory.
constexpr std::size_t kJobHashes = std::size_t{1} << 20;

Fr key_of(const KeyBits& bits) {
  const std::uint64_t limbs[4] = {bits[0], bits[1], bits[2], bits[3]};
  return field::from_canonical_limbs(limbs);
}

// The order of value keys: the canonical integers.
bool key_less(const SmtLoadEntry& a, const SmtLoadEntry& b) {
  for (int limb = 3; limb >= 0; --limb) {
    if (a.key[limb] != b.key[limb]) return a.key[limb] < b.key[limb];
  }
  return false;
}

// Path order (smt_records.hpp's path_order): the lowest differing bit decides.
bool path_less(const SmtLoadEntry& a, const SmtLoadEntry& b) {
  for (int limb = 0; limb < 4; ++limb) {
    const std::uint64_t differ = a.key[limb] ^ b.key[limb];
    if (differ != 0) return (a.key[limb] & (differ & (~differ + 1))) == 0;
  }
  return false;
}

// How many low bits two distinct keys share.
int shared_low_bits(const KeyBits& a, const KeyBits& b) {
  for (int limb = 0; limb < 4; ++limb) {
    const std::uint64_t differ = a[limb] ^ b[limb];
    if (differ != 0) return 64 * limb + std::countr_zero(differ);
  }
  return 256;
}

std::string key_bytes(const KeyBits& bits) {
  std::string out(kValueKeyBytes, '\0');
  for (int limb = 0; limb < 4; ++limb) {
    for (int byte = 0; byte < 8; ++byte) {
      out[(3 - limb) * 8 + (7 - byte)] = static_cast<char>(bits[limb] >> (8 * byte));
    }
  }
  return out;
}

// A scratch file of one page row's internal-node records, written once, then read in place.
class RowRecords {
 public:
  explicit RowRecords(std::string path) : path_(std::move(path)) {}
  ~RowRecords() {
    if (file_ != nullptr) std::fclose(file_);
    if (mapped_ != nullptr) munmap(mapped_, bytes_);
    std::remove(path_.c_str());
  }
  RowRecords(const RowRecords&) = delete;
  RowRecords& operator=(const RowRecords&) = delete;

  // Appends a record; its index.
  absl::StatusOr<std::uint32_t> append(std::string_view record) {
    if (file_ == nullptr) {
      file_ = std::fopen(path_.c_str(), "wb");
      if (file_ == nullptr) return tree::scratch_error("cannot create", path_);
    }
    if (std::fwrite(record.data(), 1, record.size(), file_) != record.size()) {
      return tree::scratch_error("cannot write", path_);
    }
    return count_++;
  }
  absl::Status open_for_reading() {
    if (file_ == nullptr) return absl::OkStatus();
    const bool closed = std::fclose(file_) == 0;
    file_ = nullptr;
    if (!closed) return tree::scratch_error("cannot write", path_);
    bytes_ = static_cast<std::size_t>(count_) * kNodeRecordBytes;
    const int fd = ::open(path_.c_str(), O_RDONLY);
    if (fd < 0) return tree::scratch_error("cannot open", path_);
    void* mapped = mmap(nullptr, bytes_, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (mapped == MAP_FAILED) return tree::scratch_error("cannot map", path_);
    mapped_ = mapped;
    return absl::OkStatus();
  }
  std::string_view record(std::uint32_t index) const {
    return {static_cast<const char*>(mapped_) + std::size_t{index} * kNodeRecordBytes,
            kNodeRecordBytes};
  }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  void* mapped_ = nullptr;
  std::size_t bytes_ = 0;
  std::uint32_t count_ = 0;
};

// A node placed in its page row: the first key below it (its path is that key's low bits), its
// slot in the page, and for an internal node its record in the row's scratch file.
struct NodeRef {
  std::uint32_t first = 0;
  std::uint32_t record = 0;
  std::uint8_t slot = 0;
  bool leaf = false;
};

// A node of the level being built, in path order.
struct LevelNode {
  std::uint32_t first = 0;
  Fr hash = Fr::zero();
};

class Builder {
 public:
  Builder(storage::TreeLoader& loader, std::vector<SmtLoadEntry>& entries,
          host::ComputeBackend& backend, const SmtLoadOptions& options)
      : loader_(loader),
        entries_(entries),
        backend_(backend),
        options_(options),
        levels_(options.create.page_levels),
        max_depth_(options.create.max_depth) {}

  absl::StatusOr<SmtLoadReport> run() {
    if (absl::Status size = tree::check_load_size(entries_.size()); !size.ok()) return size;
    report_.keys = entries_.size();
    Clock::time_point started = Clock::now();
    if (absl::Status written = write_values(); !written.ok()) return written;
    tbb::parallel_sort(entries_.begin(), entries_.end(), path_less);
    report_.sort_ms = ms_since(started);

    started = Clock::now();
    if (absl::Status built = build(); !built.ok()) return built;
    report_.build_ms = ms_since(started);

    started = Clock::now();
    for (std::size_t row = 0; row < rows_.size(); ++row) {
      if (absl::Status written = write_row(row); !written.ok()) return written;
      progress("pages", row + 1, rows_.size());
    }
    report_.pages_ms = ms_since(started);

    storage::TreeLoader::FirstVersion first;
    first.root = fr_bytes(report_.root);
    if (!entries_.empty()) first.root_node_key = node_key(0, KeyBits{});
    first.label = options_.label;
    first.entry_count = entries_.size();
    absl::StatusOr<tree::Ingested> ingested = tree::ingest_load(loader_, first, options_.progress);
    if (!ingested.ok()) return ingested.status();
    report_.tree = std::move(ingested->tree);
    report_.ingest_ms = ingested->ingest_ms;
    report_.file_bytes = ingested->file_bytes;
    return report_;
  }

 private:
  struct Row {
    std::vector<NodeRef> nodes;
    std::unique_ptr<RowRecords> records;
  };

  void progress(std::string_view stage, std::uint64_t done, std::uint64_t total) const {
    if (options_.progress) options_.progress(stage, done, total);
  }

  // Sorts by key, refuses repeated keys and writes the value records.
  absl::Status write_values() {
    progress("values", 0, 1);
    tbb::parallel_sort(entries_.begin(), entries_.end(), key_less);
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      if (i > 0 && entries_[i].key == entries_[i - 1].key) {
        return absl::InvalidArgumentError(
            absl::StrCat("key ", field::to_hex(key_of(entries_[i].key)),
                         " appears more than once; a bulk load takes each key once"));
      }
      if (absl::Status added =
              loader_.add(Space::kValues, key_bytes(entries_[i].key), fr_bytes(entries_[i].value));
          !added.ok()) {
        return added;
      }
    }
    progress("values", 1, 1);
    return absl::OkStatus();
  }

  // Each key's leaf depth, in path order; OUT_OF_RANGE past max_depth.
  absl::StatusOr<std::vector<std::uint8_t>> leaf_depths() const {
    std::vector<std::uint8_t> depths(entries_.size(), 0);
    if (entries_.size() < 2) return depths;
    int previous = 0;  // bits shared with the previous key
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      const int next =
          i + 1 < entries_.size() ? shared_low_bits(entries_[i].key, entries_[i + 1].key) : 0;
      const int depth = 1 + std::max(previous, next);
      if (depth > max_depth_) {
        const std::size_t other = next >= previous ? i + 1 : i - 1;
        return absl::OutOfRangeError(absl::StrCat(
            "keys ", field::to_hex(key_of(entries_[i].key)), " and ",
            field::to_hex(key_of(entries_[other].key)), " share their lowest ", max_depth_,
            " bits, so one of them would sit deeper than the tree's max depth ", max_depth_));
      }
      depths[i] = static_cast<std::uint8_t>(depth);
      previous = next;
    }
    return depths;
  }

  absl::Status place(int depth, std::uint32_t first, bool leaf, std::string_view record) {
    Row& row = rows_[depth / levels_];
    NodeRef ref;
    ref.first = first;
    ref.leaf = leaf;
    ref.slot = static_cast<std::uint8_t>(page_slot(depth, entries_[first].key, levels_).slot);
    if (!leaf) {
      absl::StatusOr<std::uint32_t> index = row.records->append(record);
      if (!index.ok()) return index.status();
      ref.record = *index;
    }
    row.nodes.push_back(ref);
    return absl::OkStatus();
  }

  absl::Status hash(int arity, std::span<const Fr> inputs, std::span<Fr> outputs) {
    const Clock::time_point started = Clock::now();
    absl::Status hashed = backend_.poseidon_hash_many(arity, inputs, outputs);
    report_.hash_ms += ms_since(started);
    return hashed;
  }

  // The leaves at `depth` (indices into entries_, in path order), hashed and placed.
  absl::StatusOr<std::vector<LevelNode>> make_leaves(int depth,
                                                     std::span<const std::uint32_t> leaves) {
    std::vector<LevelNode> made(leaves.size());
    std::vector<Fr> inputs;
    std::vector<Fr> outputs;
    for (std::size_t begin = 0; begin < leaves.size(); begin += kJobHashes) {
      const std::size_t count = std::min(kJobHashes, leaves.size() - begin);
      inputs.resize(3 * count);
      outputs.resize(count);
      for (std::size_t i = 0; i < count; ++i) {
        const SmtLoadEntry& entry = entries_[leaves[begin + i]];
        inputs[3 * i] = key_of(entry.key);
        inputs[3 * i + 1] = entry.value;
        inputs[3 * i + 2] = Fr::one();
      }
      if (absl::Status hashed = hash(3, inputs, outputs); !hashed.ok()) return hashed;
      for (std::size_t i = 0; i < count; ++i) {
        const std::uint32_t index = leaves[begin + i];
        made[begin + i] = {index, outputs[i]};
        if (absl::Status placed = place(depth, index, true, {}); !placed.ok()) return placed;
      }
    }
    report_.leaf_hashes += leaves.size();
    return made;
  }

  // The internal nodes at `depth` over the nodes one level below, hashed and placed.
  absl::StatusOr<std::vector<LevelNode>> make_parents(int depth,
                                                      const std::vector<LevelNode>& below) {
    // Children pairs: siblings share the low `depth` bits; a lone child's sibling is empty.
    struct Pair {
      std::uint32_t first;
      Fr left, right;
    };
    std::vector<LevelNode> made;
    std::vector<Pair> pairs;
    std::vector<Fr> inputs;
    std::vector<Fr> outputs;
    std::size_t i = 0;
    while (i < below.size()) {
      pairs.clear();
      while (i < below.size() && pairs.size() < kJobHashes) {
        const LevelNode& node = below[i];
        const KeyBits& path = entries_[node.first].key;
        if (i + 1 < below.size() && same_path(path, entries_[below[i + 1].first].key, depth)) {
          pairs.push_back({node.first, node.hash, below[i + 1].hash});
          i += 2;
        } else {
          if (path_bit(path, depth)) {
            pairs.push_back({node.first, Fr::zero(), node.hash});
          } else {
            pairs.push_back({node.first, node.hash, Fr::zero()});
          }
          i += 1;
        }
      }
      inputs.resize(2 * pairs.size());
      outputs.resize(pairs.size());
      for (std::size_t p = 0; p < pairs.size(); ++p) {
        inputs[2 * p] = pairs[p].left;
        inputs[2 * p + 1] = pairs[p].right;
      }
      if (absl::Status hashed = hash(2, inputs, outputs); !hashed.ok()) return hashed;
      for (std::size_t p = 0; p < pairs.size(); ++p) {
        made.push_back({pairs[p].first, outputs[p]});
        if (absl::Status placed =
                place(depth, pairs[p].first, false, encode_internal(pairs[p].left, pairs[p].right));
            !placed.ok()) {
          return placed;
        }
      }
      report_.node_hashes += pairs.size();
    }
    return made;
  }

  absl::Status build() {
    if (entries_.empty()) return absl::OkStatus();
    absl::StatusOr<std::vector<std::uint8_t>> depths = leaf_depths();
    if (!depths.ok()) return depths.status();
    const int deepest = *std::max_element(depths->begin(), depths->end());
    // The leaves grouped by depth, each group in path order.
    std::vector<std::size_t> start(deepest + 2, 0);
    for (std::uint8_t depth : *depths) ++start[depth + 1];
    for (int depth = 0; depth <= deepest; ++depth) start[depth + 1] += start[depth];
    std::vector<std::uint32_t> by_depth(entries_.size());
    {
      std::vector<std::size_t> next(start.begin(), start.end() - 1);
      for (std::size_t i = 0; i < entries_.size(); ++i) {
        by_depth[next[(*depths)[i]]++] = static_cast<std::uint32_t>(i);
      }
    }
    depths->clear();
    depths->shrink_to_fit();

    rows_.resize(deepest / levels_ + 1);
    for (std::size_t row = 0; row < rows_.size(); ++row) {
      rows_[row].records = std::make_unique<RowRecords>(
          (loader_.scratch_directory() / absl::StrCat("row-", row * levels_, ".nodes")).string());
    }
    std::vector<LevelNode> below;
    for (int depth = deepest; depth >= 0; --depth) {
      absl::StatusOr<std::vector<LevelNode>> parents = make_parents(depth, below);
      if (!parents.ok()) return parents.status();
      absl::StatusOr<std::vector<LevelNode>> leaves = make_leaves(
          depth, std::span(by_depth).subspan(start[depth], start[depth + 1] - start[depth]));
      if (!leaves.ok()) return leaves.status();
      // Disjoint subtrees: their first keys' order is path order.
      below.resize(parents->size() + leaves->size());
      std::merge(parents->begin(), parents->end(), leaves->begin(), leaves->end(), below.begin(),
                 [](const LevelNode& a, const LevelNode& b) { return a.first < b.first; });
      progress("hashing", deepest - depth + 1, deepest + 1);
    }
    report_.root = below.front().hash;
    return absl::OkStatus();
  }

  // Sorts a row into store order and writes its pages.
  absl::Status write_row(std::size_t index) {
    Row& row = rows_[index];
    const int page_depth = static_cast<int>(index) * levels_;
    KeyBits mask{};
    for (int limb = 0, left = page_depth; limb < 4 && left > 0; ++limb, left -= 64) {
      mask[limb] = left >= 64 ? ~0ULL : (1ULL << left) - 1;
    }
    auto page_less = [&](const NodeRef& a, const NodeRef& b) {
      const KeyBits& x = entries_[a.first].key;
      const KeyBits& y = entries_[b.first].key;
      for (int limb = 3; limb >= 0; --limb) {
        const std::uint64_t xm = x[limb] & mask[limb];
        const std::uint64_t ym = y[limb] & mask[limb];
        if (xm != ym) return xm < ym;
      }
      return a.slot < b.slot;
    };
    tbb::parallel_sort(row.nodes.begin(), row.nodes.end(), page_less);
    if (absl::Status opened = row.records->open_for_reading(); !opened.ok()) return opened;
    std::size_t i = 0;
    while (i < row.nodes.size()) {
      const KeyBits& path = entries_[row.nodes[i].first].key;
      NodePage page;
      std::size_t end = i;
      for (; end < row.nodes.size() &&
             same_path(entries_[row.nodes[end].first].key, path, page_depth);
           ++end) {
        const NodeRef& node = row.nodes[end];
        if (node.leaf) {
          const SmtLoadEntry& entry = entries_[node.first];
          page.set(node.slot, encode_leaf(key_of(entry.key), entry.value));
        } else {
          page.set(node.slot, row.records->record(node.record));
        }
      }
      if (absl::Status added = loader_.add(
              Space::kNodes, page_key(page_slot(page_depth, path, levels_)), page.encode());
          !added.ok()) {
        return added;
      }
      ++report_.pages;
      i = end;
    }
    row = Row{};
    return absl::OkStatus();
  }

  storage::TreeLoader& loader_;
  std::vector<SmtLoadEntry>& entries_;
  host::ComputeBackend& backend_;
  const SmtLoadOptions& options_;
  const int levels_;
  const int max_depth_;
  std::vector<Row> rows_;
  SmtLoadReport report_;
};

}  // namespace

absl::StatusOr<SmtLoadReport> load_smt(storage::Store& store, const std::string& name,
                                       std::vector<SmtLoadEntry> entries,
                                       host::ComputeBackend& backend,
                                       const SmtLoadOptions& options) {
  absl::StatusOr<storage::TreeSpec> spec = smt_tree_spec(name, options.create);
  if (!spec.ok()) return spec.status();
  absl::StatusOr<std::unique_ptr<storage::TreeLoader>> loader = store.load_tree(*spec);
  if (!loader.ok()) return loader.status();
  Builder builder(**loader, entries, backend, options);
  return builder.run();
}

}  // namespace arbor::smt
