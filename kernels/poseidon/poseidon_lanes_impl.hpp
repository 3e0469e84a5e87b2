// The eight-lane Poseidon permutation over LaneField (kernels/field/lanes.hpp), written once for
// every vector implementation: poseidon_lanes.cpp instantiates it with EmulatedLanes,
// poseidon_lanes_avx512.cpp with Avx512Lanes. The same rounds as permute<T> (poseidon.hpp), each
// lane one independent state; constants are broadcast to all lanes.
//
// Bounds (LaneField: mul, sqr and reduce of a sum below 2^260 * p give < 2p). Invariant: every
// state element is < 2p at round boundaries.
//   * state + round constant (< p): < 3p, the S-box input. x^2 = sqr(< 3p): 9p^2 < 2^260 p;
//     x^4 = sqr(< 2p); x^5 = mul(< 2p, < 3p): all < 2p.
//   * dense mixing and partial-round element 0: reduce(sum of t products constant (< p) times
//     state (< 2p)) needs 2t * p < 2^260, static_asserted below for every width up to kMaxWidth;
//     t <= 17 products is far below a Wide's kMaxProducts.
//   * partial-round elements 1..t-1: state + mul(...) < 4p, then minus 2p when >= 2p: < 2p.
// Only element 0 leaves the lanes (to_words makes it canonical), so outputs are bit-identical to
// permute<T>'s.
//
// Files that instantiate this with Avx512Lanes are built with AVX-512 enabled; nothing here may
// call a non-template inline function of another header (see lanes_avx512.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "kernels/field/bn254_fr.hpp"
#include "kernels/field/lanes.hpp"
#include "kernels/poseidon/poseidon.hpp"

namespace arbor::poseidon::lanes_detail {

using field::kLaneLimbs;
using field::kLanes;

// One width's constants in lane form (c * 2^260 mod p, canonical, radix-2^52 limbs), five words per
// constant, at the offsets of PoseidonLayout (times five). Plain pointers: the AVX-512 unit must
// not touch std::vector.
struct LaneTablesView {
  const std::uint64_t* first_full;   // [kFullRounds/2][t]
  const std::uint64_t* partial;      // [rounds_partial]
  const std::uint64_t* second_full;  // [kFullRounds/2][t]
  const std::uint64_t* mds;          // [t][t]
  const std::uint64_t* pre_sparse;   // [t][t]
  const std::uint64_t* sparse;       // [rounds_partial][2t-1]
  int width;
  int rounds_partial;
};

using LaneP = field::Bn254FrParams;
static_assert(field::LaneConstants<LaneP>::kBits + 6 <= 260,
              "2 * kMaxWidth * p < 2^260: the mixing sums of every width reduce below 2p");
static_assert(2 * kMaxWidth <= 64, "the static_assert above takes 2 * kMaxWidth <= 2^6");

template <class L>
struct LanePoseidon {
  using F = field::LaneField<L, LaneP>;
  using Elem = typename F::Elem;
  using Wide = typename F::Wide;
  // Groups of eight permuted together (see permute): the same for every implementation, so that
  // the emulation tests the very code the AVX-512 unit runs.
  static constexpr int kInFlight = 2;

  ARBOR_LANE_INLINE static const std::uint64_t* at(const std::uint64_t* base, int index) {
    return base + static_cast<std::size_t>(index) * kLaneLimbs;
  }

  ARBOR_LANE_INLINE static Elem pow5(const Elem& x) {
    const Elem x2 = F::sqr(x);
    return F::mul(F::sqr(x2), x);
  }

  // State of G groups in flight: s[g * cap + i] is element i of group g. Each step runs for every
  // group back to back, so a core has G independent dependency chains to overlap (the partial
  // rounds' S-box chain is otherwise latency-bound).
  template <int T>
  static constexpr int kCap = kStateCapacity<T>;

