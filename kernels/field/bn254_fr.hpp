// BN254 scalar field Fr, p = 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001.
// Montgomery form over four 64-bit little-endian limbs. Compiled by both g++ (CPU path) and nvcc
// (GPU path); every operation returns a fully reduced (canonical) representative.
#pragma once

#include <array>
#include <cstdint>

#include "kernels/hd.hpp"

namespace arbor::field {

namespace bn254_detail {

using Limbs = std::array<std::uint64_t, 4>;

inline constexpr Limbs kModulus = {0x43e1f593f0000001ULL, 0x2833e84879b97091ULL,
                                   0xb85045b68181585dULL, 0x30644e72e131a029ULL};

constexpr bool less_than_modulus(const Limbs& x) {
  for (int i = 3; i >= 0; --i) {
    if (x[i] != kModulus[i]) return x[i] < kModulus[i];
  }
  return false;
}

// x - p when x >= p, else x (for x < 2p).
constexpr Limbs subtract_modulus_once(const Limbs& x) {
  if (less_than_modulus(x)) return x;
  Limbs diff{};
  std::uint64_t borrow = 0;
  for (int i = 0; i < 4; ++i) {
    const std::uint64_t d = x[i] - kModulus[i];
    const std::uint64_t b1 = x[i] < kModulus[i];
    diff[i] = d - borrow;
    borrow = b1 | (d < borrow);
  }
  return diff;
}

// (x + x) mod p for x < p; p < 2^254, so the sum never leaves 256 bits.
constexpr Limbs double_mod(const Limbs& x) {
  Limbs sum{};
  std::uint64_t carry = 0;
  for (int i = 0; i < 4; ++i) {
    sum[i] = (x[i] << 1) | carry;
    carry = x[i] >> 63;
  }
  return subtract_modulus_once(sum);
}

// 2^k mod p by repeated doubling: R = 2^256 mod p and R^2 = 2^512 mod p are derived, not pasted.
constexpr Limbs pow2_mod(int k) {
  Limbs x = {1, 0, 0, 0};
  for (int i = 0; i < k; ++i) x = double_mod(x);
  return x;
}

// -p^{-1} mod 2^64 by Newton iteration (each step doubles the number of correct bits).
constexpr std::uint64_t neg_inverse_mod_2_64(std::uint64_t p0) {
  std::uint64_t inv = 1;
  for (int i = 0; i < 6; ++i) inv *= 2 - p0 * inv;
  return ~inv + 1;
}

inline constexpr Limbs kR = pow2_mod(256);
inline constexpr Limbs kR2 = pow2_mod(512);

// Scalars (not arrays) so that nvcc can use them in device code.
inline constexpr std::uint64_t P0 = kModulus[0], P1 = kModulus[1], P2 = kModulus[2],
                               P3 = kModulus[3];
inline constexpr std::uint64_t R0 = kR[0], R1 = kR[1], R2 = kR[2], R3 = kR[3];
inline constexpr std::uint64_t RR0 = kR2[0], RR1 = kR2[1], RR2 = kR2[2], RR3 = kR2[3];
inline constexpr std::uint64_t kInv = neg_inverse_mod_2_64(P0);
static_assert(P0 * (~kInv + 1) == 1, "-p^-1 mod 2^64");

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
  const unsigned __int128 t =
      static_cast<unsigned __int128>(a) * b + static_cast<unsigned __int128>(c) + d;
  lo = static_cast<std::uint64_t>(t);
  hi = static_cast<std::uint64_t>(t >> 64);
#endif
}

// r = x - p if x >= p, else x (x < 2p).
ARBOR_HD void reduce_once(std::uint64_t& x0, std::uint64_t& x1, std::uint64_t& x2,
                          std::uint64_t& x3) {
  std::uint64_t borrow = 0;
  const std::uint64_t d0 = x0 - P0;
  borrow = x0 < P0;
  const std::uint64_t t1 = x1 - P1;
  const std::uint64_t d1 = t1 - borrow;
  borrow = (x1 < P1) | (t1 < borrow);
  const std::uint64_t t2 = x2 - P2;
  const std::uint64_t d2 = t2 - borrow;
  borrow = (x2 < P2) | (t2 < borrow);
  const std::uint64_t t3 = x3 - P3;
  const std::uint64_t d3 = t3 - borrow;
  borrow = (x3 < P3) | (t3 < borrow);
  if (!borrow) {
    x0 = d0;
    x1 = d1;
    x2 = d2;
    x3 = d3;
  }
}

}  // namespace bn254_detail

// An element of Fr in Montgomery form (limbs hold a·R mod p). Plain aggregate so that arrays of it
// can be copied to and from the GPU as bytes.
struct Fr {
  std::uint64_t limb[4];

  ARBOR_HD static constexpr Fr zero() { return Fr{{0, 0, 0, 0}}; }
  ARBOR_HD static constexpr Fr one() {
    return Fr{{bn254_detail::R0, bn254_detail::R1, bn254_detail::R2, bn254_detail::R3}};
  }

  ARBOR_HD bool is_zero() const { return (limb[0] | limb[1] | limb[2] | limb[3]) == 0; }
  ARBOR_HD friend bool operator==(const Fr& a, const Fr& b) {
    return a.limb[0] == b.limb[0] && a.limb[1] == b.limb[1] && a.limb[2] == b.limb[2] &&
           a.limb[3] == b.limb[3];
  }
  ARBOR_HD friend bool operator!=(const Fr& a, const Fr& b) { return !(a == b); }
};

