// Verkle proof math: the Fiat-Shamir transcript, the evaluation domain, the IPA and the multiproof,
// against the known answers in ../shared/vectors/verkle/ (rust-verkle's consistency vectors,
// jsign's crypto vectors 009-012) and on random inputs (prove then verify, and every tampered
// part rejected).
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "host/backend/compute_backend.hpp"
#include "host/verkle/crs_msm.hpp"
#include "host/verkle/ipa.hpp"
#include "host/verkle/multiproof.hpp"
#include "kernels/verkle/evaluation_domain.hpp"
#include "kernels/verkle/msm.hpp"
#include "kernels/verkle/pedersen.hpp"
#include "kernels/verkle/transcript.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::verkle {
namespace {

using testing::bytes_from_hex;
using testing::hex_of;

std::vector<std::uint8_t> json_bytes(const nlohmann::json& hex) {
  return bytes_from_hex(hex.get<std::string>());
}

Fr fr(std::uint64_t v) { return from_u64<BandersnatchFrParams>(v); }

Fr fr_from_le_hex(const std::string& hex) {
  const std::vector<std::uint8_t> b = bytes_from_hex(hex);
  EXPECT_EQ(b.size(), 32u);
  Fr out;
  EXPECT_TRUE(from_bytes_le(b.data(), out)) << hex;
  return out;
}

Fr fr_from_be_hex(const std::string& hex) {
  std::vector<std::uint8_t> b = bytes_from_hex(hex);
  std::reverse(b.begin(), b.end());
  Fr out;
  EXPECT_TRUE(from_bytes_le(b.data(), out)) << hex;
  return out;
}

std::string le_hex(const Fr& v) { return hex_of(to_bytes_le(v)); }

Fr random_scalar(std::mt19937_64& rng) {
  std::uint64_t limbs[4] = {rng(), rng(), rng(), rng()};
  return from_limbs_mod_order<BandersnatchFrParams>(limbs);
}

host::ComputeBackend& backend() {
  static const std::unique_ptr<host::ComputeBackend> cpu = host::make_cpu_backend();
  return *cpu;
}

Point commit_dense(const DensePoly& f) {
  absl::StatusOr<Point> c = default_pedersen_tables().commit(f);
  EXPECT_TRUE(c.ok());
  return *c;
}

const nlohmann::json& public_vectors() {
  static const nlohmann::json v =
      testing::read_json(testing::vectors_dir() / "verkle" / "public_vectors.json");
  return v;
}

nlohmann::json jsign(const std::string& name) {
  return testing::read_json(testing::vectors_dir() / "verkle" / "jsign-verkle-test-vectors" /
                            "crypto" / name)["testData"];
}

// A decimal integer below 2^256 as little-endian limbs.
void decimal_limbs(const std::string& text, std::uint64_t (&limbs)[4]) {
  for (auto& l : limbs) l = 0;
  for (char c : text) {
    unsigned __int128 carry = static_cast<unsigned>(c - '0');
    for (auto& l : limbs) {
      const unsigned __int128 v = static_cast<unsigned __int128>(l) * 10 + carry;
      l = static_cast<std::uint64_t>(v);
      carry = v >> 64;
    }
  }
}

Fr fr_from_decimal(const std::string& text) {
  std::uint64_t limbs[4];
  decimal_limbs(text, limbs);
  return from_canonical_limbs<BandersnatchFrParams>(limbs);
}

Fp fp_from_be_hex(const std::string& hex) {
  Fp out;
  EXPECT_TRUE(from_bytes_be(bytes_from_hex(hex).data(), out)) << hex;
  return out;
}

// ---- jsign's crypto vectors 001-008 (points and commitments; 009-012 are with the proofs) -------

TEST(VerkleJsignVectors, CommitmentMapToFieldAndSerialization) {
  {
    const nlohmann::json v = jsign("001_vector_commitment.json");
    std::vector<Fr> scalars;
    for (const auto& d : v["scalars"]) scalars.push_back(fr_from_decimal(d.get<std::string>()));
    ASSERT_EQ(scalars.size(), 256u);
    EXPECT_EQ("0x" + hex_of(serialize(*default_pedersen_tables().commit(scalars))),
              v["serializedCommitment"].get<std::string>());
  }
  {
    const nlohmann::json v = jsign("002_map_to_field_element.json");
    absl::StatusOr<Point> p = deserialize(json_bytes(v["serializedPoint"]));
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(map_to_scalar_field(*p), fr_from_decimal(v["fieldElement"].get<std::string>()));
  }
  {
    const nlohmann::json v = jsign("003_serialize_lexicographically_highest.json");
    const Point p = from_affine(
        {fp_from_be_hex(v["serializedXCoordinate"]), fp_from_be_hex(v["serializedYCoordinate"])});
    ASSERT_TRUE(is_on_curve(p));
    EXPECT_EQ("0x" + hex_of(serialize(p)), v["expectedSerializedPoint"].get<std::string>());
  }
  {
    // (x, y) with y the smaller root: its compressed form is -x, and decoding x gives the other y.
    const nlohmann::json v = jsign("004_deserialize_lexicographically_lowest.json");
    const Fp x = fp_from_be_hex(v["serializedXCoordinate"]);
    const Fp y_low = fp_from_be_hex(v["serializedYCoordinate"]);
    ASSERT_TRUE(is_on_curve(from_affine({x, y_low})));
    EXPECT_NE(serialize(from_affine({x, y_low})), to_bytes_be(x));
    absl::StatusOr<Point> decoded = deserialize(to_bytes_be(x));
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(to_affine(*decoded).y, neg(y_low));
  }
}

TEST(VerkleJsignVectors, BadPointsAreRejectedWithTheirReason) {
  const std::pair<const char*, const char*> cases[] = {
      {"005_deserialize_point_not_in_curve.json", "not the x-coordinate of a point"},
      {"006_deserialize_point_not_in_subgroup.json", "not in the prime-order subgroup"},
      {"007_deserialize_point_x_bigger_than_field.json", "not below the field modulus"}};
  for (const auto& [file, reason] : cases) {
    const std::vector<std::uint8_t> bytes = json_bytes(jsign(file)["serializedPoint"]);
    const absl::Status single = deserialize(bytes).status();
    EXPECT_TRUE(absl::IsInvalidArgument(single)) << file;
    EXPECT_NE(std::string(single.message()).find(reason), std::string::npos) << single;
    PointBytes fixed;
    std::copy(bytes.begin(), bytes.end(), fixed.begin());
    const std::vector<PointBytes> batch = {serialize(Point::generator()), fixed};
    const std::vector<absl::StatusOr<Point>> decoded = batch_deserialize(batch);
    EXPECT_TRUE(decoded[0].ok());
    EXPECT_EQ(decoded[1].status(), single) << file;
  }
  for (const auto& text : jsign("008_deserialize_point_x_wrong_length.json")["serializedPoints"]) {
    const std::string hex = text.get<std::string>();
    if ((hex.size() - (hex.rfind("0x", 0) == 0 ? 2 : 0)) % 2 != 0) continue;  // "0x1": not bytes
    EXPECT_TRUE(absl::IsInvalidArgument(deserialize(bytes_from_hex(hex)).status())) << hex;
  }
}

// ---- transcript ---------------------------------------------------------------------------------

TEST(VerkleTranscript, RustVerkleVectors) {
  const nlohmann::json v =
      testing::read_json(testing::vectors_dir() / "verkle" / "transcript_vectors.json")["vectors"];
  ASSERT_EQ(v.size(), 4u);
  {
    Transcript t("simple_protocol");
    EXPECT_EQ(le_hex(t.challenge("simple_challenge")), v[0]["challenge_le"]);
  }
  {
    Transcript t("simple_protocol");
    t.append_scalar("five", fr(5));
    t.append_scalar("five again", fr(5));
    EXPECT_EQ(le_hex(t.challenge("simple_challenge")), v[1]["challenge_le"]);
  }
  {
    Transcript t("simple_protocol");
    const Fr minus_one = neg(Fr::one());
    t.append_scalar("-1", minus_one);
    t.domain_sep("separate me");
    t.append_scalar("-1 again", minus_one);
    t.domain_sep("separate me again");
    t.append_scalar("now 1", Fr::one());
    EXPECT_EQ(le_hex(t.challenge("simple_challenge")), v[2]["challenge_le"]);
  }
  {
    Transcript t("simple_protocol");
    t.append_point("generator", Point::generator());
    EXPECT_EQ(le_hex(t.challenge("simple_challenge")), v[3]["challenge_le"]);
  }
}

TEST(VerkleTranscript, ChallengesChainAndDependOnTheLabel) {
  Transcript a("vt"), b("vt"), c("verkle");
  const Fr a1 = a.challenge("x"), b1 = b.challenge("x"), c1 = c.challenge("x");
  EXPECT_EQ(a1, b1);
  EXPECT_NE(a1, c1);
  EXPECT_NE(a.challenge("x"), a1);  // the first challenge was absorbed
}

// ---- evaluation domain --------------------------------------------------------------------------

TEST(VerkleDomain, LagrangeCoefficientsEvaluateInAndOutsideTheDomain) {
  std::mt19937_64 rng = testing::seeded_rng("VerkleDomain");
  const EvaluationDomain& domain = evaluation_domain();
  DensePoly f;
  for (Fr& v : f) v = random_scalar(rng);
  for (std::uint64_t z : {0ull, 1ull, 13ull, 255ull}) {
    EXPECT_EQ(inner_product(f, domain.lagrange_coefficients(fr(z))), f[z]) << z;
  }
  // Outside: sum b_i = 1 (the constant polynomial 1), and a degree-1 polynomial f(i) = 3i + 7.
  const Fr z = random_scalar(rng);
  const DensePoly b = domain.lagrange_coefficients(z);
  DensePoly ones, line;
  for (std::size_t i = 0; i < kDomainSize; ++i) {
    ones[i] = Fr::one();
    line[i] = add(mul(fr(3), fr(i)), fr(7));
  }
  EXPECT_EQ(inner_product(ones, b), Fr::one());
  EXPECT_EQ(inner_product(line, b), add(mul(fr(3), z), fr(7)));
}

TEST(VerkleDomain, QuotientTimesLinearFactorGivesBackThePolynomial) {
  std::mt19937_64 rng = testing::seeded_rng("VerkleDomainQuotient");
  const EvaluationDomain& domain = evaluation_domain();
  DensePoly f;
  for (Fr& v : f) v = random_scalar(rng);
  for (std::uint8_t z : {std::uint8_t{0}, std::uint8_t{77}, std::uint8_t{255}}) {
    DensePoly q;
    q.fill(Fr::zero());
    domain.add_quotient(z, f, q);
    // (X - z) q(X) + f(z) = f(X): check at a random point outside the domain.
    const Fr x = random_scalar(rng);
    const DensePoly b = domain.lagrange_coefficients(x);
    EXPECT_EQ(add(mul(sub(x, fr(z)), inner_product(q, b)), f[z]), inner_product(f, b)) << int(z);
  }
}

// ---- variable-base MSM --------------------------------------------------------------------------

TEST(VerkleMsm, MatchesScalarMultiplicationSums) {
  std::mt19937_64 rng = testing::seeded_rng("VerkleMsm");
  for (std::size_t n : {0u, 1u, 2u, 7u, 64u, 300u}) {
    std::vector<Point> points(n);
    std::vector<Fr> scalars(n);
    Point expected = Point::identity();
    for (std::size_t i = 0; i < n; ++i) {
      points[i] = scalar_mul(Point::generator(), random_scalar(rng));
      scalars[i] = i % 5 == 0 ? neg(Fr::one()) : random_scalar(rng);
      expected = add(expected, scalar_mul(points[i], scalars[i]));
    }
    EXPECT_EQ(msm(points, scalars), expected) << n;
  }
}

TEST(VerkleMsm, CrsMsmMatchesTheTables) {
  std::mt19937_64 rng = testing::seeded_rng("VerkleCrsMsm");
  std::vector<SparseTerm> small = {{3, fr(5)}, {200, random_scalar(rng)}};
  std::vector<SparseTerm> dense;
  for (std::uint32_t i = 0; i < 256; ++i) dense.push_back({i, random_scalar(rng)});
  const std::span<const SparseTerm> jobs[] = {small, dense, {}};
  absl::StatusOr<std::vector<Point>> out = crs_msm(backend(), jobs);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0], *default_pedersen_tables().commit_sparse(small));
  EXPECT_EQ((*out)[1], *default_pedersen_tables().commit_sparse(dense));
  EXPECT_TRUE(is_identity((*out)[2]));
  const std::vector<SparseTerm> bad = {{256, fr(1)}};
  EXPECT_FALSE(crs_commit(backend(), bad).ok());
  EXPECT_EQ(mul_q(fr(12345)), scalar_mul(Point::generator(), fr(12345)));
}