  template <int T, int G>
  static void full_round(Elem* s, const std::uint64_t* constants, const std::uint64_t* matrix,
                         int t) {
    for (int i = 0; i < t; ++i) {
      const Elem c = F::broadcast(at(constants, i));
      for (int g = 0; g < G; ++g) s[g * kCap<T> + i] = pow5(F::add(s[g * kCap<T> + i], c));
    }
    Elem mixed[G * kCap<T>];
    for (int i = 0; i < t; ++i) {
      Wide acc[G];
      for (int g = 0; g < G; ++g) acc[g] = F::wide_zero();
      for (int j = 0; j < t; ++j) {
        const Elem m = F::broadcast(at(matrix, i * t + j));
        for (int g = 0; g < G; ++g) F::mac(acc[g], m, s[g * kCap<T> + j]);
      }
      for (int g = 0; g < G; ++g) mixed[g * kCap<T> + i] = F::reduce(acc[g]);
    }
    for (int g = 0; g < G; ++g) {
      for (int i = 0; i < t; ++i) s[g * kCap<T> + i] = mixed[g * kCap<T> + i];
    }
  }

  template <int T, int G>
  static void permute(Elem* s, const LaneTablesView& tb) {
    constexpr int kHalf = kFullRounds / 2;
    const int t = T > 0 ? T : tb.width;
    for (int r = 0; r < kHalf; ++r) {
      full_round<T, G>(s, tb.first_full + static_cast<std::size_t>(r * t) * kLaneLimbs,
                       r == kHalf - 1 ? tb.pre_sparse : tb.mds, t);
    }
    for (int r = 0; r < tb.rounds_partial; ++r) {
      const std::uint64_t* sparse =
          tb.sparse + static_cast<std::size_t>(r * (2 * t - 1)) * kLaneLimbs;
      const Elem c = F::broadcast(at(tb.partial, r));
      Elem s0[G];
      Wide first[G];
      for (int g = 0; g < G; ++g) {
        s0[g] = pow5(F::add(s[g * kCap<T>], c));
        first[g] = F::wide_zero();
      }
      const Elem m00 = F::broadcast(at(sparse, 0));
      for (int g = 0; g < G; ++g) F::mac(first[g], m00, s0[g]);
      for (int j = 1; j < t; ++j) {
        const Elem row = F::broadcast(at(sparse, j)), column = F::broadcast(at(sparse, t - 1 + j));
        for (int g = 0; g < G; ++g) {
          Elem& sj = s[g * kCap<T> + j];
          F::mac(first[g], row, sj);  // the old s[j], as permute<T>
          sj = F::sub_if_at_least(F::add(sj, F::mul(column, s0[g])), F::K::k2P52);
        }
      }
      for (int g = 0; g < G; ++g) s[g * kCap<T>] = F::reduce(first[g]);
    }
    for (int r = 0; r < kHalf; ++r) {
      full_round<T, G>(s, tb.second_full + static_cast<std::size_t>(r * t) * kLaneLimbs, tb.mds, t);
    }
  }

  // Element j of eight consecutive Fr rows (row stride `stride` elements), limb-major.
  static void gather(const Fr* rows, std::size_t stride, int j, std::uint64_t (&words)[4][kLanes]) {
    for (int lane = 0; lane < kLanes; ++lane) {
      const Fr& x = rows[static_cast<std::size_t>(lane) * stride + static_cast<std::size_t>(j)];
      for (int w = 0; w < 4; ++w) words[w][lane] = x.limb[w];
    }
  }
  static void scatter(const std::uint64_t (&words)[4][kLanes], Fr* rows, std::size_t stride,
                      int j) {
    for (int lane = 0; lane < kLanes; ++lane) {
      Fr& x = rows[static_cast<std::size_t>(lane) * stride + static_cast<std::size_t>(j)];
      for (int w = 0; w < 4; ++w) x.limb[w] = words[w][lane];
    }
  }

  // G groups of 8 hashes from `inputs` ([G * 8][t - 1]) to `outputs` ([G * 8]); state
  // [0, inputs...].
  template <int T, int G>
  static void hash_step(const LaneTablesView& tb, const Fr* inputs, Fr* outputs) {
    const int t = T > 0 ? T : tb.width;
    const auto arity = static_cast<std::size_t>(t - 1);
    Elem s[G * kCap<T>];
    std::uint64_t words[4][kLanes];
    for (int g = 0; g < G; ++g) {
      const Fr* rows = inputs + static_cast<std::size_t>(g) * kLanes * arity;
      s[g * kCap<T>] = F::zero();  // the capacity element; 0 is 0 in every Montgomery form
      for (int j = 1; j < t; ++j) {
        gather(rows, arity, j - 1, words);
        s[g * kCap<T> + j] = F::from_words(words);
      }
    }
    permute<T, G>(s, tb);
    for (int g = 0; g < G; ++g) {
      F::to_words(s[g * kCap<T>], words);
      scatter(words, outputs + static_cast<std::size_t>(g) * kLanes, 1, 0);
    }
  }

