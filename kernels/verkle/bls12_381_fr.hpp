// The BLS12-381 scalar field, p =
// 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001. It is the BASE field of
// Bandersnatch/Banderwagon: point coordinates live here. Montgomery form over four 64-bit limbs
// (kernels/field/mont_field.hpp); shared by g++ and nvcc.
#pragma once

#include <array>
#include <cstdint>

#include "kernels/field/arith.hpp"
#include "kernels/field/mont_field.hpp"

namespace arbor::verkle {

// The template lives in arbor::field; these make verkle::mul(...) and friends name it too.
using field::MontField;
using field::PortableArith;
namespace mont_detail = field::mont_detail;
using field::add;
using field::batch_inverse;
using field::dbl;
using field::from_bytes_be;
using field::from_bytes_be_mod_order;
using field::from_bytes_le;
using field::from_bytes_le_mod_order;
using field::from_canonical_limbs;
using field::from_limbs_mod_order;
using field::from_u64;
using field::inverse;
using field::inverse_public;
using field::is_lexicographically_largest;
using field::legendre;
using field::mul;
using field::neg;
using field::pow;
using field::sqrt;
using field::square;
using field::sub;
using field::to_bytes_be;
using field::to_bytes_le;
using field::to_canonical_limbs;
using field::write_bytes_be;
using field::write_bytes_le;

struct Bls12381FrParams {
  static constexpr std::array<std::uint64_t, 4> kModulus = {
      0xffffffff00000001ULL, 0x53bda402fffe5bfeULL, 0x3339d80809a1d805ULL, 0x73eda753299d7d48ULL};
};

// Bandersnatch base field element (go-ipa's fp).
using Fp = MontField<Bls12381FrParams>;

static_assert(Fp::Constants::S == 32, "p - 1 = 2^32 * odd");

}  // namespace arbor::verkle
