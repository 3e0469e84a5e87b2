// Proofs of the iden3/circomlib SMT and their verification: pure functions of a root and a
// proof, with no access to any tree.
#pragma once

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

// OK when `proof` proves its claim against `root`; INVALID_ARGUMENT saying what is wrong
// otherwise (a malformed claim, too few or too many siblings, or a different root).
absl::Status verify_proof(const Fr& root, const SmtProof& proof);
absl::Status verify_multi_proof(const Fr& root, const SmtMultiProof& proof);

// The root that `proof` leads to, when its claim is well formed.
absl::StatusOr<Fr> proof_root(const SmtProof& proof);

// Combines single proofs of distinct keys, all taken from one version of one tree, into one
// multi-proof. INVALID_ARGUMENT when they cannot belong to one tree (duplicate keys, paths that
// contradict each other).
absl::StatusOr<SmtMultiProof> combine_proofs(std::span<const SmtProof> proofs);

}  // namespace arbor::smt
