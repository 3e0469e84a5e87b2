// The eight-lane fixed-base addition loop over LaneField (kernels/field/lanes.hpp), written once
// for every vector implementation: fixed_base_lanes.cpp instantiates it with EmulatedLanes,
// fixed_base_lanes_avx512.cpp with Avx512Lanes. Each lane runs the mixed additions of
// fixed_base_accumulate (fixed_base.hpp) for its own scalar and generator; recoding the scalars
// and choosing the entries happens outside, in portable code (fixed_base_lanes.cpp), so that the
// AVX-512 unit holds arithmetic only.
//
// Table entries are read in lane form, x * 2^260 mod p (PedersenTables::lane_entries), so lane
// values are the scalar path's field elements in another Montgomery radix and every result is the
// scalar path's point, coordinate for coordinate.
//
// Bounds (LaneField: a product below 2^260 * p reduces below 2p; BLS12-381 Fr has p < 2^255, so
// any product below 32 p^2 qualifies). Invariant: accumulator coordinates are < 2p between
// additions; entries are canonical (< p), negated ones p - x (<= p).
//   A, B, C, (X1 + Y1)(x + y): at most 4p * 2p, reduced below 2p.
//   E = P + 4p - (A + B) < 6p, then minus 4p where >= 4p: < 4p.
//   F = Z1 + 2p - C < 4p; G = Z1 + C < 4p; A' = A reduced below p; H = B + 5A' < 7p.
//   X3 = E F, Y3 = G H, T3 = E H, Z3 = F G: at most 28 p^2.
//
// Files that instantiate this with Avx512Lanes are built with AVX-512 enabled; nothing here may
// call a non-template inline function of another header (see field/lanes_avx512.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/field/lanes.hpp"
#include "kernels/verkle/bls12_381_fr.hpp"

namespace arbor::verkle::lanes_detail {

using field::kLaneLimbs;
using field::kLanes;

// The most signed windows a scalar has (2-bit windows; fixed_base_detail::kMaxWindows).
inline constexpr int kMaxLaneWindows = 127;
// A table entry (PrecomputedPoint: x, y, d*x*y) in 64-bit words.
inline constexpr int kEntryWords = 12;

// One round: every lane adds the table entries of one scalar to its accumulator. Masks are
// all-ones (true) or zero per lane.
struct LaneRound {
  const std::uint64_t* table = nullptr;  // lane-form entries, kEntryWords words each
  int windows = 0;
  // Per window and lane: the word offset of the entry to add, whether to subtract it (a negative
  // digit) and whether to keep the accumulator instead (a zero digit, or an idle lane).
  alignas(64) std::uint64_t entry[kMaxLaneWindows][kLanes];
  alignas(64) std::uint64_t negate[kMaxLaneWindows][kLanes];
  alignas(64) std::uint64_t skip[kMaxLaneWindows][kLanes];
  // Lanes whose mask is set start from start_point (MontField limbs, [X, Y, T, Z][word][lane])
  // instead of their accumulator.
  alignas(64) std::uint64_t start[kLanes];
  alignas(64) std::uint64_t start_point[4][4][kLanes];
};

// The accumulators between rounds, in lane form: [X, Y, T, Z][limb][lane].
struct LaneAccumulators {
  alignas(64) std::uint64_t limb[4][kLaneLimbs][kLanes];
};

// Every lane's accumulator after a round, canonical MontField limbs: [X, Y, T, Z][word][lane].
struct LanePoints {
  alignas(64) std::uint64_t word[4][4][kLanes];
};

using LaneFpParams = Bls12381FrParams;
static_assert(field::LaneConstants<LaneFpParams>::kBits <= 255,
              "the bounds above take p < 2^255: 28 p^2 < 2^260 p");

template <class L>
struct LaneFixedBase {
  using F = field::LaneField<L, LaneFpParams>;
  using K = typename F::K;
  using Elem = typename F::Elem;
  using V = typename L::V;
  struct LanePoint {
    Elem X, Y, T, Z;
  };
  // Entries of the window this many ahead are prefetched (the tables are far larger than the
  // caches, and each window's entries are eight random reads).
  static constexpr int kPrefetchDistance = 2;

  // Field f (0: x, 1: y, 2: d*x*y) of each lane's entry.
  ARBOR_LANE_INLINE static Elem load_field(const std::uint64_t* table, const V& entry, int f) {
    const V w0 = L::add(entry, L::set1(static_cast<std::uint64_t>(4 * f)));
    return F::split(L::gather(table, w0), L::gather(table, L::add(w0, L::set1(1))),
                    L::gather(table, L::add(w0, L::set1(2))),
                    L::gather(table, L::add(w0, L::set1(3))));
  }

