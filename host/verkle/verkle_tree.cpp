#include "host/verkle/verkle_tree.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <string_view>
#include <unordered_map>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace arbor::verkle {
namespace {

using storage::Space;

constexpr std::string_view kParams = "verkle-eip6800/1";

using tree::ms_since;

std::string hex(std::span<const std::uint8_t> bytes) {
  return absl::StrCat("0x", absl::BytesToHexString(std::string(as_view(bytes))));
}

struct NodeKeyHash {
  std::size_t operator()(const NodeKey& key) const {
    return std::hash<std::string_view>()(as_view(key));
  }
};

// One distinct key of a batch whose operation changes the tree.
struct KeyChange {
  Key32 key;
  std::optional<Value32> before;  // at the head
  std::optional<Value32> after;   // nullopt: deleted
};

// A change of one suffix relative to its leaf's base commitments (the stored ones, or empty for
// a leaf created in this batch).
struct SuffixChange {
  std::uint8_t suffix;
  std::optional<Value32> before;
  std::optional<Value32> after;
};

struct WorkInternal {
  NodeKey key{};
  bool live = true;
  InternalNode node;
  Fr hash = Fr::zero();  // map_to_field(commitment); the new one after the math phase
  std::bitset<kNodeWidth> touched;
  std::vector<std::pair<std::uint8_t, Fr>> old_hashes;  // child hash of each touched slot before

  void touch(std::uint8_t slot) {
    if (touched[slot]) return;
    touched[slot] = true;
    old_hashes.emplace_back(slot, node.child_hashes[slot]);
  }
};

struct WorkLeaf {
  NodeKey key{};
  bool live = true;
  bool fresh = false;  // created in this batch: its base commitments are empty
  bool dirty = false;  // its record must be rewritten (changed or moved)
  LeafNode node;       // commitments are the base until the math phase
  Fr hash = Fr::zero();
  std::vector<SuffixChange> changes;
};

// The touched part of the tree, loaded from the head and then reshaped in memory.
class Overlay {
 public:
  struct Ref {
    bool leaf;
    std::uint32_t index;
  };

  WorkInternal& internal(std::uint32_t i) { return internals_[i]; }
  WorkLeaf& leaf(std::uint32_t i) { return leaves_[i]; }
  std::deque<WorkInternal>& internals() { return internals_; }
  std::deque<WorkLeaf>& leaves() { return leaves_; }

  std::uint32_t add_internal(WorkInternal node) {
    internals_.push_back(std::move(node));
    const auto index = static_cast<std::uint32_t>(internals_.size() - 1);
    at_[internals_.back().key] = Ref{false, index};
    return index;
  }
  std::uint32_t add_leaf(WorkLeaf node) {
    leaves_.push_back(std::move(node));
    const auto index = static_cast<std::uint32_t>(leaves_.size() - 1);
    at_[leaves_.back().key] = Ref{true, index};
    return index;
  }
  std::optional<Ref> find(const NodeKey& key) const {
    auto it = at_.find(key);
    if (it == at_.end()) return std::nullopt;
    return it->second;
  }
  void remove(const NodeKey& key) { at_.erase(key); }
  void place(const NodeKey& key, Ref ref) { at_[key] = ref; }

 private:
  std::deque<WorkInternal> internals_;
  std::deque<WorkLeaf> leaves_;
  std::unordered_map<NodeKey, Ref, NodeKeyHash> at_;
};

NodeKey child_key(const NodeKey& parent, std::uint8_t slot) {
  NodeKey key = parent;
  const int depth = parent[0];
  key[0] = static_cast<std::uint8_t>(depth + 1);
  key[1 + depth] = slot;
  return key;
}

std::string describe(const NodeKey& key) {
  const int depth = key[0];
  if (depth == 0) return "the root node";
  return absl::StrCat("the node at depth ", depth, " (path ",
                      hex(std::span<const std::uint8_t>(key.data() + 1, depth)), ")");
}

}  // namespace

VerkleTree::VerkleTree(storage::Store& store, std::string name, host::ComputeBackend& backend)
    : tree::Tree(store, std::move(name), backend) {}

