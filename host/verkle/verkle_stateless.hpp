// Stateless verification of an EIP-6800 execution witness (go-verkle proof_ipa.go Verify,
// PreStateTreeFromProof; rust-verkle verify_execution_witness): no tree, only a trusted pre-state
// root.
//
// 1. The keys are the state diff's (stem, suffix) pairs; stems and suffixes must be strictly
//    increasing (the opening order depends on it).
// 2. The partial tree is rebuilt from the extension statuses (one per stem: depth << 3 | status),
//    the other stems and the commitments by path; every point is decoded with the subgroup check
//    (32 zero bytes, the identity, is valid).
// 3. The openings are re-derived by the same walk the prover uses (proof_tree.hpp), and the
//    statuses and other stems it gives must equal the witness's.
// 4. The multiproof (transcript "vt") must verify against them.
// 5. Optionally the newValues are applied to the partial tree (updates in place, new leaves in
//    empty slots, splits against another stem's leaf), commitments recomputed bottom-up, and the
//    new root compared with the expected post-state root.
//
// Strict where go-verkle is lax: a status count that differs from the stem count, a status other
// than 0, 1, 2, a depth outside 1..31, statuses that contradict each other, unsorted, unused or
// misplaced otherStems, a currentValue for an absent stem, a missing or leftover commitment are
// all rejected, each with its reason.
#pragma once

#include <cstddef>
#include <optional>

#include "absl/status/statusor.h"
#include "host/backend/compute_backend.hpp"
#include "host/verkle/verkle_witness.hpp"

namespace arbor::verkle {

struct StatelessOptions {
  // Apply the witness's newValues and compute the post-state root (and, when `expected_post_root`
  // is set, require it).
  bool compute_post_root = false;
  std::optional<RootCommitment> expected_post_root;
};

struct StatelessResult {
  std::size_t stems = 0;
  std::size_t keys = 0;
  std::size_t present_keys = 0;
  std::size_t openings = 0;
  std::size_t commitments = 0;
  std::optional<RootCommitment> post_root;  // when computed
};

// OK when the witness proves its currentValues against `pre_state_root` (and the post-state root
// matches, when one is expected). INVALID_ARGUMENT ("witness: ...") with the reason when it does
// not; another code when the check could not run.
absl::StatusOr<StatelessResult> verify_witness(host::ComputeBackend& backend,
                                               const RootCommitment& pre_state_root,
                                               const VerkleWitness& witness,
                                               const StatelessOptions& options = {});

}  // namespace arbor::verkle
