// The lanes' dispatch between the emulation and AVX-512 (lanes.hpp), and compile-time checks of
// the lane algorithm itself: LaneField over EmulatedLanes is constexpr, so the conversions and a
// product are evaluated by the compiler for both fields.
#include "kernels/field/lanes.hpp"

#include <cstdio>
#include <cstdlib>

#include "kernels/field/bn254_fr.hpp"
#include "kernels/field/cpu_features.hpp"
#include "kernels/verkle/bls12_381_fr.hpp"

namespace arbor::field {

namespace {

// MontField's 1 (2^256 mod p) through from_words is 2^260 mod p (the lane form of 1); 1 * 1 is
// still 1; to_words brings back 2^256 mod p. All lanes alike.
template <class P>
constexpr bool lane_one_round_trips() {
  using F = LaneField<EmulatedLanes, P>;
  using C = mont_detail::Constants<P>;
  std::uint64_t words[4][kLanes] = {};
  for (int i = 0; i < kLanes; ++i) {
    for (int w = 0; w < 4; ++w) words[w][i] = C::kR[w];
  }
  const typename F::Elem one = F::from_words(words);
  const typename F::Elem reduced = F::sub_if_at_least(F::mul(one, one), LaneConstants<P>::kP52);
  std::uint64_t back[4][kLanes] = {};
  F::join(reduced, back);
  F::to_words(one, words);
  for (int i = 0; i < kLanes; ++i) {
    for (int w = 0; w < 4; ++w) {
      if (back[w][i] != LaneConstants<P>::kR260[w] || words[w][i] != C::kR[w]) return false;
    }
  }
  return true;
}
static_assert(lane_one_round_trips<Bn254FrParams>());
static_assert(lane_one_round_trips<verkle::Bls12381FrParams>());

}  // namespace

bool lane_impl_supported(LaneImpl impl) {
  return impl == LaneImpl::kEmulated || cpu_features().has_ifma_path();
}

const char* lane_impl_name(LaneImpl impl) {
  return impl == LaneImpl::kAvx512 ? "avx512-ifma" : "emulated";
}

namespace lanes_detail {
void require_avx512_ifma(const char* what) {
  if (cpu_features().has_ifma_path()) return;
  std::fprintf(stderr, "arbor: %s: the AVX-512 IFMA lanes were called on a CPU without them\n",
               what);
  std::abort();
}
}  // namespace lanes_detail

template <class P>
void lane_mul_block(LaneImpl impl, const LaneBlock& a, const LaneBlock& b, LaneBlock& out) {
  if (impl == LaneImpl::kAvx512) {
    lanes_detail::require_avx512_ifma("lane_mul_block");
    lanes_detail::avx512::mul_block<P>(a, b, out);
  } else {
    lanes_detail::mul_block<EmulatedLanes, P>(a, b, out);
  }
}

template <class P>
void lane_sqr_block(LaneImpl impl, const LaneBlock& a, LaneBlock& out) {
  if (impl == LaneImpl::kAvx512) {
    lanes_detail::require_avx512_ifma("lane_sqr_block");
    lanes_detail::avx512::sqr_block<P>(a, out);
  } else {
    lanes_detail::sqr_block<EmulatedLanes, P>(a, out);
  }
}

template <class P>
void lane_dot_block(LaneImpl impl, const LaneBlock* a, const LaneBlock* b, int n, LaneBlock& out) {
  if (impl == LaneImpl::kAvx512) {
    lanes_detail::require_avx512_ifma("lane_dot_block");
    lanes_detail::avx512::dot_block<P>(a, b, n, out);
  } else {
    lanes_detail::dot_block<EmulatedLanes, P>(a, b, n, out);
  }
}

template <class P>
void lane_mul_many(LaneImpl impl, const MontField<P>* a, const MontField<P>* b, MontField<P>* out,
                   std::size_t n) {
  if (impl == LaneImpl::kAvx512) {
    lanes_detail::require_avx512_ifma("lane_mul_many");
    lanes_detail::avx512::mul_many<P>(a, b, out, n);
  } else {
    lanes_detail::mul_many<EmulatedLanes, P>(a, b, out, n);
  }
}

#define ARBOR_LANES_INSTANTIATE(P)                                                                \
  template void lane_mul_block<P>(LaneImpl, const LaneBlock&, const LaneBlock&, LaneBlock&);      \
  template void lane_sqr_block<P>(LaneImpl, const LaneBlock&, LaneBlock&);                        \
  template void lane_dot_block<P>(LaneImpl, const LaneBlock*, const LaneBlock*, int, LaneBlock&); \
  template void lane_mul_many<P>(LaneImpl, const MontField<P>*, const MontField<P>*,              \
                                 MontField<P>*, std::size_t);
ARBOR_LANES_INSTANTIATE(Bn254FrParams)
ARBOR_LANES_INSTANTIATE(verkle::Bls12381FrParams)
#undef ARBOR_LANES_INSTANTIATE

}  // namespace arbor::field
