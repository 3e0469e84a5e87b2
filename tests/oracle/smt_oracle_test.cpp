// The SMT against its reference implementations (npm, tests/oracles): circomlibjs' SMT and
// @iden3/js-merkletree on fresh random workloads, both directions for proofs, and circomlib's
// SMTVerifier circuit (compiled with circom2) on our circom-format proofs.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <random>

#include "host/smt/smt_proof_codec.hpp"
#include "host/smt/smt_tree.hpp"
#include "kernels/field/bn254_fr_text.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::smt {
namespace {

using arbor::testing::TempDir;
using nlohmann::json;

const std::filesystem::path kOracles = ARBOR_ORACLES_DIR;

Fr small(std::uint64_t value) { return field::from_u64(value); }
std::string dec(const Fr& value) { return field::to_decimal(value); }

// Keys that share long path prefixes as well as random ones.
Fr random_key(std::mt19937_64& rng) {
  switch (rng() % 3) {
    case 0:
      return small(rng() % 256);
    case 1:
      return small((1 + rng() % 15) << (rng() % 40));
    default:
      return testing::random_fr(rng);
  }
}

// Runs `node SCRIPT args` and parses its one JSON object.
json run_node(const std::string& script, const std::string& args) {
  if (!std::filesystem::exists(kOracles / "node_modules" / "circomlibjs")) {
    ADD_FAILURE() << "the oracles are not installed: run `npm ci` in " << kOracles.string();
    return json();
  }
  const auto result =
      testing::run_command("cd '" + kOracles.string() + "' && node " + script + " " + args);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  json out = json::parse(result.out, nullptr, false);
  EXPECT_FALSE(out.is_discarded()) << result.out.substr(0, 500) << "\n" << result.err;
  return out;
}

class SmtOracleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::StoreOptions options;
    options.sync = storage::SyncMode::kNone;
    auto store = storage::Store::open(dir_.path() / "db", options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }
  TempDir dir_{"smt-oracle"};
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<host::ComputeBackend> backend_ = host::make_cpu_backend();
};

