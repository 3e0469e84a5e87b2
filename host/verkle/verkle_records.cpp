#include "host/verkle/verkle_records.hpp"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace arbor::verkle {
namespace {

constexpr std::uint8_t kInternalTag = 0x01;
constexpr std::uint8_t kLeafTag = 0x02;
constexpr std::size_t kPointBytes = 64;
constexpr std::size_t kKindBytes = kNodeWidth / 4;
constexpr std::size_t kPresenceBytes = kNodeWidth / 8;
constexpr std::size_t kInternalFixedBytes = 1 + kPointBytes + kKindBytes;
constexpr std::size_t kLeafBytes = 1 + kStemBytes + 3 * kPointBytes + kPresenceBytes;

const std::uint8_t* bytes_of(std::string_view s) {
  return reinterpret_cast<const std::uint8_t*>(s.data());
}

}  // namespace

std::size_t InternalNode::child_count() const {
  return static_cast<std::size_t>(std::count_if(
      kinds.begin(), kinds.end(), [](ChildKind k) { return k != ChildKind::kEmpty; }));
}

Stem stem_of(const Key32& key) {
  Stem stem;
  std::copy_n(key.begin(), kStemBytes, stem.begin());
  return stem;
}

NodeKey node_key(int depth, std::span<const std::uint8_t> path) {
  NodeKey key{};
  key[0] = static_cast<std::uint8_t>(depth);
  std::copy_n(path.begin(), std::min<std::size_t>(depth, kStemBytes), key.begin() + 1);
  return key;
}

NodeKey root_node_key() { return NodeKey{}; }

int node_key_depth(const NodeKey& key) { return key[0]; }

Fr value_low_with_marker(const Value32& value) {
  std::uint8_t le[32] = {};
  std::copy_n(value.begin(), 16, le);
  le[16] = 1;  // 2^128: the leaf marker that tells a written zero from an absent value
  return from_bytes_le_mod_order<BandersnatchFrParams>(le);
}

Fr value_high(const Value32& value) {
  std::uint8_t le[32] = {};
  std::copy_n(value.begin() + 16, 16, le);
  return from_bytes_le_mod_order<BandersnatchFrParams>(le);
}

Fr stem_scalar(const Stem& stem) {
  std::uint8_t le[32] = {};
  std::copy(stem.begin(), stem.end(), le);
  return from_bytes_le_mod_order<BandersnatchFrParams>(le);
}

void normalize_points(std::span<Point* const> points) {
  std::vector<Fp> z(points.size()), scratch(points.size());
  for (std::size_t i = 0; i < points.size(); ++i) z[i] = points[i]->Z;
  batch_inverse(z.data(), z.size(), scratch.data());
  for (std::size_t i = 0; i < points.size(); ++i) {
    *points[i] = from_affine(AffinePoint{mul(points[i]->X, z[i]), mul(points[i]->Y, z[i])});
  }
}

void encode_point(const Point& p, std::string& out) {
  const AffinePoint a = p.Z == Fp::one() ? AffinePoint{p.X, p.Y} : to_affine(p);
  std::uint8_t bytes[kPointBytes];
  write_bytes_be(a.x, bytes);
  write_bytes_be(a.y, bytes + 32);
  out.append(reinterpret_cast<const char*>(bytes), kPointBytes);
}

absl::StatusOr<Point> decode_point_record(std::string_view bytes) {
  if (bytes.size() != kPointBytes) {
    return absl::DataLossError(
        absl::StrCat("verkle point record: ", bytes.size(), " bytes, expected 64"));
  }
  AffinePoint a;
  if (!from_bytes_be(bytes_of(bytes), a.x) || !from_bytes_be(bytes_of(bytes) + 32, a.y)) {
    return absl::DataLossError("verkle point record: coordinate not below the field modulus");
  }
  return from_affine(a);
}

