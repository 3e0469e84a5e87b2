// Poseidon: every known answer in shared/vectors, the sparse form against the textbook
// permutation for every width, and the argument checks.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/field/bn254_fr_text.hpp"
#include "kernels/poseidon/poseidon_hash.hpp"
#include "kernels/poseidon/poseidon_params.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::poseidon {
namespace {

Fr fr(const std::string& text) {
  absl::StatusOr<Fr> v = field::parse_fr(text);
  EXPECT_TRUE(v.ok()) << text << ": " << v.status();
  return v.value_or(Fr::zero());
}

TEST(PoseidonVectors, EveryHashVector) {
  const nlohmann::json vectors =
      testing::read_json(testing::vectors_dir() / "poseidon_bn254_circom.json");
  ASSERT_GE(vectors.at("hash").size(), 1u);
  for (const auto& v : vectors.at("hash")) {
    std::vector<Fr> inputs;
    for (const auto& x : v.at("inputs")) inputs.push_back(fr(x.get<std::string>()));
    ASSERT_EQ(static_cast<int>(inputs.size()) + 1, v.at("t").get<int>());
    const Fr init = fr(v.at("init_state").get<std::string>());
    absl::StatusOr<std::vector<Fr>> out = permutation_outputs(inputs, init, 1);
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(field::to_decimal(out->front()), v.at("output_dec").get<std::string>()) << v.dump();
    EXPECT_EQ(field::to_hex(out->front()), v.at("output_hex").get<std::string>()) << v.dump();
    if (init.is_zero()) {
      EXPECT_EQ(*hash(inputs), out->front());
    }
  }
}

TEST(PoseidonVectors, PermutationVectors) {
  const nlohmann::json vectors =
      testing::read_json(testing::vectors_dir() / "poseidon_bn254_circom.json");
  const auto& perms = vectors.at("permutation");
  ASSERT_EQ(perms.size(), 2u);
  for (const auto& [name, expected] : perms.items()) {
    const int t = static_cast<int>(expected.size());
    std::vector<Fr> inputs;
    for (int i = 1; i < t; ++i) inputs.push_back(field::from_u64(static_cast<std::uint64_t>(i)));
    absl::StatusOr<std::vector<Fr>> out = permutation_outputs(inputs, Fr::zero(), t);
    ASSERT_TRUE(out.ok()) << out.status();
    for (int i = 0; i < t; ++i) {
      EXPECT_EQ(field::to_hex((*out)[i]), expected[i].get<std::string>())
          << name << " output " << i;
    }
  }
}

TEST(PoseidonParams, GeneratedConstantsMatchPublishedValues) {
  // circomlib's first round constant for t = 3 and the table sizes of every width.
  EXPECT_EQ(field::to_hex(poseidon_params(3).round_constants[0]),
            "0x0ee9a592ba9a9518d05986d656f40c2114c4993c11bb29938d21d47304cd8e6e");
  for (int t = kMinWidth; t <= kMaxWidth; ++t) {
    const PoseidonParams& p = poseidon_params(t);
    EXPECT_EQ(p.round_constants.size(),
              static_cast<std::size_t>((kFullRounds + p.rounds_partial) * t));
    EXPECT_EQ(p.mds.size(), static_cast<std::size_t>(t * t));
    EXPECT_EQ(p.optimized.size(), p.layout.total);
  }
  // The generator is deterministic: a fresh run equals the cached one.
  const PoseidonParams fresh = generate_poseidon_params(5);
  EXPECT_EQ(fresh.round_constants, poseidon_params(5).round_constants);
  EXPECT_EQ(fresh.optimized, poseidon_params(5).optimized);
}

TEST(PoseidonParams, SparseFormEqualsTextbookPermutationForEveryWidth) {
  std::mt19937_64 rng = testing::seeded_rng("PoseidonParams.SparseFormEqualsTextbook");
  for (int t = kMinWidth; t <= kMaxWidth; ++t) {
    const PoseidonParams& params = poseidon_params(t);
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<Fr> inputs;
      for (int i = 1; i < t; ++i) inputs.push_back(testing::random_fr_with_edges(rng));
      const Fr capacity = trial % 2 ? testing::random_fr(rng) : Fr::zero();
      std::vector<Fr> expected{capacity};
      expected.insert(expected.end(), inputs.begin(), inputs.end());
      reference_permutation(params, expected);
      absl::StatusOr<std::vector<Fr>> got = permutation_outputs(inputs, capacity, t);
      ASSERT_TRUE(got.ok());
      ASSERT_EQ(*got, expected) << "t = " << t << " trial " << trial;
    }
  }
}

TEST(PoseidonParams, RuntimeWidthPermutationEqualsTextbook) {
  // permute<0> reads the width from the tables: the GPU's kernel for t > 6, run here on the host.
  std::mt19937_64 rng = testing::seeded_rng("PoseidonParams.RuntimeWidthPermutation");
  for (int t = kMinWidth; t <= kMaxWidth; ++t) {
    const PoseidonParams& params = poseidon_params(t);
    for (int trial = 0; trial < 5; ++trial) {
      std::vector<Fr> state(static_cast<std::size_t>(kMaxWidth));
      for (int i = 0; i < t; ++i) state[i] = testing::random_fr_with_edges(rng);
      std::vector<Fr> expected(state.begin(), state.begin() + t);
      reference_permutation(params, expected);
      permute<0>(state.data(), params.tables());
      ASSERT_EQ(std::vector<Fr>(state.begin(), state.begin() + t), expected) << "t = " << t;
    }
  }
}

TEST(PoseidonHash, RejectsBadArgumentCounts) {
  std::vector<Fr> none;
  EXPECT_EQ(hash(none).status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<Fr> seventeen(17, Fr::one());
  absl::Status too_many = hash(seventeen).status();
  EXPECT_EQ(too_many.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(too_many.message().find("1 to 16 inputs, got 17"), std::string::npos) << too_many;
  std::vector<Fr> two(2, Fr::one());
  EXPECT_EQ(permutation_outputs(two, Fr::zero(), 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(permutation_outputs(two, Fr::zero(), 4).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(permutation_outputs(two, Fr::zero(), 3).ok());
}

}  // namespace
}  // namespace arbor::poseidon
