// The x86-64 scalar field path: Montgomery multiplication with MULX (BMI2) and two independent
// carry chains ADCX/ADOX (ADX), for every instance of the field template (mont_field.hpp).
//
// Only code that has checked field_paths().adx (cpu_features.hpp) may call these: the
// instructions fault on CPUs without BMI2/ADX. The portable mul() in mont_field.hpp stays the
// reference; tests hold the two equal on random and edge operands for every field.
//
// Inline asm, not intrinsics: g++ 12 turns _addcarryx_u64 into a single ADC chain, and the point of
// ADX is the second chain. The functions are always inlined so that callers' state stays in
// registers; the asm takes its operands from memory or registers as the compiler sees fit.
#pragma once

#include <cstdint>

#include "kernels/field/arith.hpp"
#include "kernels/field/mont_field.hpp"

// ARBOR_FIELD_NO_X86_ASM leaves this path out (field_paths().adx is then false): the sanitizer
// tree (ARBOR_FUZZ) defines it, because clang's sanitizer and coverage instrumentation leaves
// too few registers for these asm blocks ("inline assembly requires more registers than
// available").
#if defined(__x86_64__) && !defined(__CUDA_ARCH__) && !defined(ARBOR_FIELD_NO_X86_ASM)
#define ARBOR_FIELD_HAVE_X86_ASM 1

