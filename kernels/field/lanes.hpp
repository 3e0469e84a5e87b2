// Eight-lane Montgomery arithmetic in radix 2^52 (the AVX-512 IFMA formulation), written once as a
// template over a vector implementation `L` and a field's parameter struct `P` (mont_field.hpp).
//
// Vector implementations (one small interface, bit-identical results):
//   EmulatedLanes (below): eight uint64_t per vector, unsigned __int128 products. Runs anywhere; it
//     is the reference the AVX-512 one is tested against, and is not meant to be fast.
//   Avx512Lanes (lanes_avx512.hpp): AVX-512F + IFMA52 intrinsics. Only translation units built with
//     -mavx512f -mavx512ifma include it, and their entry points run only when
//     cpu_features().has_ifma_path() (callers pick paths by field_paths().ifma).
//
// Lane form. An element x is held as X = x * 2^260 mod p (Montgomery radix R' = 2^260), in five
// limbs of 52 bits per lane, X = sum l[k] * 2^(52k). Invariants and bounds:
//   * Every Elem taken or returned is NORMALIZED: each limb < 2^52 (madd52 reads only the low 52
//     bits of its multiplicands, so a wider limb would silently lose bits).
//   * Values are LAZILY reduced: X < 2p after mul/sqr/reduce, not necessarily < p; only to_words()
//     makes them canonical. add() does not reduce: its bound is the sum of its operands' bounds.
//   * mul(a, b), sqr(a) and reduce(sum of a_i * b_i): when the integer product (or sum) is below
//     2^260 * p, the result is below 2p (it is < product / 2^260 + p). For p < 2^256 any a, b < 4p
//     qualify. Callers that sum products (poseidon_lanes_impl.hpp) static_assert their own bound.
//   * A Wide's limbs are 64-bit and unnormalized: one product adds at most 10 * 2^52 to a limb, so
//   a
//     Wide takes up to kMaxProducts products before reduce() (which adds up to 10 * 2^52 + 2^12).
// Conversion from and to MontField (x * 2^256): from_words() multiplies by 2^264 mod p, since
// (x * 2^256) * 2^264 / 2^260 = x * 2^260; to_words() multiplies by 2^256 mod p, since
// (x * 2^260) * 2^256 / 2^260 = x * 2^256, then subtracts p once. Every radix-2^52 constant is
// derived below from P::kModulus.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "kernels/field/mont_field.hpp"

#define ARBOR_LANE_INLINE [[gnu::always_inline]] inline constexpr
// Limb loops unroll completely so that limbs live in registers, not in stack arrays.
#define ARBOR_LANE_UNROLL _Pragma("GCC unroll 16")

