// BN254 scalar field Fr, p = 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001:
// Poseidon's field (circomlib, iden3) and so the SMT's. An instance of the one Montgomery template
// (mont_field.hpp); compiled by both g++ (CPU path) and nvcc (GPU path).
#pragma once

#include <array>
#include <cstdint>

#include "kernels/field/mont_field.hpp"
#include "kernels/hd.hpp"

namespace arbor::field {

struct Bn254FrParams {
  static constexpr std::array<std::uint64_t, 4> kModulus = {
      0x43e1f593f0000001ULL, 0x2833e84879b97091ULL, 0xb85045b68181585dULL, 0x30644e72e131a029ULL};
};

using Fr = MontField<Bn254FrParams>;

// p < 2^254: sums of two elements (and lazily reduced sums of a few more) fit in 256 bits.
static_assert(Fr::Constants::P3 < (std::uint64_t{1} << 62), "BN254 p < 2^254");
static_assert(Fr::Constants::S == 28, "p - 1 = 2^28 * odd");

// BN254 spellings of the template's constructors (the template needs its parameters named; these
// return Fr, so a caller that meant another field fails to compile).
ARBOR_HD Fr from_canonical_limbs(const std::uint64_t (&x)[4]) {
  return from_canonical_limbs<Bn254FrParams>(x);
}
ARBOR_HD Fr from_u64(std::uint64_t v) { return from_u64<Bn254FrParams>(v); }

// The Poseidon S-box x^5.
template <class P>
ARBOR_HD MontField<P> pow5(const MontField<P>& x) {
  const MontField<P> x2 = square(x);
  const MontField<P> x4 = square(x2);
  return mul(x4, x);
}

}  // namespace arbor::field
