// Variable-time modular inversion for the four-limb Montgomery fields (mont_field.hpp): the
// Bernstein-Yang "safegcd" divsteps (D. J. Bernstein and B.-Y. Yang, "Fast constant-time gcd
// computation and modular inversion", TCHES 2019) in their variable-time form. About 8x faster
// than Fermat's a^(p-2) for one inversion. NOT constant time: only for public values.
//
// Algorithm. Start from f = p, g = x (the stored integer aR), d = 0, e = 1, delta = 1 and apply
//   divstep: delta > 0 and g odd:  (delta, f, g) <- (1 - delta, g, (g - f) / 2)
//            otherwise:            (delta, f, g) <- (1 + delta, f, (g + (g mod 2) f) / 2)
// until g = 0; then f = +-gcd(p, x) = +-1. Steps go in batches of 62. A batch looks only at the
// low 64 bits of f and g and yields an integer matrix T with (f, g) <- T (f, g) / 2^62 exactly;
// (d, e) <- T (d, e) follows, divided by 2^62 mod p. Inside a batch, runs of steps are merged: all
// trailing zeros of g at once, then up to 5 "add f or not" steps at once by adding w f to g with
// w = -g / f mod 2^k, for a k small enough that none of those steps could have swapped.
//
// Invariants. f is odd. |f|, |g| <= p (no step increases max(|f|, |g|)). Each row of T has
// |T_i0| + |T_i1| <= 2^62 (a step at most doubles a row's norm), so T fits in int64. d x = f and
// e x = g (mod p), up to the power of two that inverse_vartime() accounts for. d and e are exact
// integers for the first 4 batches (then |d|, |e| <= 2^(62 * 4) < p, so no reduction is needed).
// After that they stay in (-2p, p): each batch adds the multiple of p that makes the division by
// 2^62 exact.
//
// Termination. With odd f and f^2 + 4 g^2 <= 5 * 2^(2 * 255) (true for f = p, g = x < p < 2^255)
// g is 0 after floor((49 * 255 + 57) / 17) = 738 divsteps (Bernstein-Yang, Theorem 11.2). So 12
// batches always suffice; random inputs take about 9. Once g is 0 it stays 0, so the loop stops
// after the first batch that ends with g = 0.
//
// Montgomery form: the gcd inverts x = aR, which gives a^-1 R^-1. One Montgomery product with
// R^3 (times 2^-248 for the skipped reductions, see InvConstants) turns that into a^-1 R.
#pragma once

#include <array>
#include <cstdint>

#include "kernels/field/mont_field.hpp"
#include "kernels/hd.hpp"

// The batch-sized routines stay separate functions on the host. g++ 12 schedules their loops
// 10-15% faster that way than when they are inlined into one large function.
#if defined(__CUDACC__)
#define ARBOR_MODINV_OUTLINE __host__ __device__ inline
#else
#define ARBOR_MODINV_OUTLINE inline __attribute__((noinline))
#endif
// nvcc's front end knows neither pragma in its host pass, so it gets none.
#if defined(__CUDA_ARCH__) || (defined(__clang__) && !defined(__CUDACC__))
#define ARBOR_MODINV_UNROLL _Pragma("unroll")
#elif defined(__GNUC__) && !defined(__CUDACC__)
#define ARBOR_MODINV_UNROLL _Pragma("GCC unroll 8")
#else
#define ARBOR_MODINV_UNROLL
#endif