namespace arbor::field::x86 {

// CIOS as in mul() (mont_field.hpp): row i adds a*b[i] to the 5-limb accumulator on two carry
// chains, then adds m*p with m = t0 * -p^-1 mod 2^64, which zeroes the low limb; the registers
// rotate instead of the limbs moving. Bounds: before a row t < 2p; t + a*b[i] + m*p <
// 2p + 2^65 p < 2^320 because p < 2^255 - 2^192 (static_assert below), so no carry leaves the
// fifth limb, and the row's result (divided by 2^64) is again < 2p. One conditional subtraction
// (SUB/SBB, CMOV: no branch on data) makes it canonical.
//
// Where 4p < 2^256 (kMaxLazyTerms<P> >= 4: BN254 Fr, Bandersnatch Fr; not BLS12-381 Fr), one
// operand may be below 2p instead of p (AdxArith::kTakesOperandsBelow2p): rows then stay below
// 4p ((4p + 2^64 * 2p + 2^64 * p) / 2^64 < 3p + 1), whose 4p + 3 * 2^64 * p fits five limbs
// while p < 2^254.4, and the result (a*b + m*p) / 2^256 < 2p^2 / 2^256 + p < 2p, so the same
// single subtraction makes it canonical. (field_paths_test holds it to GMP.)
template <class P>
__attribute__((always_inline)) inline MontField<P> mul_adx(const MontField<P>& a,
                                                           const MontField<P>& b) {
  using C = mont_detail::Constants<P>;
  static_assert(C::P3 < 0x7fffffffffffffffULL, "the 5-limb accumulator needs p < 2^255 - 2^192");
  static constexpr std::uint64_t kP[4] = {C::P0, C::P1, C::P2, C::P3};
  static constexpr std::uint64_t kInv = C::kInv;
  std::uint64_t t0, t1, t2, t3, t4, lo, hi, z, rdx;
  __asm__(
      "movq %[b0], %%rdx\n\t"
      "xorl %k[z], %k[z]\n\t"
      "mulxq %[a0], %[t0], %[t1]\n\t"
      "mulxq %[a1], %[lo], %[t2]\n\t"
      "adcxq %[lo], %[t1]\n\t"
      "mulxq %[a2], %[lo], %[t3]\n\t"
      "adcxq %[lo], %[t2]\n\t"
      "mulxq %[a3], %[lo], %[t4]\n\t"
      "adcxq %[lo], %[t3]\n\t"
      "adcxq %[z], %[t4]\n\t"
      "movq %[t0], %%rdx\n\t"
      "imulq %[inv], %%rdx\n\t"
      "xorl %k[z], %k[z]\n\t"
      "mulxq %[p0], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t0]\n\t"
      "adoxq %[hi], %[t1]\n\t"
      "mulxq %[p1], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t1]\n\t"
      "adoxq %[hi], %[t2]\n\t"
      "mulxq %[p2], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t2]\n\t"
      "adoxq %[hi], %[t3]\n\t"
      "mulxq %[p3], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t3]\n\t"
      "adoxq %[hi], %[t4]\n\t"
      "adcxq %[z], %[t4]\n\t"
      "movq %[b1], %%rdx\n\t"
      "xorl %k[z], %k[z]\n\t"
      "mulxq %[a0], %[lo], %[hi]\n\t"
      "adoxq %[lo], %[t1]\n\t"
      "adcxq %[hi], %[t2]\n\t"
      "mulxq %[a1], %[lo], %[hi]\n\t"
      "adoxq %[lo], %[t2]\n\t"
      "adcxq %[hi], %[t3]\n\t"
      "mulxq %[a2], %[lo], %[hi]\n\t"
      "adoxq %[lo], %[t3]\n\t"
      "adcxq %[hi], %[t4]\n\t"
      "mulxq %[a3], %[lo], %[t0]\n\t"
      "adoxq %[lo], %[t4]\n\t"
      "adcxq %[z], %[t0]\n\t"
      "adoxq %[z], %[t0]\n\t"
      "movq %[t1], %%rdx\n\t"
      "imulq %[inv], %%rdx\n\t"
      "xorl %k[z], %k[z]\n\t"
      "mulxq %[p0], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t1]\n\t"
      "adoxq %[hi], %[t2]\n\t"
      "mulxq %[p1], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t2]\n\t"
      "adoxq %[hi], %[t3]\n\t"
      "mulxq %[p2], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t3]\n\t"
      "adoxq %[hi], %[t4]\n\t"
      "mulxq %[p3], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t4]\n\t"
      "adoxq %[hi], %[t0]\n\t"
      "adcxq %[z], %[t0]\n\t"
      "movq %[b2], %%rdx\n\t"
      "xorl %k[z], %k[z]\n\t"
      "mulxq %[a0], %[lo], %[hi]\n\t"
      "adoxq %[lo], %[t2]\n\t"
      "adcxq %[hi], %[t3]\n\t"
      "mulxq %[a1], %[lo], %[hi]\n\t"
      "adoxq %[lo], %[t3]\n\t"
      "adcxq %[hi], %[t4]\n\t"
      "mulxq %[a2], %[lo], %[hi]\n\t"
      "adoxq %[lo], %[t4]\n\t"
      "adcxq %[hi], %[t0]\n\t"
      "mulxq %[a3], %[lo], %[t1]\n\t"
      "adoxq %[lo], %[t0]\n\t"
      "adcxq %[z], %[t1]\n\t"
      "adoxq %[z], %[t1]\n\t"
      "movq %[t2], %%rdx\n\t"
      "imulq %[inv], %%rdx\n\t"
      "xorl %k[z], %k[z]\n\t"
      "mulxq %[p0], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t2]\n\t"
      "adoxq %[hi], %[t3]\n\t"
      "mulxq %[p1], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t3]\n\t"
      "adoxq %[hi], %[t4]\n\t"
      "mulxq %[p2], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t4]\n\t"
      "adoxq %[hi], %[t0]\n\t"
      "mulxq %[p3], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t0]\n\t"
      "adoxq %[hi], %[t1]\n\t"
      "adcxq %[z], %[t1]\n\t"
      "movq %[b3], %%rdx\n\t"
      "xorl %k[z], %k[z]\n\t"
      "mulxq %[a0], %[lo], %[hi]\n\t"
      "adoxq %[lo], %[t3]\n\t"
      "adcxq %[hi], %[t4]\n\t"
      "mulxq %[a1], %[lo], %[hi]\n\t"
      "adoxq %[lo], %[t4]\n\t"
      "adcxq %[hi], %[t0]\n\t"
      "mulxq %[a2], %[lo], %[hi]\n\t"
      "adoxq %[lo], %[t0]\n\t"
      "adcxq %[hi], %[t1]\n\t"
      "mulxq %[a3], %[lo], %[t2]\n\t"
      "adoxq %[lo], %[t1]\n\t"
      "adcxq %[z], %[t2]\n\t"
      "adoxq %[z], %[t2]\n\t"
      "movq %[t3], %%rdx\n\t"
      "imulq %[inv], %%rdx\n\t"
      "xorl %k[z], %k[z]\n\t"
      "mulxq %[p0], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t3]\n\t"
      "adoxq %[hi], %[t4]\n\t"
      "mulxq %[p1], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t4]\n\t"
      "adoxq %[hi], %[t0]\n\t"
      "mulxq %[p2], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t0]\n\t"
      "adoxq %[hi], %[t1]\n\t"
      "mulxq %[p3], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t1]\n\t"
      "adoxq %[hi], %[t2]\n\t"
      "adcxq %[z], %[t2]\n\t"
      // (t4, t0, t1, t2) < 2p: subtract p into (t3, lo, hi, z), keep the difference if no borrow.
      "movq %[t4], %[t3]\n\t"
      "subq %[p0], %[t3]\n\t"
      "movq %[t0], %[lo]\n\t"
      "sbbq %[p1], %[lo]\n\t"
      "movq %[t1], %[hi]\n\t"
      "sbbq %[p2], %[hi]\n\t"
      "movq %[t2], %[z]\n\t"
      "sbbq %[p3], %[z]\n\t"
      "cmovncq %[t3], %[t4]\n\t"
      "cmovncq %[lo], %[t0]\n\t"
      "cmovncq %[hi], %[t1]\n\t"
      "cmovncq %[z], %[t2]\n\t"
      : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4),
        [lo] "=&r"(lo), [hi] "=&r"(hi), [z] "=&r"(z), "=&d"(rdx)
      : [a0] "m"(a.limb[0]), [a1] "m"(a.limb[1]), [a2] "m"(a.limb[2]), [a3] "m"(a.limb[3]),
        [b0] "m"(b.limb[0]), [b1] "m"(b.limb[1]), [b2] "m"(b.limb[2]), [b3] "m"(b.limb[3]),
        [p0] "m"(kP[0]), [p1] "m"(kP[1]), [p2] "m"(kP[2]), [p3] "m"(kP[3]), [inv] "m"(kInv)
      : "cc");
  return MontField<P>{{t4, t0, t1, t2}};
}