namespace arbor::field {

// Which vector implementation runs the lanes.
enum class LaneImpl {
  kEmulated,  // portable; always available
  kAvx512,    // AVX-512 IFMA; precondition: cpu_features().has_ifma_path()
};

// Whether `impl` can run on this CPU (the emulation always can).
bool lane_impl_supported(LaneImpl impl);
const char* lane_impl_name(LaneImpl impl);

inline constexpr int kLanes = 8;
inline constexpr int kLaneLimbs = 5;

namespace lanes_detail {

inline constexpr std::uint64_t kMask52 = (std::uint64_t{1} << 52) - 1;
using Limbs52 = std::array<std::uint64_t, kLaneLimbs>;

// ---- constexpr only: deriving the radix-2^52 constants ------------------------------------------

constexpr Limbs52 split52(const mont_detail::Limbs& x) {
  return Limbs52{x[0] & kMask52, ((x[0] >> 52) | (x[1] << 12)) & kMask52,
                 ((x[1] >> 40) | (x[2] << 24)) & kMask52, ((x[2] >> 28) | (x[3] << 36)) & kMask52,
                 x[3] >> 16};
}

constexpr mont_detail::Limbs join52(const Limbs52& l) {
  return mont_detail::Limbs{l[0] | (l[1] << 52), (l[1] >> 12) | (l[2] << 40),
                            (l[2] >> 24) | (l[3] << 28), (l[3] >> 36) | (l[4] << 16)};
}

// k * p in normalized radix-2^52 limbs, for k * p < 2^260 (k <= 16 for p < 2^256).
constexpr Limbs52 multiple52(const Limbs52& p52, std::uint64_t k) {
  Limbs52 r{};
  std::uint64_t carry = 0;
  for (int i = 0; i < kLaneLimbs; ++i) {
    const std::uint64_t v = p52[i] * k + carry;  // < 2^52 * 17: no overflow
    r[i] = i + 1 < kLaneLimbs ? v & kMask52 : v;
    carry = v >> 52;
  }
  return r;
}

constexpr int bit_length(const mont_detail::Limbs& x) {
  for (int i = 3; i >= 0; --i) {
    for (int b = 63; b >= 0; --b) {
      if ((x[i] >> b) & 1) return 64 * i + b + 1;
    }
  }
  return 0;
}

// -p^-1 mod 2^52 by Newton iteration mod 2^64 (each step doubles the correct low bits).
constexpr std::uint64_t neg_inverse_mod_2_52(std::uint64_t p0) {
  std::uint64_t inv = 1;
  for (int i = 0; i < 6; ++i) inv *= 2 - p0 * inv;
  return (~inv + 1) & kMask52;
}

}  // namespace lanes_detail

template <class P>
struct LaneConstants {
  static constexpr mont_detail::Limbs kP = P::kModulus;
  static constexpr int kBits = lanes_detail::bit_length(kP);
  // 2p must fit 256 bits (split52 of 2p below) and 4p * 4p < 2^260 * p must hold.
  static_assert(kBits <= 255, "lane form needs p < 2^255");

  static constexpr lanes_detail::Limbs52 kP52A = lanes_detail::split52(kP);
  static constexpr lanes_detail::Limbs52 k2P52A = lanes_detail::split52(
      mont_detail::Limbs{kP[0] << 1, (kP[1] << 1) | (kP[0] >> 63), (kP[2] << 1) | (kP[1] >> 63),
                         (kP[3] << 1) | (kP[2] >> 63)});
  static constexpr lanes_detail::Limbs52 k4P52A = lanes_detail::multiple52(kP52A, 4);
  static_assert(lanes_detail::multiple52(kP52A, 2) == k2P52A, "2p two ways");
  // Conversion factors (see the header comment) and 2^260 mod p, the lane form of 1.
  static constexpr lanes_detail::Limbs52 kToLaneA =
      lanes_detail::split52(mont_detail::pow2_mod(264, kP));
  static constexpr lanes_detail::Limbs52 kFromLaneA =
      lanes_detail::split52(mont_detail::pow2_mod(256, kP));
  // As 64-bit limbs: field::mul(a, {kR260}) is the lane form of a, canonical (tables use it).
  static constexpr mont_detail::Limbs kR260 = mont_detail::pow2_mod(260, kP);

  static constexpr std::uint64_t kK0 = lanes_detail::neg_inverse_mod_2_52(kP52A[0]);

  static_assert(mont_detail::compare(lanes_detail::join52(kP52A), kP) == 0, "p in radix 2^52");
  static_assert(kP52A[4] < (std::uint64_t{1} << 48), "p < 2^256");
  static_assert(((kP52A[0] * kK0 + 1) & lanes_detail::kMask52) == 0, "-p^-1 mod 2^52");
  static_assert(mont_detail::compare(lanes_detail::join52(kToLaneA), kP) < 0 &&
                    mont_detail::compare(lanes_detail::join52(kFromLaneA), kP) < 0,
                "conversion factors are reduced");

  // Plain arrays for run-time code (no std::array member calls in the AVX-512 translation units).
  static constexpr std::uint64_t kP52[5] = {kP52A[0], kP52A[1], kP52A[2], kP52A[3], kP52A[4]};
  static constexpr std::uint64_t k2P52[5] = {k2P52A[0], k2P52A[1], k2P52A[2], k2P52A[3], k2P52A[4]};
  static constexpr std::uint64_t k4P52[5] = {k4P52A[0], k4P52A[1], k4P52A[2], k4P52A[3], k4P52A[4]};
  static constexpr std::uint64_t kToLane[5] = {kToLaneA[0], kToLaneA[1], kToLaneA[2], kToLaneA[3],
                                               kToLaneA[4]};
  static constexpr std::uint64_t kFromLane[5] = {kFromLaneA[0], kFromLaneA[1], kFromLaneA[2],
                                                 kFromLaneA[3], kFromLaneA[4]};
};

// The portable vector implementation: the semantics every other implementation must reproduce.
struct EmulatedLanes {
  struct V {
    std::uint64_t x[kLanes];
  };

