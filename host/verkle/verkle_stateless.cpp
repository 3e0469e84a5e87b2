#include "host/verkle/verkle_stateless.hpp"

#include <algorithm>
#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "host/verkle/proof_tree.hpp"
#include "kernels/verkle/pedersen.hpp"
#include "tbb/parallel_for.h"

namespace arbor::verkle {

namespace {

absl::Status reject(const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat("witness: ", why));
}

std::string hex(std::string_view bytes) {
  return absl::StrCat("0x", absl::BytesToHexString(std::string(bytes)));
}
std::string hex(std::span<const std::uint8_t> bytes) { return hex(as_view(bytes)); }

std::string prefix(const Stem& stem, int depth) {
  return std::string(as_view(stem).substr(0, depth));
}

struct StemInfo {
  StemStatus status;
  int depth;
  std::int32_t leaf = -1;  // the leaf at its slot (present or other stem), -1 for an empty slot
};

// The partial tree under construction: children by slot while the shape is built (converted to
// ProofInternal's sorted vectors at the end).
class Builder {
 public:
  explicit Builder(ProofTree& tree) : tree_(tree) {
    tree_.nodes.emplace_back();  // the root: internal, depth 0, path ""
    kids_.emplace_back();
    at_[""] = 0;
  }

  // The internal node at `path`, created (and linked into its parent) when missing.
  absl::StatusOr<std::int32_t> internal_at(const std::string& path) {
    auto it = at_.find(path);
    if (it != at_.end()) {
      if (it->second < 0 || tree_.nodes[it->second].leaf) {
        return reject(absl::StrCat("the statuses contradict each other at path ", hex(path),
                                   " (an internal node there and a leaf or empty slot)"));
      }
      return it->second;
    }
    absl::StatusOr<std::int32_t> parent = internal_at(path.substr(0, path.size() - 1));
    if (!parent.ok()) return parent;
    ProofNode node;
    node.depth = static_cast<int>(path.size());
    node.path = path;
    return add(*parent, std::move(node));
  }

  // A leaf with `stem` at `path` (its parent created as needed).
  absl::StatusOr<std::int32_t> leaf_at(const std::string& path, const Stem& stem) {
    if (at_.count(path) != 0) {
      return reject(absl::StrCat("two statuses claim the slot at path ", hex(path)));
    }
    absl::StatusOr<std::int32_t> parent = internal_at(path.substr(0, path.size() - 1));
    if (!parent.ok()) return parent;
    ProofNode node;
    node.leaf = true;
    node.depth = static_cast<int>(path.size());
    node.path = path;
    node.leaf_data.stem = stem;
    return add(*parent, std::move(node));
  }

  absl::Status empty_at(const std::string& path) {
    auto it = at_.find(path);
    if (it != at_.end()) {
      if (it->second == -1) return absl::OkStatus();  // several absent stems in one empty slot
      return reject(absl::StrCat("an empty slot is claimed at path ", hex(path),
                                 " where another status puts a node"));
    }
    absl::StatusOr<std::int32_t> parent = internal_at(path.substr(0, path.size() - 1));
    if (!parent.ok()) return parent.status();
    at_[path] = -1;
    return absl::OkStatus();
  }

  std::optional<std::int32_t> find(const std::string& path) const {
    auto it = at_.find(path);
    if (it == at_.end()) return std::nullopt;
    return it->second;
  }

  // Converts the child maps into each internal node's sorted vectors (hashes filled later).
  void finish() {
    for (std::size_t i = 0; i < tree_.nodes.size(); ++i) {
      if (tree_.nodes[i].leaf) continue;
      ProofInternal& in = tree_.nodes[i].internal;
      for (const auto& [slot, child] : kids_[i]) {
        in.slots.push_back(slot);
        in.kinds.push_back(tree_.nodes[child].leaf ? ChildKind::kLeaf : ChildKind::kInternal);
        in.hashes.push_back(Fr::zero());
        in.children.push_back(child);
      }
    }
  }

