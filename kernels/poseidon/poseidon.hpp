// Poseidon over BN254 exactly as circomlib / circomlibjs / go-iden3-crypto compute it: state
// [capacity, inputs...], x^5 S-box, 8 full rounds around R_P partial rounds. The permutation below
// is the sparse ("optimized") form; `reference_permutation` in poseidon_params.hpp is the plain one
// and tests hold the two equal.
#pragma once

#include "kernels/field/arith.hpp"
#include "kernels/field/bn254_fr.hpp"
#include "kernels/hd.hpp"

namespace arbor::poseidon {

using field::Fr;

inline constexpr int kMinWidth = 2;   // t = inputs + 1
inline constexpr int kMaxWidth = 17;  // 16 inputs
inline constexpr int kFullRounds = 8;

// Pointers into one flat array of per-width constants (host memory on the CPU path, device memory
// on the GPU path); PoseidonLayout in poseidon_params.hpp says where each part starts.
struct PoseidonTables {
  const Fr* first_full_constants;   // [kFullRounds/2][t]
  const Fr* partial_constants;      // [rounds_partial]: one constant, on element 0
  const Fr* second_full_constants;  // [kFullRounds/2][t]
  const Fr* mds;                    // [t][t], out[i] = sum_j mds[i][j] * in[j]
  const Fr* pre_sparse_mds;         // [t][t], mixing of the last full round before the partials
  const Fr* sparse_rounds;          // [rounds_partial][2t-1]: m00, row 0 tail, column 0 tail
  int width;
  int rounds_partial;
};

// The permutation is templated on the width T so that loops over the state unroll and the state
// lives in registers. T = 0 means "the width in the tables, known at run time": nvcc uses it for
// the wide, rarely hashed widths, because specialising all 16 widths takes minutes to compile.
template <int T>
inline constexpr int kStateCapacity = T > 0 ? T : kMaxWidth;

#if defined(__CUDA_ARCH__)
#define ARBOR_UNROLL_STATE _Pragma("unroll")
#define ARBOR_NO_UNROLL _Pragma("unroll 1")
#else
#define ARBOR_UNROLL_STATE
#define ARBOR_NO_UNROLL
#endif

template <int T>
ARBOR_HD int runtime_width(const PoseidonTables& tables) {
  if constexpr (T > 0) {
    return T;
  } else {
    return tables.width;
  }
}

template <int T, class A>
ARBOR_HD void mix_dense(Fr* state, const Fr* matrix, int t) {
  Fr mixed[kStateCapacity<T>];
  // Unrolled too (for T > 0): a dynamically indexed mixed[] would live in local memory.
  ARBOR_UNROLL_STATE
  for (int i = 0; i < t; ++i) {
    if constexpr (T > 0) {
      mixed[i] = field::dot_with<A, T>(matrix + i * t, state);  // one reduction per row (ADX)
    } else {
      Fr acc = A::mul(matrix[i * t], state[0]);
      for (int j = 1; j < t; ++j) acc = field::add(acc, A::mul(matrix[i * t + j], state[j]));
      mixed[i] = acc;
    }
  }
  ARBOR_UNROLL_STATE
  for (int i = 0; i < t; ++i) state[i] = mixed[i];
}

template <int T, class A>
ARBOR_HD void full_round(Fr* state, const Fr* constants, const Fr* matrix, int t) {
  ARBOR_UNROLL_STATE
  for (int i = 0; i < t; ++i) state[i] = field::pow5_of_sum_with<A>(state[i], constants[i]);
  mix_dense<T, A>(state, matrix, t);
}

// One partial round (r): the S-box on element 0, then the sparse mix.
template <int T, class A>
ARBOR_HD void partial_round(Fr* state, const PoseidonTables& tables, int t, int r) {
  const Fr s0 = field::pow5_of_sum_with<A>(state[0], tables.partial_constants[r]);
  const Fr* sparse = tables.sparse_rounds + r * (2 * t - 1);
  // The new element 0 is row 0 of the sparse matrix times (s0, state[1..t)), read before the
  // column tail updates state[1..t).
  Fr first;
  if constexpr (T > 0) {
    // s0's product last: the others need not wait for the S-box.
    first = field::dot_plus_with<A, T - 1>(sparse + 1, state + 1, sparse[0], s0);
  } else {
    first = A::mul(sparse[0], s0);
    for (int j = 1; j < t; ++j) first = field::add(first, A::mul(sparse[j], state[j]));
  }
  ARBOR_UNROLL_STATE
  for (int j = 1; j < t; ++j) state[j] = field::add(state[j], A::mul(sparse[t - 1 + j], s0));
  state[0] = first;
}

// Permutes state[0..t) in place, multiplying with the arithmetic policy A (field/arith.hpp).
template <int T, class A = field::PortableArith>
ARBOR_HD void permute(Fr* state, const PoseidonTables& tables) {
  constexpr int kHalf = kFullRounds / 2;
  const int t = runtime_width<T>(tables);
  // The last round of the first half mixes with pre_sparse_mds: peeled off, so that the loop's
  // matrix is one fixed table (on the GPU, constant-memory operands at fixed offsets).
  ARBOR_NO_UNROLL
  for (int r = 0; r < kHalf - 1; ++r) {
    full_round<T, A>(state, tables.first_full_constants + r * t, tables.mds, t);
  }
  full_round<T, A>(state, tables.first_full_constants + (kHalf - 1) * t, tables.pre_sparse_mds, t);
  ARBOR_NO_UNROLL
  for (int r = 0; r < tables.rounds_partial; ++r) partial_round<T, A>(state, tables, t, r);
  ARBOR_NO_UNROLL
  for (int r = 0; r < kHalf; ++r) {
    full_round<T, A>(state, tables.second_full_constants + r * t, tables.mds, t);
  }
}

// Calls f.template operator()<T>() for a width known only at run time; false if t is out of range.
template <typename F>
bool dispatch_width(int t, F&& f) {
  switch (t) {
#define ARBOR_POSEIDON_WIDTH_CASE(W) \
  case W:                            \
    f.template operator()<W>();      \
    return true;
    ARBOR_POSEIDON_WIDTH_CASE(2)
    ARBOR_POSEIDON_WIDTH_CASE(3)
    ARBOR_POSEIDON_WIDTH_CASE(4)
    ARBOR_POSEIDON_WIDTH_CASE(5)
    ARBOR_POSEIDON_WIDTH_CASE(6)
    ARBOR_POSEIDON_WIDTH_CASE(7)
    ARBOR_POSEIDON_WIDTH_CASE(8)
    ARBOR_POSEIDON_WIDTH_CASE(9)
    ARBOR_POSEIDON_WIDTH_CASE(10)
    ARBOR_POSEIDON_WIDTH_CASE(11)
    ARBOR_POSEIDON_WIDTH_CASE(12)
    ARBOR_POSEIDON_WIDTH_CASE(13)
    ARBOR_POSEIDON_WIDTH_CASE(14)
    ARBOR_POSEIDON_WIDTH_CASE(15)
    ARBOR_POSEIDON_WIDTH_CASE(16)
    ARBOR_POSEIDON_WIDTH_CASE(17)
#undef ARBOR_POSEIDON_WIDTH_CASE
    default:
      return false;
  }
}

}  // namespace arbor::poseidon
