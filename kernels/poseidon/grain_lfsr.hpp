// The Grain LFSR of the Poseidon paper (Appendix F), which derives round constants and MDS matrices
// from the instance parameters. Arbor generates every constant with it instead of shipping tables.
#pragma once

#include <array>
#include <cstdint>

namespace arbor::poseidon {

class GrainLfsr {
 public:
  // field: 1 = GF(p); sbox: 0 = x^alpha; field_bits = n; width = t; rounds as in the paper.
  GrainLfsr(int field, int sbox, int field_bits, int width, int rounds_full, int rounds_partial);

  // The next output bit of the self-shrinking generator.
  int next_bit();

  // `count` output bits read as an unsigned integer, first bit most significant (count <= 256).
  std::array<std::uint64_t, 4> next_bits_as_integer(int count);

 private:
  int clock();

  std::array<std::uint8_t, 80> state_{};
  int head_ = 0;  // index of the oldest bit, state bit 0
};

}  // namespace arbor::poseidon