 private:
  std::int32_t add(std::int32_t parent, ProofNode node) {
    const auto index = static_cast<std::int32_t>(tree_.nodes.size());
    const std::uint8_t slot = static_cast<std::uint8_t>(node.path.back());
    at_[node.path] = index;
    tree_.nodes.push_back(std::move(node));
    kids_.emplace_back();
    kids_[parent][slot] = index;
    return index;
  }

  ProofTree& tree_;
  std::vector<std::map<std::uint8_t, std::int32_t>> kids_;
  std::map<std::string, std::int32_t> at_;  // path -> node, or -1 for an empty slot
};

// ---- post state ---------------------------------------------------------------------------------

// Applies the newValues to the verified partial tree and recomputes the commitments that change.
class PostState {
 public:
  PostState(ProofTree& tree) : tree_(tree), tables_(default_pedersen_tables()) {
    dirty_.assign(tree_.nodes.size(), false);
    fresh_.assign(tree_.nodes.size(), false);
  }

  absl::Status write(const Stem& stem, std::span<const SuffixDiff> diffs) {
    // Walk from the root along the stem; every slot on the way is known from the stem's status.
    std::uint32_t node = 0;
    std::vector<std::uint32_t> path = {0};
    for (int depth = 0;; ++depth) {
      ProofNode& n = tree_.nodes[node];
      if (n.leaf) {
        if (n.leaf_data.stem == stem) break;
        // Another stem's leaf: push it down until the stems part, then add ours beside it.
        node = split(path, stem, depth);
        break;
      }
      const int entry = n.internal.find(stem[depth]);
      if (entry < 0) {
        node = new_leaf(node, stem, depth + 1);
        path.push_back(node);
        break;
      }
      const std::int32_t child = n.internal.children[entry];
      if (child < 0) return reject("post state: a node on a written stem's path is unknown");
      node = static_cast<std::uint32_t>(child);
      path.push_back(node);
    }
    for (std::uint32_t p : path) mark(p);  // the leaf written is marked when it is created
    ProofLeaf& leaf = tree_.nodes[node].leaf_data;
    for (const SuffixDiff& d : diffs) {
      if (!d.next) continue;
      const Value32* old = leaf.value(d.suffix);
      const std::uint32_t z = 2u * (d.suffix % 128);
      Point& half = d.suffix < 128 ? leaf.c1 : leaf.c2;
      const Fr lo_delta =
          sub(value_low_with_marker(*d.next), old ? value_low_with_marker(*old) : Fr::zero());
      const Fr hi_delta = sub(value_high(*d.next), old ? value_high(*old) : Fr::zero());
      half = tables_.update(tables_.update(half, z, lo_delta), z + 1, hi_delta);
      set_value(leaf, d.suffix, *d.next);
    }
    return absl::OkStatus();
  }

  // Recomputes every dirty commitment, deepest first; returns the root.
  Point recompute() {
    hash(0);
    return tree_.nodes[0].commitment;
  }

 private:
  // add_node keeps dirty_ and fresh_ as long as the node list.
  void mark(std::uint32_t node) { dirty_[node] = true; }

  std::uint32_t add_node(ProofNode node) {
    tree_.nodes.push_back(std::move(node));
    const auto index = static_cast<std::uint32_t>(tree_.nodes.size() - 1);
    dirty_.resize(tree_.nodes.size(), false);
    fresh_.resize(tree_.nodes.size(), false);
    fresh_[index] = true;
    dirty_[index] = true;
    return index;
  }

  static void link(ProofInternal& in, std::uint8_t slot, ChildKind kind, std::uint32_t child) {
    const auto at = std::lower_bound(in.slots.begin(), in.slots.end(), slot) - in.slots.begin();
    in.slots.insert(in.slots.begin() + at, slot);
    in.kinds.insert(in.kinds.begin() + at, kind);
    in.hashes.insert(in.hashes.begin() + at, Fr::zero());  // the slot was empty: old hash 0
    in.children.insert(in.children.begin() + at, static_cast<std::int32_t>(child));
  }