// ---- IPA ----------------------------------------------------------------------------------------

TEST(VerkleIpa, RustVerkleConsistencyVector) {
  const nlohmann::json& v = public_vectors()["ipa_and_multiproof"][0];
  DensePoly f;
  for (std::size_t i = 0; i < kDomainSize; ++i) f[i] = fr(i % 32 + 1);
  const Point c = commit_dense(f);
  EXPECT_EQ(hex_of(serialize(c)), v["commitment"]);
  const Fr z = fr(v["input_point"].get<std::uint64_t>());
  EXPECT_EQ(le_hex(inner_product(f, evaluation_domain().lagrange_coefficients(z))),
            v["output_point_le"]);

  Transcript prover("test");
  absl::StatusOr<IpaProof> proof = ipa_prove(backend(), prover, c, f, z);
  ASSERT_TRUE(proof.ok()) << proof.status();
  EXPECT_EQ(hex_of(encode_ipa_proof(*proof)), v["ipa_proof_544B(L[8]||R[8]||a_LE)"]);
  EXPECT_EQ(le_hex(prover.challenge("state")), v["post_proof_challenge('state')_le"]);

  const std::vector<std::uint8_t> bytes = json_bytes(v["ipa_proof_544B(L[8]||R[8]||a_LE)"]);
  absl::StatusOr<IpaProof> decoded = decode_ipa_proof(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  Transcript verifier("test");
  const Fr y = fr_from_le_hex(v["output_point_le"]);
  EXPECT_TRUE(ipa_verify(backend(), verifier, c, z, y, *decoded).ok());
  EXPECT_EQ(le_hex(verifier.challenge("state")), v["post_proof_challenge('state')_le"]);
  Transcript wrong("test");
  EXPECT_TRUE(
      absl::IsInvalidArgument(ipa_verify(backend(), wrong, c, z, add(y, Fr::one()), *decoded)));
}

TEST(VerkleIpa, JsignInDomainProofVerifiesOnlyAtItsPoint) {
  const nlohmann::json v = jsign("012_in_domain_ipa_proof_verification.json");
  absl::StatusOr<Point> c = deserialize(json_bytes(v["pedersenCommitment"]));
  ASSERT_TRUE(c.ok());
  absl::StatusOr<IpaProof> proof = decode_ipa_proof(json_bytes(v["ipaSerializedProof"]));
  ASSERT_TRUE(proof.ok()) << proof.status();
  const Fr z = fr(v["evaluationPoint"].get<std::uint64_t>());
  const Fr y = fr_from_be_hex(v["evaluationResultFr"]);
  Transcript t("ipa");
  EXPECT_TRUE(ipa_verify(backend(), t, *c, z, y, *proof).ok());
  Transcript other("ipa");
  EXPECT_FALSE(ipa_verify(backend(), other, *c, add(z, Fr::one()), y, *proof).ok());
}

TEST(VerkleIpa, RandomPolynomialsInAndOutsideTheDomain) {
  std::mt19937_64 rng = testing::seeded_rng("VerkleIpaRandom");
  for (int trial = 0; trial < 3; ++trial) {
    DensePoly f;
    for (Fr& v : f) v = random_scalar(rng);
    const Point c = commit_dense(f);
    for (const Fr& z : {fr(trial), fr(255), random_scalar(rng)}) {
      Transcript p("vt");
      absl::StatusOr<IpaProof> proof = ipa_prove(backend(), p, c, f, z);
      ASSERT_TRUE(proof.ok());
      const Fr y = inner_product(f, evaluation_domain().lagrange_coefficients(z));
      Transcript v("vt");
      EXPECT_TRUE(ipa_verify(backend(), v, c, z, y, *proof).ok());
      IpaProof tampered = *proof;
      tampered.final_scalar = add(tampered.final_scalar, Fr::one());
      Transcript v2("vt");
      EXPECT_FALSE(ipa_verify(backend(), v2, c, z, y, tampered).ok());
    }
  }
}

// ---- multiproof ---------------------------------------------------------------------------------

ProverPolynomial dense_poly(const DensePoly& f) {
  ProverPolynomial p;
  p.commitment = serialize(commit_dense(f));
  for (std::uint32_t i = 0; i < kDomainSize; ++i) {
    if (!f[i].is_zero()) p.f.push_back({i, f[i]});
  }
  return p;
}

TEST(VerkleMultiproof, RustVerkleConsistencyVector) {
  const nlohmann::json& v = public_vectors()["ipa_and_multiproof"][1];
  DensePoly a, b;
  for (std::size_t i = 0; i < kDomainSize; ++i) {
    a[i] = fr(i % 32 + 1);
    b[i] = fr((255 - i) % 32 + 1);
  }
  const std::vector<ProverPolynomial> polys = {dense_poly(a), dense_poly(b)};
  const std::vector<ProverOpening> openings = {{0, 0}, {1, 0}};
  Transcript prover("test");
  absl::StatusOr<Multiproof> proof = multiproof_prove(backend(), prover, polys, openings);
  ASSERT_TRUE(proof.ok()) << proof.status();
  const std::string expected = v["multiproof_576B(D||L[8]||R[8]||a_LE)"];
  EXPECT_EQ(hex_of(encode_multiproof(*proof)), expected);
  EXPECT_EQ(le_hex(prover.challenge("state")), v["post_proof_challenge('state')_le"]);

  absl::StatusOr<Multiproof> decoded = decode_multiproof(bytes_from_hex(expected));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  const std::vector<Point> cs = {commit_dense(a), commit_dense(b)};
  const std::vector<PointBytes> cs_bytes = {polys[0].commitment, polys[1].commitment};
  const std::vector<VerifierOpening> claims = {{0, 0, fr(1)}, {1, 0, fr(32)}};
  Transcript verifier("test");
  EXPECT_TRUE(multiproof_verify(backend(), verifier, cs, cs_bytes, claims, *decoded).ok());
  EXPECT_EQ(le_hex(verifier.challenge("state")), v["post_proof_challenge('state')_le"]);
}

TEST(VerkleMultiproof, JsignProofValidOnlyAtItsOwnPoint) {
  const nlohmann::json v = jsign("011_range_proof_verification.json")["forgedEvaluationResult"];
  const std::vector<std::uint8_t> c_bytes = json_bytes(v["pedersenCommitment"]);
  absl::StatusOr<Point> c = deserialize(c_bytes);
  ASSERT_TRUE(c.ok());
  absl::StatusOr<Multiproof> proof = decode_multiproof(json_bytes(v["serializedProof"]));
  ASSERT_TRUE(proof.ok()) << proof.status();
  const Fr y = fr_from_be_hex(v["evaluationResultFr"]);
  const int own = v["evaluationPoint"].get<int>();
  const std::vector<Point> cs = {*c};
  PointBytes cb;
  std::copy(c_bytes.begin(), c_bytes.end(), cb.begin());
  const std::vector<PointBytes> cs_bytes = {cb};
  int valid = 0;
  for (int z = 0; z < 256; ++z) {
    const std::vector<VerifierOpening> claims = {{0, static_cast<std::uint8_t>(z), y}};
    Transcript t("multiproof");
    const absl::Status s = multiproof_verify(backend(), t, cs, cs_bytes, claims, *proof);
    if (s.ok()) {
      ++valid;
      EXPECT_EQ(z, own);
    } else {
      EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
    }
  }
  EXPECT_EQ(valid, 1);
}

TEST(VerkleMultiproof, JsignMalformedProofsAreRejected) {
  // 009: a final scalar >= r.
  absl::StatusOr<Multiproof> big = decode_multiproof(
      json_bytes(jsign("009_deserialize_proof_invalid_final_scalar.json")["serializedProof"]));
  EXPECT_TRUE(absl::IsInvalidArgument(big.status())) << big.status();
  // 010: 0, 32 and 577 bytes.
  for (const auto& hex : jsign("010_deserialize_proof_wrong_length.json")["serializedProofs"]) {
    absl::StatusOr<Multiproof> p = decode_multiproof(bytes_from_hex(hex.get<std::string>()));
    EXPECT_TRUE(absl::IsInvalidArgument(p.status())) << hex;
  }
}

TEST(VerkleMultiproof, RandomOpeningsProveVerifyAndRejectTampering) {
  std::mt19937_64 rng = testing::seeded_rng("VerkleMultiproofRandom");
  // Sparse and dense polynomials, repeated (poly, z) pairs, z = 0 and 255, several polys per z.
  std::vector<ProverPolynomial> polys;
  std::vector<Point> cs;
  for (int p = 0; p < 12; ++p) {
    DensePoly f;
    for (std::size_t i = 0; i < kDomainSize; ++i) {
      f[i] = (p % 3 == 0 || rng() % 8 == 0) ? random_scalar(rng) : Fr::zero();
    }
    polys.push_back(dense_poly(f));
    cs.push_back(commit_dense(f));
  }
  std::vector<ProverOpening> openings = {{0, 0}, {0, 255}, {1, 0}, {0, 0}, {5, 255}};
  for (int i = 0; i < 60; ++i) {
    openings.push_back(
        {static_cast<std::uint32_t>(rng() % polys.size()), static_cast<std::uint8_t>(rng() % 256)});
  }
  Transcript prover("vt");
  absl::StatusOr<Multiproof> proof = multiproof_prove(backend(), prover, polys, openings);
  ASSERT_TRUE(proof.ok()) << proof.status();
  std::vector<PointBytes> cs_bytes;
  for (const ProverPolynomial& p : polys) cs_bytes.push_back(p.commitment);
  std::vector<VerifierOpening> claims;
  for (const ProverOpening& o : openings) {
    claims.push_back({o.poly, o.z, evaluate_sparse(polys[o.poly].f, o.z)});
  }
  {
    Transcript t("vt");
    EXPECT_TRUE(multiproof_verify(backend(), t, cs, cs_bytes, claims, *proof).ok());
  }
  {
    Transcript t("verkle");  // another label
    EXPECT_FALSE(multiproof_verify(backend(), t, cs, cs_bytes, claims, *proof).ok());
  }
  {
    std::vector<VerifierOpening> wrong = claims;
    wrong[7].y = add(wrong[7].y, Fr::one());
    Transcript t("vt");
    EXPECT_FALSE(multiproof_verify(backend(), t, cs, cs_bytes, wrong, *proof).ok());
  }
  {
    std::vector<VerifierOpening> fewer(claims.begin(), claims.end() - 1);
    Transcript t("vt");
    EXPECT_FALSE(multiproof_verify(backend(), t, cs, cs_bytes, fewer, *proof).ok());
  }
  // Every point of the proof, changed to another valid point, is rejected.
  const MultiproofBytes bytes = encode_multiproof(*proof);
  for (int part = 0; part < 17; ++part) {
    MultiproofBytes changed = bytes;
    const PointBytes other =
        serialize(add(*deserialize(std::span(changed).subspan(32 * part, 32)), Point::generator()));
    std::copy(other.begin(), other.end(), changed.begin() + 32 * part);
    absl::StatusOr<Multiproof> p = decode_multiproof(changed);
    ASSERT_TRUE(p.ok());
    Transcript t("vt");
    EXPECT_FALSE(multiproof_verify(backend(), t, cs, cs_bytes, claims, *p).ok()) << part;
  }
  Transcript empty("vt");
  EXPECT_TRUE(absl::IsInvalidArgument(multiproof_prove(backend(), empty, polys, {}).status()));
}

}  // namespace
}  // namespace arbor::verkle
