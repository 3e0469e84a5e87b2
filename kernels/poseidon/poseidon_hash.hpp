// Single Poseidon hashes on the CPU: the API the CLI, tests and trees use for one value at a time.
// Bulk work goes through a compute backend (host/backend).
#pragma once

#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "kernels/field/arith_dispatch.hpp"
#include "kernels/poseidon/poseidon.hpp"

namespace arbor::poseidon {

// Poseidon(inputs) with capacity 0: state[0] after the permutation. 1..16 inputs.
absl::StatusOr<Fr> hash(std::span<const Fr> inputs);

// The permutation of [capacity, inputs...], returning its first `outputs` elements (1..t),
// like circomlibjs' poseidon(inputs, initState, nOut).
absl::StatusOr<std::vector<Fr>> permutation_outputs(std::span<const Fr> inputs, const Fr& capacity,
                                                    int outputs);

// permute<T> with the fastest field arithmetic this CPU runs (field/arith_dispatch.hpp). Loops over
// many states should dispatch once outside the loop instead.
template <int T>
void permute_fastest(Fr* state, const PoseidonTables& tables) {
  field::with_fastest_arith([&]<class A>() { permute<T, A>(state, tables); });
}

// Validates an input count and returns the width t = count + 1.
absl::StatusOr<int> width_for_inputs(std::size_t count);

}  // namespace arbor::poseidon
