// Proofs of the iden3/circomlib SMT and their verification: pure functions of a root and a
// proof, with no access to any tree.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "host/smt/smt_records.hpp"

namespace arbor::smt {

struct Leaf {
  Fr key;
  Fr value;
  friend bool operator==(const Leaf&, const Leaf&) = default;
};

// One key: inclusion (existence) or non-inclusion, where the key's path ends at an empty slot
// (no aux) or at a leaf holding another key (aux, whose low `depth` bits equal the key's).
struct SmtProof {
  Fr key = Fr::zero();
  bool existence = false;
  Fr value = Fr::zero();  // existence only
  std::optional<Leaf> aux;
  // The sibling hash at each level of the key's path, root side first: siblings[i] is the hash
  // of the node at depth i+1 beside the path. Its size is the terminal's depth.
  std::vector<Fr> siblings;

  int depth() const { return static_cast<int>(siblings.size()); }
  friend bool operator==(const SmtProof&, const SmtProof&) = default;
};

struct MultiProofEntry {
  Fr key = Fr::zero();
  bool existence = false;
  Fr value = Fr::zero();
  std::optional<Leaf> aux;
  int depth = 0;  // the depth of the key's terminal (leaf or empty slot)
  friend bool operator==(const MultiProofEntry&, const MultiProofEntry&) = default;
};

// Several keys against one root. Siblings that another entry's path computes are left out, so it
// is smaller than the single proofs together. `siblings` holds the rest in the order the verifier
// needs them: a depth-first walk from the root over the entries' paths (bit 0 first, the 0 side
// before the 1 side), taking at each node the hashes of the children no entry passes through
// before descending.
struct SmtMultiProof {
  std::vector<MultiProofEntry> entries;  // in path order, one per key
  std::vector<Fr> siblings;
  friend bool operator==(const SmtMultiProof&, const SmtMultiProof&) = default;
};

// ---- What one proof may cost (host/smt/README.md, "Limits") ----
// A verifier hashes once per node on the proof's paths, about 15 us each on one core, so these
// caps keep any proof (up to the 64 MiB message limit) within well under a second: 2^15 hashes.
// Keys per multi-proof: also what prove_many accepts.
inline constexpr std::uint32_t kMaxMultiProofEntries = 1u << 15;
// Poseidon permutations (leaf and node hashes together) to verify one proof.
inline constexpr std::size_t kMaxProofHashes = std::size_t{1} << 15;

// Bounds on a proof, checked before any hashing. The defaults are the caps above; a caller can
// only tighten them (values above a cap are the cap).
struct ProofLimits {
  // The max depth of the tree the proof claims to come from, when known (1..254).
  int max_depth = kMaxDepthLimit;
  std::size_t max_entries = kMaxMultiProofEntries;
  std::size_t max_hashes = kMaxProofHashes;  // a work budget, in Poseidon permutations
  // Verification still running at this instant stops with DEADLINE_EXCEEDED.
  std::optional<std::chrono::steady_clock::time_point> deadline;
};

// What a multi-proof's entries alone say about it, before any sibling is read.
struct MultiProofShape {
  std::size_t siblings = 0;  // exactly this many siblings
  std::size_t hashes = 0;    // Poseidon permutations to verify it
  // Siblings that a tree never makes 0: the one beside each terminal (when it is a sibling, not
  // another entry's subtree). A leaf beside an empty subtree would have moved up; two empty
  // subtrees side by side would be one.
  std::vector<std::size_t> nonzero_siblings;
};

// Checks what can be checked without siblings or hashing, in time linear in the entries: each
// depth within limits.max_depth, entries in strictly increasing path order (no duplicates), paths
// that fit one tree (an entry ends only where nothing else continues, and several end together
// only at one terminal), no two terminals side by side that a tree would have merged, no empty
// slot at the max depth, and the caps. INVALID_ARGUMENT saying what is wrong.
absl::StatusOr<MultiProofShape> multi_proof_shape(std::span<const MultiProofEntry> entries,
                                                  const ProofLimits& limits = {});

// OK when `proof` proves its claim against `root`; INVALID_ARGUMENT saying what is wrong
// otherwise (a malformed claim, a shape no tree has, too few or too many siblings, more work
// than `limits` allow, or a different root); DEADLINE_EXCEEDED past limits.deadline. Everything
// but the hashing is checked first, and the hashing is one hash per node of the proof's paths
// (shared prefixes once).
absl::Status verify_proof(const Fr& root, const SmtProof& proof, const ProofLimits& limits = {});
absl::Status verify_multi_proof(const Fr& root, const SmtMultiProof& proof,
                                const ProofLimits& limits = {});

// The root that `proof` leads to, when its claim is well formed.
absl::StatusOr<Fr> proof_root(const SmtProof& proof, const ProofLimits& limits = {});

// Combines single proofs of distinct keys, all taken from one version of one tree, into one
// multi-proof, in path order whatever their order here. INVALID_ARGUMENT when they cannot belong
// to one tree (duplicate keys, paths that contradict each other), or when the multi-proof would
// exceed the caps above (a verifier would refuse it).
absl::StatusOr<SmtMultiProof> combine_proofs(std::span<const SmtProof> proofs);

}  // namespace arbor::smt
