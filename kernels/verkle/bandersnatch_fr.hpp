// The Bandersnatch scalar field (the order of the prime subgroup, and of Banderwagon),
// r = 0x1cfb69d4ca675f520cce760202687600ff8f87007419047174fd06b52876e7e1. Scalars of Pedersen
// commitments, map_to_scalar_field outputs and IPA challenges live here. Same Montgomery template
// as the base field (kernels/field/mont_field.hpp); shared by g++ and nvcc.
#pragma once

#include <array>
#include <cstdint>

#include "kernels/verkle/bls12_381_fr.hpp"  // MontField and its functions in arbor::verkle

namespace arbor::verkle {

struct BandersnatchFrParams {
  static constexpr std::array<std::uint64_t, 4> kModulus = {
      0x74fd06b52876e7e1ULL, 0xff8f870074190471ULL, 0x0cce760202687600ULL, 0x1cfb69d4ca675f52ULL};
};

// Bandersnatch scalar field element (go-ipa's fr).
using Fr = MontField<BandersnatchFrParams>;

}  // namespace arbor::verkle