// The 512-bit product a*b, not reduced: schoolbook rows on two carry chains, 16 MULX.
template <class P>
__attribute__((always_inline)) inline Wide mul_wide_adx(const MontField<P>& a,
                                                        const MontField<P>& b) {
  std::uint64_t t0, t1, t2, t3, t4, t5, t6, t7, lo, hi, z, rdx;
  __asm__(
      "movq %[b0], %%rdx\n\t"
      "xorl %k[z], %k[z]\n\t"
      "mulxq %[a0], %[t0], %[t1]\n\t"
      "mulxq %[a1], %[lo], %[t2]\n\t"
      "adcxq %[lo], %[t1]\n\t"
      "mulxq %[a2], %[lo], %[t3]\n\t"
      "adcxq %[lo], %[t2]\n\t"
      "mulxq %[a3], %[lo], %[t4]\n\t"
      "adcxq %[lo], %[t3]\n\t"
      "adcxq %[z], %[t4]\n\t"
      "movq %[b1], %%rdx\n\t"
      "xorl %k[z], %k[z]\n\t"
      "mulxq %[a0], %[lo], %[hi]\n\t"
      "adoxq %[lo], %[t1]\n\t"
      "adcxq %[hi], %[t2]\n\t"
      "mulxq %[a1], %[lo], %[hi]\n\t"
      "adoxq %[lo], %[t2]\n\t"
      "adcxq %[hi], %[t3]\n\t"
      "mulxq %[a2], %[lo], %[hi]\n\t"
      "adoxq %[lo], %[t3]\n\t"
      "adcxq %[hi], %[t4]\n\t"
      "mulxq %[a3], %[lo], %[t5]\n\t"
      "adoxq %[lo], %[t4]\n\t"
      "adcxq %[z], %[t5]\n\t"
      "adoxq %[z], %[t5]\n\t"
      "movq %[b2], %%rdx\n\t"
      "xorl %k[z], %k[z]\n\t"
      "mulxq %[a0], %[lo], %[hi]\n\t"
      "adoxq %[lo], %[t2]\n\t"
      "adcxq %[hi], %[t3]\n\t"
      "mulxq %[a1], %[lo], %[hi]\n\t"
      "adoxq %[lo], %[t3]\n\t"
      "adcxq %[hi], %[t4]\n\t"
      "mulxq %[a2], %[lo], %[hi]\n\t"
      "adoxq %[lo], %[t4]\n\t"
      "adcxq %[hi], %[t5]\n\t"
      "mulxq %[a3], %[lo], %[t6]\n\t"
      "adoxq %[lo], %[t5]\n\t"
      "adcxq %[z], %[t6]\n\t"
      "adoxq %[z], %[t6]\n\t"
      "movq %[b3], %%rdx\n\t"
      "xorl %k[z], %k[z]\n\t"
      "mulxq %[a0], %[lo], %[hi]\n\t"
      "adoxq %[lo], %[t3]\n\t"
      "adcxq %[hi], %[t4]\n\t"
      "mulxq %[a1], %[lo], %[hi]\n\t"
      "adoxq %[lo], %[t4]\n\t"
      "adcxq %[hi], %[t5]\n\t"
      "mulxq %[a2], %[lo], %[hi]\n\t"
      "adoxq %[lo], %[t5]\n\t"
      "adcxq %[hi], %[t6]\n\t"
      "mulxq %[a3], %[lo], %[t7]\n\t"
      "adoxq %[lo], %[t6]\n\t"
      "adcxq %[z], %[t7]\n\t"
      "adoxq %[z], %[t7]\n\t"
      : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4),
        [t5] "=&r"(t5), [t6] "=&r"(t6), [t7] "=&r"(t7), [lo] "=&r"(lo), [hi] "=&r"(hi),
        [z] "=&r"(z), "=&d"(rdx)
      : [a0] "m"(a.limb[0]), [a1] "m"(a.limb[1]), [a2] "m"(a.limb[2]), [a3] "m"(a.limb[3]),
        [b0] "m"(b.limb[0]), [b1] "m"(b.limb[1]), [b2] "m"(b.limb[2]), [b3] "m"(b.limb[3])
      : "cc");
  return Wide{{t0, t1, t2, t3, t4, t5, t6, t7}};
}