namespace arbor::field {

namespace modinv_detail {

constexpr std::uint64_t kMask62 = (std::uint64_t{1} << 62) - 1;
// The first 4 batches keep (d, e) exact: |d|, |e| <= 2^(62 * 4).
constexpr int kExactBatches = 4;
// ceil(738 / 62): the Theorem 11.2 bound (see the top of the file).
constexpr int kMaxBatches = 12;

// A signed integer as five 62-bit limbs: value = sum v[i] * 2^(62 i). Limbs v[0..3] are in
// [0, 2^62). The top one is signed. int64 limbs let the top one carry the sign.
struct Signed62 {
  std::int64_t v[5];
};

// One batch's transition matrix: (f, g) <- (u f + v g, q f + r g) / 2^62.
struct Matrix {
  std::int64_t u, v, q, r;
};

ARBOR_HD constexpr Signed62 to_signed62(std::uint64_t x0, std::uint64_t x1, std::uint64_t x2,
                                        std::uint64_t x3) {
  return Signed62{{static_cast<std::int64_t>(x0 & kMask62),
                   static_cast<std::int64_t>(((x0 >> 62) | (x1 << 2)) & kMask62),
                   static_cast<std::int64_t>(((x1 >> 60) | (x2 << 4)) & kMask62),
                   static_cast<std::int64_t>(((x2 >> 58) | (x3 << 6)) & kMask62),
                   static_cast<std::int64_t>(x3 >> 56)}};
}

// p^-1 mod 2^64 by Newton iteration. An odd p is its own inverse mod 8, and each step doubles the
// number of correct bits: 3, 6, 12, 24, 48, 96.
constexpr std::uint64_t inverse_mod_2_64(std::uint64_t p0) {
  std::uint64_t inv = p0;
  for (int i = 0; i < 5; ++i) inv *= 2 - p0 * inv;
  return inv;
}

template <class P>
struct InvConstants {
  static constexpr mont_detail::Limbs kP = P::kModulus;
  static_assert((kP[0] & 1) == 1, "the modulus must be odd");
  // p < 2^255 leaves a sign bit in the top limb of f, g, d, e and room for d, e in (-2p, p);
  // p > 2^248 makes the exact (d, e) after kExactBatches valid inputs to the reduced update.
  static_assert(kP[3] < (std::uint64_t{1} << 63), "needs p < 2^255");
  static_assert(kP[3] >= (std::uint64_t{1} << (62 * kExactBatches - 192)),
                "needs p > 2^(62 * kExactBatches)");
  // As scalars: device code may read constexpr scalars but not index a constexpr array.
  static constexpr Signed62 kP62 = to_signed62(kP[0], kP[1], kP[2], kP[3]);
  static constexpr std::int64_t P62_0 = kP62.v[0], P62_1 = kP62.v[1], P62_2 = kP62.v[2],
                                P62_3 = kP62.v[3], P62_4 = kP62.v[4];
  static constexpr std::uint64_t kPInv62 = inverse_mod_2_64(kP[0]) & kMask62;
  static_assert(((kP[0] * kPInv62) & kMask62) == 1, "p^-1 mod 2^62");
  // 2^(768 - 62 * kExactBatches) mod p. The R^3 takes x^-1 = (aR)^-1 to a^-1 R through one
  // Montgomery product (x^-1 R^3 / R). The 2^(-62 * kExactBatches) undoes the divisions by 2^62
  // that the exact batches skipped.
  static constexpr mont_detail::Limbs kFinal = mont_detail::pow2_mod(768 - 62 * kExactBatches, kP);
  static_assert(mont_detail::compare(kFinal, kP) < 0, "reduced mod p");
  static constexpr std::uint64_t F0 = kFinal[0], F1 = kFinal[1], F2 = kFinal[2], F3 = kFinal[3];
};

ARBOR_HD int ctz64(std::uint64_t x) {  // x != 0
#if defined(__CUDA_ARCH__)
  return __ffsll(static_cast<long long>(x)) - 1;
#else
  return __builtin_ctzll(x);
#endif
}

// 62 divsteps on the low 64 bits of f (odd) and g, starting from eta = -delta. Returns the new
// eta and the matrix scaled by 2^62. Entries are kept as uint64: products wrap, but every final
// entry fits in int64. Each pass strips g's trailing zeros and swaps if delta > 0 (eta < 0).
// Then it clears k = min(eta + 1, 5, steps left) more low bits of g. With eta >= 0 at that point,
// each of those k steps sees delta <= 0 (after the swap step, if any), so none of them would have
// swapped and the merged step is exact.
ARBOR_MODINV_OUTLINE std::int64_t divsteps_62(std::int64_t eta, std::uint64_t f, std::uint64_t g,
                                              Matrix& t) {
  std::uint64_t u = 1, v = 0, q = 0, r = 1;
  // 2^left - 1, where left is the number of steps still to take. f and g have left + 2 valid low
  // bits.
  std::uint64_t left_mask = (std::uint64_t{1} << 62) - 1;
  for (;;) {
    if ((g & left_mask) == 0) {  // all remaining steps only halve g (this covers g = 0)
      const int left = ctz64(left_mask + 1);
      u <<= left;
      v <<= left;
      eta -= left;
      break;
    }
    const std::int64_t zeros = ctz64(g);
    // Compute 3g before the shift, off the shift's latency. 3g is divisible by 2^zeros too, so
    // (3g) >> zeros has the low bits of 3 (g >> zeros). (3h) xor 2 is h^-1 mod 2^5 for odd h
    // (Montgomery's trick).
    const std::uint64_t g3 = (3 * g) >> zeros;
    g >>= zeros;
    u <<= zeros;
    v <<= zeros;
    eta -= zeros;
    left_mask >>= zeros;
    const std::uint64_t cap = left_mask & 31;
    // The k-bit mask is 2^min(eta + 1, 5, left) - 1. The shift count (63 - eta) & 63 is exact for
    // eta <= 63. A larger eta may give a smaller k, which is still a valid (slower) choice, and
    // bit 0 is always set.
    if (__builtin_expect(eta < 0, 1)) {
      // delta > 0: (f, g) <- (g, -f). The step's (g - f) / 2 is the first of the k bits below.
      eta = -eta;
      const std::uint64_t mask = (~std::uint64_t{0} >> ((63 - eta) & 63)) & cap;
      const std::uint64_t w = (f * (g3 ^ 2)) & mask;  // -(-f) / g mod 2^k
      const std::uint64_t f0 = f, u0 = u, v0 = v;
      f = g;
      u = q;
      v = r;
      g = w * f - f0;
      q = w * u - u0;
      r = w * v - v0;
    } else {
      const std::uint64_t mask = (~std::uint64_t{0} >> ((63 - eta) & 63)) & cap;
      const std::uint64_t w = (~(g * ((3 * f) ^ 2)) + 1) & mask;  // -g / f mod 2^k
      g += w * f;
      q += w * u;
      r += w * v;
    }
  }
  t = Matrix{static_cast<std::int64_t>(u), static_cast<std::int64_t>(v),
             static_cast<std::int64_t>(q), static_cast<std::int64_t>(r)};
  return eta;
}

using I128 = __int128;

ARBOR_HD std::int64_t low62(I128 x) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(x) & kMask62);
}