std::string encode_node(const VerkleNode& node) {
  std::string out;
  if (const auto* internal = std::get_if<InternalNode>(&node)) {
    out.reserve(kInternalFixedBytes + 32 * internal->child_count());
    out.push_back(static_cast<char>(kInternalTag));
    encode_point(internal->commitment, out);
    std::uint8_t kinds[kKindBytes] = {};
    for (std::size_t i = 0; i < kNodeWidth; ++i) {
      kinds[i / 4] |=
          static_cast<std::uint8_t>(static_cast<std::uint8_t>(internal->kinds[i]) << (2 * (i % 4)));
    }
    out.append(reinterpret_cast<const char*>(kinds), kKindBytes);
    for (std::size_t i = 0; i < kNodeWidth; ++i) {
      if (internal->kinds[i] == ChildKind::kEmpty) continue;
      std::uint8_t hash[32];
      write_bytes_le(internal->child_hashes[i], hash);
      out.append(reinterpret_cast<const char*>(hash), 32);
    }
    return out;
  }
  const auto& leaf = std::get<LeafNode>(node);
  out.reserve(kLeafBytes);
  out.push_back(static_cast<char>(kLeafTag));
  out.append(as_view(leaf.stem));
  encode_point(leaf.commitment, out);
  encode_point(leaf.c1, out);
  encode_point(leaf.c2, out);
  std::uint8_t presence[kPresenceBytes] = {};
  for (std::size_t i = 0; i < kNodeWidth; ++i) {
    if (leaf.present[i]) presence[i / 8] |= static_cast<std::uint8_t>(1u << (i % 8));
  }
  out.append(reinterpret_cast<const char*>(presence), kPresenceBytes);
  return out;
}

absl::StatusOr<VerkleNode> decode_node(std::string_view bytes) {
  if (bytes.empty()) return absl::DataLossError("verkle node record: empty");
  const std::uint8_t tag = static_cast<std::uint8_t>(bytes[0]);
  if (tag == kInternalTag) {
    if (bytes.size() < kInternalFixedBytes) {
      return absl::DataLossError(
          absl::StrCat("verkle internal node record: ", bytes.size(), " bytes, too short"));
    }
    InternalNode node;
    absl::StatusOr<Point> c = decode_point_record(bytes.substr(1, kPointBytes));
    if (!c.ok()) return c.status();
    node.commitment = *c;
    const std::uint8_t* kinds = bytes_of(bytes) + 1 + kPointBytes;
    std::size_t children = 0;
    for (std::size_t i = 0; i < kNodeWidth; ++i) {
      const std::uint8_t kind = (kinds[i / 4] >> (2 * (i % 4))) & 3;
      if (kind == 3) {
        return absl::DataLossError(
            absl::StrCat("verkle internal node record: child ", i, " has an unknown kind"));
      }
      node.kinds[i] = static_cast<ChildKind>(kind);
      if (kind != 0) ++children;
    }
    if (bytes.size() != kInternalFixedBytes + 32 * children) {
      return absl::DataLossError(absl::StrCat("verkle internal node record: ", bytes.size(),
                                              " bytes for ", children, " children, expected ",
                                              kInternalFixedBytes + 32 * children));
    }
    const std::uint8_t* hash = bytes_of(bytes) + kInternalFixedBytes;
    for (std::size_t i = 0; i < kNodeWidth; ++i) {
      if (node.kinds[i] == ChildKind::kEmpty) continue;
      if (!from_bytes_le(hash, node.child_hashes[i])) {
        return absl::DataLossError(absl::StrCat("verkle internal node record: child ", i,
                                                " hash is not below the scalar field modulus"));
      }
      hash += 32;
    }
    return node;
  }
  if (tag == kLeafTag) {
    if (bytes.size() != kLeafBytes) {
      return absl::DataLossError(
          absl::StrCat("verkle leaf record: ", bytes.size(), " bytes, expected ", kLeafBytes));
    }
    LeafNode leaf;
    std::copy_n(bytes_of(bytes) + 1, kStemBytes, leaf.stem.begin());
    std::size_t at = 1 + kStemBytes;
    for (Point* p : {&leaf.commitment, &leaf.c1, &leaf.c2}) {
      absl::StatusOr<Point> decoded = decode_point_record(bytes.substr(at, kPointBytes));
      if (!decoded.ok()) return decoded.status();
      *p = *decoded;
      at += kPointBytes;
    }
    const std::uint8_t* presence = bytes_of(bytes) + at;
    for (std::size_t i = 0; i < kNodeWidth; ++i) leaf.present[i] = (presence[i / 8] >> (i % 8)) & 1;
    if (leaf.present.none()) return absl::DataLossError("verkle leaf record: holds no value");
    return leaf;
  }
  return absl::DataLossError(
      absl::StrCat("verkle node record: unknown kind byte ", static_cast<int>(tag)));
}

}  // namespace arbor::verkle