// The 512-bit square: 6 cross products (doubled) and 4 diagonal ones, 10 MULX.
template <class P>
__attribute__((always_inline)) inline Wide square_wide_adx(const MontField<P>& a) {
  std::uint64_t t0, t1, t2, t3, t4, t5, t6, t7, lo, hi, z, rdx;
  __asm__(
      "xorl %k[z], %k[z]\n\t"
      "movq %[a0], %%rdx\n\t"
      "mulxq %[a1], %[t1], %[t2]\n\t"
      "mulxq %[a2], %[lo], %[t3]\n\t"
      "adcxq %[lo], %[t2]\n\t"
      "mulxq %[a3], %[lo], %[t4]\n\t"
      "adcxq %[lo], %[t3]\n\t"
      "movq %[a1], %%rdx\n\t"
      "mulxq %[a2], %[lo], %[hi]\n\t"
      "adoxq %[lo], %[t3]\n\t"
      "adcxq %[hi], %[t4]\n\t"
      "mulxq %[a3], %[lo], %[t5]\n\t"
      "adoxq %[lo], %[t4]\n\t"
      "adcxq %[z], %[t5]\n\t"
      "movq %[a2], %%rdx\n\t"
      "mulxq %[a3], %[lo], %[t6]\n\t"
      "adoxq %[lo], %[t5]\n\t"
      "adoxq %[z], %[t6]\n\t"
      "xorl %k[z], %k[z]\n\t"
      "movq %[a0], %%rdx\n\t"
      "mulxq %%rdx, %[t0], %[hi]\n\t"
      "adcxq %[t1], %[t1]\n\t"
      "adoxq %[hi], %[t1]\n\t"
      "movq %[a1], %%rdx\n\t"
      "mulxq %%rdx, %[lo], %[hi]\n\t"
      "adcxq %[t2], %[t2]\n\t"
      "adoxq %[lo], %[t2]\n\t"
      "adcxq %[t3], %[t3]\n\t"
      "adoxq %[hi], %[t3]\n\t"
      "movq %[a2], %%rdx\n\t"
      "mulxq %%rdx, %[lo], %[hi]\n\t"
      "adcxq %[t4], %[t4]\n\t"
      "adoxq %[lo], %[t4]\n\t"
      "adcxq %[t5], %[t5]\n\t"
      "adoxq %[hi], %[t5]\n\t"
      "movq %[a3], %%rdx\n\t"
      "mulxq %%rdx, %[lo], %[t7]\n\t"
      "adcxq %[t6], %[t6]\n\t"
      "adoxq %[lo], %[t6]\n\t"
      "adcxq %[z], %[t7]\n\t"
      "adoxq %[z], %[t7]\n\t"
      : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4),
        [t5] "=&r"(t5), [t6] "=&r"(t6), [t7] "=&r"(t7), [lo] "=&r"(lo), [hi] "=&r"(hi),
        [z] "=&r"(z), "=&d"(rdx)
      : [a0] "m"(a.limb[0]), [a1] "m"(a.limb[1]), [a2] "m"(a.limb[2]), [a3] "m"(a.limb[3])
      : "cc");
  return Wide{{t0, t1, t2, t3, t4, t5, t6, t7}};
}