// (f, g) <- T (f, g) / 2^62 over the low kLen limbs. The division is exact by construction.
template <int kLen>
ARBOR_MODINV_OUTLINE void update_fg(Signed62& f, Signed62& g, const Matrix& t) {
  I128 cf = static_cast<I128>(t.u) * f.v[0] + static_cast<I128>(t.v) * g.v[0];
  I128 cg = static_cast<I128>(t.q) * f.v[0] + static_cast<I128>(t.r) * g.v[0];
  cf >>= 62;
  cg >>= 62;
  ARBOR_MODINV_UNROLL
  for (int i = 1; i < kLen; ++i) {
    cf += static_cast<I128>(t.u) * f.v[i] + static_cast<I128>(t.v) * g.v[i];
    cg += static_cast<I128>(t.q) * f.v[i] + static_cast<I128>(t.r) * g.v[i];
    f.v[i - 1] = low62(cf);
    g.v[i - 1] = low62(cg);
    cf >>= 62;
    cg >>= 62;
  }
  // |f|, |g| <= p: the final carries are the new (signed) top limbs.
  f.v[kLen - 1] = static_cast<std::int64_t>(cf);
  g.v[kLen - 1] = static_cast<std::int64_t>(cg);
}

// (d, e) <- T (d, e) exactly: kLen limbs in, kLen + 1 out (kLen < 5).
template <int kLen>
ARBOR_MODINV_OUTLINE void update_de_exact(Signed62& d, Signed62& e, const Matrix& t) {
  I128 cd = 0, ce = 0;
  ARBOR_MODINV_UNROLL
  for (int i = 0; i < kLen; ++i) {
    cd += static_cast<I128>(t.u) * d.v[i] + static_cast<I128>(t.v) * e.v[i];
    ce += static_cast<I128>(t.q) * d.v[i] + static_cast<I128>(t.r) * e.v[i];
    d.v[i] = low62(cd);
    e.v[i] = low62(ce);
    cd >>= 62;
    ce >>= 62;
  }
  d.v[kLen] = static_cast<std::int64_t>(cd);
  e.v[kLen] = static_cast<std::int64_t>(ce);
}

