#include "host/verkle/verkle_bulk_load.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "host/tree/bulk_load.hpp"
#include "storage/tree_loader.hpp"
#include "tbb/parallel_sort.h"

namespace arbor::verkle {
namespace {

using Clock = std::chrono::steady_clock;
using storage::Space;

using tree::ms_since;

// Stems per leaf job and parents per internal job: large enough for a GPU, small enough to bound
// the jobs' memory (the deltas of 2^15 stems of 256 values are 2^24 terms at most).
constexpr std::size_t kStemsPerJob = std::size_t{1} << 15;
constexpr std::size_t kParentsPerJob = std::size_t{1} << 15;
constexpr int kDepths = static_cast<int>(kStemBytes) + 1;  // 0 (the root) .. 31

// A scratch file of node records in key order: (key, length, record) written once, read once.
class RecordFile {
 public:
  explicit RecordFile(std::string path) : path_(std::move(path)) {}
  ~RecordFile() {
    if (file_ != nullptr) std::fclose(file_);
    std::remove(path_.c_str());
  }
  RecordFile(const RecordFile&) = delete;
  RecordFile& operator=(const RecordFile&) = delete;

  absl::Status append(const NodeKey& key, std::string_view record) {
    if (file_ == nullptr) {
      file_ = std::fopen(path_.c_str(), "w+b");
      if (file_ == nullptr) return tree::scratch_error("cannot create", path_);
    }
    const auto length = static_cast<std::uint32_t>(record.size());
    if (std::fwrite(key.data(), 1, key.size(), file_) != key.size() ||
        std::fwrite(&length, sizeof length, 1, file_) != 1 ||
        std::fwrite(record.data(), 1, record.size(), file_) != record.size()) {
      return tree::scratch_error("cannot write", path_);
    }
    return absl::OkStatus();
  }
  absl::Status rewind() {
    if (file_ != nullptr && std::fseek(file_, 0, SEEK_SET) != 0) {
      return tree::scratch_error("cannot read", path_);
    }
    return absl::OkStatus();
  }
  // The next record, or nullopt at the end.
  absl::StatusOr<std::optional<std::pair<NodeKey, std::string>>> next() {
    if (file_ == nullptr) return std::nullopt;
    NodeKey key;
    std::uint32_t length = 0;
    if (std::fread(key.data(), 1, key.size(), file_) != key.size()) {
      if (std::feof(file_)) return std::nullopt;
      return tree::scratch_error("cannot read", path_);
    }
    std::string record;
    if (std::fread(&length, sizeof length, 1, file_) == 1) {
      record.resize(length);
      if (std::fread(record.data(), 1, length, file_) == length) {
        return std::make_optional(std::make_pair(key, std::move(record)));
      }
    }
    return tree::scratch_error("cannot read", path_);
  }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

Stem stem_at(const VerkleLoadEntry& entry) { return stem_of(entry.key); }

int shared_bytes(const Stem& a, const Stem& b) {
  int shared = 0;
  while (shared < static_cast<int>(kStemBytes) && a[shared] == b[shared]) ++shared;
  return shared;
}

// A node of the level being built, in key order: the first stem below it and its hash.
struct LevelNode {
  std::uint32_t first_stem = 0;
  Fr hash = Fr::zero();
  ChildKind kind = ChildKind::kLeaf;
};

class Builder {
 public:
  Builder(storage::TreeLoader& loader, std::vector<VerkleLoadEntry>& entries,
          host::ComputeBackend& backend, const VerkleLoadOptions& options)
      : loader_(loader), entries_(entries), backend_(backend), options_(options) {
    for (int depth = 0; depth < kDepths; ++depth) {
      for (int kind = 0; kind < 2; ++kind) {
        files_[depth][kind] = std::make_unique<RecordFile>(
            (loader_.scratch_directory() /
             absl::StrCat(kind == 0 ? "internal-" : "leaves-", depth, ".records"))
                .string());
      }
    }
  }

