// Bulk Poseidon (BN254, circomlib-compatible) eight hashes at a time through the lane arithmetic of
// kernels/field/lanes.hpp: each lane of the vector Montgomery product carries one independent
// state. The results are bit-identical to permute<T> (poseidon.hpp) for every input.
//
// Which implementation: LaneImpl::kAvx512 is the fast one and may be called only when
// field::cpu_features().has_ifma_path() (it aborts with a message otherwise); pick it when
// field::field_paths().ifma, which also honours ARBOR_FIELD_PATHS. LaneImpl::kEmulated runs the
// same algorithm in portable C++ anywhere: it exists to test the algorithm and is about 2.3 times
// slower than the scalar permute<T>, so production code without IFMA should use permute<T>.
//
// Any count: full groups of eight run through the lanes, two groups interleaved at a time; a last
// partial group is padded with zero inputs whose results are dropped. Single-threaded; callers
// split large batches into ranges (preferably multiples of 16) and call once per range. The
// constants of each width are converted to lane form once, on first use, thread-safely.
#pragma once

#include <cstddef>

#include "kernels/field/bn254_fr.hpp"
#include "kernels/field/lanes.hpp"

namespace arbor::poseidon {

using field::LaneImpl;

// outputs[i] = state[0] after the permutation of [0, inputs[i*(t-1)], ..., inputs[i*(t-1)+t-2]]
// (capacity 0), for i < count: Poseidon of t - 1 inputs, as poseidon_hash_many. Preconditions:
// 2 <= t <= kMaxWidth (17); inputs holds count * (t - 1) elements and outputs count; outputs may
// equal inputs but must not otherwise overlap them.
void hash_many_lanes(int t, const field::Fr* inputs, field::Fr* outputs, std::size_t count,
                     LaneImpl impl);

// Permutes count states of t elements (states[i*t .. i*t+t)) in place. Same preconditions.
void permute_many_lanes(int t, field::Fr* states, std::size_t count, LaneImpl impl);

}  // namespace arbor::poseidon
