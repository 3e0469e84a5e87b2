#include "kernels/poseidon/grain_lfsr.hpp"

namespace arbor::poseidon {
namespace {

// Appends the `width` low bits of `value`, most significant first.
int append_bits(std::array<std::uint8_t, 80>& bits, int pos, std::uint64_t value, int width) {
  for (int i = width - 1; i >= 0; --i) bits[pos++] = static_cast<std::uint8_t>((value >> i) & 1);
  return pos;
}

}  // namespace

GrainLfsr::GrainLfsr(int field, int sbox, int field_bits, int width, int rounds_full,
                     int rounds_partial) {
  int pos = 0;
  pos = append_bits(state_, pos, static_cast<std::uint64_t>(field), 2);
  pos = append_bits(state_, pos, static_cast<std::uint64_t>(sbox), 4);
  pos = append_bits(state_, pos, static_cast<std::uint64_t>(field_bits), 12);
  pos = append_bits(state_, pos, static_cast<std::uint64_t>(width), 12);
  pos = append_bits(state_, pos, static_cast<std::uint64_t>(rounds_full), 10);
  pos = append_bits(state_, pos, static_cast<std::uint64_t>(rounds_partial), 10);
  while (pos < 80) state_[pos++] = 1;
  for (int i = 0; i < 160; ++i) clock();
}

int GrainLfsr::clock() {
  auto at = [this](int i) { return state_[(head_ + i) % 80]; };
  const std::uint8_t bit = at(62) ^ at(51) ^ at(38) ^ at(23) ^ at(13) ^ at(0);
  state_[head_] = bit;  // the oldest bit leaves, the new one becomes bit 79
  head_ = (head_ + 1) % 80;
  return bit;
}

int GrainLfsr::next_bit() {
  // Bits come in pairs: a first bit of 1 emits the second, a 0 discards it.
  while (true) {
    const int selector = clock();
    const int value = clock();
    if (selector == 1) return value;
  }
}

std::array<std::uint64_t, 4> GrainLfsr::next_bits_as_integer(int count) {
  std::array<std::uint64_t, 4> value{};
  for (int i = count - 1; i >= 0; --i) {
    value[i / 64] |= static_cast<std::uint64_t>(next_bit()) << (i % 64);
  }
  return value;
}

}  // namespace arbor::poseidon