  // G groups of 8 states of t elements, permuted in place.
  template <int T, int G>
  static void permute_step(const LaneTablesView& tb, Fr* states) {
    const int t = T > 0 ? T : tb.width;
    const auto width = static_cast<std::size_t>(t);
    Elem s[G * kCap<T>];
    std::uint64_t words[4][kLanes];
    for (int g = 0; g < G; ++g) {
      for (int j = 0; j < t; ++j) {
        gather(states + static_cast<std::size_t>(g) * kLanes * width, width, j, words);
        s[g * kCap<T> + j] = F::from_words(words);
      }
    }
    permute<T, G>(s, tb);
    for (int g = 0; g < G; ++g) {
      for (int j = 0; j < t; ++j) {
        F::to_words(s[g * kCap<T> + j], words);
        scatter(words, states + static_cast<std::size_t>(g) * kLanes * width, width, j);
      }
    }
  }

  // kInFlight groups at a time, then a last single group.
  template <int T>
  static void hash_groups(const LaneTablesView& tb, const Fr* inputs, Fr* outputs,
                          std::size_t groups) {
    const auto arity = static_cast<std::size_t>((T > 0 ? T : tb.width) - 1);
    std::size_t g = 0;
    for (; g + kInFlight <= groups; g += kInFlight) {
      hash_step<T, kInFlight>(tb, inputs + g * kLanes * arity, outputs + g * kLanes);
    }
    for (; g < groups; ++g) hash_step<T, 1>(tb, inputs + g * kLanes * arity, outputs + g * kLanes);
  }
  template <int T>
  static void permute_groups(const LaneTablesView& tb, Fr* states, std::size_t groups) {
    const auto width = static_cast<std::size_t>(T > 0 ? T : tb.width);
    std::size_t g = 0;
    for (; g + kInFlight <= groups; g += kInFlight) {
      permute_step<T, kInFlight>(tb, states + g * kLanes * width);
    }
    for (; g < groups; ++g) permute_step<T, 1>(tb, states + g * kLanes * width);
  }

  // Widths 2..6 (the common ones) get their own unrolled code; wider ones share the run-time
  // width, as on the GPU. The emulation (a test reference, never the fast path) runs every width
  // through the run-time-width code: the same template, one sixth of the code to compile (fully
  // inlined emulated lanes cost g++ minutes per width).
  static constexpr bool kSpecializeWidths = !std::is_same_v<L, field::EmulatedLanes>;

  template <class Fn>
  static void with_width(int t, Fn&& fn) {
    if constexpr (!kSpecializeWidths) {
      fn.template operator()<0>();
      return;
    }
    switch (t) {
      case 2:
        fn.template operator()<2>();
        return;
      case 3:
        fn.template operator()<3>();
        return;
      case 4:
        fn.template operator()<4>();
        return;
      case 5:
        fn.template operator()<5>();
        return;
      case 6:
        fn.template operator()<6>();
        return;
      default:
        fn.template operator()<0>();
        return;
    }
  }

  static void hash(const LaneTablesView& tb, const Fr* inputs, Fr* outputs, std::size_t groups) {
    with_width(tb.width, [&]<int T>() { hash_groups<T>(tb, inputs, outputs, groups); });
  }
  static void permute_states(const LaneTablesView& tb, Fr* states, std::size_t groups) {
    with_width(tb.width, [&]<int T>() { permute_groups<T>(tb, states, groups); });
  }
};

// The AVX-512 instantiation (poseidon_lanes_avx512.cpp). Precondition:
// field::cpu_features().has_ifma_path().
void hash_groups_avx512(const LaneTablesView& tables, const Fr* inputs, Fr* outputs,
                        std::size_t groups);
void permute_groups_avx512(const LaneTablesView& tables, Fr* states, std::size_t groups);

}  // namespace arbor::poseidon::lanes_detail