  absl::StatusOr<VerkleLoadReport> run() {
    if (absl::Status size = tree::check_load_size(entries_.size()); !size.ok()) return size;
    report_.keys = entries_.size();
    Clock::time_point started = Clock::now();
    if (absl::Status written = write_values(); !written.ok()) return written;
    report_.sort_ms = ms_since(started);

    started = Clock::now();
    if (!entries_.empty()) {
      find_stems();
      if (absl::Status made = make_leaves(); !made.ok()) return made;
      if (absl::Status made = make_internal_nodes(); !made.ok()) return made;
    }
    report_.build_ms = ms_since(started);

    started = Clock::now();
    for (int depth = 0; depth < kDepths; ++depth) {
      if (absl::Status written = write_depth(depth); !written.ok()) return written;
      progress("nodes", depth + 1, kDepths);
    }
    report_.nodes_ms = ms_since(started);

    storage::TreeLoader::FirstVersion first;
    first.root = std::string(as_view(report_.root));
    if (!entries_.empty()) first.root_node_key = std::string(as_view(root_node_key()));
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
  void progress(std::string_view stage, std::uint64_t done, std::uint64_t total) const {
    if (options_.progress) options_.progress(stage, done, total);
  }

  absl::Status update(std::span<Point> points, std::span<const CommitmentDelta> deltas) {
    const Clock::time_point started = Clock::now();
    absl::Status done = backend_.verkle_update_commitments(points, deltas);
    report_.math_ms += ms_since(started);
    report_.commitment_deltas += deltas.size();
    return done;
  }
  absl::Status map(std::span<const Point> points, std::span<Fr> out) {
    const Clock::time_point started = Clock::now();
    absl::Status done = backend_.verkle_map_to_field(points, out);
    report_.math_ms += ms_since(started);
    return done;
  }

  absl::Status write_values() {
    progress("values", 0, 1);
    tbb::parallel_sort(
        entries_.begin(), entries_.end(),
        [](const VerkleLoadEntry& a, const VerkleLoadEntry& b) { return a.key < b.key; });
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      if (i > 0 && entries_[i].key == entries_[i - 1].key) {
        return absl::InvalidArgumentError(
            absl::StrCat("key 0x", absl::BytesToHexString(std::string(as_view(entries_[i].key))),
                         " appears more than once; a bulk load takes each key once"));
      }
      if (absl::Status added =
              loader_.add(Space::kValues, as_view(entries_[i].key), as_view(entries_[i].value));
          !added.ok()) {
        return added;
      }
    }
    progress("values", 1, 1);
    return absl::OkStatus();
  }

  // The runs of entries that share a stem, and each stem's leaf depth.
  void find_stems() {
    for (std::uint32_t i = 0; i < entries_.size(); ++i) {
      if (i == 0 || stem_at(entries_[i]) != stem_at(entries_[i - 1])) stem_begin_.push_back(i);
    }
    stem_begin_.push_back(static_cast<std::uint32_t>(entries_.size()));
    const std::size_t stems = stem_begin_.size() - 1;
    report_.stems = stems;
    leaf_depth_.assign(stems, 1);
    int previous = 0;
    for (std::size_t s = 0; s < stems; ++s) {
      const int next = s + 1 < stems ? shared_bytes(stem(s), stem(s + 1)) : 0;
      leaf_depth_[s] = static_cast<std::uint8_t>(1 + std::max(previous, next));
      previous = next;
    }
  }
  Stem stem(std::size_t s) const { return stem_at(entries_[stem_begin_[s]]); }

