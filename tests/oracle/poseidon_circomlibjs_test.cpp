// Differential test against circomlibjs (npm, tests/oracles): thousands of fresh random input
// sets over every width, with values at the edges of the field, capacities and several outputs.
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/field/bn254_fr_text.hpp"
#include "kernels/poseidon/poseidon_hash.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::poseidon {
namespace {

const std::filesystem::path kOracles = ARBOR_ORACLES_DIR;

struct Case {
  std::vector<Fr> inputs;
  Fr capacity;
  int outputs;
};

// Runs `node poseidon.mjs MODE` on the cases; returns one JSON object per case.
std::vector<nlohmann::json> run_oracle(const std::string& mode, const std::vector<Case>& cases) {
  std::string request;
  for (const Case& c : cases) {
    nlohmann::json line;
    for (const Fr& x : c.inputs) line["inputs"].push_back(field::to_decimal(x));
    line["init"] = field::to_decimal(c.capacity);
    line["nOut"] = c.outputs;
    request += line.dump() + "\n";
  }
  const testing::CommandResult r =
      testing::run_command("node '" + (kOracles / "poseidon.mjs").string() + "' " + mode, request);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<nlohmann::json> replies;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) replies.push_back(nlohmann::json::parse(line));
  return replies;
}

class CircomlibjsOracle : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(kOracles / "node_modules" / "circomlibjs"))
        << "the oracles are not installed: run `npm ci` in " << kOracles.string()
        << " (scripts/test does)";
  }
};

void expect_same(const std::vector<Case>& cases, const std::vector<nlohmann::json>& replies) {
  ASSERT_EQ(replies.size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    ASSERT_FALSE(replies[i].contains("error")) << replies[i].dump();
    absl::StatusOr<std::vector<Fr>> ours =
        permutation_outputs(cases[i].inputs, cases[i].capacity, cases[i].outputs);
    ASSERT_TRUE(ours.ok()) << ours.status();
    const auto& theirs = replies[i].at("out");
    ASSERT_EQ(theirs.size(), ours->size()) << "case " << i;
    for (std::size_t k = 0; k < ours->size(); ++k) {
      ASSERT_EQ(field::to_decimal((*ours)[k]), theirs[k].get<std::string>())
          << "case " << i << " (" << cases[i].inputs.size() << " inputs) output " << k;
    }
  }
}

// `per_arity(arity)` random cases for every arity 1..16; with `vary_capacity`, each case also gets
// a random capacity and asks for a random number of outputs.
template <typename CountFn>
std::vector<Case> random_cases(std::mt19937_64& rng, CountFn per_arity, bool vary_capacity) {
  std::vector<Case> cases;
  for (int arity = 1; arity <= 16; ++arity) {
    for (int i = 0; i < per_arity(arity); ++i) {
      Case c{{}, Fr::zero(), 1};
      if (vary_capacity) {
        c.capacity = testing::random_fr_with_edges(rng);
        c.outputs = 1 + static_cast<int>(rng() % static_cast<unsigned>(arity + 1));
      }
      for (int k = 0; k < arity; ++k) c.inputs.push_back(testing::random_fr_with_edges(rng));
      cases.push_back(std::move(c));
    }
  }
  return cases;
}

TEST_F(CircomlibjsOracle, RandomInputsEveryWidth) {
  std::mt19937_64 rng = testing::seeded_rng("CircomlibjsOracle.RandomInputsEveryWidth");
  // The SMT's widths (2 and 3 inputs) get the most cases.
  const auto cases = random_cases(
      rng, [](int arity) { return arity == 2 || arity == 3 ? 1500 : 150; }, false);
  expect_same(cases, run_oracle("hash", cases));
}

TEST_F(CircomlibjsOracle, CapacityAndSeveralOutputs) {
  std::mt19937_64 rng = testing::seeded_rng("CircomlibjsOracle.CapacityAndSeveralOutputs");
  const auto cases = random_cases(
      rng, [](int) { return 20; }, true);
  expect_same(cases, run_oracle("hash", cases));
}

TEST_F(CircomlibjsOracle, PureJsReferenceAgreesToo) {
  // circomlibjs' plain JS reference is independent of its wasm build; a smaller random set.
  std::mt19937_64 rng = testing::seeded_rng("CircomlibjsOracle.PureJsReference");
  const auto cases = random_cases(
      rng, [](int) { return 10; }, false);
  expect_same(cases, run_oracle("reference", cases));
}

}  // namespace
}  // namespace arbor::poseidon