  ARBOR_LANE_INLINE static V zero() { return V{}; }
  ARBOR_LANE_INLINE static V set1(std::uint64_t a) {
    V r{};
    ARBOR_LANE_UNROLL
    for (int i = 0; i < kLanes; ++i) r.x[i] = a;
    return r;
  }
  ARBOR_LANE_INLINE static V load(const std::uint64_t* p) {
    V r{};
    ARBOR_LANE_UNROLL
    for (int i = 0; i < kLanes; ++i) r.x[i] = p[i];
    return r;
  }
  ARBOR_LANE_INLINE static void store(std::uint64_t* p, const V& a) {
    ARBOR_LANE_UNROLL
    for (int i = 0; i < kLanes; ++i) p[i] = a.x[i];
  }
  ARBOR_LANE_INLINE static V add(const V& a, const V& b) {
    V r{};
    ARBOR_LANE_UNROLL
    for (int i = 0; i < kLanes; ++i) r.x[i] = a.x[i] + b.x[i];
    return r;
  }
  ARBOR_LANE_INLINE static V sub(const V& a, const V& b) {
    V r{};
    ARBOR_LANE_UNROLL
    for (int i = 0; i < kLanes; ++i) r.x[i] = a.x[i] - b.x[i];
    return r;
  }
  ARBOR_LANE_INLINE static V and_(const V& a, const V& b) {
    V r{};
    ARBOR_LANE_UNROLL
    for (int i = 0; i < kLanes; ++i) r.x[i] = a.x[i] & b.x[i];
    return r;
  }
  ARBOR_LANE_INLINE static V or_(const V& a, const V& b) {
    V r{};
    ARBOR_LANE_UNROLL
    for (int i = 0; i < kLanes; ++i) r.x[i] = a.x[i] | b.x[i];
    return r;
  }
  template <int N>
  ARBOR_LANE_INLINE static V shl(const V& a) {
    V r{};
    ARBOR_LANE_UNROLL
    for (int i = 0; i < kLanes; ++i) r.x[i] = a.x[i] << N;
    return r;
  }
  template <int N>
  ARBOR_LANE_INLINE static V shr(const V& a) {
    V r{};
    ARBOR_LANE_UNROLL
    for (int i = 0; i < kLanes; ++i) r.x[i] = a.x[i] >> N;
    return r;
  }
  // Arithmetic (sign-filling) shift, as VPSRAQ.
  template <int N>
  ARBOR_LANE_INLINE static V sar(const V& a) {
    V r{};
    ARBOR_LANE_UNROLL
    for (int i = 0; i < kLanes; ++i)
      r.x[i] = static_cast<std::uint64_t>(static_cast<std::int64_t>(a.x[i]) >> N);
    return r;
  }
  // VPMADD52LUQ: acc + low 52 bits of (b mod 2^52) * (c mod 2^52), wrapping mod 2^64.
  ARBOR_LANE_INLINE static V madd52lo(const V& acc, const V& b, const V& c) {
    V r{};
    ARBOR_LANE_UNROLL
    for (int i = 0; i < kLanes; ++i) {
      const unsigned __int128 prod =
          static_cast<unsigned __int128>(b.x[i] & lanes_detail::kMask52) *
          (c.x[i] & lanes_detail::kMask52);
      r.x[i] = acc.x[i] + (static_cast<std::uint64_t>(prod) & lanes_detail::kMask52);
    }
    return r;
  }
  // VPMADD52HUQ: acc + bits 52..103 of the same 104-bit product.
  ARBOR_LANE_INLINE static V madd52hi(const V& acc, const V& b, const V& c) {
    V r{};
    ARBOR_LANE_UNROLL
    for (int i = 0; i < kLanes; ++i) {
      const unsigned __int128 prod =
          static_cast<unsigned __int128>(b.x[i] & lanes_detail::kMask52) *
          (c.x[i] & lanes_detail::kMask52);
      r.x[i] = acc.x[i] + static_cast<std::uint64_t>(prod >> 52);
    }
    return r;
  }
  // VPGATHERQQ: lane i reads base[index[i]] (index in 64-bit words).
  ARBOR_LANE_INLINE static V gather(const std::uint64_t* base, const V& index) {
    V r{};
    ARBOR_LANE_UNROLL
    for (int i = 0; i < kLanes; ++i) r.x[i] = base[index.x[i]];
    return r;
  }
  // Lane-wise: s < 0 (as int64) ? if_negative : otherwise.
  ARBOR_LANE_INLINE static V select_negative(const V& s, const V& if_negative, const V& otherwise) {
    V r{};
    ARBOR_LANE_UNROLL
    for (int i = 0; i < kLanes; ++i)
      r.x[i] = static_cast<std::int64_t>(s.x[i]) < 0 ? if_negative.x[i] : otherwise.x[i];
    return r;
  }
};

// Montgomery arithmetic on eight elements at once, generic over the vector implementation and the
// field. The bounds each function relies on are in the header comment.
template <class L, class P>
struct LaneField {
  using V = typename L::V;
  using K = LaneConstants<P>;

