// A prime field in Montgomery form over four 64-bit little-endian limbs, generic over a parameter
// struct that names only the modulus. Every other constant (R, R^2, -p^-1 mod 2^64, the exponents
// for inversion and Legendre symbols, the Tonelli-Shanks root of unity) is derived by constexpr
// code below, not pasted. Compiled by both g++ (CPU path) and nvcc (GPU path); every operation
// returns a fully reduced (canonical) representative.
//
// The one field template of Arbor: BN254 Fr (bn254_fr.hpp: Poseidon and the SMT), the BLS12-381
// scalar field (= the Bandersnatch base field, kernels/verkle/bls12_381_fr.hpp) and the
// Bandersnatch scalar field (kernels/verkle/bandersnatch_fr.hpp) are instances of it.
//
// A parameter struct provides: `static constexpr std::array<std::uint64_t, 4> kModulus` (little-
// endian limbs). The modulus must be odd, prime, and its top limb below 2^63 - 1 so that
// multiplication can skip the fifth accumulator limb (checked by a static_assert).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#if defined(__x86_64__) && !defined(__CUDA_ARCH__)
#include <immintrin.h>
#endif

#include "kernels/field/mont32.hpp"
#include "kernels/hd.hpp"

namespace arbor::field {

namespace mont_detail {

using Limbs = std::array<std::uint64_t, 4>;

// ---- constexpr helpers: run by the compiler only, to derive the constants -----------------------

constexpr int compare(const Limbs& a, const Limbs& b) {
  for (int i = 3; i >= 0; --i) {
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return 0;
}

// a - b (a >= b).
constexpr Limbs sub_limbs(const Limbs& a, const Limbs& b) {
  Limbs out{};
  std::uint64_t borrow = 0;
  for (int i = 0; i < 4; ++i) {
    const std::uint64_t d = a[i] - b[i];
    const std::uint64_t b1 = a[i] < b[i];
    out[i] = d - borrow;
    borrow = b1 | (d < borrow);
  }
  return out;
}

constexpr Limbs shift_right(const Limbs& a, int k) {
  Limbs out = a;
  for (int n = 0; n < k; ++n) {
    for (int i = 0; i < 4; ++i) out[i] = (out[i] >> 1) | (i < 3 ? out[i + 1] << 63 : 0);
  }
  return out;
}

// (x + x) mod p for x < p < 2^255.
constexpr Limbs double_mod(const Limbs& x, const Limbs& p) {
  Limbs sum{};
  std::uint64_t carry = 0;
  for (int i = 0; i < 4; ++i) {
    sum[i] = (x[i] << 1) | carry;
    carry = x[i] >> 63;
  }
  return compare(sum, p) >= 0 ? sub_limbs(sum, p) : sum;
}

// 2^k mod p by repeated doubling.
constexpr Limbs pow2_mod(int k, const Limbs& p) {
  Limbs x = {1, 0, 0, 0};
  for (int i = 0; i < k; ++i) x = double_mod(x, p);
  return x;
}

// -p^{-1} mod 2^64 by Newton iteration (each step doubles the number of correct bits).
constexpr std::uint64_t neg_inverse_mod_2_64(std::uint64_t p0) {
  std::uint64_t inv = 1;
  for (int i = 0; i < 6; ++i) inv *= 2 - p0 * inv;
  return ~inv + 1;
}

// 64x64 -> 128 from 32-bit halves: portable to every constant evaluator (no __int128).
constexpr void mul_wide(std::uint64_t a, std::uint64_t b, std::uint64_t& hi, std::uint64_t& lo) {
  const std::uint64_t a0 = a & 0xffffffffULL, a1 = a >> 32;
  const std::uint64_t b0 = b & 0xffffffffULL, b1 = b >> 32;
  const std::uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const std::uint64_t mid = (p00 >> 32) + (p01 & 0xffffffffULL) + (p10 & 0xffffffffULL);
  lo = (p00 & 0xffffffffULL) | (mid << 32);
  hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

// Textbook Montgomery product a*b*2^-256 mod p with a fifth limb (no shortcuts: constexpr only).
constexpr Limbs mont_mul(const Limbs& a, const Limbs& b, const Limbs& p, std::uint64_t inv) {
  std::uint64_t t[6] = {0, 0, 0, 0, 0, 0};
  for (int i = 0; i < 4; ++i) {
    std::uint64_t carry = 0;
    for (int j = 0; j < 4; ++j) {
      std::uint64_t hi = 0, lo = 0;
      mul_wide(a[j], b[i], hi, lo);
      lo += t[j];
      hi += lo < t[j];
      lo += carry;
      hi += lo < carry;
      t[j] = lo;
      carry = hi;
    }
    t[4] += carry;
    t[5] = t[4] < carry;
    const std::uint64_t m = t[0] * inv;
    carry = 0;
    for (int j = 0; j < 4; ++j) {
      std::uint64_t hi = 0, lo = 0;
      mul_wide(m, p[j], hi, lo);
      lo += t[j];
      hi += lo < t[j];
      lo += carry;
      hi += lo < carry;
      t[j] = lo;
      carry = hi;
    }
    t[4] += carry;
    t[5] += t[4] < carry;
    for (int j = 0; j < 5; ++j) t[j] = t[j + 1];
    t[5] = 0;
  }
  Limbs out = {t[0], t[1], t[2], t[3]};
  if (t[4] != 0 || compare(out, p) >= 0) out = sub_limbs(out, p);
  return out;
}

// base^e, base and result in Montgomery form.
constexpr Limbs mont_pow(const Limbs& base, const Limbs& e, const Limbs& p, std::uint64_t inv) {
  Limbs result = pow2_mod(256, p);  // 1 in Montgomery form
  for (int i = 3; i >= 0; --i) {
    for (int bit = 63; bit >= 0; --bit) {
      result = mont_mul(result, result, p, inv);
      if ((e[i] >> bit) & 1) result = mont_mul(result, base, p, inv);
    }
  }
  return result;
}

constexpr int two_adicity(const Limbs& p) {
  Limbs x = sub_limbs(p, Limbs{1, 0, 0, 0});
  int s = 0;
  while ((x[0] & 1) == 0) {
    x = shift_right(x, 1);
    ++s;
  }
  return s;
}

// The smallest z >= 2 with z^((p-1)/2) = -1 (Euler's criterion): Tonelli-Shanks needs one.
constexpr std::uint64_t smallest_non_residue(const Limbs& p, std::uint64_t inv) {
  const Limbs r2 = pow2_mod(512, p);
  const Limbs half = shift_right(sub_limbs(p, Limbs{1, 0, 0, 0}), 1);
  const Limbs minus_one = mont_mul(sub_limbs(p, Limbs{1, 0, 0, 0}), r2, p, inv);
  for (std::uint64_t z = 2;; ++z) {
    const Limbs zm = mont_mul(Limbs{z, 0, 0, 0}, r2, p, inv);
    if (compare(mont_pow(zm, half, p, inv), minus_one) == 0) return z;
  }
}

// All derived constants of one field, as plain scalars so that nvcc may read them in device code.
template <class Params>
struct Constants {
  static constexpr Limbs kP = Params::kModulus;
  static_assert((kP[0] & 1) == 1, "the modulus must be odd");
  static_assert(kP[3] < 0x7ffffffffffffffeULL, "mul() drops the fifth limb: needs p < 2^255");

  static constexpr std::uint64_t P0 = kP[0], P1 = kP[1], P2 = kP[2], P3 = kP[3];
  // BLS12-381 Fr's low limb 2^64 - 2^32 + 1 lets mul() form m*p0 with shifts (see mul()).
  static constexpr bool kLowLimbIsSpecial = P0 == 0xffffffff00000001ULL;
  static constexpr std::uint64_t kInv = neg_inverse_mod_2_64(P0);
  static_assert(P0 * (~kInv + 1) == 1, "-p^-1 mod 2^64");

  static constexpr Limbs kR = pow2_mod(256, kP);
  static constexpr Limbs kR2 = pow2_mod(512, kP);
  static constexpr std::uint64_t R0 = kR[0], R1 = kR[1], R2 = kR[2], R3 = kR[3];
  static constexpr std::uint64_t RR0 = kR2[0], RR1 = kR2[1], RR2 = kR2[2], RR3 = kR2[3];

  // p - 2 (Fermat inversion) and (p - 1) / 2 (Euler's criterion, "lexicographically largest").
  static constexpr Limbs kPMinus2 = sub_limbs(kP, Limbs{2, 0, 0, 0});
  static constexpr std::uint64_t PM2_0 = kPMinus2[0], PM2_1 = kPMinus2[1], PM2_2 = kPMinus2[2],
                                 PM2_3 = kPMinus2[3];
  static constexpr Limbs kHalf = shift_right(sub_limbs(kP, Limbs{1, 0, 0, 0}), 1);
  static constexpr std::uint64_t H0 = kHalf[0], H1 = kHalf[1], H2 = kHalf[2], H3 = kHalf[3];

  // Tonelli-Shanks: p - 1 = 2^S * Q with Q odd; c = z^Q for a non-residue z has order 2^S.
  static constexpr int S = two_adicity(kP);
  static constexpr Limbs kQ = shift_right(sub_limbs(kP, Limbs{1, 0, 0, 0}), S);
  static constexpr Limbs kQMinus1Half = shift_right(sub_limbs(kQ, Limbs{1, 0, 0, 0}), 1);
  static constexpr std::uint64_t QH0 = kQMinus1Half[0], QH1 = kQMinus1Half[1],
                                 QH2 = kQMinus1Half[2], QH3 = kQMinus1Half[3];
  static constexpr std::uint64_t kNonResidue = smallest_non_residue(kP, kInv);
  static constexpr Limbs kRootOfUnity =
      mont_pow(mont_mul(Limbs{kNonResidue, 0, 0, 0}, kR2, kP, kInv), kQ, kP, kInv);
  static constexpr std::uint64_t RU0 = kRootOfUnity[0], RU1 = kRootOfUnity[1],
                                 RU2 = kRootOfUnity[2], RU3 = kRootOfUnity[3];
};

// x < p for limbs known at compile time or on the host (text and byte decoders, samplers).
template <class Params>
constexpr bool below_modulus(const Limbs& x) {
  return compare(x, Params::kModulus) < 0;
}

// (hi, lo) = a * b + c + d; cannot overflow 128 bits.
ARBOR_HD void mul_add_add(std::uint64_t a, std::uint64_t b, std::uint64_t c, std::uint64_t d,
                          std::uint64_t& hi, std::uint64_t& lo) {
#if defined(__CUDA_ARCH__)
  lo = a * b;
  hi = __umul64hi(a, b);
  lo += c;
  hi += lo < c;
  lo += d;
  hi += lo < d;
#else
  // 64-bit carries via __builtin_add_overflow: g++ turns these into add/adc pairs, where a 128-bit
  // sum of zero-extended operands costs extra moves (~30% of a field product with g++ 12).
  const unsigned __int128 t = static_cast<unsigned __int128>(a) * b;
  std::uint64_t l = static_cast<std::uint64_t>(t);
  std::uint64_t h = static_cast<std::uint64_t>(t >> 64);
  h += __builtin_add_overflow(l, c, &l);
  h += __builtin_add_overflow(l, d, &l);
  lo = l;
  hi = h;
#endif
}

// x - p when x >= p (x < 2p).
template <class Params>
ARBOR_HD void reduce_once(std::uint64_t (&x)[4]) {
  using C = Constants<Params>;
  const std::uint64_t d0 = x[0] - C::P0;
  std::uint64_t borrow = x[0] < C::P0;
  const std::uint64_t t1 = x[1] - C::P1;
  const std::uint64_t d1 = t1 - borrow;
  borrow = (x[1] < C::P1) | (t1 < borrow);
  const std::uint64_t t2 = x[2] - C::P2;
  const std::uint64_t d2 = t2 - borrow;
  borrow = (x[2] < C::P2) | (t2 < borrow);
  const std::uint64_t t3 = x[3] - C::P3;
  const std::uint64_t d3 = t3 - borrow;
  borrow = (x[3] < C::P3) | (t3 < borrow);
  // Select under a mask: whether x >= p is data, and a mispredicted branch here would cost more
  // than the selects.
  const std::uint64_t keep = ~borrow + 1;  // all ones when x < p
  x[0] = (x[0] & keep) | (d0 & ~keep);
  x[1] = (x[1] & keep) | (d1 & ~keep);
  x[2] = (x[2] & keep) | (d2 & ~keep);
  x[3] = (x[3] & keep) | (d3 & ~keep);
}

template <class Params>
ARBOR_HD bool less_than_modulus(const std::uint64_t (&x)[4]) {
  using C = Constants<Params>;
  const std::uint64_t p[4] = {C::P0, C::P1, C::P2, C::P3};
  for (int i = 3; i >= 0; --i) {
    if (x[i] != p[i]) return x[i] < p[i];
  }
  return false;
}

}  // namespace mont_detail

// An element in Montgomery form (limbs hold a*R mod p, R = 2^256). Plain aggregate so that arrays
// of it can be copied to and from the GPU as bytes.
template <class ParamsT>
struct MontField {
  std::uint64_t limb[4];

  using Params = ParamsT;
  using Constants = mont_detail::Constants<ParamsT>;

  ARBOR_HD static constexpr MontField zero() { return MontField{{0, 0, 0, 0}}; }
  ARBOR_HD static constexpr MontField one() {
    return MontField{{Constants::R0, Constants::R1, Constants::R2, Constants::R3}};
  }

  ARBOR_HD bool is_zero() const { return (limb[0] | limb[1] | limb[2] | limb[3]) == 0; }
  ARBOR_HD friend bool operator==(const MontField& a, const MontField& b) {
    return ((a.limb[0] ^ b.limb[0]) | (a.limb[1] ^ b.limb[1]) | (a.limb[2] ^ b.limb[2]) |
            (a.limb[3] ^ b.limb[3])) == 0;
  }
  ARBOR_HD friend bool operator!=(const MontField& a, const MontField& b) { return !(a == b); }
};

#if defined(__x86_64__) && !defined(__CUDA_ARCH__)
namespace mont_detail {
// Host x86-64 add/sub as ADC/SBB chains with masked selects (no branch on data); g++ turns the
// comparison carries of the generic code into SETB/OR sequences about twice as long. Base x86-64
// only: no CPUID check.
using u64x = unsigned long long;  // the intrinsics' type (std::uint64_t is unsigned long)

template <class P>
inline MontField<P> add_x86(const MontField<P>& a, const MontField<P>& b) {
  using C = Constants<P>;
  u64x s0, s1, s2, s3, d0, d1, d2, d3;
  unsigned char c = _addcarry_u64(0, a.limb[0], b.limb[0], &s0);
  c = _addcarry_u64(c, a.limb[1], b.limb[1], &s1);
  c = _addcarry_u64(c, a.limb[2], b.limb[2], &s2);
  _addcarry_u64(c, a.limb[3], b.limb[3], &s3);  // a + b < 2p < 2^256: no carry out
  unsigned char borrow = _subborrow_u64(0, s0, C::P0, &d0);
  borrow = _subborrow_u64(borrow, s1, C::P1, &d1);
  borrow = _subborrow_u64(borrow, s2, C::P2, &d2);
  borrow = _subborrow_u64(borrow, s3, C::P3, &d3);
  // Keep the sum where it was below p, by mask: written as `borrow ? sum : difference`, g++ 12
  // emits a branch, which data this random mispredicts about every other call.
  const u64x keep = u64x{0} - borrow;
  return MontField<P>{{d0 ^ ((s0 ^ d0) & keep), d1 ^ ((s1 ^ d1) & keep), d2 ^ ((s2 ^ d2) & keep),
                       d3 ^ ((s3 ^ d3) & keep)}};
}

template <class P>
inline MontField<P> sub_x86(const MontField<P>& a, const MontField<P>& b) {
  using C = Constants<P>;
  u64x d0, d1, d2, d3, u0, u1, u2, u3;
  unsigned char borrow = _subborrow_u64(0, a.limb[0], b.limb[0], &d0);
  borrow = _subborrow_u64(borrow, a.limb[1], b.limb[1], &d1);
  borrow = _subborrow_u64(borrow, a.limb[2], b.limb[2], &d2);
  borrow = _subborrow_u64(borrow, a.limb[3], b.limb[3], &d3);
  // Add p back under a mask; the carry out cancels the borrow.
  const u64x mask = u64x{0} - borrow;
  unsigned char c = _addcarry_u64(0, d0, C::P0 & mask, &u0);
  c = _addcarry_u64(c, d1, C::P1 & mask, &u1);
  c = _addcarry_u64(c, d2, C::P2 & mask, &u2);
  _addcarry_u64(c, d3, C::P3 & mask, &u3);
  return MontField<P>{{u0, u1, u2, u3}};
}
}  // namespace mont_detail
#endif

template <class P>
ARBOR_HD MontField<P> add(const MontField<P>& a, const MontField<P>& b) {
#if defined(__x86_64__) && !defined(__CUDA_ARCH__)
  return mont_detail::add_x86(a, b);
#else
  // a, b < p < 2^255: the sum fits in 256 bits, so one conditional subtraction suffices.
  std::uint64_t s[4];
  s[0] = a.limb[0] + b.limb[0];
  std::uint64_t carry = s[0] < a.limb[0];
  const std::uint64_t t1 = a.limb[1] + b.limb[1];
  s[1] = t1 + carry;
  carry = (t1 < a.limb[1]) | (s[1] < t1);
  const std::uint64_t t2 = a.limb[2] + b.limb[2];
  s[2] = t2 + carry;
  carry = (t2 < a.limb[2]) | (s[2] < t2);
  s[3] = a.limb[3] + b.limb[3] + carry;
  mont_detail::reduce_once<P>(s);
  return MontField<P>{{s[0], s[1], s[2], s[3]}};
#endif
}

template <class P>
ARBOR_HD MontField<P> sub(const MontField<P>& a, const MontField<P>& b) {
#if defined(__x86_64__) && !defined(__CUDA_ARCH__)
  return mont_detail::sub_x86(a, b);
#else
  using C = mont_detail::Constants<P>;
  const std::uint64_t d0 = a.limb[0] - b.limb[0];
  std::uint64_t borrow = a.limb[0] < b.limb[0];
  const std::uint64_t t1 = a.limb[1] - b.limb[1];
  const std::uint64_t d1 = t1 - borrow;
  borrow = (a.limb[1] < b.limb[1]) | (t1 < borrow);
  const std::uint64_t t2 = a.limb[2] - b.limb[2];
  const std::uint64_t d2 = t2 - borrow;
  borrow = (a.limb[2] < b.limb[2]) | (t2 < borrow);
  const std::uint64_t t3 = a.limb[3] - b.limb[3];
  const std::uint64_t d3 = t3 - borrow;
  borrow = (a.limb[3] < b.limb[3]) | (t3 < borrow);
  // Add p back under a mask (no data-dependent branch); the carry out cancels the borrow.
  const std::uint64_t mask = ~borrow + 1;
  const std::uint64_t q0 = C::P0 & mask, q1 = C::P1 & mask, q2 = C::P2 & mask, q3 = C::P3 & mask;
  const std::uint64_t u0 = d0 + q0;
  std::uint64_t c = u0 < d0;
  const std::uint64_t v1 = d1 + q1;
  const std::uint64_t u1 = v1 + c;
  c = (v1 < d1) | (u1 < v1);
  const std::uint64_t v2 = d2 + q2;
  const std::uint64_t u2 = v2 + c;
  c = (v2 < d2) | (u2 < v2);
  const std::uint64_t u3 = d3 + q3 + c;
  return MontField<P>{{u0, u1, u2, u3}};
#endif
}

template <class P>
ARBOR_HD MontField<P> neg(const MontField<P>& a) {
  return sub(MontField<P>::zero(), a);
}

// 2a, 3a, 4a, 5a... by additions: cheaper than a Montgomery product with a small constant.
template <class P>
ARBOR_HD MontField<P> dbl(const MontField<P>& a) {
  return add(a, a);
}

// Montgomery multiplication, CIOS. The modulus' top limb is below 2^63 - 1, so the running value
// never needs a fifth limb (the "no-carry" variant): t stays below 2p and one conditional
// subtraction finishes.
template <class P>
ARBOR_HD MontField<P> mul(const MontField<P>& a, const MontField<P>& b) {
#if defined(__CUDA_ARCH__)
  // The GPU multiplies 32 bits at a time: the 32-bit-limb CIOS (mont32.hpp), same result.
  return mont32::mul(a, b);
#else
  using C = mont_detail::Constants<P>;
  using mont_detail::mul_add_add;
  const std::uint64_t p[4] = {C::P0, C::P1, C::P2, C::P3};
  std::uint64_t t[4] = {0, 0, 0, 0};
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
  for (int i = 0; i < 4; ++i) {
    std::uint64_t carry_a, carry_m, lo;
    mul_add_add(a.limb[0], b.limb[i], t[0], 0, carry_a, lo);
    const std::uint64_t m = lo * C::kInv;
    if constexpr (C::kLowLimbIsSpecial) {
      // p0 = 2^64 - 2^32 + 1 and lo + m*p0 = 0 mod 2^64, so its high word is
      // m - (m >> 32) + carry(lo + m): one multiplication fewer per row.
      const std::uint64_t s = lo + m;
      carry_m = m - (m >> 32) + (s < lo);
    } else {
      std::uint64_t discard;
      mul_add_add(m, p[0], lo, 0, carry_m, discard);
    }
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
    for (int j = 1; j < 4; ++j) {
      mul_add_add(a.limb[j], b.limb[i], t[j], carry_a, carry_a, lo);
      mul_add_add(m, p[j], lo, carry_m, carry_m, t[j - 1]);
    }
    t[3] = carry_a + carry_m;
  }
  mont_detail::reduce_once<P>(t);
  return MontField<P>{{t[0], t[1], t[2], t[3]}};
#endif
}

template <class P>
ARBOR_HD MontField<P> square(const MontField<P>& a) {
#if defined(__CUDA_ARCH__)
  return mont32::mul(a, a);
#else
  return mul(a, a);
#endif
}

template <class P>
ARBOR_HD MontField<P> operator+(const MontField<P>& a, const MontField<P>& b) {
  return add(a, b);
}
template <class P>
ARBOR_HD MontField<P> operator-(const MontField<P>& a, const MontField<P>& b) {
  return sub(a, b);
}
template <class P>
ARBOR_HD MontField<P> operator-(const MontField<P>& a) {
  return neg(a);
}
template <class P>
ARBOR_HD MontField<P> operator*(const MontField<P>& a, const MontField<P>& b) {
  return mul(a, b);
}

// a^e for a little-endian 256-bit exponent (left-to-right square and multiply; not constant time:
// every exponent used here is public).
template <class P>
ARBOR_HD MontField<P> pow(const MontField<P>& a, const std::uint64_t (&e)[4]) {
  MontField<P> result = MontField<P>::one();
  bool started = false;
  for (int i = 3; i >= 0; --i) {
    for (int bit = 63; bit >= 0; --bit) {
      if (started) result = square(result);
      if ((e[i] >> bit) & 1) {
        result = started ? mul(result, a) : a;
        started = true;
      }
    }
  }
  return result;
}

// Multiplicative inverse by Fermat's little theorem, a^(p-2): branch-free in the value of `a`,
// ~255 squarings + ~130 products. Bulk callers amortize it with batch_inverse(). The inverse of
// zero is zero.
template <class P>
ARBOR_HD MontField<P> inverse(const MontField<P>& a) {
  using C = mont_detail::Constants<P>;
  const std::uint64_t e[4] = {C::PM2_0, C::PM2_1, C::PM2_2, C::PM2_3};
  return pow(a, e);
}

// Canonical integer (< p, little-endian limbs) to Montgomery form. Callers validate the range.
template <class P>
ARBOR_HD MontField<P> from_canonical_limbs(const std::uint64_t (&x)[4]) {
  using C = mont_detail::Constants<P>;
  return mul(MontField<P>{{x[0], x[1], x[2], x[3]}},
             MontField<P>{{C::RR0, C::RR1, C::RR2, C::RR3}});
}

// Montgomery form back to the canonical integer's limbs.
template <class P>
ARBOR_HD void to_canonical_limbs(const MontField<P>& a, std::uint64_t (&out)[4]) {
  const MontField<P> plain = mul(a, MontField<P>{{1, 0, 0, 0}});
  for (int i = 0; i < 4; ++i) out[i] = plain.limb[i];
}

// Any 256-bit integer, reduced mod p (by at most 2^256 / p subtractions: 2 for a 255-bit p, 8 for
// the 253-bit Bandersnatch order).
template <class P>
ARBOR_HD MontField<P> from_limbs_mod_order(const std::uint64_t (&x)[4]) {
  std::uint64_t v[4] = {x[0], x[1], x[2], x[3]};
  while (!mont_detail::less_than_modulus<P>(v)) {
    std::uint64_t t[4] = {v[0], v[1], v[2], v[3]};
    // t >= p here, so reduce_once subtracts exactly once.
    mont_detail::reduce_once<P>(t);
    for (int i = 0; i < 4; ++i) v[i] = t[i];
  }
  return from_canonical_limbs<P>(v);
}

template <class P>
ARBOR_HD MontField<P> from_u64(std::uint64_t v) {
  const std::uint64_t x[4] = {v, 0, 0, 0};
  return from_limbs_mod_order<P>(x);
}

// ---- bytes
// ---------------------------------------------------------------------------------------

namespace mont_detail {
ARBOR_HD void limbs_from_be(const std::uint8_t* in, std::uint64_t (&x)[4]) {
  for (int i = 0; i < 4; ++i) {
    std::uint64_t w = 0;
    for (int b = 0; b < 8; ++b) w = (w << 8) | in[(3 - i) * 8 + b];
    x[i] = w;
  }
}
ARBOR_HD void limbs_from_le(const std::uint8_t* in, std::uint64_t (&x)[4]) {
  for (int i = 0; i < 4; ++i) {
    std::uint64_t w = 0;
    for (int b = 7; b >= 0; --b) w = (w << 8) | in[i * 8 + b];
    x[i] = w;
  }
}
}  // namespace mont_detail

// 32 big-endian bytes; false (and `out` untouched) when the integer is not below p.
template <class P>
ARBOR_HD bool from_bytes_be(const std::uint8_t* in, MontField<P>& out) {
  std::uint64_t x[4];
  mont_detail::limbs_from_be(in, x);
  if (!mont_detail::less_than_modulus<P>(x)) return false;
  out = from_canonical_limbs<P>(x);
  return true;
}

// 32 little-endian bytes; false (and `out` untouched) when the integer is not below p.
template <class P>
ARBOR_HD bool from_bytes_le(const std::uint8_t* in, MontField<P>& out) {
  std::uint64_t x[4];
  mont_detail::limbs_from_le(in, x);
  if (!mont_detail::less_than_modulus<P>(x)) return false;
  out = from_canonical_limbs<P>(x);
  return true;
}

// 32 bytes read as an integer and reduced mod p (hash outputs, go-ipa's SetBytes on a digest).
template <class P>
ARBOR_HD MontField<P> from_bytes_be_mod_order(const std::uint8_t* in) {
  std::uint64_t x[4];
  mont_detail::limbs_from_be(in, x);
  return from_limbs_mod_order<P>(x);
}
template <class P>
ARBOR_HD MontField<P> from_bytes_le_mod_order(const std::uint8_t* in) {
  std::uint64_t x[4];
  mont_detail::limbs_from_le(in, x);
  return from_limbs_mod_order<P>(x);
}

template <class P>
ARBOR_HD void write_bytes_be(const MontField<P>& a, std::uint8_t* out) {
  std::uint64_t x[4];
  to_canonical_limbs(a, x);
  for (int i = 0; i < 4; ++i) {
    for (int b = 0; b < 8; ++b)
      out[(3 - i) * 8 + b] = static_cast<std::uint8_t>(x[i] >> (56 - 8 * b));
  }
}
template <class P>
ARBOR_HD void write_bytes_le(const MontField<P>& a, std::uint8_t* out) {
  std::uint64_t x[4];
  to_canonical_limbs(a, x);
  for (int i = 0; i < 4; ++i) {
    for (int b = 0; b < 8; ++b) out[i * 8 + b] = static_cast<std::uint8_t>(x[i] >> (8 * b));
  }
}

// Host conveniences.
template <class P>
std::array<std::uint8_t, 32> to_bytes_be(const MontField<P>& a) {
  std::array<std::uint8_t, 32> out{};
  write_bytes_be(a, out.data());
  return out;
}
template <class P>
std::array<std::uint8_t, 32> to_bytes_le(const MontField<P>& a) {
  std::array<std::uint8_t, 32> out{};
  write_bytes_le(a, out.data());
  return out;
}

// ---- square roots and friends -------------------------------------------------------------------

// True when the canonical value is above (p - 1) / 2: gnark/go-ipa's "lexicographically largest",
// which picks one of {y, -y} for point compression.
template <class P>
ARBOR_HD bool is_lexicographically_largest(const MontField<P>& a) {
  using C = mont_detail::Constants<P>;
  std::uint64_t x[4];
  to_canonical_limbs(a, x);
  const std::uint64_t h[4] = {C::H0, C::H1, C::H2, C::H3};
  for (int i = 3; i >= 0; --i) {
    if (x[i] != h[i]) return x[i] > h[i];
  }
  return false;
}

// Legendre symbol by Euler's criterion: 1 for a non-zero square, -1 for a non-square, 0 for zero.
template <class P>
ARBOR_HD int legendre(const MontField<P>& a) {
  using C = mont_detail::Constants<P>;
  if (a.is_zero()) return 0;
  const std::uint64_t e[4] = {C::H0, C::H1, C::H2, C::H3};
  return pow(a, e) == MontField<P>::one() ? 1 : -1;
}

// Square root by Tonelli-Shanks (p - 1 = 2^S * Q, Q odd; S = 32 for BLS12-381 Fr). Returns false
// when `a` is not a square; otherwise `out` is one of the two roots (callers pick the sign).
template <class P>
ARBOR_HD bool sqrt(const MontField<P>& a, MontField<P>& out) {
  using C = mont_detail::Constants<P>;
  using F = MontField<P>;
  if (a.is_zero()) {
    out = F::zero();
    return true;
  }
  const std::uint64_t e[4] = {C::QH0, C::QH1, C::QH2, C::QH3};
  const F w = pow(a, e);                  // a^((Q-1)/2)
  F x = mul(a, w);                        // a^((Q+1)/2): the candidate root
  F b = mul(x, w);                        // a^Q: x^2 = a * b, so x is a root once b = 1
  F c{{C::RU0, C::RU1, C::RU2, C::RU3}};  // z^Q, of order 2^S
  int v = C::S;
  while (b != F::one()) {
    // The least k with b^(2^k) = 1; k = v means b has order 2^v, i.e. a is not a square.
    int k = 0;
    F b2k = b;
    while (b2k != F::one()) {
      b2k = square(b2k);
      if (++k == v) return false;
    }
    F t = c;  // c^(2^(v-k-1))
    for (int i = 0; i < v - k - 1; ++i) t = square(t);
    c = square(t);
    x = mul(x, t);
    b = mul(b, c);
    v = k;
  }
  out = x;
  return true;
}

}  // namespace arbor::field