// Montgomery reduction of a 512-bit value x < kMaxLazyTerms<P> * p^2 (arith.hpp): x / 2^256 mod
// p, canonical. Four rows on the low half bring it to (lo + m*p) / 2^256 <= p (lo < 2^256,
// m < 2^256); the high half is floor(x / 2^256) < kMaxLazyTerms * p^2 / 2^256 < p, so the sum is
// < 2p < 2^256 and one conditional subtraction finishes. 16 MULX.
template <class P>
__attribute__((always_inline)) inline MontField<P> redc_wide_adx(const Wide& x) {
  using C = mont_detail::Constants<P>;
  static constexpr std::uint64_t kP[4] = {C::P0, C::P1, C::P2, C::P3};
  static constexpr std::uint64_t kInv = C::kInv;
  std::uint64_t t0 = x.limb[0], t1 = x.limb[1], t2 = x.limb[2], t3 = x.limb[3];
  std::uint64_t t4 = x.limb[4], t5 = x.limb[5], t6 = x.limb[6], t7 = x.limb[7];
  std::uint64_t lo, hi, z, rdx;
  __asm__(
      "movq %[t0], %%rdx\n\t"
      "imulq %[inv], %%rdx\n\t"
      "xorl %k[z], %k[z]\n\t"
      "mulxq %[p0], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t0]\n\t"
      "adoxq %[hi], %[t1]\n\t"
      "mulxq %[p1], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t1]\n\t"
      "adoxq %[hi], %[t2]\n\t"
      "mulxq %[p2], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t2]\n\t"
      "adoxq %[hi], %[t3]\n\t"
      "mulxq %[p3], %[lo], %[t0]\n\t"
      "adcxq %[lo], %[t3]\n\t"
      "adoxq %[z], %[t0]\n\t"
      "adcxq %[z], %[t0]\n\t"
      "movq %[t1], %%rdx\n\t"
      "imulq %[inv], %%rdx\n\t"
      "xorl %k[z], %k[z]\n\t"
      "mulxq %[p0], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t1]\n\t"
      "adoxq %[hi], %[t2]\n\t"
      "mulxq %[p1], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t2]\n\t"
      "adoxq %[hi], %[t3]\n\t"
      "mulxq %[p2], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t3]\n\t"
      "adoxq %[hi], %[t0]\n\t"
      "mulxq %[p3], %[lo], %[t1]\n\t"
      "adcxq %[lo], %[t0]\n\t"
      "adoxq %[z], %[t1]\n\t"
      "adcxq %[z], %[t1]\n\t"
      "movq %[t2], %%rdx\n\t"
      "imulq %[inv], %%rdx\n\t"
      "xorl %k[z], %k[z]\n\t"
      "mulxq %[p0], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t2]\n\t"
      "adoxq %[hi], %[t3]\n\t"
      "mulxq %[p1], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t3]\n\t"
      "adoxq %[hi], %[t0]\n\t"
      "mulxq %[p2], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t0]\n\t"
      "adoxq %[hi], %[t1]\n\t"
      "mulxq %[p3], %[lo], %[t2]\n\t"
      "adcxq %[lo], %[t1]\n\t"
      "adoxq %[z], %[t2]\n\t"
      "adcxq %[z], %[t2]\n\t"
      "movq %[t3], %%rdx\n\t"
      "imulq %[inv], %%rdx\n\t"
      "xorl %k[z], %k[z]\n\t"
      "mulxq %[p0], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t3]\n\t"
      "adoxq %[hi], %[t0]\n\t"
      "mulxq %[p1], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t0]\n\t"
      "adoxq %[hi], %[t1]\n\t"
      "mulxq %[p2], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t1]\n\t"
      "adoxq %[hi], %[t2]\n\t"
      "mulxq %[p3], %[lo], %[t3]\n\t"
      "adcxq %[lo], %[t2]\n\t"
      "adoxq %[z], %[t3]\n\t"
      "adcxq %[z], %[t3]\n\t"
      "addq %[t4], %[t0]\n\t"
      "adcq %[t5], %[t1]\n\t"
      "adcq %[t6], %[t2]\n\t"
      "adcq %[t7], %[t3]\n\t"
      "movq %[t0], %[t4]\n\t"
      "subq %[p0], %[t4]\n\t"
      "movq %[t1], %[t5]\n\t"
      "sbbq %[p1], %[t5]\n\t"
      "movq %[t2], %[t6]\n\t"
      "sbbq %[p2], %[t6]\n\t"
      "movq %[t3], %[t7]\n\t"
      "sbbq %[p3], %[t7]\n\t"
      "cmovncq %[t4], %[t0]\n\t"
      "cmovncq %[t5], %[t1]\n\t"
      "cmovncq %[t6], %[t2]\n\t"
      "cmovncq %[t7], %[t3]\n\t"
      : [t0] "+&r"(t0), [t1] "+&r"(t1), [t2] "+&r"(t2), [t3] "+&r"(t3), [t4] "+&r"(t4),
        [t5] "+&r"(t5), [t6] "+&r"(t6), [t7] "+&r"(t7), [lo] "=&r"(lo), [hi] "=&r"(hi),
        [z] "=&r"(z), "=&d"(rdx)
      : [p0] "m"(kP[0]), [p1] "m"(kP[1]), [p2] "m"(kP[2]), [p3] "m"(kP[3]), [inv] "m"(kInv)
      : "cc");
  return MontField<P>{{t0, t1, t2, t3}};
}