  struct Elem {
    V l[kLaneLimbs];
  };
  // An unreduced sum of products: 10 limbs of 64 bits per lane.
  struct Wide {
    V w[2 * kLaneLimbs];
  };
  static constexpr int kMaxProducts = 256;

  ARBOR_LANE_INLINE static V mask52() { return L::set1(lanes_detail::kMask52); }

  ARBOR_LANE_INLINE static Elem zero() {
    Elem r{};
    ARBOR_LANE_UNROLL
    for (int k = 0; k < kLaneLimbs; ++k) r.l[k] = L::zero();
    return r;
  }
  // The same constant in every lane (radix-2^52 limbs).
  ARBOR_LANE_INLINE static Elem broadcast(const std::uint64_t* c) {
    Elem r{};
    ARBOR_LANE_UNROLL
    for (int k = 0; k < kLaneLimbs; ++k) r.l[k] = L::set1(c[k]);
    return r;
  }
  ARBOR_LANE_INLINE static Wide wide_zero() {
    Wide r{};
    ARBOR_LANE_UNROLL
    for (int k = 0; k < 2 * kLaneLimbs; ++k) r.w[k] = L::zero();
    return r;
  }

  // acc += a * b (schoolbook, 25 lo + 25 hi products, no carries).
  ARBOR_LANE_INLINE static void mac(Wide& acc, const Elem& a, const Elem& b) {
    ARBOR_LANE_UNROLL
    for (int i = 0; i < kLaneLimbs; ++i) {
      ARBOR_LANE_UNROLL
      for (int j = 0; j < kLaneLimbs; ++j) {
        acc.w[i + j] = L::madd52lo(acc.w[i + j], a.l[j], b.l[i]);
        acc.w[i + j + 1] = L::madd52hi(acc.w[i + j + 1], a.l[j], b.l[i]);
      }
    }
  }

  // acc * 2^-260 mod p, normalized, < acc / 2^260 + p. Word-by-word Montgomery reduction: m_i
  // clears limb i (mod 2^52) and limb i's remaining high bits carry into limb i + 1.
  ARBOR_LANE_INLINE static Elem reduce(Wide acc) {
    const V k0 = L::set1(K::kK0);
    V p[kLaneLimbs];
    ARBOR_LANE_UNROLL
    for (int j = 0; j < kLaneLimbs; ++j) p[j] = L::set1(K::kP52[j]);
    ARBOR_LANE_UNROLL
    for (int i = 0; i < kLaneLimbs; ++i) {
      const V m = L::madd52lo(L::zero(), acc.w[i], k0);
      ARBOR_LANE_UNROLL
      for (int j = 0; j < kLaneLimbs; ++j) {
        acc.w[i + j] = L::madd52lo(acc.w[i + j], p[j], m);
        acc.w[i + j + 1] = L::madd52hi(acc.w[i + j + 1], p[j], m);
      }
      acc.w[i + 1] = L::add(acc.w[i + 1], L::template shr<52>(acc.w[i]));
    }
    Elem r{};
    const V mask = mask52();
    ARBOR_LANE_UNROLL
    for (int k = 0; k < kLaneLimbs - 1; ++k) {
      r.l[k] = L::and_(acc.w[kLaneLimbs + k], mask);
      acc.w[kLaneLimbs + k + 1] =
          L::add(acc.w[kLaneLimbs + k + 1], L::template shr<52>(acc.w[kLaneLimbs + k]));
    }
    // The result is < 2p < 2^256: the top limb holds under 48 bits, no carry out.
    r.l[kLaneLimbs - 1] = acc.w[2 * kLaneLimbs - 1];
    return r;
  }