  std::uint32_t new_leaf(std::uint32_t parent, const Stem& stem, int depth) {
    ProofNode leaf;
    leaf.leaf = true;
    leaf.depth = depth;
    leaf.leaf_data.stem = stem;
    const std::uint32_t index = add_node(std::move(leaf));
    link(tree_.nodes[parent].internal, stem[depth - 1], ChildKind::kLeaf, index);
    return index;
  }

  // path.back() is the leaf of another stem at `depth`; path[size-2] its parent.
  std::uint32_t split(std::vector<std::uint32_t>& path, const Stem& stem, int depth) {
    const std::uint32_t other = path.back();
    const std::uint32_t parent = path[path.size() - 2];
    const Stem other_stem = tree_.nodes[other].leaf_data.stem;
    // Replace the leaf in its parent's slot by a chain of new internal nodes.
    std::uint32_t top = parent;
    std::uint8_t slot = stem[depth - 1];
    int d = depth;
    for (;; ++d) {
      ProofNode node;
      node.depth = d;
      const std::uint32_t index = add_node(std::move(node));
      ProofInternal& in = tree_.nodes[top].internal;
      const int entry = in.find(slot);
      if (entry >= 0) {  // the moved leaf's old slot: it becomes an internal node
        in.kinds[entry] = ChildKind::kInternal;
        in.children[entry] = static_cast<std::int32_t>(index);
      } else {
        link(in, slot, ChildKind::kInternal, index);
      }
      path.push_back(index);
      top = index;
      if (stem[d] != other_stem[d]) break;
      slot = stem[d];
    }
    // `top` is at depth d: the two stems differ at byte d.
    tree_.nodes[other].depth = d + 1;
    // The moved leaf keeps its commitment; the fresh node above it starts from the identity with
    // every entry 0, so its hash is added like any other child's.
    link(tree_.nodes[top].internal, other_stem[d], ChildKind::kLeaf, other);
    return new_leaf(top, stem, d + 1);
  }

  static void set_value(ProofLeaf& leaf, std::uint8_t suffix, const Value32& value) {
    auto it = std::lower_bound(
        leaf.values.begin(), leaf.values.end(), suffix,
        [](const std::pair<std::uint8_t, Value32>& v, std::uint8_t s) { return v.first < s; });
    if (it != leaf.values.end() && it->first == suffix) {
      it->second = value;
    } else {
      leaf.values.insert(it, {suffix, value});
    }
  }

  // The node's hash after recomputing what is dirty below it.
  Fr hash(std::uint32_t index) {
    ProofNode& node = tree_.nodes[index];
    if (!dirty_[index]) return map_to_scalar_field(node.commitment);
    if (node.leaf) {
      ProofLeaf& l = node.leaf_data;
      const Fr c1 = map_to_scalar_field(l.c1), c2 = map_to_scalar_field(l.c2);
      if (fresh_[index]) {
        const SparseTerm terms[] = {{0, Fr::one()}, {1, stem_scalar(l.stem)}, {2, c1}, {3, c2}};
        node.commitment = *tables_.commit_sparse(terms);
      } else {
        node.commitment = tables_.update(tables_.update(node.commitment, 2, sub(c1, l.c1_hash)), 3,
                                         sub(c2, l.c2_hash));
      }
      l.c1_hash = c1;
      l.c2_hash = c2;
    } else {
      ProofInternal& in = node.internal;
      for (std::size_t e = 0; e < in.slots.size(); ++e) {
        const std::int32_t child = in.children[e];
        // A fresh node adds every child; an old one only the children that changed.
        if (child < 0 || (!dirty_[child] && !fresh_[index])) continue;
        const Fr h = hash(static_cast<std::uint32_t>(child));
        // A fresh node starts from the identity with every child entry at 0.
        node.commitment = tables_.update(node.commitment, in.slots[e], sub(h, in.hashes[e]));
        in.hashes[e] = h;
      }
    }
    dirty_[index] = false;
    return map_to_scalar_field(node.commitment);
  }

