// Per-width Poseidon parameters, generated at first use from the Grain LFSR exactly as the Poseidon
// paper's reference script does for circomlib's instances (field=1, sbox=0, n=254, R_F=8), then
// rewritten into the sparse partial-round form that `permute` runs.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "kernels/poseidon/poseidon.hpp"

namespace arbor::poseidon {

// Partial rounds for t = 2..17 (the Poseidon paper's choice for 128-bit security, as circomlib).
int partial_rounds_for_width(int t);

// Where each part of PoseidonTables lives inside one flat array.
struct PoseidonLayout {
  int width = 0;
  int rounds_partial = 0;
  std::size_t first_full = 0, partial = 0, second_full = 0, mds = 0, pre_sparse = 0, sparse = 0;
  std::size_t total = 0;

  static PoseidonLayout for_width(int t);
  PoseidonTables tables(const Fr* base) const;
};

struct PoseidonParams {
  int width = 0;
  int rounds_partial = 0;
  std::vector<Fr> round_constants;  // [(kFullRounds + rounds_partial)][t], as generated
  std::vector<Fr> mds;              // [t][t], out[i] = sum_j mds[i][j] * in[j]
  PoseidonLayout layout;
  std::vector<Fr> optimized;  // flat constants of the sparse form, per `layout`

  PoseidonTables tables() const { return layout.tables(optimized.data()); }
};

// Runs the generator (a few milliseconds). Precondition: kMinWidth <= t <= kMaxWidth.
PoseidonParams generate_poseidon_params(int t);

// Generated once per width and kept for the life of the process. Same precondition.
const PoseidonParams& poseidon_params(int t);

// The textbook permutation (full constant vectors and dense mixing in every round): the definition
// the sparse form must reproduce. state.size() must equal params.width.
void reference_permutation(const PoseidonParams& params, std::span<Fr> state);

}  // namespace arbor::poseidon
