// The BLS12-381 scalar field, p =
// 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001. It is the BASE field of
// Bandersnatch/Banderwagon: point coordinates live here. Montgomery form over four 64-bit limbs
// (kernels/verkle/mont_field.hpp); shared by g++ and nvcc.
#pragma once

#include <array>
#include <cstdint>

#include "kernels/verkle/mont_field.hpp"

namespace arbor::verkle {

struct Bls12381FrParams {
  static constexpr std::array<std::uint64_t, 4> kModulus = {
      0xffffffff00000001ULL, 0x53bda402fffe5bfeULL, 0x3339d80809a1d805ULL, 0x73eda753299d7d48ULL};
};

// Bandersnatch base field element (go-ipa's fp).
using Fp = MontField<Bls12381FrParams>;

static_assert(Fp::Constants::S == 32, "p - 1 = 2^32 * odd");

}  // namespace arbor::verkle