storage::TreeSpec verkle_tree_spec(const std::string& name, const VerkleCreateOptions& create) {
  storage::TreeSpec spec;
  spec.name = name;
  spec.scheme = std::string(kScheme);
  spec.params = std::string(kParams);
  spec.node_key_bytes = kNodeKeyBytes;
  spec.value_key_bytes = kValueKeyBytes;
  spec.keep_versions = create.keep_versions;
  spec.base_version = create.base_version;
  spec.created_unix_ms = create.created_unix_ms;
  spec.empty_root = std::string(32, '\0');  // the identity serializes to 32 zero bytes
  return spec;
}

absl::StatusOr<std::unique_ptr<VerkleTree>> VerkleTree::create(storage::Store& store,
                                                               const std::string& name,
                                                               const VerkleCreateOptions& create,
                                                               host::ComputeBackend& backend) {
  absl::StatusOr<storage::TreeInfo> info = store.create_tree(verkle_tree_spec(name, create));
  if (!info.ok()) return info.status();
  return std::unique_ptr<VerkleTree>(new VerkleTree(store, name, backend));
}

absl::StatusOr<std::unique_ptr<VerkleTree>> VerkleTree::open(storage::Store& store,
                                                             const std::string& name,
                                                             host::ComputeBackend& backend) {
  absl::StatusOr<storage::TreeInfo> info = store.tree_info(name);
  if (!info.ok()) return info.status();
  if (info->scheme != kScheme) {
    return absl::FailedPreconditionError(
        absl::StrCat("tree \"", name, "\" is a ", info->scheme, " tree, not a Verkle tree"));
  }
  if (info->params != kParams) {
    return absl::FailedPreconditionError(
        absl::StrCat("tree \"", name, "\" has Verkle parameters \"", info->params,
                     "\"; this build reads \"", std::string(kParams), "\""));
  }
  return std::unique_ptr<VerkleTree>(new VerkleTree(store, name, backend));
}

absl::Status VerkleTree::check_key(std::string_view key, std::string_view field) const {
  if (key.size() != sizeof(Key32)) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(field), ": ", key.size(),
                     " bytes, expected 32 (a 31-byte stem and a suffix byte)"));
  }
  return absl::OkStatus();
}

absl::Status VerkleTree::check_value(std::string_view value, std::string_view field) const {
  if (value.size() != sizeof(Value32)) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(field), ": ", value.size(), " bytes, expected 32"));
  }
  return absl::OkStatus();
}

absl::StatusOr<tree::ApplyResult> VerkleTree::apply(std::span<const tree::Op> ops,
                                                    const tree::ApplyOptions& options) {
  if (absl::Status checked = check_ops(ops, "ops"); !checked.ok()) return checked;
  std::vector<VerkleOp> typed;
  typed.reserve(ops.size());
  for (std::size_t i = 0; i < ops.size(); ++i) {
    VerkleOp op;
    std::copy(ops[i].key.begin(), ops[i].key.end(), op.key.begin());
    if (ops[i].kind == tree::Op::Kind::kDelete) {
      op.kind = VerkleOp::Kind::kDelete;
    } else {
      std::copy(ops[i].value.begin(), ops[i].value.end(), op.value.begin());
    }
    typed.push_back(op);
  }
  absl::StatusOr<VerkleApplyResult> applied = apply(std::span<const VerkleOp>(typed), options);
  if (!applied.ok()) return applied.status();
  tree::ApplyResult result;
  result.version = std::move(applied->record);
  result.stats = applied->stats;  // the shared counters
  return result;
}