TEST_F(SmtOracleTest, SameRootsAndProofsBothWays) {
  auto rng = testing::seeded_rng("SmtOracle");
  constexpr int kMaxDepth = 64;
  auto tree = SmtTree::create(*store_, "diff", SmtCreateOptions{kMaxDepth, 0}, *backend_);
  ASSERT_TRUE(tree.ok()) << tree.status();

  json request = {{"max_levels", kMaxDepth + 1},
                  {"batches", json::array()},
                  {"prove", json::array()},
                  {"verify", json::array()}};
  std::vector<Fr> roots;
  std::vector<std::vector<SmtProof>> our_proofs;
  std::vector<bool> verify_expected;
  std::vector<Fr> keys;
  std::map<std::string, Fr> present;
  int total_ops = 0;
  for (int batch = 0; total_ops < 2500; ++batch) {
    const int size = 1 + static_cast<int>(rng() % (batch % 7 == 0 ? 400 : 60));
    std::vector<SmtOp> ops;
    json batch_json = json::array();
    for (int i = 0; i < size; ++i) {
      const bool reuse = !keys.empty() && rng() % 2;
      const Fr key = reuse ? keys[rng() % keys.size()] : random_key(rng);
      if (!reuse) keys.push_back(key);
      if (rng() % 4 == 0) {
        ops.push_back(SmtOp::erase(key));
        batch_json.push_back({{"op", "del"}, {"key", dec(key)}});
        present.erase(dec(key));
      } else {
        const Fr value = testing::random_fr_with_edges(rng);
        ops.push_back(SmtOp::put(key, value));
        batch_json.push_back({{"op", "put"}, {"key", dec(key)}, {"value", dec(value)}});
        present[dec(key)] = value;
      }
    }
    total_ops += size;
    auto applied = (*tree)->apply(ops);
    ASSERT_TRUE(applied.ok()) << applied.status();
    roots.push_back(applied->root);
    request["batches"].push_back(batch_json);

    json prove_keys = json::array();
    std::vector<SmtProof> proofs;
    for (int i = 0; i < 6; ++i) {
      const Fr key = i % 3 == 2 ? random_key(rng) : keys[rng() % keys.size()];
      auto proof = (*tree)->prove(key);
      ASSERT_TRUE(proof.ok()) << proof.status();
      prove_keys.push_back(dec(key));
      proofs.push_back(*proof);
      request["verify"].push_back(
          {{"root", dec(applied->root)}, {"proof", proof_to_json(*proof, applied->root)}});
      verify_expected.push_back(true);
      // The same proof tampered: another sibling, or another value.
      SmtProof bad = *proof;
      if (!bad.siblings.empty() && rng() % 2) {
        bad.siblings[rng() % bad.siblings.size()] = testing::random_fr(rng);
      } else if (bad.existence) {
        bad.value = field::add(bad.value, Fr::one());
      } else if (bad.aux) {
        bad.aux->value = field::add(bad.aux->value, Fr::one());
      } else {
        continue;
      }
      request["verify"].push_back(
          {{"root", dec(applied->root)}, {"proof", proof_to_json(bad, std::nullopt)}});
      verify_expected.push_back(false);
    }
    request["prove"].push_back(prove_keys);
    our_proofs.push_back(proofs);
  }

  const auto request_path = dir_.path() / "request.json";
  std::ofstream(request_path) << request.dump();
  const json response = run_node("smt.mjs", "'" + request_path.string() + "'");
  ASSERT_TRUE(response.is_object());

  const size_t batches = roots.size();
  ASSERT_EQ(response["circomlibjs_roots"].size(), batches);
  ASSERT_EQ(response["merkletree_roots"].size(), batches);
  for (size_t b = 0; b < batches; ++b) {
    ASSERT_EQ(response["circomlibjs_roots"][b].get<std::string>(), dec(roots[b])) << "batch " << b;
    ASSERT_EQ(response["merkletree_roots"][b].get<std::string>(), dec(roots[b])) << "batch " << b;
  }
  // Their proofs, checked by us; circomlibjs' siblings are ours exactly.
  int checked = 0;
  for (size_t b = 0; b < batches; ++b) {
    const json& theirs = response["proofs"][b];
    ASSERT_EQ(theirs.size(), our_proofs[b].size());
    for (size_t i = 0; i < theirs.size(); ++i) {
      const SmtProof& ours = our_proofs[b][i];
      const json& circom = theirs[i]["circomlibjs"];
      ASSERT_EQ(circom["siblings"].size(), ours.siblings.size()) << "batch " << b;
      for (size_t s = 0; s < ours.siblings.size(); ++s) {
        EXPECT_EQ(circom["siblings"][s].get<std::string>(), dec(ours.siblings[s]));
      }
      EXPECT_EQ(circom["found"].get<bool>(), ours.existence);
      if (!ours.existence) {
        EXPECT_EQ(circom["isOld0"].get<bool>(), !ours.aux.has_value());
      }

      EXPECT_TRUE(theirs[i]["merkletree_verifies"].get<bool>());
      auto decoded = decode_proof_json(theirs[i]["merkletree"]);
      ASSERT_TRUE(decoded.ok()) << decoded.status() << "\n" << theirs[i]["merkletree"].dump();
      EXPECT_TRUE(verify_decoded(roots[b], *decoded).ok()) << verify_decoded(roots[b], *decoded);
      EXPECT_EQ(std::get<SmtProof>(decoded->proof), ours);
      ++checked;
    }
  }
  EXPECT_GE(checked, 6 * static_cast<int>(batches));
  // Our proofs, checked by js-merkletree.
  ASSERT_EQ(response["verify_results"].size(), verify_expected.size());
  for (size_t i = 0; i < verify_expected.size(); ++i) {
    EXPECT_EQ(response["verify_results"][i]["merkletree"].get<bool>(), verify_expected[i])
        << "verify entry " << i << ": " << request["verify"][i].dump();
  }
}

