// The AVX-512 IFMA vector implementation of the lane interface (lanes.hpp; EmulatedLanes there is
// its reference and says what each operation computes).
//
// Include this only from translation units built with -mavx512f -mavx512ifma
// (kernels/CMakeLists.txt), and call their entry points only when cpu_features().has_ifma_path().
// Such a unit must not emit code that other units could share: its types live in an anonymous
// namespace, so every template instantiated with them is local to the unit; it must not call
// inline functions of other headers (std::vector, field::mul...), whose out-of-line copies the
// linker could otherwise pick for the whole program and run on CPUs without AVX-512.
#pragma once

#if !defined(__AVX512F__) || !defined(__AVX512IFMA__)
#error "lanes_avx512.hpp needs -mavx512f -mavx512ifma"
#endif

#include <immintrin.h>

#include <cstdint>

#include "kernels/field/lanes.hpp"

// Not constexpr, unlike ARBOR_LANE_INLINE: intrinsics never are.
#define ARBOR_AVX512_INLINE [[gnu::always_inline]] inline

namespace arbor::field {
namespace {

struct Avx512Lanes {
  using V = __m512i;
  static constexpr __mmask8 kAll = 0xff;

  ARBOR_AVX512_INLINE static V zero() { return _mm512_setzero_si512(); }
  ARBOR_AVX512_INLINE static V set1(std::uint64_t a) {
    return _mm512_set1_epi64(static_cast<long long>(a));
  }
  ARBOR_AVX512_INLINE static V load(const std::uint64_t* p) { return _mm512_loadu_si512(p); }
  ARBOR_AVX512_INLINE static void store(std::uint64_t* p, V a) { _mm512_storeu_si512(p, a); }
  ARBOR_AVX512_INLINE static V add(V a, V b) { return _mm512_add_epi64(a, b); }
  ARBOR_AVX512_INLINE static V sub(V a, V b) { return _mm512_sub_epi64(a, b); }
  ARBOR_AVX512_INLINE static V and_(V a, V b) { return _mm512_and_si512(a, b); }
  ARBOR_AVX512_INLINE static V or_(V a, V b) { return _mm512_or_si512(a, b); }
  // The all-lanes zero-masked forms compile to the plain shifts; g++ 12 warns about the unmasked
  // ones' internal _mm512_undefined_epi32() (a false positive fixed in g++ 13).
  template <int N>
  ARBOR_AVX512_INLINE static V shl(V a) {
    return _mm512_maskz_slli_epi64(kAll, a, N);
  }
  template <int N>
  ARBOR_AVX512_INLINE static V shr(V a) {
    return _mm512_maskz_srli_epi64(kAll, a, N);
  }
  template <int N>
  ARBOR_AVX512_INLINE static V sar(V a) {
    return _mm512_maskz_srai_epi64(kAll, a, N);
  }
  ARBOR_AVX512_INLINE static V madd52lo(V acc, V b, V c) {
    return _mm512_madd52lo_epu64(acc, b, c);
  }
  ARBOR_AVX512_INLINE static V madd52hi(V acc, V b, V c) {
    return _mm512_madd52hi_epu64(acc, b, c);
  }
  // The masked form with a zero source, for the same g++ 12 false positive as the shifts.
  ARBOR_AVX512_INLINE static V gather(const std::uint64_t* base, V index) {
    return _mm512_mask_i64gather_epi64(_mm512_setzero_si512(), kAll, index, base, 8);
  }
  ARBOR_AVX512_INLINE static V select_negative(V s, V if_negative, V otherwise) {
    // Blend takes its second operand where the mask bit is set.
    return _mm512_mask_blend_epi64(_mm512_cmplt_epi64_mask(s, _mm512_setzero_si512()), otherwise,
                                   if_negative);
  }
};

}  // namespace
}  // namespace arbor::field
