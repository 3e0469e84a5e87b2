// The Verkle tree's store records: node keys, internal and leaf node records, and their codecs.
//
// Node key (32 bytes): depth (1 byte) || the first `depth` bytes of the stems below it || zero
// padding. The root is depth 0. A leaf (extension node) sits in the node-key space of the slot it
// occupies, so the key of a leaf at depth d is d || stem[0..d); its record holds the full stem.
// Leaf commitments do not depend on depth, so moving a leaf deeper rewrites only its record.
//
// Internal record: 0x01 || C (x || y, 64 bytes, canonical big-endian) || child kinds (256 x 2
//   bits, 64 bytes: 0 empty, 1 internal, 2 leaf; child i in bits 2(i%4).. of byte i/4) || for
//   each non-empty child in index order, map_to_scalar_field(child C) (32 bytes little-endian).
//   The child hashes are the node's polynomial: a proof opens the node from this record alone.
// Leaf record: 0x02 || stem (31) || C || C1 || C2 (64 bytes each, x || y) || presence bitmap
//   (32 bytes, bit i%8 of byte i/8 = suffix i holds a value). The values themselves are value
//   records keyed by the 32-byte key (stem || suffix).
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "absl/status/statusor.h"
#include "kernels/verkle/banderwagon.hpp"

namespace arbor::verkle {

inline constexpr std::size_t kStemBytes = 31;
inline constexpr std::size_t kNodeWidth = 256;
inline constexpr std::uint32_t kNodeKeyBytes = 32;
inline constexpr std::uint32_t kValueKeyBytes = 32;
inline constexpr std::string_view kScheme = "verkle";

using Key32 = std::array<std::uint8_t, 32>;
using Value32 = std::array<std::uint8_t, 32>;
using Stem = std::array<std::uint8_t, kStemBytes>;
using RootCommitment = std::array<std::uint8_t, 32>;
using NodeKey = std::array<std::uint8_t, kNodeKeyBytes>;

enum class ChildKind : std::uint8_t { kEmpty = 0, kInternal = 1, kLeaf = 2 };

struct InternalNode {
  Point commitment = Point::identity();
  std::array<ChildKind, kNodeWidth> kinds{};
  std::array<Fr, kNodeWidth> child_hashes{};  // zero where kinds[i] is kEmpty

  std::size_t child_count() const;
};

struct LeafNode {
  Stem stem{};
  Point commitment = Point::identity();
  Point c1 = Point::identity();
  Point c2 = Point::identity();
  std::bitset<kNodeWidth> present;
};

using VerkleNode = std::variant<InternalNode, LeafNode>;

Stem stem_of(const Key32& key);
NodeKey node_key(int depth, std::span<const std::uint8_t> path);
NodeKey root_node_key();
int node_key_depth(const NodeKey& key);

// The two 128-bit halves a value contributes to C1/C2: lo (+ 2^128, the leaf marker, for a
// present value) at 2*(suffix%128) and hi at 2*(suffix%128)+1.
Fr value_low_with_marker(const Value32& value);
Fr value_high(const Value32& value);
// The stem read as a little-endian integer: entry 1 of a leaf's polynomial.
Fr stem_scalar(const Stem& stem);

// Rewrites each point with Z = 1, with one inversion for all (encoding is then inversion-free).
void normalize_points(std::span<Point* const> points);
// x || y, canonical big-endian: the store's trusted point encoding (no square root on load).
void encode_point(const Point& p, std::string& out);
absl::StatusOr<Point> decode_point_record(std::string_view bytes);

std::string encode_node(const VerkleNode& node);
// Checks length, kind byte, canonical coordinates and that the child hashes match the kinds;
// DATA_LOSS naming what is wrong otherwise (records come from our own store).
absl::StatusOr<VerkleNode> decode_node(std::string_view bytes);

inline std::string_view as_view(std::span<const std::uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace arbor::verkle
