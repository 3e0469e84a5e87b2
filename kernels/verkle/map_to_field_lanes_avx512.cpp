// The AVX-512 IFMA instantiation of the lane map-to-field passes (map_to_field_lanes_impl.hpp).
// Built with -mavx512f -mavx512ifma (kernels/CMakeLists.txt); map_to_field_lanes.cpp calls in
// only after checking the CPU. Without those flags (a non-x86 build) the entry points abort.
#include "kernels/verkle/map_to_field_lanes_impl.hpp"

#if defined(__AVX512F__) && defined(__AVX512IFMA__)
#include "kernels/field/lanes_avx512.hpp"
#else
#include <cstdlib>
#endif

namespace arbor::verkle::lanes_detail {

#if defined(__AVX512F__) && defined(__AVX512IFMA__)
void map_forward_avx512(MapRow* rows, std::size_t count, LaneWords& total) {
  LaneMapToField<field::Avx512Lanes>::forward(rows, count, total);
}
void map_backward_avx512(const MapRow* rows, std::size_t count, const LaneWords& inverse,
                         LaneWords* out) {
  LaneMapToField<field::Avx512Lanes>::backward(rows, count, inverse, out);
}
#else
void map_forward_avx512(MapRow*, std::size_t, LaneWords&) { std::abort(); }
void map_backward_avx512(const MapRow*, std::size_t, const LaneWords&, LaneWords*) { std::abort(); }
#endif

}  // namespace arbor::verkle::lanes_detail
