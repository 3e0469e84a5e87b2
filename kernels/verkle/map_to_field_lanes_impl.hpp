// The lane passes of batch_map_to_scalar_field_lanes (map_to_field_lanes.hpp), written once for
// every vector implementation: map_to_field_lanes.cpp instantiates them with EmulatedLanes and
// holds the portable parts (gathering rows, the scalar inversion of the lane totals, scattering
// results); map_to_field_lanes_avx512.cpp instantiates them with Avx512Lanes.
//
// Bounds (LaneField, lanes.hpp: a product below 2^260 * p reduces below 2p): every lane value
// here is < 2p, so every product is below 4p^2.
//   forward:  y = Y in lane form; prefix[r] = y_0 ... y_{r-1} (one below row 0); total = y_0 ...
//   backward: 1/y_r = inv * prefix[r], then inv *= y_r. X/Y: split(X) is X's Montgomery limbs
//             read as a lane value (x * 2^256), so split(X) * (1/y in lane form) = x/y * 2^256;
//             times 16 it is the integer x/y (+ p at most), made canonical by one subtraction.
//             That integer times 2^516 mod r is (x/y mod r) * 2^256 mod r (< 2r), the scalar
//             field's Montgomery form after one subtraction of r.
//
// Files that instantiate this with Avx512Lanes are built with AVX-512 enabled; nothing here may
// call a non-template inline function of another header (see field/lanes_avx512.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/field/lanes.hpp"
#include "kernels/verkle/bandersnatch_fr.hpp"
#include "kernels/verkle/bls12_381_fr.hpp"

namespace arbor::verkle::lanes_detail {

using field::kLaneLimbs;
using field::kLanes;

// One row of eight points, 64-bit words limb-major ([word][lane]), as the portable side gathers
// them; y_lane and prefix are the forward pass's lane values for the backward pass.
struct MapRow {
  alignas(64) std::uint64_t x[4][kLanes];
  alignas(64) std::uint64_t y[4][kLanes];
  alignas(64) std::uint64_t y_lane[kLaneLimbs][kLanes];
  alignas(64) std::uint64_t prefix[kLaneLimbs][kLanes];
};

// Eight lane values in MontField words ([word][lane]): the lane totals and their inverses.
struct LaneWords {
  alignas(64) std::uint64_t w[4][kLanes];
};

template <class L>
struct LaneMapToField {
  using Base = field::LaneField<L, Bls12381FrParams>;
  using Scalar = field::LaneField<L, BandersnatchFrParams>;
  using BaseElem = typename Base::Elem;
  using ScalarElem = typename Scalar::Elem;

  // Constants as plain arrays (broadcast reads radix-2^52 limbs): 1 in lane form (2^260 mod p),
  // 16, and 2^516 mod r.
  static constexpr field::lanes_detail::Limbs52 kOneA =
      field::lanes_detail::split52(Base::K::kR260);
  static constexpr field::lanes_detail::Limbs52 kScalarFromA =
      field::lanes_detail::split52(mont_detail::pow2_mod(516, BandersnatchFrParams::kModulus));
  static constexpr std::uint64_t kOne[kLaneLimbs] = {kOneA[0], kOneA[1], kOneA[2], kOneA[3],
                                                     kOneA[4]};
  static constexpr std::uint64_t kSixteen[kLaneLimbs] = {16, 0, 0, 0, 0};
  static constexpr std::uint64_t kScalarFrom[kLaneLimbs] = {
      kScalarFromA[0], kScalarFromA[1], kScalarFromA[2], kScalarFromA[3], kScalarFromA[4]};

  ARBOR_LANE_INLINE static BaseElem load(const std::uint64_t (&limbs)[kLaneLimbs][kLanes]) {
    BaseElem e{};
    ARBOR_LANE_UNROLL
    for (int k = 0; k < kLaneLimbs; ++k) e.l[k] = L::load(limbs[k]);
    return e;
  }
  ARBOR_LANE_INLINE static void store(const BaseElem& e,
                                      std::uint64_t (&limbs)[kLaneLimbs][kLanes]) {
    ARBOR_LANE_UNROLL
    for (int k = 0; k < kLaneLimbs; ++k) L::store(limbs[k], e.l[k]);
  }

  // Fills each row's y_lane and prefix; total receives the eight lane products (canonical words).
  static void forward(MapRow* rows, std::size_t count, LaneWords& total) {
    BaseElem acc = Base::broadcast(kOne);
    for (std::size_t r = 0; r < count; ++r) {
      const BaseElem y = Base::from_words(rows[r].y);
      store(y, rows[r].y_lane);
      store(acc, rows[r].prefix);
      acc = Base::mul(acc, y);
    }
    Base::to_words(acc, total.w);
  }

  // From the inverted totals, each row's outputs: out[r] = the scalar field words of x/y.
  static void backward(const MapRow* rows, std::size_t count, const LaneWords& inverse,
                       LaneWords* out) {
    const BaseElem sixteen = Base::broadcast(kSixteen);
    const ScalarElem scalar_from = Scalar::broadcast(kScalarFrom);
    BaseElem inv = Base::from_words(inverse.w);
    for (std::size_t r = count; r-- > 0;) {
      const BaseElem inv_y = Base::mul(inv, load(rows[r].prefix));
      inv = Base::mul(inv, load(rows[r].y_lane));
      const BaseElem ratio = Base::mul(Base::split(rows[r].x), inv_y);
      const BaseElem integer = Base::sub_if_at_least(Base::mul(ratio, sixteen), Base::K::kP52);
      std::uint64_t words[4][kLanes];
      Base::join(integer, words);
      const ScalarElem in_scalar =
          Scalar::sub_if_at_least(Scalar::mul(Scalar::split(words), scalar_from), Scalar::K::kP52);
      Scalar::join(in_scalar, out[r].w);
    }
  }
};

// The AVX-512 instantiations (map_to_field_lanes_avx512.cpp). Precondition:
// cpu_features().has_ifma_path().
void map_forward_avx512(MapRow* rows, std::size_t count, LaneWords& total);
void map_backward_avx512(const MapRow* rows, std::size_t count, const LaneWords& inverse,
                         LaneWords* out);

}  // namespace arbor::verkle::lanes_detail