  ARBOR_LANE_INLINE static Elem mul(const Elem& a, const Elem& b) {
    Wide acc = wide_zero();
    mac(acc, a, b);
    return reduce(acc);
  }

  // Cross products once, doubled by a shift (2 * a_j may not fit 52 bits, so never double an
  // operand), plus the diagonal: 30 products instead of 50.
  ARBOR_LANE_INLINE static Elem sqr(const Elem& a) {
    Wide cross = wide_zero();
    ARBOR_LANE_UNROLL
    for (int i = 0; i < kLaneLimbs; ++i) {
      ARBOR_LANE_UNROLL
      for (int j = i + 1; j < kLaneLimbs; ++j) {
        cross.w[i + j] = L::madd52lo(cross.w[i + j], a.l[i], a.l[j]);
        cross.w[i + j + 1] = L::madd52hi(cross.w[i + j + 1], a.l[i], a.l[j]);
      }
    }
    Wide acc{};
    ARBOR_LANE_UNROLL
    for (int k = 0; k < 2 * kLaneLimbs; ++k) acc.w[k] = L::template shl<1>(cross.w[k]);
    ARBOR_LANE_UNROLL
    for (int i = 0; i < kLaneLimbs; ++i) {
      acc.w[2 * i] = L::madd52lo(acc.w[2 * i], a.l[i], a.l[i]);
      acc.w[2 * i + 1] = L::madd52hi(acc.w[2 * i + 1], a.l[i], a.l[i]);
    }
    return reduce(acc);
  }

  // a + b, normalized, not reduced (the bound is the sum of the bounds; must stay < 2^260).
  ARBOR_LANE_INLINE static Elem add(const Elem& a, const Elem& b) {
    const V mask = mask52();
    Elem r{};
    V carry = L::zero();
    ARBOR_LANE_UNROLL
    for (int k = 0; k < kLaneLimbs; ++k) {
      const V s = L::add(L::add(a.l[k], b.l[k]), carry);
      if (k + 1 < kLaneLimbs) {
        carry = L::template shr<52>(s);
        r.l[k] = L::and_(s, mask);
      } else {
        r.l[k] = s;
      }
    }
    return r;
  }

  // a + q - b, normalized, for a constant q (normalized radix-2^52 limbs) at least b's bound: a
  // lazily reduced difference, below a's bound plus q. Borrows travel as signed carries.
  ARBOR_LANE_INLINE static Elem sub_plus(const Elem& a, const Elem& b, const std::uint64_t* q) {
    const V mask = mask52();
    Elem r{};
    V carry = L::zero();
    ARBOR_LANE_UNROLL
    for (int k = 0; k < kLaneLimbs; ++k) {
      const V s = L::add(L::sub(L::add(a.l[k], L::set1(q[k])), b.l[k]), carry);
      if (k + 1 < kLaneLimbs) {
        carry = L::template sar<52>(s);
        r.l[k] = L::and_(s, mask);
      } else {
        r.l[k] = s;
      }
    }
    return r;
  }

  // Lane-wise: the lanes where `negative` is negative (as int64) take if_negative.
  ARBOR_LANE_INLINE static Elem select(const V& negative, const Elem& if_negative,
                                       const Elem& otherwise) {
    Elem r{};
    ARBOR_LANE_UNROLL
    for (int k = 0; k < kLaneLimbs; ++k)
      r.l[k] = L::select_negative(negative, if_negative.l[k], otherwise.l[k]);
    return r;
  }

