// Fixed-base multiplication with signed windows over precomputed tables (see pedersen.hpp for the
// table layout and sizes). Compiled by g++ (PedersenTables) and by nvcc (the CUDA Verkle kernels),
// so that both paths recode scalars and add table entries with the same code.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>

#include "kernels/hd.hpp"
#include "kernels/verkle/banderwagon.hpp"

namespace arbor::verkle {

namespace fixed_base_detail {

// Scalars are below r < 2^253; with windows * w >= 254 the top signed digit never needs a carry
// out.
inline constexpr int kScalarBits = 253;
// With the narrowest window (2 bits) a scalar has 127 digits.
inline constexpr int kMaxWindows = (kScalarBits + 1 + 1) / 2;

// e[i], zero for i >= 4. Selects rather than an index: a dynamically indexed array lives in local
// memory on the GPU.
ARBOR_HD std::uint64_t limb_at(const std::uint64_t (&e)[4], int i) {
  return i == 0 ? e[0] : i == 1 ? e[1] : i == 2 ? e[2] : i == 3 ? e[3] : 0;
}

// w bits (w <= 16) of the little-endian 256-bit e starting at bit `pos` (zero beyond bit 255).
ARBOR_HD std::uint64_t window_bits_at(const std::uint64_t (&e)[4], int pos, int w) {
  const int limb = pos / 64, off = pos % 64;
  std::uint64_t v = limb_at(e, limb) >> off;
  // off + w > 64 implies off > 0, so the shift is below 64.
  if (off + w > 64) v |= limb_at(e, limb + 1) << (64 - off);
  return v & ((std::uint64_t{1} << w) - 1);
}

// Signed recoding of one window: `d` is the window's bits plus the carry from the window below, in
// [0, 2^w]. A digit above 2^(w-1) = `half` becomes d - 2^w (negative) with a carry into the next
// window. Returns the magnitude, in [0, half].
ARBOR_HD std::uint64_t recode_digit(std::uint64_t d, std::uint64_t half, std::uint64_t& negative,
                                    std::uint64_t& carry) {
  negative = d > half ? 1 : 0;
  carry = negative;
  return negative != 0 ? 2 * half - d : d;
}

// Branch-free a or -a: the sign of a recoded digit is data, and a mispredicted branch per addition
// costs more than the negation.
ARBOR_HD Fp negate_if(const Fp& a, std::uint64_t negate) {
  const Fp n = neg(a);
  const std::uint64_t mask = ~negate + 1;
  Fp out;
  for (int i = 0; i < 4; ++i) out.limb[i] = (n.limb[i] & mask) | (a.limb[i] & ~mask);
  return out;
}

// acc + q or acc - q: -(x, y) = (-x, y), so d*x*y flips sign with x.
template <class Arith = PortableArith>
ARBOR_HD Point add_signed(const Point& acc, const PrecomputedPoint& q, std::uint64_t negative) {
  return add_mixed<Arith>(
      acc, PrecomputedPoint{negate_if(q.x, negative), q.y, negate_if(q.dxy, negative)});
}

#if defined(__CUDA_ARCH__)
// A table entry by six 16-byte read-only loads instead of twelve 8-byte ones. The device tables'
// entries are 32-byte aligned (cudaMalloc'd base, 96-byte entries; the CUDA backend checks), so
// each load is aligned and each entry spans exactly three 32-byte sectors.
__device__ __forceinline__ PrecomputedPoint load_entry(const PrecomputedPoint* entry) {
  static_assert(sizeof(PrecomputedPoint) == 6 * sizeof(ulonglong2), "three 32-byte field elements");
  const auto* v = reinterpret_cast<const ulonglong2*>(entry);
  const auto field = [v](int f) {
    const ulonglong2 lo = __ldg(v + 2 * f), hi = __ldg(v + 2 * f + 1);
    return Fp{{lo.x, lo.y, hi.x, hi.y}};
  };
  return PrecomputedPoint{field(0), field(1), field(2)};
}
#endif

}  // namespace fixed_base_detail

// The number of w-bit signed windows of a scalar.
ARBOR_HD constexpr int fixed_base_window_count(int window_bits) {
  return (fixed_base_detail::kScalarBits + 1 + window_bits - 1) / window_bits;
}

// acc += s * G (multiplying with the arithmetic policy A, field/arith.hpp), where `table` is G's
// table: `windows` rows of `entries_per_window` = 2^(w-1) entries, row j entry k = (k + 1) *
// 2^(w*j) * G. At most `windows` mixed additions, no doublings.
template <class Arith = PortableArith>
ARBOR_HD void fixed_base_accumulate(Point& acc, const PrecomputedPoint* table, int window_bits,
                                    int windows, std::size_t entries_per_window, const Fr& s) {
  using namespace fixed_base_detail;
  std::uint64_t e[4];
  to_canonical_limbs(s, e);
  const std::uint64_t half = entries_per_window;
  std::uint64_t carry = 0;
#if defined(__CUDA_ARCH__)
  // One pass: the other resident warps hide the table loads, and per-thread arrays of entries
  // would live in local memory.
  for (int j = 0; j < windows; ++j) {
    std::uint64_t negative;
    const std::uint64_t d = recode_digit(window_bits_at(e, j * window_bits, window_bits) + carry,
                                         half, negative, carry);
    if (d != 0) {
      acc = add_signed<Arith>(acc, load_entry(&table[static_cast<std::size_t>(j) * half + d - 1]),
                              negative);
    }
  }
#else
  // Pass 1: recode and prefetch every entry the additions will read. The tables are far larger
  // than the caches; issuing all loads first overlaps their latencies instead of paying one per
  // window.
  assert(windows <= kMaxWindows);
  const PrecomputedPoint* entry[kMaxWindows];
  std::uint64_t negative[kMaxWindows];
  int count = 0;
  for (int j = 0; j < windows; ++j) {
    const std::uint64_t d = recode_digit(window_bits_at(e, j * window_bits, window_bits) + carry,
                                         half, negative[count], carry);
    if (d == 0) continue;
    entry[count] = &table[static_cast<std::size_t>(j) * half + d - 1];
    // 96 bytes span two or three cache lines.
    const char* bytes = reinterpret_cast<const char*>(entry[count]);
    __builtin_prefetch(bytes);
    __builtin_prefetch(bytes + 64);
    __builtin_prefetch(bytes + sizeof(PrecomputedPoint) - 1);
    ++count;
  }
  // Pass 2: one mixed addition per non-zero digit.
  for (int k = 0; k < count; ++k) acc = add_signed<Arith>(acc, *entry[k], negative[k]);
#endif
  assert(carry == 0);
}

}  // namespace arbor::verkle