  // Every leaf's C1, C2 and C, its hash, and its record, in chunks of stems.
  absl::Status make_leaves() {
    const std::size_t stems = stem_begin_.size() - 1;
    leaf_hash_.resize(stems);
    std::vector<Point> points;
    std::vector<CommitmentDelta> deltas;
    std::vector<Fr> mapped;
    std::vector<LeafNode> leaves;
    auto add = [&](std::uint32_t target, std::uint32_t generator, const Fr& scalar) {
      if (!scalar.is_zero()) deltas.push_back(CommitmentDelta{target, generator, scalar});
    };
    for (std::size_t begin = 0; begin < stems; begin += kStemsPerJob) {
      const std::size_t count = std::min(kStemsPerJob, stems - begin);
      // C1 and C2 from the values, suffixes in order, so the targets come sorted.
      points.assign(2 * count, Point::identity());
      deltas.clear();
      leaves.assign(count, LeafNode{});
      for (std::uint32_t j = 0; j < count; ++j) {
        LeafNode& leaf = leaves[j];
        leaf.stem = stem(begin + j);
        for (std::uint32_t i = stem_begin_[begin + j]; i < stem_begin_[begin + j + 1]; ++i) {
          const std::uint8_t suffix = entries_[i].key[kStemBytes];
          leaf.present[suffix] = true;
          const std::uint32_t target = 2 * j + (suffix >= 128 ? 1 : 0);
          const std::uint32_t generator = 2 * (suffix % 128);
          add(target, generator, value_low_with_marker(entries_[i].value));
          add(target, generator + 1, value_high(entries_[i].value));
        }
      }
      if (absl::Status done = update(points, deltas); !done.ok()) return done;
      mapped.resize(points.size());
      if (absl::Status done = map(points, mapped); !done.ok()) return done;
      for (std::uint32_t j = 0; j < count; ++j) {
        leaves[j].c1 = points[2 * j];
        leaves[j].c2 = points[2 * j + 1];
      }
      // C = 1*G0 + stem*G1 + map(C1)*G2 + map(C2)*G3.
      points.assign(count, Point::identity());
      deltas.clear();
      for (std::uint32_t j = 0; j < count; ++j) {
        add(j, 0, Fr::one());
        add(j, 1, stem_scalar(leaves[j].stem));
        add(j, 2, mapped[2 * j]);
        add(j, 3, mapped[2 * j + 1]);
      }
      if (absl::Status done = update(points, deltas); !done.ok()) return done;
      mapped.resize(count);
      if (absl::Status done = map(points, mapped); !done.ok()) return done;
      std::vector<Point*> to_normalize;
      for (std::uint32_t j = 0; j < count; ++j) {
        leaves[j].commitment = points[j];
        leaf_hash_[begin + j] = mapped[j];
        to_normalize.insert(to_normalize.end(),
                            {&leaves[j].commitment, &leaves[j].c1, &leaves[j].c2});
      }
      normalize_points(to_normalize);
      for (std::uint32_t j = 0; j < count; ++j) {
        const int depth = leaf_depth_[begin + j];
        if (absl::Status written = files_[depth][1]->append(
                node_key(depth, std::span(leaves[j].stem).first(depth)), encode_node(leaves[j]));
            !written.ok()) {
          return written;
        }
      }
      progress("leaves", begin + count, stems);
    }
    return absl::OkStatus();
  }

