// The part of a Verkle tree that a proof touches, in memory, and the one walk that turns it into
// a proof's openings (go-verkle tree.go GetProofItems). The prover fills it from the store (whole
// node polynomials); the stateless verifier rebuilds it from a witness (only what was opened) and
// re-derives the same walk, so both sides agree on the opening order by construction.
//
// The walk, keys sorted and distinct, from the root:
// - internal node at depth d: group the keys by key[d]; for each group one opening (C, key[d],
//   hash of that child or 0); then, group by group, recurse into the child, or, for an empty slot,
//   give each distinct stem of the group the status "absent, empty slot" at depth d + 1;
// - leaf (stem s) at depth d: (C, 0, 1), (C, 1, s); (C, 2, map C1) if a key of stem s has a suffix
//   < 128, (C, 3, map C2) if one has a suffix >= 128; then per key of stem s: (Cx, 2u mod 256,
//   lo + 2^128 or 0), (Cx, 2u + 1 mod 256, hi or 0), x = 1 for u < 128 else 2, and status
//   "present"; each other stem of the group gets "absent, other stem" and s becomes an "other
//   stem" of the proof unless a key of s itself is in the group.
// - commitmentsByPath: every commitment met except the root's, by its path: an internal node's or
//   a leaf's path is the slot bytes from the root; C1 and C2 sit at the leaf's path + 2 or 3.
// This order is also rust-verkle's sort by (path, z).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "host/verkle/multiproof.hpp"
#include "host/verkle/verkle_records.hpp"
#include "host/verkle/verkle_witness.hpp"

namespace arbor::verkle {

struct ProofInternal {
  // The known children, by increasing slot: all non-empty ones for the prover, the opened ones
  // for the verifier. A slot not listed is empty.
  std::vector<std::uint8_t> slots;
  std::vector<ChildKind> kinds;
  std::vector<Fr> hashes;              // map_to_field(child commitment)
  std::vector<std::int32_t> children;  // index in ProofTree::nodes, -1 when not loaded

  // The entry of `slot`, or -1 when the slot is empty.
  int find(std::uint8_t slot) const;
};

struct ProofLeaf {
  Stem stem{};
  Point c1 = Point::identity(), c2 = Point::identity();
  Fr c1_hash = Fr::zero(), c2_hash = Fr::zero();
  // Known values, by increasing suffix: the prover loads the whole half it opens; the verifier
  // has what the witness says.
  std::vector<std::pair<std::uint8_t, Value32>> values;

  const Value32* value(std::uint8_t suffix) const;
};

struct ProofNode {
  bool leaf = false;
  int depth = 0;
  std::string path;  // the slots from the root (depth bytes)
  Point commitment = Point::identity();
  ProofInternal internal;  // when !leaf
  ProofLeaf leaf_data;     // when leaf
};

// Which commitment of a node an opening is about.
enum class NodePart : std::uint8_t { kC = 0, kC1 = 1, kC2 = 2 };

struct CommitmentRef {
  std::uint32_t node = 0;
  NodePart part = NodePart::kC;
  friend bool operator==(const CommitmentRef&, const CommitmentRef&) = default;
};

struct ProofOpening {
  CommitmentRef ref;
  std::uint8_t z = 0;
  Fr y;
};

struct DerivedProof {
  std::vector<ProofOpening> openings;
  std::vector<std::uint8_t> extension_statuses;  // one per distinct stem, in key order
  std::vector<Stem> other_stems;
  std::vector<CommitmentRef> commitments_by_path;  // sorted by path, the root left out
  std::vector<std::optional<Value32>> values;      // per key: its value, nullopt when absent
};

class ProofTree {
 public:
  // nodes[0] is the root (an internal node at depth 0).
  std::vector<ProofNode> nodes;

  // The walk above over `keys` (sorted, distinct). INVALID_ARGUMENT when it reaches a child that
  // is not loaded (a verifier's tree missing a node the keys need).
  absl::StatusOr<DerivedProof> derive(std::span<const Key32> keys) const;

  // The polynomial a commitment commits to (prover side: needs every child / value loaded).
  std::vector<SparseTerm> polynomial(const CommitmentRef& ref) const;
  const Point& point(const CommitmentRef& ref) const;
};

}  // namespace arbor::verkle