// a + b for canonical a, b, not reduced: below 2p, an operand mul_adx and square_adx take for
// fields with 4p < 2^256 ((2p)^2 is then within redc_wide_adx's range too).
template <class P>
__attribute__((always_inline)) inline MontField<P> add_unreduced(const MontField<P>& a,
                                                                 const MontField<P>& b) {
  static_assert(kMaxLazyTerms<P> >= 4, "operands below 2p need 4p < 2^256");
  unsigned long long s0, s1, s2, s3;  // the intrinsic's type
  unsigned char carry = _addcarry_u64(0, a.limb[0], b.limb[0], &s0);
  carry = _addcarry_u64(carry, a.limb[1], b.limb[1], &s1);
  carry = _addcarry_u64(carry, a.limb[2], b.limb[2], &s2);
  _addcarry_u64(carry, a.limb[3], b.limb[3], &s3);
  return MontField<P>{{s0, s1, s2, s3}};
}

// Squaring as the wide square and its reduction: 26 MULX against mul_adx's 32.
template <class P>
__attribute__((always_inline)) inline MontField<P> square_adx(const MontField<P>& a) {
  static_assert(kMaxLazyTerms<P> >= 1);
  return redc_wide_adx<P>(square_wide_adx(a));
}

// acc += term over 512 bits (an ADC chain); callers keep the sum within redc_wide_adx's range.
__attribute__((always_inline)) inline void add_wide(Wide& acc, const Wide& term) {
  unsigned char carry = 0;
  for (int w = 0; w < 8; ++w) {
    unsigned long long sum;  // the intrinsic's type; std::uint64_t is unsigned long
    carry = _addcarry_u64(carry, acc.limb[w], term.limb[w], &sum);
    acc.limb[w] = sum;
  }
}