  // a - q when a >= q, else a; q is a constant's radix-2^52 limbs. Borrows travel as the sign of
  // each limb's difference (arithmetic shift), so no lane branches.
  ARBOR_LANE_INLINE static Elem sub_if_at_least(const Elem& a, const std::uint64_t* q) {
    const V mask = mask52();
    Elem d{};
    V borrow = L::zero();
    ARBOR_LANE_UNROLL
    for (int k = 0; k < kLaneLimbs; ++k) {
      const V diff = L::add(L::sub(a.l[k], L::set1(q[k])), borrow);
      if (k + 1 < kLaneLimbs) {
        borrow = L::template sar<52>(diff);
        d.l[k] = L::and_(diff, mask);
      } else {
        d.l[k] = diff;
      }
    }
    Elem r{};
    ARBOR_LANE_UNROLL
    for (int k = 0; k < kLaneLimbs; ++k)
      r.l[k] = L::select_negative(d.l[kLaneLimbs - 1], a.l[k], d.l[k]);
    return r;
  }

  // Radix change without a domain change: words[w][lane] are 64-bit limbs of any value < 2^256.
  ARBOR_LANE_INLINE static Elem split(const std::uint64_t (&words)[4][kLanes]) {
    return split(L::load(words[0]), L::load(words[1]), L::load(words[2]), L::load(words[3]));
  }
  // The same from the four 64-bit limbs as vectors (w0 least significant).
  ARBOR_LANE_INLINE static Elem split(const V& w0, const V& w1, const V& w2, const V& w3) {
    const V mask = mask52();
    Elem r{};
    r.l[0] = L::and_(w0, mask);
    r.l[1] = L::and_(L::or_(L::template shr<52>(w0), L::template shl<12>(w1)), mask);
    r.l[2] = L::and_(L::or_(L::template shr<40>(w1), L::template shl<24>(w2)), mask);
    r.l[3] = L::and_(L::or_(L::template shr<28>(w2), L::template shl<36>(w3)), mask);
    r.l[4] = L::template shr<16>(w3);
    return r;
  }
  // The inverse of split() for a normalized value < 2^256.
  ARBOR_LANE_INLINE static void join(const Elem& a, std::uint64_t (&words)[4][kLanes]) {
    L::store(words[0], L::or_(a.l[0], L::template shl<52>(a.l[1])));
    L::store(words[1], L::or_(L::template shr<12>(a.l[1]), L::template shl<40>(a.l[2])));
    L::store(words[2], L::or_(L::template shr<24>(a.l[2]), L::template shl<28>(a.l[3])));
    L::store(words[3], L::or_(L::template shr<36>(a.l[3]), L::template shl<16>(a.l[4])));
  }