// (d, e) <- (T (d, e) + (md, me) p) / 2^62, or only d when kWithE is false (the last batch).
// md and me make the division exact and keep d and e in (-2p, p). First, a negative d (or e) gets
// p added in effect (the u, v terms of md), so T acts on values in (-p, p) and gives a result in
// (-2^62 p, 2^62 p). Then subtracting k p with k in [0, 2^62) clears the low 62 bits, and the
// quotient lies in (-2p, p).
template <class P, bool kWithE>
ARBOR_MODINV_OUTLINE void update_de(Signed62& d, Signed62& e, const Matrix& t) {
  using C = InvConstants<P>;
  const std::int64_t p[5] = {C::P62_0, C::P62_1, C::P62_2, C::P62_3, C::P62_4};
  const std::int64_t sd = d.v[4] >> 63, se = e.v[4] >> 63;  // all ones when negative
  std::int64_t md = (t.u & sd) + (t.v & se);
  std::int64_t me = (t.q & sd) + (t.r & se);
  I128 cd = static_cast<I128>(t.u) * d.v[0] + static_cast<I128>(t.v) * e.v[0];
  I128 ce = 0;
  // k = (cd + md p0) / p0 = cd p^-1 + md (mod 2^62); then cd + (md - k) p0 = 0 (mod 2^62).
  md -= static_cast<std::int64_t>(
      (C::kPInv62 * static_cast<std::uint64_t>(cd) + static_cast<std::uint64_t>(md)) & kMask62);
  cd = (cd + static_cast<I128>(p[0]) * md) >> 62;
  if constexpr (kWithE) {
    ce = static_cast<I128>(t.q) * d.v[0] + static_cast<I128>(t.r) * e.v[0];
    me -= static_cast<std::int64_t>(
        (C::kPInv62 * static_cast<std::uint64_t>(ce) + static_cast<std::uint64_t>(me)) & kMask62);
    ce = (ce + static_cast<I128>(p[0]) * me) >> 62;
  }
  ARBOR_MODINV_UNROLL
  for (int i = 1; i < 5; ++i) {
    cd += static_cast<I128>(t.u) * d.v[i] + static_cast<I128>(t.v) * e.v[i] +
          static_cast<I128>(p[i]) * md;
    if constexpr (kWithE) {
      ce += static_cast<I128>(t.q) * d.v[i] + static_cast<I128>(t.r) * e.v[i] +
            static_cast<I128>(p[i]) * me;
      e.v[i - 1] = low62(ce);
      ce >>= 62;
    }
    d.v[i - 1] = low62(cd);
    cd >>= 62;
  }
  d.v[4] = static_cast<std::int64_t>(cd);
  if constexpr (kWithE) e.v[4] = static_cast<std::int64_t>(ce);
}

// x + sign * p (sign in {-1, 0, 1}), with carries propagated so that the lower limbs are back in
// [0, 2^62).
template <class P>
ARBOR_HD void add_signed_p(Signed62& x, std::int64_t sign) {
  using C = InvConstants<P>;
  const std::int64_t p[5] = {C::P62_0, C::P62_1, C::P62_2, C::P62_3, C::P62_4};
  std::int64_t carry = 0;
  for (int i = 0; i < 4; ++i) {
    const std::int64_t s = x.v[i] + sign * p[i] + carry;
    x.v[i] = s & static_cast<std::int64_t>(kMask62);
    carry = s >> 62;  // arithmetic shift: -1, 0 or 1
  }
  x.v[4] += sign * p[4] + carry;
}

template <class P>
ARBOR_HD bool at_least_p(const Signed62& x) {
  using C = InvConstants<P>;
  const std::int64_t p[5] = {C::P62_0, C::P62_1, C::P62_2, C::P62_3, C::P62_4};
  for (int i = 4; i >= 0; --i) {
    if (x.v[i] != p[i]) return x.v[i] > p[i];
  }
  return true;
}

}  // namespace modinv_detail