ARBOR_HD Fr add(const Fr& a, const Fr& b) {
  using namespace bn254_detail;
  // a, b < p < 2^254: the sum fits in 256 bits, so one conditional subtraction suffices.
  std::uint64_t s0 = a.limb[0] + b.limb[0];
  std::uint64_t carry = s0 < a.limb[0];
  std::uint64_t t1 = a.limb[1] + b.limb[1];
  std::uint64_t s1 = t1 + carry;
  carry = (t1 < a.limb[1]) | (s1 < t1);
  std::uint64_t t2 = a.limb[2] + b.limb[2];
  std::uint64_t s2 = t2 + carry;
  carry = (t2 < a.limb[2]) | (s2 < t2);
  std::uint64_t s3 = a.limb[3] + b.limb[3] + carry;
  reduce_once(s0, s1, s2, s3);
  return Fr{{s0, s1, s2, s3}};
}

ARBOR_HD Fr sub(const Fr& a, const Fr& b) {
  using namespace bn254_detail;
  std::uint64_t d0 = a.limb[0] - b.limb[0];
  std::uint64_t borrow = a.limb[0] < b.limb[0];
  std::uint64_t t1 = a.limb[1] - b.limb[1];
  std::uint64_t d1 = t1 - borrow;
  borrow = (a.limb[1] < b.limb[1]) | (t1 < borrow);
  std::uint64_t t2 = a.limb[2] - b.limb[2];
  std::uint64_t d2 = t2 - borrow;
  borrow = (a.limb[2] < b.limb[2]) | (t2 < borrow);
  std::uint64_t t3 = a.limb[3] - b.limb[3];
  std::uint64_t d3 = t3 - borrow;
  borrow = (a.limb[3] < b.limb[3]) | (t3 < borrow);
  if (borrow) {
    // Add p back; the final carry out is the borrow we are cancelling.
    std::uint64_t c = 0;
    std::uint64_t u0 = d0 + P0;
    c = u0 < d0;
    std::uint64_t v1 = d1 + P1;
    std::uint64_t u1 = v1 + c;
    c = (v1 < d1) | (u1 < v1);
    std::uint64_t v2 = d2 + P2;
    std::uint64_t u2 = v2 + c;
    c = (v2 < d2) | (u2 < v2);
    std::uint64_t u3 = d3 + P3 + c;
    return Fr{{u0, u1, u2, u3}};
  }
  return Fr{{d0, d1, d2, d3}};
}

ARBOR_HD Fr neg(const Fr& a) { return a.is_zero() ? a : sub(Fr::zero(), a); }

// Montgomery multiplication, CIOS. p's top limb is below 2^62, so the running value never needs a
// fifth limb (the "no-carry" variant): t stays below 2p and one conditional subtraction finishes.
ARBOR_HD Fr mul(const Fr& a, const Fr& b) {
  using namespace bn254_detail;
  const std::uint64_t p[4] = {P0, P1, P2, P3};
  std::uint64_t t[4] = {0, 0, 0, 0};
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
  for (int i = 0; i < 4; ++i) {
    std::uint64_t carry_a, carry_m, lo;
    mul_add_add(a.limb[0], b.limb[i], t[0], 0, carry_a, lo);
    const std::uint64_t m = lo * kInv;
    std::uint64_t discard;
    mul_add_add(m, p[0], lo, 0, carry_m, discard);
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
    for (int j = 1; j < 4; ++j) {
      mul_add_add(a.limb[j], b.limb[i], t[j], carry_a, carry_a, lo);
      mul_add_add(m, p[j], lo, carry_m, carry_m, t[j - 1]);
    }
    t[3] = carry_a + carry_m;
  }
  reduce_once(t[0], t[1], t[2], t[3]);
  return Fr{{t[0], t[1], t[2], t[3]}};
}

ARBOR_HD Fr square(const Fr& a) { return mul(a, a); }

// The Poseidon S-box x^5.
ARBOR_HD Fr pow5(const Fr& x) {
  const Fr x2 = square(x);
  const Fr x4 = square(x2);
  return mul(x4, x);
}

// a^e for a little-endian 256-bit exponent.
ARBOR_HD Fr pow(const Fr& a, const std::uint64_t (&e)[4]) {
  Fr result = Fr::one();
  for (int i = 3; i >= 0; --i) {
    for (int bit = 63; bit >= 0; --bit) {
      result = square(result);
      if ((e[i] >> bit) & 1) result = mul(result, a);
    }
  }
  return result;
}

// Multiplicative inverse (Fermat: a^(p-2)); the inverse of zero is zero.
ARBOR_HD Fr inverse(const Fr& a) {
  using namespace bn254_detail;
  const std::uint64_t p_minus_2[4] = {P0 - 2, P1, P2, P3};
  return pow(a, p_minus_2);
}

// Canonical integer (< p, little-endian limbs) to Montgomery form. Callers validate the range.
ARBOR_HD Fr from_canonical_limbs(const std::uint64_t (&x)[4]) {
  using namespace bn254_detail;
  return mul(Fr{{x[0], x[1], x[2], x[3]}}, Fr{{RR0, RR1, RR2, RR3}});
}

// Montgomery form back to the canonical integer's limbs.
ARBOR_HD void to_canonical_limbs(const Fr& a, std::uint64_t (&out)[4]) {
  const Fr plain = mul(a, Fr{{1, 0, 0, 0}});
  for (int i = 0; i < 4; ++i) out[i] = plain.limb[i];
}

ARBOR_HD Fr from_u64(std::uint64_t v) {
  const std::uint64_t x[4] = {v, 0, 0, 0};
  return from_canonical_limbs(x);
}

}  // namespace arbor::field