  // p + (x, y, t=x*y) mixed addition (banderwagon.hpp add_mixed, a = -5): 8 products.
  ARBOR_LANE_INLINE static LanePoint add_mixed(const LanePoint& p, const Elem& x, const Elem& y,
                                               const Elem& dxy) {
    const Elem a = F::mul(p.X, x);
    const Elem b = F::mul(p.Y, y);
    const Elem c = F::mul(p.T, dxy);
    const Elem cross = F::mul(F::add(p.X, p.Y), F::add(x, y));
    const Elem e = F::sub_if_at_least(F::sub_plus(cross, F::add(a, b), K::k4P52), K::k4P52);
    const Elem f = F::sub_plus(p.Z, c, K::k2P52);
    const Elem g = F::add(p.Z, c);
    const Elem a1 = F::sub_if_at_least(a, K::kP52);
    const Elem a2 = F::add(a1, a1);
    const Elem h = F::add(b, F::add(F::add(a2, a2), a1));  // B - a*A = B + 5A
    return LanePoint{F::mul(e, f), F::mul(g, h), F::mul(e, h), F::mul(f, g)};
  }

  ARBOR_LANE_INLINE static LanePoint select(const V& mask, const LanePoint& if_set,
                                            const LanePoint& otherwise) {
    return LanePoint{F::select(mask, if_set.X, otherwise.X), F::select(mask, if_set.Y, otherwise.Y),
                     F::select(mask, if_set.T, otherwise.T),
                     F::select(mask, if_set.Z, otherwise.Z)};
  }

  static void prefetch_window(const LaneRound& r, int j) {
    for (int lane = 0; lane < kLanes; ++lane) {
      const char* bytes = reinterpret_cast<const char*>(r.table + r.entry[j][lane]);
      __builtin_prefetch(bytes);
      __builtin_prefetch(bytes + 64);
      __builtin_prefetch(bytes + kEntryWords * 8 - 1);
    }
  }

  // G groups of eight side by side (independent chains for the core to overlap; one group's
  // addition is a dependency chain of two product layers): rounds[g] for states[g], into outs[g].
  template <int G>
  static void run(const LaneRound* const* rounds, LaneAccumulators* const* states,
                  LanePoints* const* outs) {
    LanePoint acc[G];
    for (int g = 0; g < G; ++g) {
      Elem* coordinates[4] = {&acc[g].X, &acc[g].Y, &acc[g].T, &acc[g].Z};
      for (int c = 0; c < 4; ++c) {
        for (int k = 0; k < kLaneLimbs; ++k) coordinates[c]->l[k] = L::load(states[g]->limb[c][k]);
      }
      const LaneRound& r = *rounds[g];
      const LanePoint start{F::from_words(r.start_point[0]), F::from_words(r.start_point[1]),
                            F::from_words(r.start_point[2]), F::from_words(r.start_point[3])};
      acc[g] = select(L::load(r.start), start, acc[g]);
    }
    const int windows = rounds[0]->windows;
    for (int j = 0; j < kPrefetchDistance && j < windows; ++j) {
      for (int g = 0; g < G; ++g) prefetch_window(*rounds[g], j);
    }
    for (int j = 0; j < windows; ++j) {
      for (int g = 0; g < G; ++g) {
        const LaneRound& r = *rounds[g];
        if (j + kPrefetchDistance < windows) prefetch_window(r, j + kPrefetchDistance);
        const V entry = L::load(r.entry[j]);
        const V negate = L::load(r.negate[j]);
        Elem x = load_field(r.table, entry, 0);
        const Elem y = load_field(r.table, entry, 1);
        Elem dxy = load_field(r.table, entry, 2);
        // -(x, y) = (-x, y), so d*x*y flips sign with x.
        x = F::select(negate, F::sub_plus(F::zero(), x, K::kP52), x);
        dxy = F::select(negate, F::sub_plus(F::zero(), dxy, K::kP52), dxy);
        acc[g] = select(L::load(r.skip[j]), acc[g], add_mixed(acc[g], x, y, dxy));
      }
    }
    for (int g = 0; g < G; ++g) {
      const Elem* coordinates[4] = {&acc[g].X, &acc[g].Y, &acc[g].T, &acc[g].Z};
      for (int c = 0; c < 4; ++c) {
        for (int k = 0; k < kLaneLimbs; ++k) L::store(states[g]->limb[c][k], coordinates[c]->l[k]);
        F::to_words(*coordinates[c], outs[g]->word[c]);
      }
    }
  }
};

// Groups run side by side (LaneFixedBase::run): kMaxGroups when there is work for them, else one.
inline constexpr int kMaxGroups = 2;

// The AVX-512 instantiation (fixed_base_lanes_avx512.cpp), for 1 <= groups <= kMaxGroups.
// Precondition: field::cpu_features().has_ifma_path().
void run_rounds_avx512(int groups, const LaneRound* const* rounds, LaneAccumulators* const* states,
                       LanePoints* const* outs);

}  // namespace arbor::verkle::lanes_detail
