// Montgomery multiplication on eight 32-bit limbs, for the GPU. The operands and the result are the
// MontField values of mont_field.hpp viewed as eight little-endian 32-bit limbs (the same bytes:
// limb32[2i] is the low half of limb[i]), in the same Montgomery domain R = 2^256, and the result
// is the same fully reduced value field::mul() returns, so the two are interchangeable bit for bit.
//
// Why: GPUs multiply 32 bits at a time. A 64-bit product is four 32-bit ones plus carry fix-ups,
// and 64-bit carries have no flag; here the carries ride the PTX carry flag (mad.lo.cc /
// madc.hi.cc) and ptxas pairs each low/high product into one wide multiply-add. On sm_90 a product
// is 196 SASS instructions (205 for BLS12-381 Fr) against 669 to 689 for the 64-bit CIOS.
//
// The algorithm (CIOS with even/odd accumulators): in a row, the products a[j]*b[i] of even j put
// their low halves at even and their high halves at odd limb positions, so they form one carry
// chain without collisions; the products of odd j form a second chain one limb higher. The running
// value is T = X + 2^32 * Y with X (nine limbs) taking the even products and Y (eight limbs) the
// odd ones. The reduction m = X[0] * -p^-1 mod 2^32 zeroes X[0]; dividing by 2^32 then turns Y into
// the next row's X and X (shifted down two limbs, its limb 1 added to the new X) into the next
// row's Y: the two arrays swap roles every row, and the shift is folded into the next row's odd
// chain.
//
// Every carry chain is one inline-asm statement on the device (the carry flag never has to survive
// between statements); on the host each chain is portable C++ doing the same operations in the same
// order with 64-bit intermediates, which tests/unit/mont32_test.cpp holds equal to field::mul().
// Each statement first copies its read-only operands into registers of its own: the compiler may
// give a read-only operand the register of an in/out one when their values are equal (it assumes
// inputs are read before outputs are written), and the chains write limbs while later instructions
// still read those operands. Seen with constant operands (to_canonical_limbs' 1) before the copies;
// ptxas removes the moves.
//
// Bounds (p < 2^255 and a, b < p): T < 2p before each row (standard CIOS), so within a row
// T + a*b[i] + m*p < 2^32 * 2p < 2^288. X and Y are non-negative parts of T, so X < 2^288 fits nine
// limbs and Y <= T / 2^32 < 2^256 fits eight: the odd chains never carry out of limb 7. At the end
// T = Y + X / 2^32 < 2p fits eight limbs and one conditional subtraction makes it canonical.
//
// Included by mont_field.hpp (which declares the types used here); include that header, not this.
#pragma once

#include <cstdint>

#include "kernels/hd.hpp"

