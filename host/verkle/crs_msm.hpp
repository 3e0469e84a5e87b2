// Fixed-base multi-scalar multiplications over the Verkle CRS, run as one bulk job of the compute
// backend (verkle_update_commitments: oneTBB on the CPU, CUDA kernels on a GPU), plus the one
// extra base the IPA needs, Q = the Banderwagon generator. The proofs (ipa.hpp, multiproof.hpp)
// compute every CRS commitment through here, so the backend does their elliptic-curve work and
// the proof bytes do not depend on which backend ran it (points are compared and serialized, never
// their coordinates).
#pragma once

#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "host/backend/compute_backend.hpp"
#include "kernels/verkle/pedersen.hpp"

namespace arbor::verkle {

// out[m] = sum over jobs[m] of term.scalar * G_term.index (index < 256; zero scalars allowed).
// Large jobs are split into several backend targets so that one commitment still uses every
// core; the parts are added here. INVALID_ARGUMENT for an index >= 256.
absl::StatusOr<std::vector<Point>> crs_msm(host::ComputeBackend& backend,
                                           std::span<const std::span<const SparseTerm>> jobs);
// One job.
absl::StatusOr<Point> crs_commit(host::ComputeBackend& backend, std::span<const SparseTerm> terms);

// s * Q, with Q the Banderwagon generator (the IPA's inner-product base), by a fixed-base table
// built once on first use (384 KiB).
Point mul_q(const Fr& s);

}  // namespace arbor::verkle