absl::StatusOr<VerkleApplyResult> VerkleTree::apply(std::span<const VerkleOp> ops,
                                                    const VerkleApplyOptions& options) {
  std::lock_guard writer(writer_mutex_);
  VerkleApplyResult result;
  VerkleApplyStats& stats = result.stats;
  auto started = std::chrono::steady_clock::now();

  absl::StatusOr<storage::TreeView> view = store_.view(name_);
  if (!view.ok()) return view.status();
  const std::uint64_t head = view->version().version;
  if (options.expected_version && *options.expected_version != head) {
    return absl::AbortedError(absl::StrCat("tree \"", name_, "\" is at version ", head,
                                           ", not the expected ", *options.expected_version));
  }
  const std::string tree_name = absl::StrCat("tree \"", name_, "\": ");

  // Sort by key (so by stem, then suffix); the last operation on a key wins.
  std::vector<VerkleOp> batch(ops.begin(), ops.end());
  std::stable_sort(batch.begin(), batch.end(),
                   [](const VerkleOp& a, const VerkleOp& b) { return a.key < b.key; });
  std::size_t kept = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (i + 1 < batch.size() && batch[i + 1].key == batch[i].key) continue;
    batch[kept++] = batch[i];
  }
  batch.resize(kept);
  stats.ops = batch.size();

  // Old values: they decide insert / update / delete and the C1/C2 deltas.
  std::vector<std::string> value_keys;
  value_keys.reserve(batch.size());
  for (const VerkleOp& op : batch) value_keys.emplace_back(as_view(op.key));
  absl::StatusOr<std::vector<std::optional<std::string>>> old_values =
      view->get_many(Space::kValues, value_keys);
  if (!old_values.ok()) return old_values.status();
  std::vector<KeyChange> changes;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    std::optional<Value32> before;
    if (const auto& stored = (*old_values)[i]) {
      if (stored->size() != 32) {
        return absl::DataLossError(absl::StrCat(tree_name, "the value of key ", hex(batch[i].key),
                                                " is ", stored->size(), " bytes"));
      }
      before.emplace();
      std::copy(stored->begin(), stored->end(), before->begin());
    }
    if (batch[i].kind == VerkleOp::Kind::kDelete) {
      if (!before) {
        ++stats.absent_deletes;
        continue;
      }
      ++stats.deleted;
      changes.push_back(KeyChange{batch[i].key, before, std::nullopt});
    } else {
      ++(before ? stats.updated : stats.inserted);
      if (before && *before == batch[i].value) continue;  // nothing to commit
      changes.push_back(KeyChange{batch[i].key, before, batch[i].value});
    }
  }

  // Stems with changes: [first, last) runs of `changes`.
  struct StemRun {
    Stem stem;
    std::size_t first, last;
  };
  std::vector<StemRun> stems;
  for (std::size_t i = 0; i < changes.size();) {
    const Stem stem = stem_of(changes[i].key);
    std::size_t j = i + 1;
    while (j < changes.size() && stem_of(changes[j].key) == stem) ++j;
    stems.push_back(StemRun{stem, i, j});
    i = j;
  }
  stats.stems_touched = stems.size();

  // Read the touched paths top-down, one batched read per level.
  Overlay overlay;
  std::vector<NodeKey> loaded_keys;
  auto decode_at = [&](const NodeKey& key,
                       const std::optional<std::string>& record) -> absl::StatusOr<VerkleNode> {
    if (!record) return absl::DataLossError(absl::StrCat(tree_name, describe(key), " is missing"));
    absl::StatusOr<VerkleNode> node = decode_node(*record);
    if (!node.ok()) {
      return absl::DataLossError(
          absl::StrCat(tree_name, describe(key), ": ", std::string(node.status().message())));
    }
    return node;
  };
  {
    WorkInternal root;
    root.key = root_node_key();
    // Versions that never held a value (e.g. only deletes of absent keys) have no root record.
    if (!view->version().root_node_key.empty()) {
      absl::StatusOr<std::optional<std::string>> record =
          view->get(Space::kNodes, as_view(root.key));
      if (!record.ok()) return record.status();
      absl::StatusOr<VerkleNode> node = decode_at(root.key, *record);
      if (!node.ok()) return node.status();
      if (!std::holds_alternative<InternalNode>(*node)) {
        return absl::DataLossError(absl::StrCat(tree_name, "the root node is a leaf record"));
      }
      root.node = std::get<InternalNode>(std::move(*node));
      loaded_keys.push_back(root.key);
      ++stats.nodes_read;
    }
    overlay.add_internal(std::move(root));
  }
  struct Frontier {
    std::uint32_t internal;
    std::size_t first, last;  // runs of `stems` below it
  };
  std::vector<Frontier> level;
  if (!stems.empty()) level.push_back(Frontier{0, 0, stems.size()});
  for (int depth = 0; !level.empty(); ++depth) {
    struct Pending {
      NodeKey key;
      ChildKind kind;
      Fr hash;
      std::size_t first, last;
    };
    std::vector<Pending> pending;
    for (const Frontier& f : level) {
      const WorkInternal& parent = overlay.internal(f.internal);
      for (std::size_t i = f.first; i < f.last;) {
        const std::uint8_t slot = stems[i].stem[depth];
        std::size_t j = i + 1;
        while (j < f.last && stems[j].stem[depth] == slot) ++j;
        if (parent.node.kinds[slot] != ChildKind::kEmpty) {
          pending.push_back(Pending{child_key(parent.key, slot), parent.node.kinds[slot],
                                    parent.node.child_hashes[slot], i, j});
        }
        i = j;
      }
    }
    level.clear();
    if (pending.empty()) break;
    std::vector<std::string> keys;
    keys.reserve(pending.size());
    for (const Pending& p : pending) keys.emplace_back(as_view(p.key));
    absl::StatusOr<std::vector<std::optional<std::string>>> records =
        view->get_many(Space::kNodes, keys);
    if (!records.ok()) return records.status();
    stats.nodes_read += pending.size();
    for (std::size_t i = 0; i < pending.size(); ++i) {
      absl::StatusOr<VerkleNode> node = decode_at(pending[i].key, (*records)[i]);
      if (!node.ok()) return node.status();
      loaded_keys.push_back(pending[i].key);
      if (auto* internal = std::get_if<InternalNode>(&*node)) {
        if (pending[i].kind != ChildKind::kInternal) {
          return absl::DataLossError(absl::StrCat(tree_name, describe(pending[i].key),
                                                  " is an internal node; its parent says leaf"));
        }
        if (depth + 1 >= static_cast<int>(kStemBytes)) {
          return absl::DataLossError(
              absl::StrCat(tree_name, describe(pending[i].key), " is an internal node too deep"));
        }
        WorkInternal work;
        work.key = pending[i].key;
        work.node = std::move(*internal);
        work.hash = pending[i].hash;
        level.push_back(
            Frontier{overlay.add_internal(std::move(work)), pending[i].first, pending[i].last});
      } else {
        auto& leaf = std::get<LeafNode>(*node);
        if (pending[i].kind != ChildKind::kLeaf ||
            !std::equal(leaf.stem.begin(), leaf.stem.begin() + depth + 1,
                        pending[i].key.begin() + 1)) {
          return absl::DataLossError(absl::StrCat(tree_name, describe(pending[i].key),
                                                  " holds a leaf that does not belong there"));
        }
        WorkLeaf work;
        work.key = pending[i].key;
        work.node = std::move(leaf);
        work.hash = pending[i].hash;
        overlay.add_leaf(std::move(work));
      }
    }
  }
  stats.read_ms = ms_since(started);
  started = std::chrono::steady_clock::now();

  // Walks from the root towards `stem`, touching every slot on the way. Returns the leaf of
  // `stem` (nullopt when absent) and the internal nodes passed, root first.
  auto locate = [&](const Stem& stem,
                    std::vector<std::uint32_t>& path) -> std::optional<std::uint32_t> {
    path.assign(1, 0);
    for (int depth = 0;; ++depth) {
      WorkInternal& node = overlay.internal(path.back());
      const std::uint8_t slot = stem[depth];
      if (node.node.kinds[slot] == ChildKind::kEmpty) return std::nullopt;
      const std::optional<Overlay::Ref> child = overlay.find(child_key(node.key, slot));
      if (!child) return std::nullopt;  // not loaded: no change below it
      node.touch(slot);
      if (child->leaf) {
        if (overlay.leaf(child->index).node.stem == stem) return child->index;
        return std::nullopt;
      }
      path.push_back(child->index);
    }
  };

  // Deletes first (go-verkle: a value is removed; an emptied leaf goes, and so does every
  // internal node below the root that loses its last child).
  std::vector<std::uint32_t> path;
  for (const StemRun& run : stems) {
    bool has_delete = false;
    for (std::size_t i = run.first; i < run.last; ++i) has_delete |= !changes[i].after;
    if (!has_delete) continue;
    const std::optional<std::uint32_t> found = locate(run.stem, path);
    if (!found) {
      return absl::DataLossError(
          absl::StrCat(tree_name, "stem ", hex(run.stem), " has values but no leaf node"));
    }
    WorkLeaf& leaf = overlay.leaf(*found);
    for (std::size_t i = run.first; i < run.last; ++i) {
      if (changes[i].after) continue;
      const std::uint8_t suffix = changes[i].key[kStemBytes];
      leaf.node.present[suffix] = false;
      leaf.changes.push_back(SuffixChange{suffix, changes[i].before, std::nullopt});
    }
    leaf.dirty = true;
    if (leaf.node.present.any()) continue;
    leaf.live = false;
    overlay.remove(leaf.key);
    NodeKey removed = leaf.key;
    for (std::size_t up = path.size(); up-- > 0;) {
      WorkInternal& parent = overlay.internal(path[up]);
      const std::uint8_t slot = removed[node_key_depth(removed)];
      parent.node.kinds[slot] = ChildKind::kEmpty;
      if (up == 0 || parent.node.child_count() > 0) break;
      parent.live = false;
      overlay.remove(parent.key);
      removed = parent.key;
    }
  }

  // Then puts: descend to the stem's leaf, or to the empty slot or the other stem's leaf where
  // it goes; a leaf in the way moves down until the two stems part.
  for (const StemRun& run : stems) {
    bool has_put = false;
    for (std::size_t i = run.first; i < run.last; ++i) has_put |= changes[i].after.has_value();
    if (!has_put) continue;
    std::uint32_t at = 0;
    std::optional<std::uint32_t> target;
    for (int depth = 0; !target; ++depth) {
      WorkInternal& node = overlay.internal(at);
      const std::uint8_t slot = run.stem[depth];
      node.touch(slot);
      const NodeKey below = child_key(node.key, slot);
      switch (node.node.kinds[slot]) {
        case ChildKind::kEmpty: {
          WorkLeaf leaf;
          leaf.key = below;
          leaf.fresh = true;
          leaf.node.stem = run.stem;
          node.node.kinds[slot] = ChildKind::kLeaf;
          target = overlay.add_leaf(std::move(leaf));
          break;
        }
        case ChildKind::kInternal: {
          const std::optional<Overlay::Ref> child = overlay.find(below);
          if (!child || child->leaf) {
            return absl::InternalError(absl::StrCat(tree_name, describe(below), " not loaded"));
          }
          at = child->index;
          break;
        }
        case ChildKind::kLeaf: {
          const std::optional<Overlay::Ref> child = overlay.find(below);
          if (!child || !child->leaf) {
            return absl::InternalError(absl::StrCat(tree_name, describe(below), " not loaded"));
          }
          WorkLeaf& other = overlay.leaf(child->index);
          if (other.node.stem == run.stem) {
            target = child->index;
            break;
          }
          // Split: a new internal node takes the slot and the old leaf moves one level down.
          WorkInternal split;
          split.key = below;
          const std::uint8_t other_slot = other.node.stem[depth + 1];
          split.node.kinds[other_slot] = ChildKind::kLeaf;
          split.touch(other_slot);
          node.node.kinds[slot] = ChildKind::kInternal;
          other.key = child_key(below, other_slot);
          other.dirty = true;
          const Overlay::Ref moved = *child;
          at = overlay.add_internal(std::move(split));
          overlay.place(overlay.leaf(moved.index).key, moved);
          break;
        }
      }
    }
    WorkLeaf& leaf = overlay.leaf(*target);
    for (std::size_t i = run.first; i < run.last; ++i) {
      if (!changes[i].after) continue;
      const std::uint8_t suffix = changes[i].key[kStemBytes];
      leaf.node.present[suffix] = true;
      leaf.changes.push_back(
          SuffixChange{suffix, leaf.fresh ? std::nullopt : changes[i].before, changes[i].after});
    }
    leaf.dirty = true;
  }
  stats.plan_ms = ms_since(started);
  started = std::chrono::steady_clock::now();

  // The math: leaves' C1/C2, then leaves' C, then internal levels deepest first.
  std::vector<std::uint32_t> leaf_jobs;
  for (std::uint32_t i = 0; i < overlay.leaves().size(); ++i) {
    const WorkLeaf& leaf = overlay.leaf(i);
    if (leaf.live && (leaf.fresh || !leaf.changes.empty())) leaf_jobs.push_back(i);
  }
  const Point identity = Point::identity();
  std::vector<Point> points;
  std::vector<host::CommitmentDelta> deltas;
  auto add_delta = [&](std::uint32_t target, std::uint32_t generator, const Fr& scalar) {
    if (!scalar.is_zero()) deltas.push_back(host::CommitmentDelta{target, generator, scalar});
  };
  points.reserve(2 * leaf_jobs.size());
  for (std::uint32_t j = 0; j < leaf_jobs.size(); ++j) {
    WorkLeaf& leaf = overlay.leaf(leaf_jobs[j]);
    if (leaf.fresh) leaf.node.c1 = leaf.node.c2 = identity;
    points.push_back(leaf.node.c1);
    points.push_back(leaf.node.c2);
    std::sort(leaf.changes.begin(), leaf.changes.end(),
              [](const SuffixChange& a, const SuffixChange& b) { return a.suffix < b.suffix; });
    for (const SuffixChange& change : leaf.changes) {
      const std::uint32_t target = 2 * j + (change.suffix >= 128 ? 1 : 0);
      const std::uint32_t generator = 2 * (change.suffix % 128);
      const Fr lo_before = change.before ? value_low_with_marker(*change.before) : Fr::zero();
      const Fr hi_before = change.before ? value_high(*change.before) : Fr::zero();
      const Fr lo_after = change.after ? value_low_with_marker(*change.after) : Fr::zero();
      const Fr hi_after = change.after ? value_high(*change.after) : Fr::zero();
      add_delta(target, generator, sub(lo_after, lo_before));
      add_delta(target, generator + 1, sub(hi_after, hi_before));
    }
  }
  stats.commitment_deltas += deltas.size();
  if (absl::Status s = backend_.verkle_update_commitments(points, deltas); !s.ok()) return s;
  std::vector<Point> to_map;
  to_map.reserve(4 * leaf_jobs.size());
  for (std::uint32_t j = 0; j < leaf_jobs.size(); ++j) {
    const WorkLeaf& leaf = overlay.leaf(leaf_jobs[j]);
    to_map.push_back(leaf.fresh ? identity : leaf.node.c1);
    to_map.push_back(leaf.fresh ? identity : leaf.node.c2);
    to_map.push_back(points[2 * j]);
    to_map.push_back(points[2 * j + 1]);
  }
  std::vector<Fr> mapped(to_map.size());
  if (absl::Status s = backend_.verkle_map_to_field(to_map, mapped); !s.ok()) return s;

  points.clear();
  deltas.clear();
  for (std::uint32_t j = 0; j < leaf_jobs.size(); ++j) {
    WorkLeaf& leaf = overlay.leaf(leaf_jobs[j]);
    leaf.node.c1 = to_map[4 * j + 2];
    leaf.node.c2 = to_map[4 * j + 3];
    if (leaf.fresh) {
      points.push_back(identity);
      add_delta(j, 0, Fr::one());
      add_delta(j, 1, stem_scalar(leaf.node.stem));
      add_delta(j, 2, mapped[4 * j + 2]);
      add_delta(j, 3, mapped[4 * j + 3]);
    } else {
      points.push_back(leaf.node.commitment);
      add_delta(j, 2, sub(mapped[4 * j + 2], mapped[4 * j]));
      add_delta(j, 3, sub(mapped[4 * j + 3], mapped[4 * j + 1]));
    }
  }
  stats.commitment_deltas += deltas.size();
  if (absl::Status s = backend_.verkle_update_commitments(points, deltas); !s.ok()) return s;
  mapped.resize(points.size());
  if (absl::Status s = backend_.verkle_map_to_field(points, mapped); !s.ok()) return s;
  for (std::uint32_t j = 0; j < leaf_jobs.size(); ++j) {
    WorkLeaf& leaf = overlay.leaf(leaf_jobs[j]);
    leaf.node.commitment = points[j];
    leaf.hash = mapped[j];
  }

  // Internal nodes by depth, deepest first; each level is one job.
  std::vector<std::vector<std::uint32_t>> by_depth(kStemBytes);
  for (std::uint32_t i = 0; i < overlay.internals().size(); ++i) {
    const WorkInternal& node = overlay.internal(i);
    if (node.live && node.touched.any()) by_depth[node.key[0]].push_back(i);
  }
  auto hash_below = [&](const WorkInternal& node, std::uint8_t slot) -> absl::StatusOr<Fr> {
    if (node.node.kinds[slot] == ChildKind::kEmpty) return Fr::zero();
    const NodeKey below = child_key(node.key, slot);
    const std::optional<Overlay::Ref> child = overlay.find(below);
    if (!child) {
      return absl::InternalError(absl::StrCat(tree_name, describe(below), " not in the batch"));
    }
    return child->leaf ? overlay.leaf(child->index).hash : overlay.internal(child->index).hash;
  };
  for (std::size_t depth = by_depth.size(); depth-- > 0;) {
    const std::vector<std::uint32_t>& nodes = by_depth[depth];
    if (nodes.empty()) continue;
    points.clear();
    deltas.clear();
    for (std::uint32_t j = 0; j < nodes.size(); ++j) {
      WorkInternal& node = overlay.internal(nodes[j]);
      points.push_back(node.node.commitment);
      std::sort(node.old_hashes.begin(), node.old_hashes.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      for (const auto& [slot, old_hash] : node.old_hashes) {
        absl::StatusOr<Fr> now = hash_below(node, slot);
        if (!now.ok()) return now.status();
        node.node.child_hashes[slot] = *now;
        add_delta(j, slot, sub(*now, old_hash));
      }
    }
    stats.commitment_deltas += deltas.size();
    if (absl::Status s = backend_.verkle_update_commitments(points, deltas); !s.ok()) return s;
    mapped.resize(points.size());
    if (absl::Status s = backend_.verkle_map_to_field(points, mapped); !s.ok()) return s;
    for (std::uint32_t j = 0; j < nodes.size(); ++j) {
      WorkInternal& node = overlay.internal(nodes[j]);
      node.node.commitment = points[j];
      node.hash = mapped[j];
    }
  }
  stats.compute_ms = ms_since(started);
  started = std::chrono::steady_clock::now();

  // Records: every live changed node, erasures where nodes went, and the values.
  storage::CommitRequest commit;
  commit.parent_version = head;
  commit.label = options.label;
  commit.idempotent_writes = options.idempotent_writes;
  storage::WriteSet& writes = commit.writes;
  std::vector<Point*> to_normalize;
  for (WorkInternal& node : overlay.internals()) {
    if (node.live && node.touched.any()) to_normalize.push_back(&node.node.commitment);
  }
  for (WorkLeaf& leaf : overlay.leaves()) {
    if (!leaf.live || !leaf.dirty) continue;
    to_normalize.insert(to_normalize.end(), {&leaf.node.commitment, &leaf.node.c1, &leaf.node.c2});
  }
  normalize_points(to_normalize);
  for (const WorkInternal& node : overlay.internals()) {
    if (!node.live || !node.touched.any()) continue;
    writes.put(Space::kNodes, as_view(node.key), encode_node(node.node));
    ++stats.internal_written;
  }
  for (const WorkLeaf& leaf : overlay.leaves()) {
    if (!leaf.live || !leaf.dirty) continue;
    writes.put(Space::kNodes, as_view(leaf.key), encode_node(leaf.node));
    ++stats.leaves_written;
  }
  for (const NodeKey& key : loaded_keys) {
    if (overlay.find(key)) continue;
    writes.erase(Space::kNodes, as_view(key));
    ++stats.nodes_erased;
  }
  for (const KeyChange& change : changes) {
    if (change.after) {
      writes.put(Space::kValues, as_view(change.key), as_view(*change.after));
    } else {
      writes.erase(Space::kValues, as_view(change.key));
    }
  }
  const WorkInternal& root = overlay.internal(0);
  result.root = serialize(root.node.commitment);
  if (writes.empty()) {
    // Nothing changes; still a version, so that every apply makes one (as the SMT does).
    commit.root = view->version().root;
    commit.root_node_key = view->version().root_node_key;
  } else {
    commit.root = std::string(as_view(result.root));
    commit.root_node_key = std::string(as_view(root.key));
  }
  commit.entry_count = view->version().entry_count + stats.inserted - stats.deleted;
  stats.records_written = writes.size();
  stats.bytes_written = writes.bytes();
  absl::StatusOr<storage::VersionRecord> committed =
      tree::commit_version(options, store_, name_, head + 1, commit);
  if (!committed.ok()) return committed.status();
  stats.commit_ms = ms_since(started);
  result.version = committed->version;
  std::copy(committed->root.begin(), committed->root.end(), result.root.begin());
  result.entry_count = committed->entry_count;
  result.record = std::move(*committed);
  return result;
}

