// Variable-base multi-scalar multiplication on Banderwagon: sum s_i * P_i for points known only at
// run time (commitments read from a proof). Pippenger's bucket method over signed c-bit windows,
// c chosen from the number of points; for fixed bases (the CRS) use the window tables of
// pedersen.hpp instead. Serial host code: callers split large inputs across threads and add the
// partial sums.
#pragma once

#include <span>

#include "kernels/verkle/banderwagon.hpp"

namespace arbor::verkle {

// sum scalars[i] * points[i]; the spans must have the same length (checked by assert). Points
// must be subgroup elements (anything decoded with the subgroup check is).
Point msm(std::span<const Point> points, std::span<const Fr> scalars);

}  // namespace arbor::verkle
