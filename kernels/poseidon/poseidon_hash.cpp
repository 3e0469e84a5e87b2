#include "kernels/poseidon/poseidon_hash.hpp"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "kernels/poseidon/poseidon_params.hpp"

namespace arbor::poseidon {

absl::StatusOr<int> width_for_inputs(std::size_t count) {
  if (count < kMinWidth - 1 || count > kMaxWidth - 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("Poseidon takes 1 to ", kMaxWidth - 1, " inputs, got ", count));
  }
  return static_cast<int>(count) + 1;
}

absl::StatusOr<std::vector<Fr>> permutation_outputs(std::span<const Fr> inputs, const Fr& capacity,
                                                    int outputs) {
  absl::StatusOr<int> width = width_for_inputs(inputs.size());
  if (!width.ok()) return width.status();
  const int t = *width;
  if (outputs < 1 || outputs > t) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Poseidon with ", inputs.size(), " inputs has 1 to ", t, " outputs, asked for ", outputs));
  }
  const PoseidonTables tables = poseidon_params(t).tables();
  std::vector<Fr> result;
  dispatch_width(t, [&]<int T>() {
    Fr state[T];
    state[0] = capacity;
    for (int i = 1; i < T; ++i) state[i] = inputs[i - 1];
    permute_fastest<T>(state, tables);
    result.assign(state, state + outputs);
  });
  return result;
}

absl::StatusOr<Fr> hash(std::span<const Fr> inputs) {
  absl::StatusOr<std::vector<Fr>> out = permutation_outputs(inputs, Fr::zero(), 1);
  if (!out.ok()) return out.status();
  return out->front();
}

}  // namespace arbor::poseidon
