// The AVX-512 IFMA instantiations of the lanes' whole-group operations (lanes.hpp). Built with
// -mavx512f -mavx512ifma (kernels/CMakeLists.txt); lanes.cpp calls in only after checking the CPU.
// Without those flags (a non-x86 build) the entry points exist and abort.
#include "kernels/field/bn254_fr.hpp"
#include "kernels/field/lanes.hpp"
#include "kernels/verkle/bls12_381_fr.hpp"

#if defined(__AVX512F__) && defined(__AVX512IFMA__)
#include "kernels/field/lanes_avx512.hpp"
#else
#include <cstdlib>
#endif

namespace arbor::field::lanes_detail::avx512 {

#if defined(__AVX512F__) && defined(__AVX512IFMA__)
template <class P>
void mul_block(const LaneBlock& a, const LaneBlock& b, LaneBlock& out) {
  lanes_detail::mul_block<Avx512Lanes, P>(a, b, out);
}
template <class P>
void sqr_block(const LaneBlock& a, LaneBlock& out) {
  lanes_detail::sqr_block<Avx512Lanes, P>(a, out);
}
template <class P>
void dot_block(const LaneBlock* a, const LaneBlock* b, int n, LaneBlock& out) {
  lanes_detail::dot_block<Avx512Lanes, P>(a, b, n, out);
}
template <class P>
void mul_many(const MontField<P>* a, const MontField<P>* b, MontField<P>* out, std::size_t n) {
  lanes_detail::mul_many<Avx512Lanes, P>(a, b, out, n);
}
#else
template <class P>
void mul_block(const LaneBlock&, const LaneBlock&, LaneBlock&) {
  std::abort();
}
template <class P>
void sqr_block(const LaneBlock&, LaneBlock&) {
  std::abort();
}
template <class P>
void dot_block(const LaneBlock*, const LaneBlock*, int, LaneBlock&) {
  std::abort();
}
template <class P>
void mul_many(const MontField<P>*, const MontField<P>*, MontField<P>*, std::size_t) {
  std::abort();
}
#endif

#define ARBOR_LANES_AVX512_INSTANTIATE(P)                                          \
  template void mul_block<P>(const LaneBlock&, const LaneBlock&, LaneBlock&);      \
  template void sqr_block<P>(const LaneBlock&, LaneBlock&);                        \
  template void dot_block<P>(const LaneBlock*, const LaneBlock*, int, LaneBlock&); \
  template void mul_many<P>(const MontField<P>*, const MontField<P>*, MontField<P>*, std::size_t);
ARBOR_LANES_AVX512_INSTANTIATE(Bn254FrParams)
ARBOR_LANES_AVX512_INSTANTIATE(verkle::Bls12381FrParams)
#undef ARBOR_LANES_AVX512_INSTANTIATE

}  // namespace arbor::field::lanes_detail::avx512
