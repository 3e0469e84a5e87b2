// VerkleTree::prove: loads the part of the tree the keys touch from one snapshot into a ProofTree
// (whole node polynomials), walks it (proof_tree.hpp) and proves the openings (multiproof.hpp).
#include <algorithm>
#include <bitset>
#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "host/verkle/proof_tree.hpp"
#include "host/verkle/verkle_tree.hpp"

namespace arbor::verkle {

namespace {

using storage::Space;

struct Pending {
  std::uint32_t node;
  std::span<const Key32> keys;
};

struct PendingLeaf {
  std::uint32_t node;
  std::span<const Key32> keys;
  std::bitset<kNodeWidth> present;
};

ProofNode node_from_record(VerkleNode&& record, int depth, std::string path) {
  ProofNode node;
  node.depth = depth;
  node.path = std::move(path);
  if (auto* internal = std::get_if<InternalNode>(&record)) {
    node.commitment = internal->commitment;
    for (std::size_t slot = 0; slot < kNodeWidth; ++slot) {
      if (internal->kinds[slot] == ChildKind::kEmpty) continue;
      node.internal.slots.push_back(static_cast<std::uint8_t>(slot));
      node.internal.kinds.push_back(internal->kinds[slot]);
      node.internal.hashes.push_back(internal->child_hashes[slot]);
      node.internal.children.push_back(-1);
    }
    return node;
  }
  LeafNode& leaf = std::get<LeafNode>(record);
  node.leaf = true;
  node.commitment = leaf.commitment;
  node.leaf_data.stem = leaf.stem;
  node.leaf_data.c1 = leaf.c1;
  node.leaf_data.c2 = leaf.c2;
  return node;
}

std::string describe_path(const std::string& path) {
  return path.empty() ? "the root"
                      : absl::StrCat("the node at path 0x", absl::BytesToHexString(path));
}

// Loads every node the keys reach, level by level (one get_many per level), then the values of
// each leaf half a key of that leaf's own stem opens (one get_many).
absl::Status load(const storage::TreeView& view, std::span<const Key32> keys, ProofTree& tree,
                  const std::string& tree_name) {
  auto corrupt = [&](const std::string& what, const absl::Status& s) {
    return absl::DataLossError(absl::StrCat("tree \"", tree_name, "\": ", what, ": ", s.message()));
  };
  absl::StatusOr<std::optional<std::string>> root =
      view.get(Space::kNodes, as_view(root_node_key()));
  if (!root.ok()) return root.status();
  ProofNode root_node;
  if (*root) {
    absl::StatusOr<VerkleNode> decoded = decode_node(**root);
    if (!decoded.ok()) return corrupt("the root node", decoded.status());
    if (std::holds_alternative<LeafNode>(*decoded)) {
      return absl::DataLossError(absl::StrCat("tree \"", tree_name, "\": the root is a leaf"));
    }
    root_node = node_from_record(*std::move(decoded), 0, "");
  }
  tree.nodes.push_back(std::move(root_node));  // absent: the empty tree's root, no children

  std::vector<Pending> level = {{0, keys}};
  std::vector<PendingLeaf> leaves;
  while (!level.empty()) {
    std::vector<std::string> record_keys;
    std::vector<Pending> requested;  // the child each record key is for (node = parent index)
    std::vector<std::pair<std::uint32_t, std::size_t>> links;  // parent, entry
    for (const Pending& p : level) {
      const ProofNode& parent = tree.nodes[p.node];
      const int depth = parent.depth;
      for (std::size_t b = 0; b < p.keys.size();) {
        std::size_t e = b + 1;
        while (e < p.keys.size() && p.keys[e][depth] == p.keys[b][depth]) ++e;
        const std::uint8_t slot = p.keys[b][depth];
        const int entry = parent.internal.find(slot);
        if (entry >= 0) {
          record_keys.emplace_back(
              as_view(node_key(depth + 1, std::span(p.keys[b]).first(depth + 1))));
          requested.push_back({p.node, p.keys.subspan(b, e - b)});
          links.emplace_back(p.node, static_cast<std::size_t>(entry));
        }
        b = e;
      }
    }
    if (record_keys.empty()) break;
    absl::StatusOr<std::vector<std::optional<std::string>>> records =
        view.get_many(Space::kNodes, record_keys);
    if (!records.ok()) return records.status();
    std::vector<Pending> next;
    for (std::size_t i = 0; i < record_keys.size(); ++i) {
      const auto [parent_index, entry] = links[i];
      const int depth = tree.nodes[parent_index].depth + 1;
      std::string path = tree.nodes[parent_index].path;
      path.push_back(static_cast<char>(tree.nodes[parent_index].internal.slots[entry]));
      if (!(*records)[i]) {
        return absl::DataLossError(absl::StrCat("tree \"", tree_name, "\": ", describe_path(path),
                                                " is referenced by its parent but missing"));
      }
      absl::StatusOr<VerkleNode> decoded = decode_node(*(*records)[i]);
      if (!decoded.ok()) return corrupt(describe_path(path), decoded.status());
      const ChildKind expected = tree.nodes[parent_index].internal.kinds[entry];
      const bool is_leaf = std::holds_alternative<LeafNode>(*decoded);
      if (is_leaf != (expected == ChildKind::kLeaf)) {
        return absl::DataLossError(absl::StrCat("tree \"", tree_name, "\": ", describe_path(path),
                                                " is not the kind its parent records"));
      }
      const auto index = static_cast<std::uint32_t>(tree.nodes.size());
      if (is_leaf)
        leaves.push_back({index, requested[i].keys, std::get<LeafNode>(*decoded).present});
      else
        next.push_back({index, requested[i].keys});
      tree.nodes.push_back(node_from_record(*std::move(decoded), depth, std::move(path)));
      tree.nodes[parent_index].internal.children[entry] = static_cast<std::int32_t>(index);
    }
    level = std::move(next);
  }

  // Values of the opened halves: every present suffix of a half that one of the leaf's own keys
  // falls in, since the half's whole polynomial is needed.
  std::vector<std::string> value_keys;
  std::vector<std::pair<std::uint32_t, std::uint8_t>> owners;
  for (const PendingLeaf& p : leaves) {
    ProofNode& node = tree.nodes[p.node];
    bool half_opened[2] = {false, false};
    for (const Key32& key : p.keys) {
      if (std::equal(node.leaf_data.stem.begin(), node.leaf_data.stem.end(), key.begin())) {
        half_opened[key[kStemBytes] / 128] = true;
      }
    }
    for (int s = 0; s < static_cast<int>(kNodeWidth); ++s) {
      if (!p.present[s] || !half_opened[s / 128]) continue;
      Key32 key;
      std::copy(node.leaf_data.stem.begin(), node.leaf_data.stem.end(), key.begin());
      key[kStemBytes] = static_cast<std::uint8_t>(s);
      value_keys.emplace_back(as_view(key));
      owners.emplace_back(p.node, static_cast<std::uint8_t>(s));
    }
  }
  if (!value_keys.empty()) {
    absl::StatusOr<std::vector<std::optional<std::string>>> values =
        view.get_many(Space::kValues, value_keys);
    if (!values.ok()) return values.status();
    for (std::size_t i = 0; i < value_keys.size(); ++i) {
      const auto [node, suffix] = owners[i];
      if (!(*values)[i] || (*values)[i]->size() != 32) {
        return absl::DataLossError(absl::StrCat("tree \"", tree_name, "\": the value of key 0x",
                                                absl::BytesToHexString(value_keys[i]),
                                                " is marked present in its leaf but ",
                                                (*values)[i] ? "has the wrong size" : "missing"));
      }
      Value32 v;
      std::copy((*values)[i]->begin(), (*values)[i]->end(), v.begin());
      tree.nodes[node].leaf_data.values.emplace_back(suffix, v);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<VerkleTree::ProofInputs> VerkleTree::proof_inputs(
    std::span<const Key32> keys, std::optional<std::uint64_t> version) const {
  absl::StatusOr<storage::TreeView> view = store_.view(name_, version);
  if (!view.ok()) return view.status();
  return proof_inputs_at(*view, keys);
}

absl::StatusOr<VerkleTree::ProofInputs> VerkleTree::proof_inputs_at(
    const storage::TreeView& view, std::span<const Key32> keys_in) const {
  if (keys_in.empty()) return absl::InvalidArgumentError("prove: no keys");
  std::vector<Key32> keys(keys_in.begin(), keys_in.end());
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());

  ProofTree tree;
  if (absl::Status s = load(view, keys, tree, name_); !s.ok()) return s;

  // Leaf C's polynomial holds map(C1) and map(C2): one batched map-to-field for every leaf.
  std::vector<std::uint32_t> leaf_nodes;
  std::vector<Point> halves;
  for (std::uint32_t i = 0; i < tree.nodes.size(); ++i) {
    if (!tree.nodes[i].leaf) continue;
    leaf_nodes.push_back(i);
    halves.push_back(tree.nodes[i].leaf_data.c1);
    halves.push_back(tree.nodes[i].leaf_data.c2);
  }
  std::vector<Fr> half_hashes(halves.size());
  if (absl::Status s = backend_.verkle_map_to_field(halves, half_hashes); !s.ok()) return s;
  for (std::size_t j = 0; j < leaf_nodes.size(); ++j) {
    tree.nodes[leaf_nodes[j]].leaf_data.c1_hash = half_hashes[2 * j];
    tree.nodes[leaf_nodes[j]].leaf_data.c2_hash = half_hashes[2 * j + 1];
  }

  absl::StatusOr<DerivedProof> derived = tree.derive(keys);
  if (!derived.ok()) return absl::InternalError(derived.status().message());

  // One polynomial per distinct commitment, in order of first use; one batched serialization.
  std::map<std::pair<std::uint32_t, NodePart>, std::uint32_t> poly_of;
  std::vector<CommitmentRef> refs;
  std::vector<ProverOpening> openings;
  openings.reserve(derived->openings.size());
  auto poly_index = [&](const CommitmentRef& ref) {
    auto [it, inserted] =
        poly_of.try_emplace({ref.node, ref.part}, static_cast<std::uint32_t>(refs.size()));
    if (inserted) refs.push_back(ref);
    return it->second;
  };
  for (const ProofOpening& o : derived->openings) openings.push_back({poly_index(o.ref), o.z});
  for (const CommitmentRef& ref : derived->commitments_by_path) poly_index(ref);
  std::vector<Point> points;
  points.reserve(refs.size());
  for (const CommitmentRef& ref : refs) points.push_back(tree.point(ref));
  const std::vector<PointBytes> encoded = batch_serialize(points);
  std::vector<ProverPolynomial> polys(refs.size());
  for (std::size_t p = 0; p < refs.size(); ++p) {
    polys[p].commitment = encoded[p];
    polys[p].f = tree.polynomial(refs[p]);
  }
  ProofInputs inputs;
  VerkleWitness& witness = inputs.witness;
  for (std::size_t k = 0; k < keys.size(); ++k) {
    if (k == 0 || !std::equal(keys[k].begin(), keys[k].begin() + kStemBytes, keys[k - 1].begin())) {
      StemDiff diff;
      std::copy_n(keys[k].begin(), kStemBytes, diff.stem.begin());
      witness.state_diff.push_back(std::move(diff));
    }
    witness.state_diff.back().suffixes.push_back(
        {keys[k][kStemBytes], derived->values[k], std::nullopt});
  }
  witness.extension_statuses = std::move(derived->extension_statuses);
  witness.other_stems = std::move(derived->other_stems);
  for (const CommitmentRef& ref : derived->commitments_by_path) {
    witness.commitments_by_path.push_back(encoded[poly_of.at({ref.node, ref.part})]);
  }
  inputs.keys = std::move(keys);
  inputs.polys = std::move(polys);
  inputs.openings = std::move(openings);
  return inputs;
}

absl::StatusOr<VerkleWitness> VerkleTree::prove(std::span<const Key32> keys,
                                                std::optional<std::uint64_t> version) const {
  absl::StatusOr<storage::TreeView> view = store_.view(name_, version);
  if (!view.ok()) return view.status();
  return prove_at(*view, keys);
}

absl::StatusOr<VerkleWitness> VerkleTree::prove_at(const storage::TreeView& view,
                                                   std::span<const Key32> keys) const {
  absl::StatusOr<ProofInputs> inputs = proof_inputs_at(view, keys);
  if (!inputs.ok()) return inputs.status();
  Transcript transcript(kTreeTranscriptLabel);
  absl::StatusOr<Multiproof> proof =
      multiproof_prove(backend_, transcript, inputs->polys, inputs->openings);
  if (!proof.ok()) return proof.status();
  inputs->witness.set_multiproof(encode_multiproof(*proof));
  return std::move(inputs->witness);
}

namespace {

absl::StatusOr<std::vector<Key32>> typed_keys(std::span<const std::string> keys) {
  std::vector<Key32> typed(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (keys[i].size() != sizeof(Key32)) {
      return absl::InvalidArgumentError(
          absl::StrCat("keys[", i, "]: ", keys[i].size(), " bytes, expected 32"));
    }
    std::copy(keys[i].begin(), keys[i].end(), typed[i].begin());
  }
  return typed;
}

}  // namespace

absl::StatusOr<tree::Proof> VerkleTree::prove_in(const storage::TreeView& view,
                                                 std::span<const std::string> keys,
                                                 tree::ProofEncoding encoding) const {
  absl::StatusOr<std::vector<Key32>> typed = typed_keys(keys);
  if (!typed.ok()) return typed.status();
  absl::StatusOr<VerkleWitness> witness = prove_at(view, *typed);
  if (!witness.ok()) return witness.status();
  tree::Proof proof;
  if (encoding == tree::ProofEncoding::kJson) {
    proof.format = std::string(kJsonWitnessFormat);
    proof.bytes = witness_to_json(*witness);
  } else {
    proof.format = std::string(kBinaryWitnessFormat);
    proof.bytes = witness_to_binary(*witness);
  }
  return proof;
}

absl::StatusOr<tree::WriteProofs> VerkleTree::prove_written_in(
    const storage::TreeView& view, std::span<const std::string> keys) const {
  absl::StatusOr<std::vector<Key32>> typed = typed_keys(keys);
  if (!typed.ok()) return typed.status();
  absl::StatusOr<VerkleWitness> witness = prove_at(view, *typed);
  if (!witness.ok()) return witness.status();
  // The witness holds every key's value (currentValue) at this version.
  std::map<Key32, std::optional<Value32>> values;
  for (const StemDiff& diff : witness->state_diff) {
    for (const auto& suffix : diff.suffixes) {
      Key32 key;
      std::copy(diff.stem.begin(), diff.stem.end(), key.begin());
      key[kStemBytes] = suffix.suffix;
      values[key] = suffix.current;
    }
  }
  tree::WriteProofs proofs;
  proofs.keys.reserve(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    tree::WrittenKey written;
    written.key = keys[i];
    if (const std::optional<Value32>& value = values.at((*typed)[i])) {
      written.value = std::string(reinterpret_cast<const char*>(value->data()), value->size());
    }
    proofs.keys.push_back(std::move(written));
  }
  proofs.combined = tree::Proof{std::string(kBinaryWitnessFormat), witness_to_binary(*witness)};
  return proofs;
}

}  // namespace arbor::verkle