TEST_F(SmtOracleTest, CircomSmtVerifierAcceptsOurProofsAndRejectsTampered) {
  auto rng = testing::seeded_rng("SmtCircuit");
  constexpr int kLevels = 24;
  auto tree = SmtTree::create(*store_, "circuit", SmtCreateOptions{kLevels - 1, 0}, *backend_);
  ASSERT_TRUE(tree.ok()) << tree.status();
  auto empty_root = (*tree)->root();
  ASSERT_TRUE(empty_root.ok());

  std::vector<json> inputs;
  std::vector<bool> expected;
  auto add = [&](const SmtProof& proof, const Fr& root, bool valid) {
    auto circom = proof_to_circom(proof, root, kLevels);
    ASSERT_TRUE(circom.ok()) << circom.status();
    inputs.push_back(*circom);
    expected.push_back(valid);
  };
  // The empty tree.
  auto nothing = (*tree)->prove(small(77));
  ASSERT_TRUE(nothing.ok());
  add(*nothing, *empty_root, true);

  std::vector<SmtOp> ops;
  std::vector<Fr> keys;
  for (int i = 0; i < 150; ++i) {
    Fr key = rng() % 2 ? small(rng() % 4096) : small((1 + rng() % 7) << (rng() % 18));
    keys.push_back(key);
    ops.push_back(SmtOp::put(key, testing::random_fr(rng)));
  }
  auto applied = (*tree)->apply(ops);
  ASSERT_TRUE(applied.ok()) << applied.status();
  const Fr root = applied->root;

  int present = 0, at_leaf = 0, at_empty = 0;
  for (int i = 0; i < 400 && (present < 4 || at_leaf < 4 || at_empty < 4); ++i) {
    const Fr key = i % 2 ? keys[rng() % keys.size()] : small(rng() % 8192);
    auto proof = (*tree)->prove(key);
    ASSERT_TRUE(proof.ok());
    int& kind = proof->existence ? present : (proof->aux ? at_leaf : at_empty);
    if (kind >= 4) continue;
    ++kind;
    add(*proof, root, true);
    SmtProof bad = *proof;
    if (!bad.siblings.empty()) {
      bad.siblings[rng() % bad.siblings.size()] = testing::random_fr(rng);
      add(bad, root, false);
    }
    bad = *proof;
    if (bad.existence) {
      bad.value = field::add(bad.value, Fr::one());
      add(bad, root, false);
      // The same leaf claimed absent.
      bad = *proof;
      bad.existence = false;
      bad.value = Fr::zero();
      add(bad, root, false);
    } else if (bad.aux) {
      bad.aux->value = field::add(bad.aux->value, Fr::one());
      add(bad, root, false);
    } else {
      // Claim the absent key present with some value.
      bad.existence = true;
      bad.value = small(5);
      add(bad, root, false);
    }
    SmtProof wrong_key = *proof;
    wrong_key.key = field::add(wrong_key.key, Fr::one());
    if (wrong_key.existence) add(wrong_key, root, false);
    add(*proof, field::add(root, Fr::one()), false);
  }
  EXPECT_EQ(present, 4);
  EXPECT_EQ(at_leaf, 4);
  EXPECT_EQ(at_empty, 4);

  const auto inputs_path = dir_.path() / "inputs.json";
  std::ofstream(inputs_path) << json(inputs).dump();
  const json response =
      run_node("smt_circuit.mjs", "'" ARBOR_TEST_WORK_DIR "/circom' " + std::to_string(kLevels) +
                                      " '" + inputs_path.string() + "'");
  ASSERT_TRUE(response.is_object());
  ASSERT_EQ(response["results"].size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    EXPECT_EQ(response["results"][i]["ok"].get<bool>(), expected[i])
        << "input " << i << ": " << inputs[i].dump() << "\n"
        << response["results"][i].dump();
    // Our verifier agrees with the circuit on every input, valid or not.
    auto decoded = decode_proof_json(inputs[i]);
    const bool ours = decoded.ok() && verify_decoded(*decoded->root, *decoded).ok();
    EXPECT_EQ(ours, expected[i]) << "input " << i;
  }
}

}  // namespace
}  // namespace arbor::smt