  // Internal nodes depth by depth from the deepest: each is the parent of the run of nodes one
  // level below that share its path.
  absl::Status make_internal_nodes() {
    const std::size_t stems = stem_begin_.size() - 1;
    const int deepest = *std::max_element(leaf_depth_.begin(), leaf_depth_.end());
    std::vector<std::vector<std::uint32_t>> leaves_at(deepest + 1);
    for (std::uint32_t s = 0; s < stems; ++s) leaves_at[leaf_depth_[s]].push_back(s);
    auto leaf_nodes = [&](int depth) {
      std::vector<LevelNode> nodes;
      for (std::uint32_t s : leaves_at[depth])
        nodes.push_back({s, leaf_hash_[s], ChildKind::kLeaf});
      return nodes;
    };
    std::vector<LevelNode> below = leaf_nodes(deepest);
    std::vector<LevelNode> made;
    std::vector<Point> points;
    std::vector<CommitmentDelta> deltas;
    std::vector<Fr> mapped;
    std::vector<std::pair<std::size_t, std::size_t>> groups;  // runs of `below`, one per parent
    InternalNode node;  // reused: cleared slot by slot after each record
    for (int depth = deepest - 1; depth >= 0; --depth) {
      made.clear();
      std::size_t i = 0;
      while (i < below.size()) {
        groups.clear();
        points.clear();
        deltas.clear();
        while (i < below.size() && groups.size() < kParentsPerJob) {
          const Stem path = stem(below[i].first_stem);
          std::size_t end = i + 1;
          while (end < below.size() && shared_bytes(stem(below[end].first_stem), path) >= depth) {
            ++end;
          }
          const auto target = static_cast<std::uint32_t>(groups.size());
          for (std::size_t c = i; c < end; ++c) {
            const Fr& hash = below[c].hash;
            if (!hash.is_zero()) {
              deltas.push_back(CommitmentDelta{target, stem(below[c].first_stem)[depth], hash});
            }
          }
          groups.emplace_back(i, end);
          points.push_back(Point::identity());
          i = end;
        }
        if (absl::Status done = update(points, deltas); !done.ok()) return done;
        mapped.resize(points.size());
        if (absl::Status done = map(points, mapped); !done.ok()) return done;
        std::vector<Point*> to_normalize;
        for (Point& point : points) to_normalize.push_back(&point);
        normalize_points(to_normalize);
        for (std::size_t g = 0; g < groups.size(); ++g) {
          const auto [from, to] = groups[g];
          const Stem path = stem(below[from].first_stem);
          node.commitment = points[g];
          for (std::size_t c = from; c < to; ++c) {
            const std::uint8_t slot = stem(below[c].first_stem)[depth];
            node.kinds[slot] = below[c].kind;
            node.child_hashes[slot] = below[c].hash;
          }
          absl::Status written = files_[depth][0]->append(
              node_key(depth, std::span(path).first(depth)), encode_node(node));
          for (std::size_t c = from; c < to; ++c) {
            const std::uint8_t slot = stem(below[c].first_stem)[depth];
            node.kinds[slot] = ChildKind::kEmpty;
            node.child_hashes[slot] = Fr::zero();
          }
          if (!written.ok()) return written;
          made.push_back({below[from].first_stem, mapped[g], ChildKind::kInternal});
        }
        report_.internal_nodes += groups.size();
      }
      // The level above: these internal nodes and the leaves that sit at this depth, in order.
      std::vector<LevelNode> leaves = depth > 0 ? leaf_nodes(depth) : std::vector<LevelNode>{};
      below.resize(made.size() + leaves.size());
      std::merge(
          made.begin(), made.end(), leaves.begin(), leaves.end(), below.begin(),
          [](const LevelNode& a, const LevelNode& b) { return a.first_stem < b.first_stem; });
      progress("internal", deepest - depth, deepest);
    }
    report_.root = serialize(points.front());
    return absl::OkStatus();
  }

  // One depth's records in key order: its internal nodes and leaves merged.
  absl::Status write_depth(int depth) {
    RecordFile& internal = *files_[depth][0];
    RecordFile& leaves = *files_[depth][1];
    if (absl::Status rewound = internal.rewind(); !rewound.ok()) return rewound;
    if (absl::Status rewound = leaves.rewind(); !rewound.ok()) return rewound;
    auto a = internal.next();
    auto b = leaves.next();
    while (true) {
      if (!a.ok()) return a.status();
      if (!b.ok()) return b.status();
      if (!*a && !*b) break;
      const bool take_a = *a && (!*b || (*a)->first < (*b)->first);
      auto& taken = take_a ? *a : *b;
      if (absl::Status added = loader_.add(Space::kNodes, as_view(taken->first), taken->second);
          !added.ok()) {
        return added;
      }
      if (take_a) {
        a = internal.next();
      } else {
        b = leaves.next();
      }
    }
    files_[depth][0].reset();
    files_[depth][1].reset();
    return absl::OkStatus();
  }

  storage::TreeLoader& loader_;
  std::vector<VerkleLoadEntry>& entries_;
  host::ComputeBackend& backend_;
  const VerkleLoadOptions& options_;
  std::vector<std::uint32_t> stem_begin_;  // entry index of each stem's first value, then the end
  std::vector<std::uint8_t> leaf_depth_;
  std::vector<Fr> leaf_hash_;
  std::array<std::array<std::unique_ptr<RecordFile>, 2>, kDepths>
      files_;  // [depth][internal, leaf]
  VerkleLoadReport report_;
};

}  // namespace

absl::StatusOr<VerkleLoadReport> load_verkle(storage::Store& store, const std::string& name,
                                             std::vector<VerkleLoadEntry> entries,
                                             host::ComputeBackend& backend,
                                             const VerkleLoadOptions& options) {
  absl::StatusOr<std::unique_ptr<storage::TreeLoader>> loader =
      store.load_tree(verkle_tree_spec(name, options.create));
  if (!loader.ok()) return loader.status();
  Builder builder(**loader, entries, backend, options);
  return builder.run();
}

}  // namespace arbor::verkle
