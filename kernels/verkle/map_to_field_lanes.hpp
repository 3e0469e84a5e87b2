// map_to_scalar_field (banderwagon.hpp) for many points eight at a time on the lanes of
// kernels/field/lanes.hpp (AVX-512 IFMA, or its portable emulation). Lane l of row r holds point
// 8r + l; Montgomery's trick runs down each lane (prefix products of Y), the eight lane totals are
// inverted together with one scalar inversion, and the walk back yields each 1/Y. X/Y is made
// canonical mod p and read into the scalar field mod r on the lanes too, so every output is
// batch_map_to_scalar_field's, bit for bit.
//
// Which implementation: LaneImpl::kAvx512 only where field::cpu_features().has_ifma_path() (it
// aborts with a message otherwise); callers pick it by field::field_paths().ifma. LaneImpl::
// kEmulated runs anywhere and exists to test the algorithm.
#pragma once

#include <cstddef>
#include <span>

#include "kernels/field/lanes.hpp"
#include "kernels/verkle/banderwagon.hpp"

namespace arbor::verkle {

// Below this many points the lanes' fixed costs (eight inversions' worth of bookkeeping, partly
// empty rows) outweigh what they save; callers use the scalar batch instead.
inline constexpr std::size_t kMapToFieldLanesMin = 32;

// out[i] = map_to_scalar_field(points[i]) for every i (out.size() == points.size()). A point
// with Y = 0 (never on the subgroup) maps to 0, as the scalar batch maps it. Single-threaded;
// callers split large batches across threads.
void batch_map_to_scalar_field_lanes(std::span<const Point> points, std::span<Fr> out,
                                     field::LaneImpl impl);

}  // namespace arbor::verkle