  ProofTree& tree_;
  const PedersenTables& tables_;
  std::vector<bool> dirty_;
  std::vector<bool> fresh_;
};

}  // namespace

absl::StatusOr<StatelessResult> verify_witness(host::ComputeBackend& backend,
                                               const RootCommitment& pre_state_root,
                                               const VerkleWitness& w,
                                               const StatelessOptions& options) {
  StatelessResult result;
  // 1. Keys, in the order the openings need.
  if (w.state_diff.empty()) return reject("the state diff is empty: nothing to verify");
  std::vector<Key32> keys;
  for (std::size_t i = 0; i < w.state_diff.size(); ++i) {
    const StemDiff& sd = w.state_diff[i];
    if (i > 0 && !(w.state_diff[i - 1].stem < sd.stem)) {
      return reject(absl::StrCat("stateDiff[", i, "]: stems are not strictly increasing"));
    }
    if (sd.suffixes.empty()) return reject(absl::StrCat("stateDiff[", i, "]: no suffixes"));
    for (std::size_t j = 0; j < sd.suffixes.size(); ++j) {
      if (j > 0 && sd.suffixes[j].suffix <= sd.suffixes[j - 1].suffix) {
        return reject(absl::StrCat("stateDiff[", i, "]: suffixes are not strictly increasing"));
      }
      Key32 key;
      std::copy(sd.stem.begin(), sd.stem.end(), key.begin());
      key[kStemBytes] = sd.suffixes[j].suffix;
      keys.push_back(key);
    }
  }
  result.stems = w.state_diff.size();
  result.keys = keys.size();
  if (w.extension_statuses.size() != w.state_diff.size()) {
    return reject(absl::StrCat(w.extension_statuses.size(), " extension statuses for ",
                               w.state_diff.size(), " stems"));
  }
  for (std::size_t i = 1; i < w.other_stems.size(); ++i) {
    if (!(w.other_stems[i - 1] < w.other_stems[i])) {
      return reject("otherStems are not sorted (or repeat a stem)");
    }
  }
  absl::StatusOr<Point> root = deserialize(pre_state_root);
  if (!root.ok()) return reject(absl::StrCat("the pre-state root: ", root.status().message()));

  // 2. The shape.
  ProofTree tree;
  Builder build(tree);
  std::vector<StemInfo> info(w.state_diff.size());
  for (std::size_t i = 0; i < w.state_diff.size(); ++i) {
    const std::uint8_t es = w.extension_statuses[i];
    const int depth = es >> 3;
    const int type = es & 7;
    if (type > 2) return reject(absl::StrCat("stem ", i, ": invalid extension status ", type));
    if (depth < 1 || depth > static_cast<int>(kStemBytes)) {
      return reject(absl::StrCat("stem ", i, ": depth ", depth, " is outside 1..31"));
    }
    info[i] = {static_cast<StemStatus>(type), depth};
    const Stem& stem = w.state_diff[i].stem;
    if (info[i].status != StemStatus::kPresent) {
      for (const SuffixDiff& d : w.state_diff[i].suffixes) {
        if (d.current) {
          return reject(absl::StrCat("stem ", hex(stem), " is proved absent but suffix ",
                                     int(d.suffix), " has a currentValue"));
        }
      }
    }
    if (info[i].status == StemStatus::kPresent) {
      absl::StatusOr<std::int32_t> leaf = build.leaf_at(prefix(stem, depth), stem);
      if (!leaf.ok()) return leaf.status();
      info[i].leaf = *leaf;
    } else if (info[i].status == StemStatus::kAbsentEmpty) {
      if (absl::Status s = build.empty_at(prefix(stem, depth)); !s.ok()) return s;
    }
  }
  std::size_t next_other = 0;
  for (std::size_t i = 0; i < w.state_diff.size(); ++i) {
    if (info[i].status != StemStatus::kAbsentOther) continue;
    const Stem& stem = w.state_diff[i].stem;
    const std::string path = prefix(stem, info[i].depth);
    std::optional<std::int32_t> at = build.find(path);
    if (!at) {
      if (next_other == w.other_stems.size()) {
        return reject(absl::StrCat(
            "stem ", hex(stem), " is absent (other stem) but no otherStem is left for its slot"));
      }
      const Stem& other = w.other_stems[next_other++];
      if (prefix(other, info[i].depth) != path || other == stem) {
        return reject(absl::StrCat("otherStem ", hex(other), " does not sit in the slot of stem ",
                                   hex(stem)));
      }
      absl::StatusOr<std::int32_t> leaf = build.leaf_at(path, other);
      if (!leaf.ok()) return leaf.status();
      at = *leaf;
    }
    if (*at < 0 || !tree.nodes[*at].leaf) {
      return reject(absl::StrCat("stem ", hex(stem), " is absent (other stem) at path ", hex(path),
                                 " where the witness has no leaf"));
    }
    if (tree.nodes[*at].leaf_data.stem == stem) {
      return reject(absl::StrCat("stem ", hex(stem), " is proved absent by its own leaf"));
    }
    info[i].leaf = *at;
  }
  if (next_other != w.other_stems.size()) {
    return reject(absl::StrCat(w.other_stems.size() - next_other, " of ", w.other_stems.size(),
                               " otherStems are not used by any stem"));
  }
  build.finish();

  // 3. The commitments, by path: every node but the root, and the opened halves of present leaves.
  std::map<std::string, CommitmentRef> needed;
  for (std::uint32_t n = 1; n < tree.nodes.size(); ++n)
    needed[tree.nodes[n].path] = {n, NodePart::kC};
  for (std::size_t i = 0; i < w.state_diff.size(); ++i) {
    if (info[i].status != StemStatus::kPresent) continue;
    const auto leaf = static_cast<std::uint32_t>(info[i].leaf);
    for (const SuffixDiff& d : w.state_diff[i].suffixes) {
      const bool upper = d.suffix >= 128;
      needed[tree.nodes[leaf].path + std::string(1, static_cast<char>(2 + upper))] = {
          leaf, upper ? NodePart::kC2 : NodePart::kC1};
    }
  }
  if (needed.size() != w.commitments_by_path.size()) {
    return reject(absl::StrCat("the statuses need ", needed.size(),
                               " commitments, the witness has ", w.commitments_by_path.size()));
  }
  std::vector<CommitmentRef> order;
  order.reserve(needed.size());
  for (const auto& [path, ref] : needed) order.push_back(ref);
  // Decoded in parallel chunks, one batched inversion per chunk.
  std::vector<absl::StatusOr<Point>> decoded(order.size(), absl::UnknownError("not decoded"));
  constexpr std::size_t kDecodeChunk = 64;
  tbb::parallel_for(
      std::size_t{0}, (order.size() + kDecodeChunk - 1) / kDecodeChunk, [&](std::size_t c) {
        const std::size_t begin = c * kDecodeChunk,
                          len = std::min(kDecodeChunk, order.size() - begin);
        std::vector<absl::StatusOr<Point>> part =
            batch_deserialize(std::span(w.commitments_by_path).subspan(begin, len));
        std::move(part.begin(), part.end(), decoded.begin() + static_cast<std::ptrdiff_t>(begin));
      });
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (!decoded[i].ok()) {
      return reject(absl::StrCat("commitmentsByPath[", i, "]: ", decoded[i].status().message()));
    }
    ProofNode& node = tree.nodes[order[i].node];
    (order[i].part == NodePart::kC    ? node.commitment
     : order[i].part == NodePart::kC1 ? node.leaf_data.c1
                                      : node.leaf_data.c2) = *decoded[i];
  }
  tree.nodes[0].commitment = *root;
  result.commitments = order.size();

  // 4. Child hashes and leaf half hashes, one batched map-to-field.
  std::vector<Point> to_map;
  for (const ProofNode& node : tree.nodes) {
    if (node.leaf) {
      to_map.push_back(node.leaf_data.c1);
      to_map.push_back(node.leaf_data.c2);
    } else {
      for (std::int32_t child : node.internal.children)
        to_map.push_back(tree.nodes[child].commitment);
    }
  }
  std::vector<Fr> hashes(to_map.size());
  if (absl::Status s = backend.verkle_map_to_field(to_map, hashes); !s.ok()) return s;
  std::size_t next_hash = 0;
  for (ProofNode& node : tree.nodes) {
    if (node.leaf) {
      node.leaf_data.c1_hash = hashes[next_hash++];
      node.leaf_data.c2_hash = hashes[next_hash++];
    } else {
      for (Fr& h : node.internal.hashes) h = hashes[next_hash++];
    }
  }
  // Values of present stems.
  for (std::size_t i = 0; i < w.state_diff.size(); ++i) {
    if (info[i].status != StemStatus::kPresent) continue;
    ProofLeaf& leaf = tree.nodes[info[i].leaf].leaf_data;
    for (const SuffixDiff& d : w.state_diff[i].suffixes) {
      if (d.current) {
        leaf.values.emplace_back(d.suffix, *d.current);
        ++result.present_keys;
      }
    }
  }

  // 5. The openings, and the witness's own statuses and other stems, by the prover's walk.
  absl::StatusOr<DerivedProof> derived = tree.derive(keys);
  if (!derived.ok()) return reject(std::string(derived.status().message()));
  if (derived->extension_statuses != w.extension_statuses) {
    return reject("the extension statuses contradict the tree they describe");
  }
  if (derived->other_stems != w.other_stems) {
    return reject("the otherStems are not the ones the tree needs");
  }
  if (derived->commitments_by_path != order) {
    return reject("the commitments by path do not match the tree's paths");
  }
  result.openings = derived->openings.size();

  // 6. The multiproof.
  std::map<std::pair<std::uint32_t, NodePart>, std::uint32_t> index_of;
  std::vector<Point> points = {*root};
  std::vector<PointBytes> point_bytes = {pre_state_root};
  index_of[{0, NodePart::kC}] = 0;
  for (std::size_t i = 0; i < order.size(); ++i) {
    index_of[{order[i].node, order[i].part}] = static_cast<std::uint32_t>(points.size());
    points.push_back(tree.point(order[i]));
    point_bytes.push_back(w.commitments_by_path[i]);
  }
  std::vector<VerifierOpening> openings;
  openings.reserve(derived->openings.size());
  for (const ProofOpening& o : derived->openings) {
    openings.push_back({index_of.at({o.ref.node, o.ref.part}), o.z, o.y});
  }
  absl::StatusOr<Multiproof> proof = decode_multiproof(w.multiproof_bytes());
  if (!proof.ok()) return reject(std::string(proof.status().message()));
  Transcript transcript(kTreeTranscriptLabel);
  absl::Status verified =
      multiproof_verify(backend, transcript, points, point_bytes, openings, *proof);
  if (absl::IsInvalidArgument(verified)) return reject(std::string(verified.message()));
  if (!verified.ok()) return verified;

  // 7. The post state.
  if (options.compute_post_root || options.expected_post_root) {
    PostState post(tree);
    for (std::size_t i = 0; i < w.state_diff.size(); ++i) {
      const StemDiff& sd = w.state_diff[i];
      if (std::none_of(sd.suffixes.begin(), sd.suffixes.end(),
                       [](const SuffixDiff& d) { return d.next.has_value(); })) {
        continue;
      }
      if (absl::Status s = post.write(sd.stem, sd.suffixes); !s.ok()) return s;
    }
    result.post_root = serialize(post.recompute());
    if (options.expected_post_root && *result.post_root != *options.expected_post_root) {
      return reject(absl::StrCat("the post-state root is ", hex(*result.post_root), ", not ",
                                 hex(*options.expected_post_root)));
    }
  }
  return result;
}

}  // namespace arbor::verkle
