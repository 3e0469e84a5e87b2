#include "host/verkle/proof_tree.hpp"

#include <algorithm>
#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace arbor::verkle {

namespace {

bool same_stem(const Key32& key, const Stem& stem) {
  return std::equal(stem.begin(), stem.end(), key.begin());
}

bool same_stem(const Key32& a, const Key32& b) {
  return std::equal(a.begin(), a.begin() + kStemBytes, b.begin());
}

class Walk {
 public:
  Walk(const ProofTree& tree, DerivedProof& out) : tree_(tree), out_(out) {}

  absl::Status internal(std::uint32_t index, std::span<const Key32> keys) {
    const ProofNode& node = tree_.nodes[index];
    const int depth = node.depth;
    by_path_[node.path] = {index, NodePart::kC};
    // Groups of keys under one child slot.
    std::vector<std::span<const Key32>> groups;
    for (std::size_t b = 0; b < keys.size();) {
      std::size_t e = b + 1;
      while (e < keys.size() && keys[e][depth] == keys[b][depth]) ++e;
      groups.push_back(keys.subspan(b, e - b));
      b = e;
    }
    for (const auto& group : groups) {
      const std::uint8_t slot = group[0][depth];
      const int entry = node.internal.find(slot);
      out_.openings.push_back(
          {{index, NodePart::kC}, slot, entry < 0 ? Fr::zero() : node.internal.hashes[entry]});
    }
    for (const auto& group : groups) {
      const std::uint8_t slot = group[0][depth];
      const int entry = node.internal.find(slot);
      if (entry < 0) {
        for (std::size_t k = 0; k < group.size(); ++k) {
          if (k == 0 || !same_stem(group[k], group[k - 1])) {
            out_.extension_statuses.push_back(extension_byte(depth + 1, StemStatus::kAbsentEmpty));
          }
          out_.values.emplace_back();
        }
        continue;
      }
      const std::int32_t child = node.internal.children[entry];
      if (child < 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "proof: the node at path 0x",
            absl::BytesToHexString(node.path + std::string(1, static_cast<char>(slot))),
            " is needed but not known"));
      }
      const auto c = static_cast<std::uint32_t>(child);
      absl::Status s = tree_.nodes[c].leaf ? leaf(c, group) : internal(c, group);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status leaf(std::uint32_t index, std::span<const Key32> keys) {
    const ProofNode& node = tree_.nodes[index];
    const ProofLeaf& l = node.leaf_data;
    bool has_c1 = false, has_c2 = false;
    for (const Key32& key : keys) {
      if (!same_stem(key, l.stem)) continue;
      has_c1 = has_c1 || key[kStemBytes] < 128;
      has_c2 = has_c2 || key[kStemBytes] >= 128;
    }
    const CommitmentRef c{index, NodePart::kC};
    out_.openings.push_back({c, 0, Fr::one()});
    out_.openings.push_back({c, 1, stem_scalar(l.stem)});
    if (has_c1) out_.openings.push_back({c, 2, l.c1_hash});
    if (has_c2) out_.openings.push_back({c, 3, l.c2_hash});
    by_path_[node.path] = c;

    std::size_t statuses = 0;
    bool other_stem = false;  // this leaf proves other stems absent and no key of its own is here
    for (std::size_t k = 0; k < keys.size(); ++k) {
      const Key32& key = keys[k];
      const bool first_of_stem = k == 0 || !same_stem(key, keys[k - 1]);
      if (!same_stem(key, l.stem)) {
        if (statuses == 0) other_stem = true;
        if (first_of_stem) {
          out_.extension_statuses.push_back(extension_byte(node.depth, StemStatus::kAbsentOther));
          ++statuses;
        }
        out_.values.emplace_back();
        continue;
      }
      other_stem = false;
      const std::uint8_t suffix = key[kStemBytes];
      const CommitmentRef half{index, suffix < 128 ? NodePart::kC1 : NodePart::kC2};
      const Value32* value = l.value(suffix);
      const auto z = static_cast<std::uint8_t>(2 * suffix);
      out_.openings.push_back({half, z, value ? value_low_with_marker(*value) : Fr::zero()});
      out_.openings.push_back(
          {half, static_cast<std::uint8_t>(z + 1), value ? value_high(*value) : Fr::zero()});
      out_.values.push_back(value ? std::optional<Value32>(*value) : std::nullopt);
      if (first_of_stem) {
        out_.extension_statuses.push_back(extension_byte(node.depth, StemStatus::kPresent));
        ++statuses;
      }
      by_path_[node.path + std::string(1, static_cast<char>(2 + suffix / 128))] = half;
    }
    if (other_stem) out_.other_stems.push_back(l.stem);
    return absl::OkStatus();
  }

  void finish() {
    for (const auto& [path, ref] : by_path_) {
      if (!path.empty()) out_.commitments_by_path.push_back(ref);
    }
  }

 private:
  const ProofTree& tree_;
  DerivedProof& out_;
  std::map<std::string, CommitmentRef> by_path_;  // byte-wise order, as go-verkle sorts paths
};

}  // namespace

int ProofInternal::find(std::uint8_t slot) const {
  const auto it = std::lower_bound(slots.begin(), slots.end(), slot);
  return it != slots.end() && *it == slot ? static_cast<int>(it - slots.begin()) : -1;
}

const Value32* ProofLeaf::value(std::uint8_t suffix) const {
  const auto it = std::lower_bound(
      values.begin(), values.end(), suffix,
      [](const std::pair<std::uint8_t, Value32>& v, std::uint8_t s) { return v.first < s; });
  return it != values.end() && it->first == suffix ? &it->second : nullptr;
}

absl::StatusOr<DerivedProof> ProofTree::derive(std::span<const Key32> keys) const {
  DerivedProof out;
  if (nodes.empty() || nodes[0].leaf) return absl::InvalidArgumentError("proof: no root node");
  Walk walk(*this, out);
  if (absl::Status s = walk.internal(0, keys); !s.ok()) return s;
  walk.finish();
  return out;
}

std::vector<SparseTerm> ProofTree::polynomial(const CommitmentRef& ref) const {
  const ProofNode& node = nodes[ref.node];
  std::vector<SparseTerm> f;
  auto put = [&f](std::uint32_t index, const Fr& v) {
    if (!v.is_zero()) f.push_back({index, v});
  };
  if (!node.leaf) {
    for (std::size_t e = 0; e < node.internal.slots.size(); ++e) {
      put(node.internal.slots[e], node.internal.hashes[e]);
    }
    return f;
  }
  const ProofLeaf& l = node.leaf_data;
  if (ref.part == NodePart::kC) {
    put(0, Fr::one());
    put(1, stem_scalar(l.stem));
    put(2, l.c1_hash);
    put(3, l.c2_hash);
    return f;
  }
  const bool upper = ref.part == NodePart::kC2;
  for (const auto& [suffix, value] : l.values) {
    if ((suffix >= 128) != upper) continue;
    const std::uint32_t z = 2u * (suffix % 128);
    put(z, value_low_with_marker(value));
    put(z + 1, value_high(value));
  }
  return f;
}

const Point& ProofTree::point(const CommitmentRef& ref) const {
  const ProofNode& node = nodes[ref.node];
  switch (ref.part) {
    case NodePart::kC1:
      return node.leaf_data.c1;
    case NodePart::kC2:
      return node.leaf_data.c2;
    case NodePart::kC:
      break;
  }
  return node.commitment;
}

}  // namespace arbor::verkle
