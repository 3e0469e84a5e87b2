// Fixed-base multiplication eight scalars at a time on the lanes of kernels/field/lanes.hpp
// (AVX-512 IFMA, or its portable emulation): each lane runs fixed_base_accumulate's mixed
// additions (fixed_base.hpp) for its own scalar and generator over PedersenTables' lane-form
// entries, so every point is the scalar path's, coordinate for coordinate.
//
// Which implementation: LaneImpl::kAvx512 only where field::cpu_features().has_ifma_path() (it
// aborts with a message otherwise); PedersenTables picks it by field::field_paths().ifma.
// LaneImpl::kEmulated runs anywhere and exists to test the algorithm: it is several times slower
// than the scalar path.
#pragma once

#include <cstddef>
#include <span>

#include "kernels/field/lanes.hpp"
#include "kernels/verkle/pedersen.hpp"

namespace arbor::verkle {

using field::LaneImpl;

// Runs in flight at once: two groups of eight lanes, so that a core overlaps two independent
// dependency chains. Fewer runs leave lanes idle.
inline constexpr std::size_t kFixedBaseRunsInFlight = 16;

// commitments[d.target] += d.scalar * G_{d.generator} for every delta, in order. Each run of
// deltas with the same target is chained in one lane, kFixedBaseRunsInFlight side by side; a run
// longer than max(4, deltas / kFixedBaseRunsInFlight) is cut into that many near-equal pieces,
// summed in separate lanes and added to the target at the end. Every point is the scalar path's
// (fixed_base_accumulate delta by delta) coordinate for coordinate when no run was cut, and the
// same group element otherwise. Preconditions: each target's deltas are adjacent (one run per
// target), targets < commitments.size(), generators < tables.generator_count(). Single-threaded;
// callers split the runs across threads.
void fixed_base_update_lanes(const PedersenTables& tables, std::span<Point> commitments,
                             std::span<const CommitmentDelta> deltas, LaneImpl impl);

}  // namespace arbor::verkle