// a^-1 in Montgomery form (zero -> zero), in variable time: only for public values.
template <class P>
ARBOR_HD MontField<P> inverse_vartime(const MontField<P>& a) {
  using namespace modinv_detail;
  using C = InvConstants<P>;
  if (a.is_zero()) return MontField<P>::zero();

  Signed62 f{{C::P62_0, C::P62_1, C::P62_2, C::P62_3, C::P62_4}};
  Signed62 g = to_signed62(a.limb[0], a.limb[1], a.limb[2], a.limb[3]);
  Signed62 d{{0, 0, 0, 0, 0}};
  Signed62 e{{1, 0, 0, 0, 0}};
  std::int64_t eta = -1;  // -delta
  int len = 5;            // f and g occupy limbs [0, len)
  int batches = 0;
  for (;;) {
    Matrix t;
    eta = divsteps_62(
        eta, static_cast<std::uint64_t>(f.v[0]) | (static_cast<std::uint64_t>(f.v[1]) << 62),
        static_cast<std::uint64_t>(g.v[0]) | (static_cast<std::uint64_t>(g.v[1]) << 62), t);
    switch (len) {
      case 5:
        update_fg<5>(f, g, t);
        break;
      case 4:
        update_fg<4>(f, g, t);
        break;
      case 3:
        update_fg<3>(f, g, t);
        break;
      default:
        update_fg<2>(f, g, t);
        break;
    }
    ++batches;
    std::int64_t g_bits = 0;
    for (int i = 0; i < len; ++i) g_bits |= g.v[i];
    const bool done = g_bits == 0;
    switch (batches) {  // before the update, d and e have min(batches, 5) limbs
      case 1:
        update_de_exact<1>(d, e, t);
        break;
      case 2:
        update_de_exact<2>(d, e, t);
        break;
      case 3:
        update_de_exact<3>(d, e, t);
        break;
      case 4:
        update_de_exact<4>(d, e, t);
        break;
      default:
        if (done) {
          update_de<P, false>(d, e, t);
        } else {
          update_de<P, true>(d, e, t);
        }
        break;
    }
    static_assert(kExactBatches == 4, "the switch above spells out the exact batches");
    if (done) break;
    if (batches == kMaxBatches) return inverse(a);  // unreachable by Theorem 11.2
    // When both top limbs are pure sign (0 or -1), fold them into the limb below. That limb
    // becomes the signed top limb, and later batches run over one limb fewer.
    const std::int64_t ft = f.v[len - 1], gt = g.v[len - 1];
    if (len > 2 && ((ft ^ (ft >> 63)) | (gt ^ (gt >> 63))) == 0) {
      f.v[len - 2] += static_cast<std::int64_t>(static_cast<std::uint64_t>(ft) << 62);
      g.v[len - 2] += static_cast<std::int64_t>(static_cast<std::uint64_t>(gt) << 62);
      --len;
    }
  }

  // Now d x = f 2^(62 kExactBatches) (mod p) with f = +-1, because the exact batches did not
  // divide by 2^62. No run ends within the exact batches: the second row (q, r) of the product of
  // all batch matrices has q p + r x = 0 with r != 0, so 2^(62 batches) >= |r| >= p > 2^248.
  if (batches <= kExactBatches) return inverse(a);  // unreachable, as just shown
  // f = -1: negate d.
  if (f.v[len - 1] < 0) {
    for (int i = 0; i < 5; ++i) d.v[i] = -d.v[i];
    add_signed_p<P>(d, 0);  // renormalize the negated limbs
  }
  // d is in (-2p, 2p): bring it into [0, p).
  while (d.v[4] < 0) add_signed_p<P>(d, 1);
  while (at_least_p<P>(d)) add_signed_p<P>(d, -1);

  const std::uint64_t x0 = static_cast<std::uint64_t>(d.v[0]);
  const std::uint64_t x1 = static_cast<std::uint64_t>(d.v[1]);
  const std::uint64_t x2 = static_cast<std::uint64_t>(d.v[2]);
  const std::uint64_t x3 = static_cast<std::uint64_t>(d.v[3]);
  const std::uint64_t x4 = static_cast<std::uint64_t>(d.v[4]);
  const MontField<P> dm{
      {x0 | (x1 << 62), (x1 >> 2) | (x2 << 60), (x2 >> 4) | (x3 << 58), (x3 >> 6) | (x4 << 56)}};
  return mul(dm, MontField<P>{{C::F0, C::F1, C::F2, C::F3}});
}

}  // namespace arbor::field

#undef ARBOR_MODINV_OUTLINE
#undef ARBOR_MODINV_UNROLL