absl::StatusOr<RootCommitment> VerkleTree::root(std::optional<std::uint64_t> version) const {
  absl::StatusOr<storage::VersionRecord> record = version_record(version);
  if (!record.ok()) return record.status();
  if (record->root.size() != 32) {
    return absl::DataLossError(absl::StrCat("tree \"", name_, "\": version ", record->version,
                                            " has a ", record->root.size(), "-byte root"));
  }
  RootCommitment root;
  std::copy(record->root.begin(), record->root.end(), root.begin());
  return root;
}

absl::StatusOr<std::array<std::uint8_t, 32>> VerkleTree::root_hash(
    std::optional<std::uint64_t> version) const {
  absl::StatusOr<RootCommitment> bytes = root(version);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<Point> point = deserialize_trusted(*bytes);
  if (!point.ok()) {
    return absl::DataLossError(absl::StrCat("tree \"", name_, "\": stored root ", hex(*bytes), ": ",
                                            std::string(point.status().message())));
  }
  return map_to_scalar_field_bytes(*point);
}

absl::StatusOr<std::optional<Value32>> VerkleTree::get(const Key32& key,
                                                       std::optional<std::uint64_t> version) const {
  absl::StatusOr<storage::TreeView> view = store_.view(name_, version);
  if (!view.ok()) return view.status();
  absl::StatusOr<std::optional<std::string>> value = view->get(Space::kValues, as_view(key));
  if (!value.ok()) return value.status();
  if (!*value) return std::optional<Value32>();
  if ((*value)->size() != 32) {
    return absl::DataLossError(absl::StrCat("tree \"", name_, "\": the value of key ", hex(key),
                                            " is ", (*value)->size(), " bytes"));
  }
  Value32 out;
  std::copy((*value)->begin(), (*value)->end(), out.begin());
  return std::optional<Value32>(out);
}

absl::StatusOr<std::optional<VerkleNode>> VerkleTree::node(
    const NodeKey& node_key, std::optional<std::uint64_t> version) const {
  absl::StatusOr<storage::TreeView> view = store_.view(name_, version);
  if (!view.ok()) return view.status();
  absl::StatusOr<std::optional<std::string>> record = view->get(Space::kNodes, as_view(node_key));
  if (!record.ok()) return record.status();
  if (!*record) return std::optional<VerkleNode>();
  absl::StatusOr<VerkleNode> node = decode_node(**record);
  if (!node.ok()) {
    return absl::DataLossError(absl::StrCat("tree \"", name_, "\": ", describe(node_key), ": ",
                                            std::string(node.status().message())));
  }
  return std::optional<VerkleNode>(std::move(*node));
}

}  // namespace arbor::verkle