// sum_k a[k] * b[k] / 2^256 mod p with one reduction: N wide products added (ADC chain), then
// redc_wide_adx. N <= kMaxLazyTerms<P> keeps the sum in redc's range.
template <int N, class P>
__attribute__((always_inline)) inline MontField<P> dot_adx(const MontField<P>* a,
                                                           const MontField<P>* b) {
  static_assert(N >= 1 && N <= kMaxLazyTerms<P>, "the sum must stay below 2^256 * p");
  Wide acc = mul_wide_adx(a[0], b[0]);
  for (int k = 1; k < N; ++k) add_wide(acc, mul_wide_adx(a[k], b[k]));
  return redc_wide_adx<P>(acc);
}

// sum_k a[k] * b[k] + c * d with one reduction, c * d last (dot_plus_with in arith.hpp).
template <int N, class P>
__attribute__((always_inline)) inline MontField<P> dot_plus_adx(const MontField<P>* a,
                                                                const MontField<P>* b,
                                                                const MontField<P>& c,
                                                                const MontField<P>& d) {
  static_assert(N >= 1 && N + 1 <= kMaxLazyTerms<P>, "the sum must stay below 2^256 * p");
  Wide acc = mul_wide_adx(a[0], b[0]);
  for (int k = 1; k < N; ++k) add_wide(acc, mul_wide_adx(a[k], b[k]));
  add_wide(acc, mul_wide_adx(c, d));
  return redc_wide_adx<P>(acc);
}

}  // namespace arbor::field::x86

namespace arbor::field {

// The arithmetic policy (arith.hpp) of this path.
struct AdxArith {
  static constexpr const char* kName = "adx";
  // mul and square take one operand below 2p where kMaxLazyTerms<P> >= 4 (see mul_adx);
  // add_unreduced makes such operands.
  static constexpr bool kTakesOperandsBelow2p = true;
  template <class P>
  __attribute__((always_inline)) static MontField<P> add_unreduced(const MontField<P>& a,
                                                                   const MontField<P>& b) {
    return x86::add_unreduced(a, b);
  }
  template <class P>
  __attribute__((always_inline)) static MontField<P> mul(const MontField<P>& a,
                                                         const MontField<P>& b) {
    return x86::mul_adx(a, b);
  }
  template <class P>
  __attribute__((always_inline)) static MontField<P> square(const MontField<P>& a) {
    return x86::square_adx(a);
  }
  // Sums of products reduced once (lazy reduction): see dot_with in arith.hpp.
  template <int N, class P>
  __attribute__((always_inline)) static MontField<P> dot(const MontField<P>* a,
                                                         const MontField<P>* b) {
    return x86::dot_adx<N>(a, b);
  }
  template <int N, class P>
  __attribute__((always_inline)) static MontField<P> dot_plus(const MontField<P>* a,
                                                              const MontField<P>* b,
                                                              const MontField<P>& c,
                                                              const MontField<P>& d) {
    return x86::dot_plus_adx<N>(a, b, c, d);
  }
};

}  // namespace arbor::field

#endif
