// The AVX-512 IFMA instantiation of the lane fixed-base loop (fixed_base_lanes_impl.hpp). Built
// with -mavx512f -mavx512ifma (kernels/CMakeLists.txt); fixed_base_lanes.cpp calls in only after
// checking the CPU. Without those flags (a non-x86 build) the entry point exists and aborts.
#include "kernels/verkle/fixed_base_lanes_impl.hpp"

#if defined(__AVX512F__) && defined(__AVX512IFMA__)
#include "kernels/field/lanes_avx512.hpp"
#else
#include <cstdlib>
#endif

namespace arbor::verkle::lanes_detail {

#if defined(__AVX512F__) && defined(__AVX512IFMA__)
void run_rounds_avx512(int groups, const LaneRound* const* rounds, LaneAccumulators* const* states,
                       LanePoints* const* outs) {
  static_assert(kMaxGroups == 2);
  if (groups == 2) {
    LaneFixedBase<field::Avx512Lanes>::run<2>(rounds, states, outs);
  } else {
    LaneFixedBase<field::Avx512Lanes>::run<1>(rounds, states, outs);
  }
}
#else
void run_rounds_avx512(int, const LaneRound* const*, LaneAccumulators* const*, LanePoints* const*) {
  std::abort();
}
#endif

}  // namespace arbor::verkle::lanes_detail
