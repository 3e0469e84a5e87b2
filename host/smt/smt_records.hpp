// How the SMT lays its nodes and values out as store records (described in host/smt/README.md).
//
// Nodes are addressed by position, not by hash: depth (1 byte) then the path (the key's low
// `depth` bits, 32 bytes big-endian). A position's record is a leaf (its key and value) or an
// internal node (its children's hashes); an empty position has no record. Addressing by position
// lets each version overwrite exactly the nodes it changed, and lets a path be read top-down with
// one batched read per level.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "kernels/field/bn254_fr.hpp"

namespace arbor::smt {

using field::Fr;
// A field element as its canonical integer, least-significant limb first: the form path bits
// are read from.
using KeyBits = std::array<std::uint64_t, 4>;

inline constexpr int kMaxDepthLimit = 254;  // keys < p < 2^254 differ within their low 254 bits
inline constexpr int kDefaultMaxDepth = 64;
inline constexpr std::uint32_t kNodeKeyBytes = 33;
inline constexpr std::uint32_t kValueKeyBytes = 32;
inline constexpr char kLeafTag = 'L';
inline constexpr char kInternalTag = 'I';
inline constexpr std::string_view kScheme = "smt";

KeyBits key_bits(const Fr& key);
inline bool path_bit(const KeyBits& bits, int depth) {
  return (bits[depth >> 6] >> (depth & 63)) & 1;
}
// Orders keys by their path (bit 0 first), so that every subtree's keys are contiguous.
std::array<std::uint64_t, 4> path_order(const KeyBits& bits);
// True when the low `depth` bits of a and b agree.
bool same_path(const KeyBits& a, const KeyBits& b, int depth);

std::string node_key(int depth, const KeyBits& bits);
std::string value_key(const Fr& key);

// 32 bytes, big-endian canonical.
void append_fr(std::string& out, const Fr& value);
std::string fr_bytes(const Fr& value);
// A field element in the wire form (32 bytes big-endian, below p); INVALID_ARGUMENT naming
// `field` otherwise.
absl::StatusOr<Fr> wire_fr(std::string_view bytes, std::string_view field);
// Refuses wrong lengths and values >= p (DATA_LOSS: these are the store's own records).
absl::StatusOr<Fr> stored_fr(std::string_view bytes, std::string_view what);

struct NodeRecord {
  enum class Kind : std::uint8_t { kEmpty, kLeaf, kInternal };
  Kind kind = Kind::kEmpty;
  Fr first = Fr::zero();   // leaf: key; internal: left child's hash
  Fr second = Fr::zero();  // leaf: value; internal: right child's hash
};

std::string encode_leaf(const Fr& key, const Fr& value);
std::string encode_internal(const Fr& left, const Fr& right);
// A stored record; `where` names it in errors.
absl::StatusOr<NodeRecord> decode_node(std::string_view bytes, std::string_view where);

// Levels per node page (host/smt/node_pages.hpp). 4 (15 slots, at most 983 bytes): as fast as 6
// for batches of 1 to 1 000 keys and as small on disk, while a version writes 2-2.6x fewer bytes,
// since every version rewrites the pages near the root whole (bench/RESULTS.md, 2026-12-04).
inline constexpr int kDefaultPageLevels = 4;
inline constexpr int kMaxPageLevels = 6;  // 63 slots fit a page's 64-bit bitmap

// The tree's scheme parameters as the store keeps them: {"max_depth": N, "page_levels": L}. A
// tree created before pages had no "page_levels"; the migration (host/tree/migrate.hpp) writes
// it, and reading one without it means the default.
struct SmtParams {
  int max_depth = kDefaultMaxDepth;
  int page_levels = kDefaultPageLevels;
};
std::string encode_params(const SmtParams& params);
absl::StatusOr<SmtParams> decode_params(std::string_view text);

}  // namespace arbor::smt
