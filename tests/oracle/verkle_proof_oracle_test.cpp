// Differential tests of Verkle proofs against rust-verkle compiled to WebAssembly
// (verkle-cryptography-wasm 0.4.8, through tests/oracles/verkle_proof.mjs), on fresh random inputs
// in both directions:
// - raw multiproofs (transcript "verkle"): our bytes equal createProof's for the same openings
//   (repeated points, z = 0 and 255, sparse and dense polynomials, up to 10^4 openings);
//   verifyProof accepts ours and rejects a changed claim; our verifier accepts theirs;
// - execution witnesses (transcript "vt"): verifyExecutionWitnessPreState accepts the witnesses our
//   trees of 10^3 and 10^4 keys give for key sets covering every presence / absence case, and
//   rejects tampered ones.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "absl/strings/str_cat.h"
#include "host/backend/compute_backend.hpp"
#include "host/verkle/multiproof.hpp"
#include "host/verkle/verkle_stateless.hpp"
#include "host/verkle/verkle_tree.hpp"
#include "kernels/verkle/pedersen.hpp"
#include "nlohmann/json.hpp"
#include "storage/store.hpp"
#include "tests/support/test_support.hpp"
#include "tests/support/verkle_keys.hpp"

namespace arbor::verkle {
namespace {

using json = nlohmann::json;
using testing::bytes_from_hex;
using testing::hex_of;

const std::filesystem::path kOracles = ARBOR_ORACLES_DIR;

host::ComputeBackend& backend() {
  static const std::unique_ptr<host::ComputeBackend> cpu = host::make_cpu_backend();
  return *cpu;
}

json run_oracle(const std::string& mode, const json& request, const std::filesystem::path& dir) {
  if (!std::filesystem::exists(kOracles / "node_modules" / "verkle-cryptography-wasm")) {
    ADD_FAILURE() << "the oracles are not installed: run `npm ci` in " << kOracles.string();
    return json();
  }
  const auto path = dir / (mode + "-request.json");
  std::ofstream(path) << request.dump();
  const auto result =
      testing::run_command("cd '" + kOracles.string() + "' && node verkle_proof.mjs " + mode +
                           " '" + path.string() + "'");
  EXPECT_EQ(result.exit_code, 0) << result.err.substr(0, 2000);
  json out = json::parse(result.out, nullptr, false);
  EXPECT_FALSE(out.is_discarded()) << result.out.substr(0, 500) << "\n" << result.err;
  return out;
}

Fr random_scalar(std::mt19937_64& rng) {
  switch (rng() % 10) {
    case 0:
      return Fr::one();
    case 1:
      return neg(Fr::one());  // r - 1
    default: {
      std::uint64_t limbs[4] = {rng(), rng(), rng(), rng()};
      return from_limbs_mod_order<BandersnatchFrParams>(limbs);
    }
  }
}

struct RawCase {
  std::vector<ProverPolynomial> polys;
  std::vector<Point> points;
  std::vector<ProverOpening> openings;
};

// Polynomials from dense to one entry, openings with repeats, z = 0 and 255 always included.
RawCase random_case(std::mt19937_64& rng, std::size_t openings) {
  RawCase c;
  const std::size_t polys = std::max<std::size_t>(1, openings / 3);
  for (std::size_t p = 0; p < polys; ++p) {
    ProverPolynomial poly;
    const int density = static_cast<int>(rng() % 4);  // 0: dense, 1: half, 2: a few, 3: one
    for (std::uint32_t i = 0; i < kDomainSize; ++i) {
      const bool keep = density == 0 || (density == 1 && rng() % 2 == 0) ||
                        (density == 2 && rng() % 32 == 0) || (density == 3 && i == rng() % 256);
      if (keep) poly.f.push_back({i, random_scalar(rng)});
    }
    c.points.push_back(*default_pedersen_tables().commit_sparse(poly.f));
    poly.commitment = serialize(c.points.back());
    c.polys.push_back(std::move(poly));
  }
  for (std::size_t i = 0; i < openings; ++i) {
    std::uint8_t z = static_cast<std::uint8_t>(rng());
    if (i % 17 == 0) z = 0;
    if (i % 17 == 1) z = 255;
    const auto poly = static_cast<std::uint32_t>(rng() % polys);
    c.openings.push_back({poly, z});
    if (i % 23 == 5) c.openings.push_back({poly, z});  // the same opening twice
  }
  return c;
}

json create_request(const RawCase& c) {
  json polys = json::array(), openings = json::array();
  for (const ProverPolynomial& p : c.polys) {
    json entries = json::array();
    for (const SparseTerm& t : p.f) entries.push_back({t.index, hex_of(to_bytes_le(t.scalar))});
    polys.push_back({{"commitment", hex_of(p.commitment)}, {"entries", entries}});
  }
  for (const ProverOpening& o : c.openings) openings.push_back({{"poly", o.poly}, {"z", o.z}});
  return {{"polys", polys}, {"openings", openings}};
}

TEST(VerkleProofOracle, RawMultiproofsEqualRustVerkleAndVerifyBothWays) {
  std::mt19937_64 rng = testing::seeded_rng("VerkleProofOracleRaw");
  testing::TempDir dir("verkle-proof-oracle");
  for (std::size_t n : {1u, 2u, 40u, 700u, 10000u}) {
    SCOPED_TRACE(n);
    const RawCase c = random_case(rng, n);
    Transcript transcript(kRustVerkleTranscriptLabel);
    absl::StatusOr<Multiproof> ours = multiproof_prove(backend(), transcript, c.polys, c.openings);
    ASSERT_TRUE(ours.ok()) << ours.status();
    const std::string our_hex = hex_of(encode_multiproof(*ours));
    const json created = run_oracle("create", create_request(c), dir.path());
    ASSERT_TRUE(created.contains("proof")) << created.dump().substr(0, 300);
    EXPECT_EQ(our_hex, created["proof"].get<std::string>());

    // Their proof in our verifier, ours in theirs, and a changed claim rejected by both.
    std::vector<PointBytes> bytes;
    for (const ProverPolynomial& p : c.polys) bytes.push_back(p.commitment);
    std::vector<VerifierOpening> claims;
    json openings = json::array();
    for (const ProverOpening& o : c.openings) {
      const Fr y = evaluate_sparse(c.polys[o.poly].f, o.z);
      claims.push_back({o.poly, o.z, y});
      openings.push_back({{"commitment", hex_of(c.polys[o.poly].commitment)},
                          {"z", o.z},
                          {"y", hex_of(to_bytes_le(y))}});
    }
    absl::StatusOr<Multiproof> theirs =
        decode_multiproof(bytes_from_hex(created["proof"].get<std::string>()));
    ASSERT_TRUE(theirs.ok()) << theirs.status();
    Transcript check(kRustVerkleTranscriptLabel);
    EXPECT_TRUE(multiproof_verify(backend(), check, c.points, bytes, claims, *theirs).ok());
    if (n > 2000) continue;  // verifyProof of 10^4 openings costs seconds and adds nothing
    json verified = run_oracle("verify", {{"proof", our_hex}, {"openings", openings}}, dir.path());
    EXPECT_EQ(verified["valid"], true) << verified.dump();
    openings[openings.size() / 2]["y"] =
        hex_of(to_bytes_le(add(claims[claims.size() / 2].y, Fr::one())));
    verified = run_oracle("verify", {{"proof", our_hex}, {"openings", openings}}, dir.path());
    EXPECT_EQ(verified["valid"], false) << verified.dump();
  }
}

// ---- execution witnesses from our trees ---------------------------------------------------------

TEST(VerkleProofOracle, RustVerkleAcceptsOurWitnessesAndRejectsTamperedOnes) {
  std::mt19937_64 rng = testing::seeded_rng("VerkleProofOracleWitness");
  testing::TempDir dir("verkle-witness-oracle");
  auto store = storage::Store::open(dir.path() / "db");
  ASSERT_TRUE(store.ok()) << store.status();
  json cases = json::array();
  std::vector<bool> expect_valid;
  std::vector<std::string> what;
  auto add_case = [&](const RootCommitment& root, const VerkleWitness& w, bool valid,
                      std::string name) {
    cases.push_back({{"root", hex_of(root)}, {"witness", json::parse(witness_to_json(w))}});
    expect_valid.push_back(valid);
    what.push_back(std::move(name));
  };
  for (std::size_t size : {0u, 1000u, 10000u}) {
    auto tree = VerkleTree::create(**store, absl::StrCat("t", size), {}, backend());
    ASSERT_TRUE(tree.ok()) << tree.status();
    std::vector<Key32> present;
    std::vector<VerkleOp> ops;
    for (std::size_t i = 0; i < size; ++i) {
      present.push_back(testing::random_verkle_key(rng, present));
      Value32 v;
      for (auto& b : v) b = static_cast<std::uint8_t>(rng());
      if (rng() % 10 == 0) v = Value32{};
      ops.push_back(VerkleOp::put(present.back(), v));
    }
    if (!ops.empty()) {
      ASSERT_TRUE((*tree)->apply(ops).ok());
    }
    auto root = (*tree)->root();
    ASSERT_TRUE(root.ok());
    for (std::size_t n : {1u, 12u, 200u}) {
      auto w = (*tree)->prove(testing::probe_verkle_keys(rng, present, n));
      ASSERT_TRUE(w.ok()) << w.status();
      ASSERT_TRUE(verify_witness(backend(), *root, *w).ok());
      add_case(*root, *w, true, absl::StrCat("size ", size, ", ", n, " keys"));
      if (size == 0) continue;
      VerkleWitness bad = *w;
      SuffixDiff& d = bad.state_diff[rng() % bad.state_diff.size()].suffixes[0];
      if (d.current) {
        (*d.current)[3] ^= 0x10;
      } else {
        d.current = Value32{};
        d.current->at(0) = 1;
      }
      add_case(*root, bad, false, absl::StrCat("a changed value, size ", size));
      if (!w->commitments_by_path.empty()) {
        // Another valid point in place of a commitment.
        VerkleWitness swapped = *w;
        PointBytes& c = swapped.commitments_by_path[rng() % swapped.commitments_by_path.size()];
        c = serialize(add(*deserialize(c), Point::generator()));
        add_case(*root, swapped, false, absl::StrCat("a changed commitment, size ", size));
      }
    }
  }
  const json out = run_oracle("witness", {{"cases", cases}}, dir.path());
  ASSERT_TRUE(out.contains("results"));
  ASSERT_EQ(out["results"].size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(out["results"][i]["valid"].get<bool>(), expect_valid[i])
        << what[i] << ": " << out["results"][i].dump();
  }
}

}  // namespace
}  // namespace arbor::verkle