  // MontField limbs (x * 2^256, any value < 2^256) to lane form (x * 2^260, < 2p).
  ARBOR_LANE_INLINE static Elem from_words(const std::uint64_t (&words)[4][kLanes]) {
    return mul(split(words), broadcast(K::kToLane));
  }
  // Any normalized lane value (the product with 2^256 mod p < p stays below 2^260 * p) to
  // canonical MontField limbs.
  ARBOR_LANE_INLINE static void to_words(const Elem& a, std::uint64_t (&words)[4][kLanes]) {
    join(sub_if_at_least(mul(a, broadcast(K::kFromLane)), K::kP52), words);
  }
};

// ---- whole-group operations, for tests and benchmarks -------------------------------------------
// These run one operation of LaneField on groups of eight through the chosen implementation
// (lanes.cpp; the AVX-512 ones in lanes_avx512.cpp). Instantiated for BN254 Fr
// (Bn254FrParams) and the BLS12-381 scalar field (verkle::Bls12381FrParams).

// Radix-2^52 limbs of eight lanes, limb-major: limb[k][lane].
struct LaneBlock {
  alignas(64) std::uint64_t limb[kLaneLimbs][kLanes];
};

// Raw lane-form operations: inputs normalized and within the bounds above.
template <class P>
void lane_mul_block(LaneImpl impl, const LaneBlock& a, const LaneBlock& b, LaneBlock& out);
template <class P>
void lane_sqr_block(LaneImpl impl, const LaneBlock& a, LaneBlock& out);
// out = reduce(sum_{i<n} a[i] * b[i]), 1 <= n <= kMaxProducts.
template <class P>
void lane_dot_block(LaneImpl impl, const LaneBlock* a, const LaneBlock* b, int n, LaneBlock& out);
// out[i] = a[i] * b[i] for canonical MontField values, through from_words / mul / to_words.
template <class P>
void lane_mul_many(LaneImpl impl, const MontField<P>* a, const MontField<P>* b, MontField<P>* out,
                   std::size_t n);

namespace lanes_detail {

// The bodies of the operations above, once per vector implementation (lanes.cpp instantiates them
// with EmulatedLanes, lanes_avx512.cpp with Avx512Lanes).
template <class L, class P>
typename LaneField<L, P>::Elem load_block(const LaneBlock& b) {
  typename LaneField<L, P>::Elem e{};
  for (int k = 0; k < kLaneLimbs; ++k) e.l[k] = L::load(b.limb[k]);
  return e;
}
template <class L, class P>
void store_block(const typename LaneField<L, P>::Elem& e, LaneBlock& b) {
  for (int k = 0; k < kLaneLimbs; ++k) L::store(b.limb[k], e.l[k]);
}

template <class L, class P>
void mul_block(const LaneBlock& a, const LaneBlock& b, LaneBlock& out) {
  using F = LaneField<L, P>;
  store_block<L, P>(F::mul(load_block<L, P>(a), load_block<L, P>(b)), out);
}
template <class L, class P>
void sqr_block(const LaneBlock& a, LaneBlock& out) {
  using F = LaneField<L, P>;
  store_block<L, P>(F::sqr(load_block<L, P>(a)), out);
}
template <class L, class P>
void dot_block(const LaneBlock* a, const LaneBlock* b, int n, LaneBlock& out) {
  using F = LaneField<L, P>;
  typename F::Wide acc = F::wide_zero();
  for (int i = 0; i < n; ++i) F::mac(acc, load_block<L, P>(a[i]), load_block<L, P>(b[i]));
  store_block<L, P>(F::reduce(acc), out);
}
template <class L, class P>
void mul_many(const MontField<P>* a, const MontField<P>* b, MontField<P>* out, std::size_t n) {
  using F = LaneField<L, P>;
  for (std::size_t base = 0; base < n; base += kLanes) {
    const std::size_t lanes = n - base < kLanes ? n - base : kLanes;
    // Lanes past n compute 0 * 0 and are dropped.
    std::uint64_t wa[4][kLanes] = {}, wb[4][kLanes] = {};
    for (std::size_t i = 0; i < lanes; ++i) {
      for (int w = 0; w < 4; ++w) {
        wa[w][i] = a[base + i].limb[w];
        wb[w][i] = b[base + i].limb[w];
      }
    }
    F::to_words(F::mul(F::from_words(wa), F::from_words(wb)), wa);
    for (std::size_t i = 0; i < lanes; ++i) {
      for (int w = 0; w < 4; ++w) out[base + i].limb[w] = wa[w][i];
    }
  }
}

// The AVX-512 instantiations (lanes_avx512.cpp). Precondition: cpu_features().has_ifma_path().
namespace avx512 {
template <class P>
void mul_block(const LaneBlock& a, const LaneBlock& b, LaneBlock& out);
template <class P>
void sqr_block(const LaneBlock& a, LaneBlock& out);
template <class P>
void dot_block(const LaneBlock* a, const LaneBlock* b, int n, LaneBlock& out);
template <class P>
void mul_many(const MontField<P>* a, const MontField<P>* b, MontField<P>* out, std::size_t n);
}  // namespace avx512

// Aborts with a message unless this CPU runs AVX-512 IFMA: the lanes' AVX-512 entry points call it
// first, so a wrong dispatch fails loudly instead of with SIGILL somewhere inside.
void require_avx512_ifma(const char* what);

}  // namespace lanes_detail

}  // namespace arbor::field