namespace arbor::field {

namespace mont_detail {
template <class Params>
struct Constants;
}  // namespace mont_detail
template <class ParamsT>
struct MontField;

namespace mont32 {

// The modulus as eight 32-bit limbs and -p^-1 mod 2^32, derived from the 64-bit constants (scalars,
// so that device code may read them).
template <class P>
struct Constants32 {
  using C = mont_detail::Constants<P>;
  static constexpr std::uint32_t P0 = static_cast<std::uint32_t>(C::P0);
  static constexpr std::uint32_t P1 = static_cast<std::uint32_t>(C::P0 >> 32);
  static constexpr std::uint32_t P2 = static_cast<std::uint32_t>(C::P1);
  static constexpr std::uint32_t P3 = static_cast<std::uint32_t>(C::P1 >> 32);
  static constexpr std::uint32_t P4 = static_cast<std::uint32_t>(C::P2);
  static constexpr std::uint32_t P5 = static_cast<std::uint32_t>(C::P2 >> 32);
  static constexpr std::uint32_t P6 = static_cast<std::uint32_t>(C::P3);
  static constexpr std::uint32_t P7 = static_cast<std::uint32_t>(C::P3 >> 32);
  // -p^-1 mod 2^64 reduced mod 2^32 is -p^-1 mod 2^32.
  static constexpr std::uint32_t kInv = static_cast<std::uint32_t>(C::kInv);
  static_assert(static_cast<std::uint32_t>(P0 * kInv) == 0xffffffffu, "-p^-1 mod 2^32");
  static_assert(P7 < 0x80000000u, "the accumulator bounds need p < 2^255");
};

namespace detail {

// Portable models of the PTX instructions used below. `cf` is the carry flag (0 or 1): the .cc
// forms write it, the c forms (madc, addc) read it; a chain starts with cf = 0 where the PTX
// starts with a form that ignores the flag (mad.lo.cc, add.cc).
ARBOR_HD std::uint32_t madc_lo(std::uint32_t a, std::uint32_t b, std::uint32_t c,
                               std::uint32_t& cf) {
  const std::uint64_t s = std::uint64_t{static_cast<std::uint32_t>(a * b)} + c + cf;
  cf = static_cast<std::uint32_t>(s >> 32);
  return static_cast<std::uint32_t>(s);
}
ARBOR_HD std::uint32_t madc_hi(std::uint32_t a, std::uint32_t b, std::uint32_t c,
                               std::uint32_t& cf) {
  const std::uint64_t s = ((std::uint64_t{a} * b) >> 32) + c + cf;
  cf = static_cast<std::uint32_t>(s >> 32);
  return static_cast<std::uint32_t>(s);
}
ARBOR_HD std::uint32_t addc(std::uint32_t a, std::uint32_t b, std::uint32_t& cf) {
  const std::uint64_t s = std::uint64_t{a} + b + cf;
  cf = static_cast<std::uint32_t>(s >> 32);
  return static_cast<std::uint32_t>(s);
}
// a - b - bf; bf is the borrow (0 or 1).
ARBOR_HD std::uint32_t subc(std::uint32_t a, std::uint32_t b, std::uint32_t& bf) {
  const std::uint64_t d = std::uint64_t{a} - b - bf;
  bf = static_cast<std::uint32_t>(d >> 63);
  return static_cast<std::uint32_t>(d);
}

// x[0..8] += m * (q0 + q2 * 2^64 + q4 * 2^128 + q6 * 2^192): the even chain. The caller knows the
// sum fits nine limbs.
ARBOR_HD void mad_even(std::uint32_t (&x)[9], std::uint32_t m, std::uint32_t q0, std::uint32_t q2,
                       std::uint32_t q4, std::uint32_t q6) {
#if defined(__CUDA_ARCH__)
  asm("{\n\t"
      ".reg .u32 m, q0, q2, q4, q6;\n\t"
      "mov.u32 m, %9;\n\t"
      "mov.u32 q0, %10;\n\t"
      "mov.u32 q2, %11;\n\t"
      "mov.u32 q4, %12;\n\t"
      "mov.u32 q6, %13;\n\t"
      "mad.lo.cc.u32 %0, m, q0, %0;\n\t"
      "madc.hi.cc.u32 %1, m, q0, %1;\n\t"
      "madc.lo.cc.u32 %2, m, q2, %2;\n\t"
      "madc.hi.cc.u32 %3, m, q2, %3;\n\t"
      "madc.lo.cc.u32 %4, m, q4, %4;\n\t"
      "madc.hi.cc.u32 %5, m, q4, %5;\n\t"
      "madc.lo.cc.u32 %6, m, q6, %6;\n\t"
      "madc.hi.cc.u32 %7, m, q6, %7;\n\t"
      "addc.u32 %8, %8, 0;\n\t"
      "}"
      : "+r"(x[0]), "+r"(x[1]), "+r"(x[2]), "+r"(x[3]), "+r"(x[4]), "+r"(x[5]), "+r"(x[6]),
        "+r"(x[7]), "+r"(x[8])
      : "r"(m), "r"(q0), "r"(q2), "r"(q4), "r"(q6));
#else
  std::uint32_t cf = 0;
  x[0] = madc_lo(m, q0, x[0], cf);
  x[1] = madc_hi(m, q0, x[1], cf);
  x[2] = madc_lo(m, q2, x[2], cf);
  x[3] = madc_hi(m, q2, x[3], cf);
  x[4] = madc_lo(m, q4, x[4], cf);
  x[5] = madc_hi(m, q4, x[5], cf);
  x[6] = madc_lo(m, q6, x[6], cf);
  x[7] = madc_hi(m, q6, x[7], cf);
  x[8] = addc(x[8], 0, cf);
#endif
}

// y[0..7] += m * (q1 + q3 * 2^64 + q5 * 2^128 + q7 * 2^192): the odd chain, one limb up. The caller
// knows the sum fits eight limbs, so the last step drops no carry.
ARBOR_HD void mad_odd(std::uint32_t (&y)[9], std::uint32_t m, std::uint32_t q1, std::uint32_t q3,
                      std::uint32_t q5, std::uint32_t q7) {
#if defined(__CUDA_ARCH__)
  asm("{\n\t"
      ".reg .u32 m, q1, q3, q5, q7;\n\t"
      "mov.u32 m, %8;\n\t"
      "mov.u32 q1, %9;\n\t"
      "mov.u32 q3, %10;\n\t"
      "mov.u32 q5, %11;\n\t"
      "mov.u32 q7, %12;\n\t"
      "mad.lo.cc.u32 %0, m, q1, %0;\n\t"
      "madc.hi.cc.u32 %1, m, q1, %1;\n\t"
      "madc.lo.cc.u32 %2, m, q3, %2;\n\t"
      "madc.hi.cc.u32 %3, m, q3, %3;\n\t"
      "madc.lo.cc.u32 %4, m, q5, %4;\n\t"
      "madc.hi.cc.u32 %5, m, q5, %5;\n\t"
      "madc.lo.cc.u32 %6, m, q7, %6;\n\t"
      "madc.hi.u32 %7, m, q7, %7;\n\t"
      "}"
      : "+r"(y[0]), "+r"(y[1]), "+r"(y[2]), "+r"(y[3]), "+r"(y[4]), "+r"(y[5]), "+r"(y[6]),
        "+r"(y[7])
      : "r"(m), "r"(q1), "r"(q3), "r"(q5), "r"(q7));
#else
  std::uint32_t cf = 0;
  y[0] = madc_lo(m, q1, y[0], cf);
  y[1] = madc_hi(m, q1, y[1], cf);
  y[2] = madc_lo(m, q3, y[2], cf);
  y[3] = madc_hi(m, q3, y[3], cf);
  y[4] = madc_lo(m, q5, y[4], cf);
  y[5] = madc_hi(m, q5, y[5], cf);
  y[6] = madc_lo(m, q7, y[6], cf);
  y[7] = madc_hi(m, q7, y[7], cf);
#endif
}

// x[2..8] += m * (q2 * 2^64 + q4 * 2^128 + q6 * 2^192): mad_even without the q0 product.
ARBOR_HD void mad_even_from_2(std::uint32_t (&x)[9], std::uint32_t m, std::uint32_t q2,
                              std::uint32_t q4, std::uint32_t q6) {
#if defined(__CUDA_ARCH__)
  asm("{\n\t"
      ".reg .u32 m, q2, q4, q6;\n\t"
      "mov.u32 m, %7;\n\t"
      "mov.u32 q2, %8;\n\t"
      "mov.u32 q4, %9;\n\t"
      "mov.u32 q6, %10;\n\t"
      "mad.lo.cc.u32 %0, m, q2, %0;\n\t"
      "madc.hi.cc.u32 %1, m, q2, %1;\n\t"
      "madc.lo.cc.u32 %2, m, q4, %2;\n\t"
      "madc.hi.cc.u32 %3, m, q4, %3;\n\t"
      "madc.lo.cc.u32 %4, m, q6, %4;\n\t"
      "madc.hi.cc.u32 %5, m, q6, %5;\n\t"
      "addc.u32 %6, %6, 0;\n\t"
      "}"
      : "+r"(x[2]), "+r"(x[3]), "+r"(x[4]), "+r"(x[5]), "+r"(x[6]), "+r"(x[7]), "+r"(x[8])
      : "r"(m), "r"(q2), "r"(q4), "r"(q6));
#else
  std::uint32_t cf = 0;
  x[2] = madc_lo(m, q2, x[2], cf);
  x[3] = madc_hi(m, q2, x[3], cf);
  x[4] = madc_lo(m, q4, x[4], cf);
  x[5] = madc_hi(m, q4, x[5], cf);
  x[6] = madc_lo(m, q6, x[6], cf);
  x[7] = madc_hi(m, q6, x[7], cf);
  x[8] = addc(x[8], 0, cf);
#endif
}

// mad_odd with a carry in of 1 when x0 != 0 (the carry of x0 + 0xffffffff).
ARBOR_HD void mad_odd_carry_nonzero(std::uint32_t (&y)[9], std::uint32_t x0, std::uint32_t m,
                                    std::uint32_t q1, std::uint32_t q3, std::uint32_t q5,
                                    std::uint32_t q7) {
#if defined(__CUDA_ARCH__)
  // x0 is a copy: only the carry of the sum is wanted.
  asm("{\n\t"
      ".reg .u32 m, q1, q3, q5, q7;\n\t"
      "mov.u32 m, %9;\n\t"
      "mov.u32 q1, %10;\n\t"
      "mov.u32 q3, %11;\n\t"
      "mov.u32 q5, %12;\n\t"
      "mov.u32 q7, %13;\n\t"
      "add.cc.u32 %8, %8, 0xffffffff;\n\t"
      "madc.lo.cc.u32 %0, m, q1, %0;\n\t"
      "madc.hi.cc.u32 %1, m, q1, %1;\n\t"
      "madc.lo.cc.u32 %2, m, q3, %2;\n\t"
      "madc.hi.cc.u32 %3, m, q3, %3;\n\t"
      "madc.lo.cc.u32 %4, m, q5, %4;\n\t"
      "madc.hi.cc.u32 %5, m, q5, %5;\n\t"
      "madc.lo.cc.u32 %6, m, q7, %6;\n\t"
      "madc.hi.u32 %7, m, q7, %7;\n\t"
      "}"
      : "+r"(y[0]), "+r"(y[1]), "+r"(y[2]), "+r"(y[3]), "+r"(y[4]), "+r"(y[5]), "+r"(y[6]),
        "+r"(y[7]), "+r"(x0)
      : "r"(m), "r"(q1), "r"(q3), "r"(q5), "r"(q7));
#else
  std::uint32_t cf = 0;
  addc(x0, 0xffffffffu, cf);
  y[0] = madc_lo(m, q1, y[0], cf);
  y[1] = madc_hi(m, q1, y[1], cf);
  y[2] = madc_lo(m, q3, y[2], cf);
  y[3] = madc_hi(m, q3, y[3], cf);
  y[4] = madc_lo(m, q5, y[4], cf);
  y[5] = madc_hi(m, q5, y[5], cf);
  y[6] = madc_lo(m, q7, y[6], cf);
  y[7] = madc_hi(m, q7, y[7], cf);
#endif
}

// X + 2^32 Y += m * p with m = X[0] * -p^-1 mod 2^32, which zeroes X[0] (left stale: nothing
// reads it again).
//
// For p0 = 1 (BLS12-381 Fr, whose low 64 bits are 2^64 - 2^32 + 1), -p^-1 = -1 and X[0] + m * 1 is
// 0 with a carry of X[0] != 0, of weight 2^32: the odd chain takes that carry in, and the even
// chain skips the product by 1. On the device m also passes through an identity byte permute:
// seeing m = -X[0], ptxas stops pairing the chains' products into wide multiply-adds (about 50 more
// instructions per multiplication).
template <class P>
ARBOR_HD void reduce_row(std::uint32_t (&x)[9], std::uint32_t (&y)[9]) {
  using K = Constants32<P>;
  std::uint32_t m = x[0] * K::kInv;
  if constexpr (K::P0 == 1) {
#if defined(__CUDA_ARCH__)
    asm("prmt.b32 %0, %0, 0, 0x3210;" : "+r"(m));
#endif
    mad_even_from_2(x, m, K::P2, K::P4, K::P6);
    mad_odd_carry_nonzero(y, x[0], m, K::P1, K::P3, K::P5, K::P7);
  } else {
    mad_even(x, m, K::P0, K::P2, K::P4, K::P6);
    mad_odd(y, m, K::P1, K::P3, K::P5, K::P7);
  }
}

// The start of a row after the first: the previous row's X (x, with x[0] = 0) and Y (y) become
// the new Y and X. x_new = (x >> 64) + m * (a1 + a3 * 2^64 + ...) / 2^32 with m = b (the odd
// chain, shifting in place: each limb is read before it is overwritten), and y[0] += x[1] whose
// carry (weight 2^32) enters that chain at its first limb. x[8] is left stale (the new Y has
// eight limbs).
ARBOR_HD void shift_mad_odd(std::uint32_t (&x)[9], std::uint32_t& y0, std::uint32_t b,
                            std::uint32_t a1, std::uint32_t a3, std::uint32_t a5,
                            std::uint32_t a7) {
#if defined(__CUDA_ARCH__)
  asm("{\n\t"
      ".reg .u32 b, a1, a3, a5, a7;\n\t"
      "mov.u32 b, %10;\n\t"
      "mov.u32 a1, %11;\n\t"
      "mov.u32 a3, %12;\n\t"
      "mov.u32 a5, %13;\n\t"
      "mov.u32 a7, %14;\n\t"
      "add.cc.u32 %9, %9, %1;\n\t"
      "madc.lo.cc.u32 %0, b, a1, %2;\n\t"
      "madc.hi.cc.u32 %1, b, a1, %3;\n\t"
      "madc.lo.cc.u32 %2, b, a3, %4;\n\t"
      "madc.hi.cc.u32 %3, b, a3, %5;\n\t"
      "madc.lo.cc.u32 %4, b, a5, %6;\n\t"
      "madc.hi.cc.u32 %5, b, a5, %7;\n\t"
      "madc.lo.cc.u32 %6, b, a7, %8;\n\t"
      "madc.hi.u32 %7, b, a7, 0;\n\t"
      "}"
      : "+r"(x[0]), "+r"(x[1]), "+r"(x[2]), "+r"(x[3]), "+r"(x[4]), "+r"(x[5]), "+r"(x[6]),
        "+r"(x[7]), "+r"(x[8]), "+r"(y0)
      : "r"(b), "r"(a1), "r"(a3), "r"(a5), "r"(a7));
#else
  std::uint32_t cf = 0;
  y0 = addc(y0, x[1], cf);
  x[0] = madc_lo(b, a1, x[2], cf);
  x[1] = madc_hi(b, a1, x[3], cf);
  x[2] = madc_lo(b, a3, x[4], cf);
  x[3] = madc_hi(b, a3, x[5], cf);
  x[4] = madc_lo(b, a5, x[6], cf);
  x[5] = madc_hi(b, a5, x[7], cf);
  x[6] = madc_lo(b, a7, x[8], cf);
  x[7] = madc_hi(b, a7, 0, cf);
#endif
}

// y[0..7] += x[1..8]: the last row's T = Y + X / 2^32 (x[0] = 0), which fits eight limbs.
ARBOR_HD void merge(std::uint32_t (&y)[9], const std::uint32_t (&x)[9]) {
#if defined(__CUDA_ARCH__)
  asm("{\n\t"
      ".reg .u32 x<8>;\n\t"
      "mov.u32 x0, %8;\n\t"
      "mov.u32 x1, %9;\n\t"
      "mov.u32 x2, %10;\n\t"
      "mov.u32 x3, %11;\n\t"
      "mov.u32 x4, %12;\n\t"
      "mov.u32 x5, %13;\n\t"
      "mov.u32 x6, %14;\n\t"
      "mov.u32 x7, %15;\n\t"
      "add.cc.u32 %0, %0, x0;\n\t"
      "addc.cc.u32 %1, %1, x1;\n\t"
      "addc.cc.u32 %2, %2, x2;\n\t"
      "addc.cc.u32 %3, %3, x3;\n\t"
      "addc.cc.u32 %4, %4, x4;\n\t"
      "addc.cc.u32 %5, %5, x5;\n\t"
      "addc.cc.u32 %6, %6, x6;\n\t"
      "addc.u32 %7, %7, x7;\n\t"
      "}"
      : "+r"(y[0]), "+r"(y[1]), "+r"(y[2]), "+r"(y[3]), "+r"(y[4]), "+r"(y[5]), "+r"(y[6]),
        "+r"(y[7])
      : "r"(x[1]), "r"(x[2]), "r"(x[3]), "r"(x[4]), "r"(x[5]), "r"(x[6]), "r"(x[7]), "r"(x[8]));
#else
  std::uint32_t cf = 0;
  for (int k = 0; k < 8; ++k) y[k] = addc(y[k], x[k + 1], cf);
#endif
}

// t - p when t >= p (t < 2p), without a branch: s = t - p on a borrow chain, then keep t where
// that borrowed.
template <class P>
ARBOR_HD void reduce_once(std::uint32_t (&t)[9]) {
  using K = Constants32<P>;
  std::uint32_t s[8] = {t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]};
  std::uint32_t borrow = 0;  // all ones when t < p
#if defined(__CUDA_ARCH__)
  asm("{\n\t"
      ".reg .u32 p<8>;\n\t"
      "mov.u32 p0, %9;\n\t"
      "mov.u32 p1, %10;\n\t"
      "mov.u32 p2, %11;\n\t"
      "mov.u32 p3, %12;\n\t"
      "mov.u32 p4, %13;\n\t"
      "mov.u32 p5, %14;\n\t"
      "mov.u32 p6, %15;\n\t"
      "mov.u32 p7, %16;\n\t"
      "sub.cc.u32 %0, %0, p0;\n\t"
      "subc.cc.u32 %1, %1, p1;\n\t"
      "subc.cc.u32 %2, %2, p2;\n\t"
      "subc.cc.u32 %3, %3, p3;\n\t"
      "subc.cc.u32 %4, %4, p4;\n\t"
      "subc.cc.u32 %5, %5, p5;\n\t"
      "subc.cc.u32 %6, %6, p6;\n\t"
      "subc.cc.u32 %7, %7, p7;\n\t"
      "subc.u32 %8, %8, %8;\n\t"
      "}"
      : "+r"(s[0]), "+r"(s[1]), "+r"(s[2]), "+r"(s[3]), "+r"(s[4]), "+r"(s[5]), "+r"(s[6]),
        "+r"(s[7]), "+r"(borrow)
      : "r"(K::P0), "r"(K::P1), "r"(K::P2), "r"(K::P3), "r"(K::P4), "r"(K::P5), "r"(K::P6),
        "r"(K::P7));
#else
  const std::uint32_t p[8] = {K::P0, K::P1, K::P2, K::P3, K::P4, K::P5, K::P6, K::P7};
  std::uint32_t bf = 0;
  for (int k = 0; k < 8; ++k) s[k] = subc(s[k], p[k], bf);
  borrow = subc(borrow, borrow, bf);
#endif
  for (int k = 0; k < 8; ++k) t[k] = (t[k] & borrow) | (s[k] & ~borrow);
}

// One row after the first: (x, y) are the previous row's X and Y; afterwards y holds the new X and
// x the new Y.
template <class P>
ARBOR_HD void row(std::uint32_t (&x)[9], std::uint32_t (&y)[9], const std::uint32_t (&a)[8],
                  std::uint32_t b) {
  shift_mad_odd(x, y[0], b, a[1], a[3], a[5], a[7]);
  y[8] = 0;  // y had eight limbs as a Y
  mad_even(y, b, a[0], a[2], a[4], a[6]);
  reduce_row<P>(y, x);
}

}  // namespace detail

// a * b * 2^-256 mod p, fully reduced: the same value as field::mul(a, b).
template <class P>
ARBOR_HD MontField<P> mul(const MontField<P>& a, const MontField<P>& b) {
  using namespace detail;
  std::uint32_t a32[8], b32[8];
  for (int i = 0; i < 4; ++i) {
    a32[2 * i] = static_cast<std::uint32_t>(a.limb[i]);
    a32[2 * i + 1] = static_cast<std::uint32_t>(a.limb[i] >> 32);
    b32[2 * i] = static_cast<std::uint32_t>(b.limb[i]);
    b32[2 * i + 1] = static_cast<std::uint32_t>(b.limb[i] >> 32);
  }
  // Row 0: X = even products, Y = odd products (no carries: the halves do not overlap).
  std::uint32_t u[9], v[9];
  for (int j = 0; j < 8; j += 2) {
    const std::uint64_t even = std::uint64_t{a32[j]} * b32[0];
    const std::uint64_t odd = std::uint64_t{a32[j + 1]} * b32[0];
    u[j] = static_cast<std::uint32_t>(even);
    u[j + 1] = static_cast<std::uint32_t>(even >> 32);
    v[j] = static_cast<std::uint32_t>(odd);
    v[j + 1] = static_cast<std::uint32_t>(odd >> 32);
  }
  u[8] = 0;
  v[8] = 0;
  reduce_row<P>(u, v);
  // Rows 1..7 in pairs: the arrays swap roles every row.
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
  for (int i = 1; i < 8; i += 2) {
    row<P>(u, v, a32, b32[i]);                     // X in v, Y in u
    if (i + 1 < 8) row<P>(v, u, a32, b32[i + 1]);  // X in u, Y in v
  }
  // After row 7: X in v, Y in u.
  merge(u, v);
  reduce_once<P>(u);
  MontField<P> out;
  for (int i = 0; i < 4; ++i) {
    out.limb[i] = (std::uint64_t{u[2 * i + 1]} << 32) | u[2 * i];
  }
  return out;
}

}  // namespace mont32
}  // namespace arbor::field
