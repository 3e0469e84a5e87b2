// The Verkle math layer: BLS12-381 Fr / Bandersnatch Fr against GMP, Bandersnatch/Banderwagon
// group law and encodings, the CRS, fixed-base Pedersen tables, and EIP-6800 key derivation, all
// checked against ../shared/vectors/verkle/.
#include <gmp.h>
#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/verkle/bandersnatch_fr.hpp"
#include "kernels/verkle/banderwagon.hpp"
#include "kernels/verkle/bls12_381_fr.hpp"
#include "kernels/verkle/crs.hpp"
#include "kernels/verkle/pedersen.hpp"
#include "tests/support/mpz.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::verkle {
namespace {

using Bytes32 = std::array<std::uint8_t, 32>;

constexpr char kPHex[] = "73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001";
constexpr char kRHex[] = "1cfb69d4ca675f520cce760202687600ff8f87007419047174fd06b52876e7e1";

// ---- helpers
// -------------------------------------------------------------------------------------

std::vector<std::uint8_t> from_hex(std::string text) {
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
    text = text.substr(2);
  EXPECT_EQ(text.size() % 2, 0u) << text;
  std::vector<std::uint8_t> out(text.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<std::uint8_t>(std::stoi(text.substr(2 * i, 2), nullptr, 16));
  }
  return out;
}

Bytes32 from_hex32(const std::string& text) {
  const std::vector<std::uint8_t> v = from_hex(text);
  Bytes32 out{};
  EXPECT_EQ(v.size(), 32u) << text;
  for (std::size_t i = 0; i < 32 && i < v.size(); ++i) out[i] = v[i];
  return out;
}

template <class Container>
std::string to_hex(const Container& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::uint8_t b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

std::string strip0x(const std::string& s) { return s.rfind("0x", 0) == 0 ? s.substr(2) : s; }

nlohmann::json vectors(const std::string& name) {
  return testing::read_json(testing::vectors_dir() / "verkle" / name);
}

using testing::Mpz;

template <class F>
void to_mpz(const F& a, Mpz& out) {
  const Bytes32 be = to_bytes_be(a);
  mpz_import(out.get(), 32, 1, 1, 1, 0, be.data());
}

// Requires 0 <= v < 2^256.
Bytes32 mpz_to_be(const Mpz& v) {
  Bytes32 out{};
  std::size_t count = 0;
  std::uint8_t buf[64] = {};
  mpz_export(buf, &count, 1, 1, 1, 0, v.get());
  EXPECT_LE(count, 32u);
  for (std::size_t i = 0; i < count; ++i) out[32 - count + i] = buf[i];
  return out;
}

template <class F>
F from_mpz(const Mpz& v) {
  const Bytes32 be = mpz_to_be(v);
  F out;
  EXPECT_TRUE(from_bytes_be(be.data(), out));
  return out;
}

template <class F>
F field_from_be_hex(const std::string& hex) {
  const Bytes32 be = from_hex32(hex);
  F out = F::zero();
  EXPECT_TRUE(from_bytes_be(be.data(), out)) << hex;
  return out;
}

template <class F>
F random_field(std::mt19937_64& rng) {
  while (true) {
    std::uint64_t x[4] = {rng(), rng(), rng(), rng()};
    x[3] &= (std::uint64_t{1} << 63) - 1;  // both moduli are below 2^255
    if (mont_detail::less_than_modulus<typename F::Params>(x))
      return from_canonical_limbs<typename F::Params>(x);
  }
}

Fr random_scalar(std::mt19937_64& rng) { return random_field<Fr>(rng); }

Point random_point(std::mt19937_64& rng) {
  return scalar_mul(Point::generator(), random_scalar(rng));
}

// ---- fields against GMP -------------------------------------------------------------------------

template <class F, const char* ModulusHex>
struct FieldCase {
  using Field = F;
  static const char* modulus_hex() { return ModulusHex; }
};

template <class Case>
class FieldTest : public ::testing::Test {
 protected:
  using F = typename Case::Field;
  FieldTest() : p_(Case::modulus_hex(), 16) {}

  // Values where carries and reductions go wrong, plus `random_count` uniform ones.
  std::vector<F> operands(std::mt19937_64& rng, int random_count) {
    std::vector<F> out;
    const char* exprs[] = {"0",
                           "1",
                           "2",
                           "3",
                           "5",
                           "7",
                           "ffffffffffffffff",
                           "10000000000000000",
                           "ffffffffffffffffffffffffffffffff",
                           "100000000000000000000000000000000",
                           "1000000000000000000000000000000000000000000000000",
                           "1000000000000000000000000000000000000000000000000000000000000000"};
    for (const char* e : exprs) {
      Mpz v(e, 16);
      mpz_mod(v.get(), v.get(), p_.get());
      out.push_back(from_mpz<F>(v));
    }
    for (int delta : {1, 2, 3}) {  // p - 1, p - 2, p - 3
      Mpz v;
      mpz_sub_ui(v.get(), p_.get(), static_cast<unsigned long>(delta));
      out.push_back(from_mpz<F>(v));
    }
    {
      Mpz half;
      mpz_sub_ui(half.get(), p_.get(), 1);
      mpz_fdiv_q_2exp(half.get(), half.get(), 1);
      out.push_back(from_mpz<F>(half));  // (p - 1) / 2
      mpz_add_ui(half.get(), half.get(), 1);
      out.push_back(from_mpz<F>(half));  // (p + 1) / 2
    }
    for (int i = 0; i < random_count; ++i) out.push_back(random_field<F>(rng));
    return out;
  }

  Mpz p_;
};

using FieldCases = ::testing::Types<FieldCase<Fp, kPHex>, FieldCase<Fr, kRHex>>;
TYPED_TEST_SUITE(FieldTest, FieldCases);

TYPED_TEST(FieldTest, DerivedConstantsAreRight) {
  using F = typename TestFixture::F;
  Mpz v;
  to_mpz(F::one(), v);
  EXPECT_EQ(mpz_cmp_ui(v.get(), 1), 0);
  to_mpz(F::zero(), v);
  EXPECT_EQ(mpz_cmp_ui(v.get(), 0), 0);
  to_mpz(neg(F::one()), v);
  mpz_add_ui(v.get(), v.get(), 1);
  EXPECT_EQ(mpz_cmp(v.get(), this->p_.get()), 0);
  // The Tonelli-Shanks constants: p - 1 = 2^S * odd, z a non-residue, c = z^Q of order 2^S.
  using C = typename F::Constants;
  Mpz pm1;
  mpz_sub_ui(pm1.get(), this->p_.get(), 1);
  EXPECT_EQ(static_cast<int>(mpz_scan1(pm1.get(), 0)), C::S);
  Mpz z;
  mpz_set_ui(z.get(), C::kNonResidue);
  EXPECT_EQ(mpz_legendre(z.get(), this->p_.get()), -1);
  for (unsigned long smaller = 2; smaller < C::kNonResidue; ++smaller) {
    mpz_set_ui(z.get(), smaller);
    EXPECT_EQ(mpz_legendre(z.get(), this->p_.get()), 1) << smaller;
  }
  F c{{C::RU0, C::RU1, C::RU2, C::RU3}};
  for (int i = 0; i < C::S - 1; ++i) c = square(c);
  EXPECT_EQ(c, neg(F::one()));
}

TYPED_TEST(FieldTest, ArithmeticMatchesGmp) {
  using F = typename TestFixture::F;
  std::mt19937_64 rng = testing::seeded_rng("Verkle.FieldArithmeticMatchesGmp");
  const std::vector<F> values = this->operands(rng, 50);
  Mpz a, b, expected, got;
  for (const F& x : values) {
    to_mpz(x, a);
    for (const F& y : values) {
      to_mpz(y, b);
      mpz_add(expected.get(), a.get(), b.get());
      mpz_mod(expected.get(), expected.get(), this->p_.get());
      to_mpz(add(x, y), got);
      ASSERT_EQ(mpz_cmp(got.get(), expected.get()), 0);
      mpz_sub(expected.get(), a.get(), b.get());
      mpz_mod(expected.get(), expected.get(), this->p_.get());
      to_mpz(sub(x, y), got);
      ASSERT_EQ(mpz_cmp(got.get(), expected.get()), 0);
      mpz_mul(expected.get(), a.get(), b.get());
      mpz_mod(expected.get(), expected.get(), this->p_.get());
      to_mpz(mul(x, y), got);
      ASSERT_EQ(mpz_cmp(got.get(), expected.get()), 0);
      ASSERT_EQ(x == y, mpz_cmp(a.get(), b.get()) == 0);
    }
  }
}

TYPED_TEST(FieldTest, UnaryOperationsMatchGmp) {
  using F = typename TestFixture::F;
  std::mt19937_64 rng = testing::seeded_rng("Verkle.FieldUnaryMatchesGmp");
  Mpz a, expected, got, e, half;
  mpz_sub_ui(half.get(), this->p_.get(), 1);
  mpz_fdiv_q_2exp(half.get(), half.get(), 1);
  for (const F& x : this->operands(rng, 300)) {
    to_mpz(x, a);
    mpz_neg(expected.get(), a.get());
    mpz_mod(expected.get(), expected.get(), this->p_.get());
    to_mpz(neg(x), got);
    ASSERT_EQ(mpz_cmp(got.get(), expected.get()), 0);
    mpz_powm_ui(expected.get(), a.get(), 2, this->p_.get());
    to_mpz(square(x), got);
    ASSERT_EQ(mpz_cmp(got.get(), expected.get()), 0);
    to_mpz(dbl(x), got);
    mpz_mul_ui(expected.get(), a.get(), 2);
    mpz_mod(expected.get(), expected.get(), this->p_.get());
    ASSERT_EQ(mpz_cmp(got.get(), expected.get()), 0);
    // pow with a random 256-bit exponent
    const std::uint64_t ex[4] = {rng(), rng(), rng(), rng()};
    const Bytes32 ex_be = [&] {
      Bytes32 out{};
      for (int i = 0; i < 4; ++i)
        for (int b = 0; b < 8; ++b)
          out[(3 - i) * 8 + b] = static_cast<std::uint8_t>(ex[i] >> (56 - 8 * b));
      return out;
    }();
    mpz_import(e.get(), 32, 1, 1, 1, 0, ex_be.data());
    mpz_powm(expected.get(), a.get(), e.get(), this->p_.get());
    to_mpz(pow(x, ex), got);
    ASSERT_EQ(mpz_cmp(got.get(), expected.get()), 0);
    if (x.is_zero()) {
      EXPECT_TRUE(inverse(x).is_zero());
    } else {
      ASSERT_NE(mpz_invert(expected.get(), a.get(), this->p_.get()), 0);
      to_mpz(inverse(x), got);
      ASSERT_EQ(mpz_cmp(got.get(), expected.get()), 0);
      ASSERT_EQ(mul(x, inverse(x)), F::one());
    }
    // Legendre, sqrt, lexicographic order
    const int leg = mpz_legendre(a.get(), this->p_.get());
    ASSERT_EQ(legendre(x), leg);
    F root;
    const bool has_root = sqrt(x, root);
    ASSERT_EQ(has_root, leg >= 0);
    if (has_root) {
      ASSERT_EQ(square(root), x);
    }
    F root_of_square;
    ASSERT_TRUE(sqrt(square(x), root_of_square));
    ASSERT_TRUE(root_of_square == x || root_of_square == neg(x));
    ASSERT_EQ(is_lexicographically_largest(x), mpz_cmp(a.get(), half.get()) > 0);
  }
}

TYPED_TEST(FieldTest, BytesRoundTripAndRejectNonCanonical) {
  using F = typename TestFixture::F;
  using P = typename F::Params;
  std::mt19937_64 rng = testing::seeded_rng("Verkle.FieldBytes");
  for (const F& x : this->operands(rng, 200)) {
    const Bytes32 be = to_bytes_be(x);
    const Bytes32 le = to_bytes_le(x);
    for (int i = 0; i < 32; ++i) ASSERT_EQ(be[i], le[31 - i]);
    F back;
    ASSERT_TRUE(from_bytes_be(be.data(), back));
    ASSERT_EQ(back, x);
    ASSERT_TRUE(from_bytes_le(le.data(), back));
    ASSERT_EQ(back, x);
    ASSERT_EQ(from_bytes_be_mod_order<P>(be.data()), x);
    ASSERT_EQ(from_bytes_le_mod_order<P>(le.data()), x);
  }
  // p, p + 1 and 2^256 - 1 are rejected, and reduce correctly mod p.
  Mpz v, expected, got;
  for (const char* extra : {"0", "1", "ff"}) {
    mpz_set_str(v.get(), extra, 16);
    mpz_add(v.get(), v.get(), this->p_.get());
    const Bytes32 be = mpz_to_be(v);
    F out = F::one();
    EXPECT_FALSE(from_bytes_be(be.data(), out));
    EXPECT_EQ(out, F::one());  // untouched
    Bytes32 le;
    for (int i = 0; i < 32; ++i) le[i] = be[31 - i];
    EXPECT_FALSE(from_bytes_le(le.data(), out));
  }
  std::mt19937_64 rng2 = testing::seeded_rng("Verkle.FieldModOrder");
  for (int i = 0; i < 200; ++i) {
    Bytes32 be;
    for (auto& b : be) b = static_cast<std::uint8_t>(rng2());
    if (i == 0) be.fill(0xff);
    mpz_import(v.get(), 32, 1, 1, 1, 0, be.data());
    mpz_mod(expected.get(), v.get(), this->p_.get());
    to_mpz(from_bytes_be_mod_order<P>(be.data()), got);
    ASSERT_EQ(mpz_cmp(got.get(), expected.get()), 0);
  }
  EXPECT_EQ(from_u64<P>(12345), add(from_u64<P>(12000), from_u64<P>(345)));
}

TYPED_TEST(FieldTest, BatchInverseMatchesSingleInverses) {
  using F = typename TestFixture::F;
  std::mt19937_64 rng = testing::seeded_rng("Verkle.BatchInverse");
  for (std::size_t n : {0u, 1u, 2u, 7u, 100u}) {
    std::vector<F> values(n), scratch(n);
    for (std::size_t i = 0; i < n; ++i) values[i] = (i % 5 == 3) ? F::zero() : random_field<F>(rng);
    std::vector<F> expected(n);
    for (std::size_t i = 0; i < n; ++i) expected[i] = inverse(values[i]);
    batch_inverse(values.data(), n, scratch.data());
    EXPECT_EQ(values, expected);
  }
}

// ---- curve constants and encodings ------------------------------------------------------------

TEST(Banderwagon, CurveConstantsMatchVectors) {
  const nlohmann::json c = vectors("curve_and_banderwagon_vectors.json")["curve"];
  EXPECT_EQ(strip0x(c["p_hex"].get<std::string>()), kPHex);
  EXPECT_EQ(strip0x(c["r_hex"].get<std::string>()), kRHex);
  EXPECT_EQ(to_hex(to_bytes_be(neg(Fp::one()))).substr(0, 62), std::string(kPHex).substr(0, 62));
  EXPECT_EQ(to_hex(to_bytes_be(neg(Fr::one()))).substr(0, 62), std::string(kRHex).substr(0, 62));
  EXPECT_EQ(c["a"].get<std::string>(), "-5");
  EXPECT_EQ(curve_a(), neg(from_u64<Bls12381FrParams>(5)));
  EXPECT_EQ(to_hex(to_bytes_be(curve_d())), strip0x(c["d_hex"].get<std::string>()));
  Mpz d(c["d_int"].get<std::string>().c_str(), 10), got;
  to_mpz(curve_d(), got);
  EXPECT_EQ(mpz_cmp(got.get(), d.get()), 0);
  // d * 171449701953573178309673572579671231137 == 138827208126141220649022263972958607803
  Mpz num("138827208126141220649022263972958607803", 10);
  Mpz den("171449701953573178309673572579671231137", 10);
  EXPECT_EQ(mul(curve_d(), from_mpz<Fp>(den)), from_mpz<Fp>(num));
  const AffinePoint g = to_affine(Point::generator());
  EXPECT_EQ(to_hex(to_bytes_be(g.x)), strip0x(c["generator_x"].get<std::string>()));
  EXPECT_EQ(to_hex(to_bytes_be(g.y)), strip0x(c["generator_y"].get<std::string>()));
  EXPECT_TRUE(is_on_curve(Point::generator()));
  EXPECT_TRUE(subgroup_check(g.x));
  EXPECT_EQ(legendre(curve_d()), -1);  // d is not a square
  EXPECT_EQ(legendre(curve_a()), -1);  // a is not a square (why the formulas are subgroup-only)
  // The generator has order r: (r - 1) * G = -G and r*G = (r-1)*G + G = identity.
  const Point rm1 = scalar_mul(Point::generator(), neg(Fr::one()));
  EXPECT_EQ(rm1, neg(Point::generator()));
  EXPECT_TRUE(is_identity(add(rm1, Point::generator())));

  // Arkworks' plain little-endian x (not Banderwagon's encoding), for curve sanity.
  const nlohmann::json plain = vectors(
      "curve_and_banderwagon_vectors.json")["bandersnatch_plain_serialization_NOT_banderwagon"];
  EXPECT_EQ(to_hex(to_bytes_le(g.x)), plain["generator"].get<std::string>());
  EXPECT_EQ(to_hex(to_bytes_le(to_affine(neg(Point::generator())).x)),
            plain["minus_generator"].get<std::string>());
}

TEST(Banderwagon, GeneratorDoublesSerializeAndMapLikeTheVectors) {
  const nlohmann::json v = vectors("curve_and_banderwagon_vectors.json");
  const auto& encodings = v["serialized_generator_doubles"]["points_2^i_G_compressed_BE"];
  const auto& mapped = v["map_to_scalar_field"]["derived_for_2^i_G_LE"];
  ASSERT_EQ(encodings.size(), 16u);
  ASSERT_EQ(mapped.size(), 16u);
  const std::string generator_mapped =
      v["map_to_scalar_field"]["public_vector_generator"].get<std::string>().substr(0, 64);
  EXPECT_EQ(to_hex(map_to_scalar_field_bytes(Point::generator())), generator_mapped);
  Point p = Point::generator();
  std::vector<Point> points;
  for (std::size_t i = 0; i < encodings.size(); ++i) {
    EXPECT_EQ(to_hex(serialize(p)), encodings[i].get<std::string>()) << "2^" << i << " G";
    EXPECT_EQ(to_hex(map_to_scalar_field_bytes(p)), mapped[i].get<std::string>()) << i;
    // decoding the vector gives the same element, and re-encodes identically
    const absl::StatusOr<Point> decoded = deserialize(from_hex(encodings[i].get<std::string>()));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, p);
    EXPECT_TRUE(is_on_curve(*decoded));
    EXPECT_EQ(to_hex(serialize(*decoded)), encodings[i].get<std::string>());
    points.push_back(p);
    p = dbl(p);
  }
  const std::vector<Fr> batch = batch_map_to_scalar_field(points);
  for (std::size_t i = 0; i < points.size(); ++i) {
    EXPECT_EQ(to_hex(to_bytes_le(batch[i])), mapped[i].get<std::string>());
  }
  const auto batch_bytes = batch_serialize(points);
  for (std::size_t i = 0; i < points.size(); ++i) {
    EXPECT_EQ(to_hex(batch_bytes[i]), encodings[i].get<std::string>());
  }
}

TEST(Banderwagon, IdentityEncodesAsZeroAndMapsToZero) {
  const Point id = Point::identity();
  EXPECT_EQ(to_hex(serialize(id)), std::string(64, '0'));
  EXPECT_TRUE(map_to_scalar_field(id).is_zero());
  // The other representative (0, -1) is the same element.
  const Point other{Fp::zero(), neg(Fp::one()), Fp::zero(), Fp::one()};
  EXPECT_EQ(other, id);
  EXPECT_TRUE(is_identity(other));
  EXPECT_EQ(to_hex(serialize(other)), std::string(64, '0'));
  const absl::StatusOr<Point> decoded = deserialize(Bytes32{});
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(is_identity(*decoded));
  EXPECT_EQ(add(Point::generator(), id), Point::generator());
  EXPECT_EQ(add(Point::generator(), other), Point::generator());
}

TEST(Banderwagon, GroupLawIsConsistent) {
  std::mt19937_64 rng = testing::seeded_rng("Verkle.GroupLaw");
  const Point g = Point::generator();
  for (int i = 0; i < 30; ++i) {
    const Fr a = random_scalar(rng), b = random_scalar(rng);
    const Point pa = scalar_mul(g, a), pb = scalar_mul(g, b);
    ASSERT_TRUE(is_on_curve(pa));
    EXPECT_EQ(add(pa, pb), scalar_mul(g, add(a, b)));
    EXPECT_EQ(sub(pa, pb), scalar_mul(g, sub(a, b)));
    EXPECT_EQ(scalar_mul(pa, b), scalar_mul(pb, a));
    EXPECT_EQ(dbl(pa), add(pa, pa));
    EXPECT_EQ(dbl(pa), scalar_mul(g, dbl(a)));
    EXPECT_TRUE(is_identity(add(pa, neg(pa))));
    const PrecomputedPoint pre = to_precomputed(to_affine(pb));
    const Point mixed = add_mixed(pa, pre);
    EXPECT_TRUE(is_on_curve(mixed));
    EXPECT_EQ(mixed, add(pa, pb));
    EXPECT_EQ(sub_mixed(pa, pre), sub(pa, pb));
    EXPECT_EQ(add(add(pa, pb), g), add(pa, add(pb, g)));
    EXPECT_NE(pa, pb);
    // (x, y) ~ (-x, -y): the same Banderwagon element, the same encoding and map.
    const Point twin{neg(pa.X), neg(pa.Y), pa.T, pa.Z};
    EXPECT_TRUE(is_on_curve(twin));
    EXPECT_EQ(twin, pa);
    EXPECT_EQ(serialize(twin), serialize(pa));
    EXPECT_EQ(map_to_scalar_field(twin), map_to_scalar_field(pa));
    // -P encodes as -(encoding of P)
    Fp enc, enc_neg;
    ASSERT_TRUE(from_bytes_be(serialize(pa).data(), enc));
    ASSERT_TRUE(from_bytes_be(serialize(neg(pa)).data(), enc_neg));
    EXPECT_EQ(enc_neg, neg(enc));
  }
  EXPECT_TRUE(is_identity(scalar_mul(g, Fr::zero())));
  EXPECT_EQ(scalar_mul(g, Fr::one()), g);
}

TEST(Banderwagon, RandomPointsRoundTrip) {
  std::mt19937_64 rng = testing::seeded_rng("Verkle.RoundTrip");
  std::vector<Point> points;
  for (int i = 0; i < 100; ++i) {
    const Point p = random_point(rng);
    points.push_back(p);
    const Bytes32 enc = serialize(p);
    const absl::StatusOr<Point> back = deserialize(enc);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, p);
    EXPECT_EQ(serialize(*back), enc);
    const absl::StatusOr<Point> trusted = deserialize_trusted(enc);
    ASSERT_TRUE(trusted.ok());
    EXPECT_EQ(*trusted, p);
    // the decoded representative carries the lexicographically largest y (go-ipa's choice)
    EXPECT_TRUE(is_lexicographically_largest(to_affine(*back).y));
  }
  points.push_back(Point::identity());
  const std::vector<Fr> batch = batch_map_to_scalar_field(points);
  const auto batch_enc = batch_serialize(points);
  for (std::size_t i = 0; i < points.size(); ++i) {
    EXPECT_EQ(batch[i], map_to_scalar_field(points[i])) << i;
    EXPECT_EQ(batch_enc[i], serialize(points[i])) << i;
  }
}

void expect_rejected(const std::vector<std::uint8_t>& bytes, const std::string& fragment) {
  const absl::StatusOr<Point> p = deserialize(bytes);
  ASSERT_FALSE(p.ok()) << to_hex(bytes);
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find(fragment), std::string::npos) << p.status();
}

TEST(Banderwagon, DeserializeRejectsBadInput) {
  // wrong lengths
  for (std::size_t n : {0u, 1u, 31u, 33u, 64u}) {
    expect_rejected(std::vector<std::uint8_t>(n, 0), "expected 32 bytes");
    EXPECT_FALSE(deserialize_trusted(std::vector<std::uint8_t>(n, 0)).ok());
  }
  // x >= p: p, p + 1, 2^256 - 1
  std::vector<std::uint8_t> p = from_hex(kPHex);
  expect_rejected(p, "not below the field modulus");
  EXPECT_FALSE(deserialize_trusted(p).ok());
  p[31] += 1;
  expect_rejected(p, "not below the field modulus");
  expect_rejected(std::vector<std::uint8_t>(32, 0xff), "not below the field modulus");

  // Off the curve and outside the subgroup: scan small x.
  int off_curve = 0, off_subgroup = 0;
  for (std::uint64_t xi = 1; xi < 200 && (off_curve < 5 || off_subgroup < 5); ++xi) {
    const Fp x = from_u64<Bls12381FrParams>(xi);
    const Fp x2 = square(x);
    const Fp num = sub(Fp::one(), mul(curve_a(), x2));
    const Fp den = sub(Fp::one(), mul(curve_d(), x2));
    const bool on_curve = legendre(mul(num, inverse(den))) >= 0;
    const Bytes32 enc = to_bytes_be(x);
    const std::vector<std::uint8_t> bytes(enc.begin(), enc.end());
    if (!on_curve) {
      ++off_curve;
      expect_rejected(bytes, "not the x-coordinate of a point on the Bandersnatch curve");
      EXPECT_FALSE(deserialize_trusted(bytes).ok());
    } else if (legendre(num) != 1) {
      // On the curve, but 1 - a*x^2 is a non-residue: not in the subgroup.
      ++off_subgroup;
      expect_rejected(bytes, "not in the prime-order subgroup");
      const absl::StatusOr<Point> trusted = deserialize_trusted(bytes);
      ASSERT_TRUE(trusted.ok()) << trusted.status();  // the trusted path skips exactly this check
      EXPECT_TRUE(is_on_curve(*trusted));
      // and it really is outside: r * P is not the identity ((r - 1) * P + P)
      const Point rp = add(scalar_mul(*trusted, neg(Fr::one())), *trusted);
      EXPECT_FALSE(is_identity(rp));
    } else {
      const absl::StatusOr<Point> ok = deserialize(bytes);
      ASSERT_TRUE(ok.ok()) << ok.status();
      EXPECT_TRUE(is_identity(add(scalar_mul(*ok, neg(Fr::one())), *ok)));
    }
  }
  EXPECT_GE(off_curve, 5);
  EXPECT_GE(off_subgroup, 5);
}

// ---- CRS --------------------------------------------------------------------------------------

TEST(Crs, DerivedGeneratorsMatchTheVectors) {
  const nlohmann::json v = vectors("crs_256_compressed.json");
  std::uint64_t hashes = 0;
  const std::vector<Point> points = generate_crs(kCrsSize, kCrsSeed, &hashes);
  ASSERT_EQ(points.size(), 256u);
  EXPECT_EQ(hashes, 1061u);  // last accepted i = 1060
  const auto& expected = v["points_compressed"];
  ASSERT_EQ(expected.size(), 256u);
  std::string concatenated;
  for (std::size_t i = 0; i < points.size(); ++i) {
    const Bytes32 enc = serialize(points[i]);
    EXPECT_EQ(to_hex(enc), expected[i].get<std::string>()) << "generator " << i;
    concatenated.append(reinterpret_cast<const char*>(enc.data()), enc.size());
    EXPECT_TRUE(is_on_curve(points[i]));
  }
  EXPECT_EQ(to_hex(serialize(points.front())), v["check_first"].get<std::string>());
  EXPECT_EQ(to_hex(serialize(points.back())), v["check_last"].get<std::string>());
  std::array<std::uint8_t, 32> digest{};
  unsigned int len = 0;
  ASSERT_EQ(EVP_Digest(concatenated.data(), concatenated.size(), digest.data(), &len, EVP_sha256(),
                       nullptr),
            1);
  EXPECT_EQ(to_hex(digest), v["sha256_of_concatenated_compressed_points"].get<std::string>());
  // crs() caches the same points
  ASSERT_EQ(crs().size(), 256u);
  for (std::size_t i = 0; i < 256; ++i) EXPECT_EQ(crs()[i], points[i]);
  // Q for the IPA is the generator
  EXPECT_EQ(
      to_hex(serialize(Point::generator())),
      v["Q_for_IPA"].get<std::string>().substr(v["Q_for_IPA"].get<std::string>().size() - 64));
}

// ---- Pedersen tables ----------------------------------------------------------------------------

std::vector<Fr> interesting_scalars(std::mt19937_64& rng, int random_count) {
  std::vector<Fr> out = {Fr::zero(),
                         Fr::one(),
                         from_u64<BandersnatchFrParams>(2),
                         from_u64<BandersnatchFrParams>(127),
                         from_u64<BandersnatchFrParams>(128),
                         from_u64<BandersnatchFrParams>(129),
                         from_u64<BandersnatchFrParams>(255),
                         from_u64<BandersnatchFrParams>(256),
                         neg(Fr::one()),
                         neg(from_u64<BandersnatchFrParams>(2))};
  // digit patterns that carry through every window: 0x80.., 0xff.., 0x7f.., 0x55..
  for (std::uint64_t pattern : {0x8080808080808080ULL, 0xffffffffffffffffULL, 0x7f7f7f7f7f7f7f7fULL,
                                0x5555555555555555ULL, 0x8888888888888888ULL}) {
    const std::uint64_t x[4] = {pattern, pattern, pattern, pattern & 0x0fffffffffffffffULL};
    out.push_back(from_limbs_mod_order<BandersnatchFrParams>(x));
  }
  {
    const std::uint64_t top[4] = {0, 0, 0, std::uint64_t{1} << 60};  // 2^252
    out.push_back(from_canonical_limbs<BandersnatchFrParams>(top));
  }
  for (int i = 0; i < random_count; ++i) out.push_back(random_scalar(rng));
  return out;
}

TEST(Pedersen, FixedBaseTablesEqualVariableBaseForEveryWindowWidth) {
  std::mt19937_64 rng = testing::seeded_rng("Verkle.FixedBase");
  const std::vector<Point> gens = {Point::generator(), crs()[0], crs()[255]};
  const std::vector<Fr> scalars = interesting_scalars(rng, 12);
  for (int w : {2, 3, 4, 5, 6, 7, 8, 9, 11}) {
    absl::StatusOr<PedersenTables> t = PedersenTables::build(gens, w);
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_EQ(t->windows(), (254 + w - 1) / w);
    EXPECT_EQ(t->entries_per_window(), std::size_t{1} << (w - 1));
    EXPECT_EQ(t->memory_bytes(),
              gens.size() * t->windows() * t->entries_per_window() * sizeof(PrecomputedPoint));
    for (std::size_t g = 0; g < gens.size(); ++g) {
      for (const Fr& s : scalars) {
        const Point fixed = t->mul(g, s);
        ASSERT_TRUE(is_on_curve(fixed));
        ASSERT_EQ(fixed, scalar_mul(gens[g], s))
            << "w=" << w << " g=" << g << " s=" << to_hex(to_bytes_be(s));
      }
    }
  }
  EXPECT_FALSE(PedersenTables::build(gens, 1).ok());
  EXPECT_FALSE(PedersenTables::build(gens, 17).ok());
  EXPECT_FALSE(PedersenTables::build({}, 8).ok());
}

TEST(Pedersen, DefaultTablesCommitUpdateAndSparse) {
  std::mt19937_64 rng = testing::seeded_rng("Verkle.Commit");
  const PedersenTables& t = default_pedersen_tables();
  ASSERT_EQ(t.generator_count(), 256u);
  EXPECT_EQ(t.window_bits(), 8);
  EXPECT_EQ(t.memory_bytes(), 256u * 32u * 128u * 96u);  // 96 MiB, as the header says
  const std::vector<Fr> scalars = interesting_scalars(rng, 20);
  for (const Fr& s : scalars) {
    const std::size_t i = rng() % 256;
    ASSERT_EQ(t.mul(i, s), scalar_mul(crs()[i], s)) << i;
  }
  // dense commit over all 256 = sum of variable-base products
  std::vector<Fr> dense(256);
  Point expected = Point::identity();
  for (std::size_t i = 0; i < 256; ++i) {
    dense[i] = (i % 7 == 0) ? Fr::zero() : random_scalar(rng);
    expected = add(expected, scalar_mul(crs()[i], dense[i]));
  }
  absl::StatusOr<Point> c = t.commit(dense);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, expected);
  // a shorter prefix
  absl::StatusOr<Point> prefix = t.commit(std::span<const Fr>(dense).first(3));
  ASSERT_TRUE(prefix.ok());
  EXPECT_EQ(*prefix, add(add(scalar_mul(crs()[0], dense[0]), scalar_mul(crs()[1], dense[1])),
                         scalar_mul(crs()[2], dense[2])));
  EXPECT_TRUE(is_identity(*t.commit({})));
  // update: C + delta * G_i equals committing to the changed vector
  for (int k = 0; k < 10; ++k) {
    const std::size_t i = rng() % 256;
    const Fr delta = random_scalar(rng);
    dense[i] = add(dense[i], delta);
    expected = t.update(expected, i, delta);
    EXPECT_EQ(expected, *t.commit(dense));
  }
  // sparse: repeated indices add up
  const std::vector<SparseTerm> terms = {{5, from_u64<BandersnatchFrParams>(3)},
                                         {200, dense[200]},
                                         {5, from_u64<BandersnatchFrParams>(4)}};
  absl::StatusOr<Point> sparse = t.commit_sparse(terms);
  ASSERT_TRUE(sparse.ok());
  EXPECT_EQ(*sparse, add(scalar_mul(crs()[5], from_u64<BandersnatchFrParams>(7)),
                         scalar_mul(crs()[200], dense[200])));
  // bad input
  EXPECT_EQ(t.commit(std::vector<Fr>(257, Fr::one())).status().code(),
            absl::StatusCode::kInvalidArgument);
  const std::vector<SparseTerm> bad = {{256, Fr::one()}};
  EXPECT_EQ(t.commit_sparse(bad).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Pedersen, CommitRootVectors) {
  const nlohmann::json v = vectors("rust-verkle-java-resources/commit_root_test.json");
  ASSERT_FALSE(v.empty());
  for (const auto& entry : v) {
    std::vector<Fr> scalars;
    for (const auto& s : entry["frs"])
      scalars.push_back(field_from_be_hex<Fr>(s.get<std::string>()));
    ASSERT_EQ(scalars.size(), 256u);
    absl::StatusOr<Point> c = default_pedersen_tables().commit(scalars);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(to_hex(serialize(*c)), strip0x(entry["expected"].get<std::string>()));
  }
}

TEST(Pedersen, CommitmentToFieldVectors) {
  const nlohmann::json v = vectors("rust-verkle-java-resources/pedersen_commitment_test.json");
  ASSERT_EQ(v.size(), 10u);
  std::vector<Point> commitments;
  std::vector<std::string> expected;
  for (const auto& entry : v) {
    std::vector<Fr> scalars;
    for (const auto& s : entry["frs"]) {
      const Bytes32 le = from_hex32(s.get<std::string>());
      Fr x;
      ASSERT_TRUE(from_bytes_le(le.data(), x)) << s;
      scalars.push_back(x);
    }
    ASSERT_EQ(scalars.size(), 256u);
    absl::StatusOr<Point> c = default_pedersen_tables().commit(scalars);
    ASSERT_TRUE(c.ok());
    expected.push_back(strip0x(entry["commitment"].get<std::string>()));
    EXPECT_EQ(to_hex(map_to_scalar_field_bytes(*c)), expected.back());
    commitments.push_back(*c);
  }
  const std::vector<Fr> batch = batch_map_to_scalar_field(commitments);
  for (std::size_t i = 0; i < batch.size(); ++i)
    EXPECT_EQ(to_hex(to_bytes_le(batch[i])), expected[i]);
}

// ---- EIP-6800 key derivation ------------------------------------------------------------------

Bytes32 tree_index_le_from_u64_at(std::uint64_t value, int byte_offset = 0) {
  Bytes32 out{};
  for (int b = 0; b < 8 && byte_offset + b < 32; ++b)
    out[byte_offset + b] = static_cast<std::uint8_t>(value >> (8 * b));
  return out;
}

TEST(TreeKey, PublicPedersenHashAndTreeKeyVectors) {
  const nlohmann::json v = vectors("public_vectors.json")["pedersen_hash_and_tree_keys"];
  int checked = 0;
  for (const auto& entry : v) {
    if (entry.contains("input64")) {
      const std::vector<std::uint8_t> in = from_hex(entry["input64"].get<std::string>());
      ASSERT_EQ(in.size(), 64u);
      EXPECT_EQ(to_hex(pedersen_hash(std::span<const std::uint8_t, 64>(in.data(), 64))),
                entry["hash_le"].get<std::string>());
      ++checked;
    }
    if (entry.contains("tree_index_bytes_as_passed(LE32)")) {
      const Bytes32 address = from_hex32(entry["address32"].get<std::string>());
      const Bytes32 index =
          from_hex32(entry["tree_index_bytes_as_passed(LE32)"].get<std::string>());
      const auto sub = static_cast<std::uint8_t>(entry["sub_index"].get<int>());
      EXPECT_EQ(to_hex(get_tree_key(address, index, sub)), entry["tree_key"].get<std::string>());
      // the five scalars, as decimal u128s: 2 + 256*64 and the four little-endian 16-byte chunks
      const auto& chunks = entry["chunked_u128_inputs"];
      ASSERT_EQ(chunks.size(), 5u);
      std::vector<Fr> scalars;
      for (const auto& c : chunks) {
        Mpz m(c.get<std::string>().c_str(), 10);
        scalars.push_back(from_mpz<Fr>(m));
      }
      EXPECT_EQ(scalars[0], from_u64<BandersnatchFrParams>(16386));
      std::array<std::uint8_t, 64> input{};
      std::copy(address.begin(), address.end(), input.begin());
      std::copy(index.begin(), index.end(), input.begin() + 32);
      for (int k = 0; k < 4; ++k) {
        Bytes32 le{};
        std::copy(input.begin() + 16 * k, input.begin() + 16 * k + 16, le.begin());
        Fr chunk;
        ASSERT_TRUE(from_bytes_le(le.data(), chunk));
        EXPECT_EQ(chunk, scalars[k + 1]) << k;
      }
      absl::StatusOr<Point> c = default_pedersen_tables().commit(scalars);
      ASSERT_TRUE(c.ok());
      Bytes32 key = map_to_scalar_field_bytes(*c);
      key[31] = sub;
      EXPECT_EQ(to_hex(key), entry["tree_key"].get<std::string>());
      ++checked;
    }
    if (entry.contains("tree_index") && entry["tree_index"] == "2^129 + 3") {
      const Bytes32 address = from_hex32(entry["address32"].get<std::string>());
      Bytes32 index{};
      index[0] = 3;
      index[16] = 0x02;  // 2^129 = bit 1 of byte 16
      const auto sub = static_cast<std::uint8_t>(entry["sub_index"].get<int>());
      EXPECT_EQ(to_hex(get_tree_key(address, index, sub)), entry["tree_key"].get<std::string>());
      ++checked;
    }
    for (const auto& [k, value] : entry.items()) {
      if (k.rfind("commit([2+256*64])", 0) == 0) {
        const Point c = default_pedersen_tables().mul(0, from_u64<BandersnatchFrParams>(16386));
        EXPECT_EQ(to_hex(serialize(c)), value.get<std::string>());
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 5);
}

TEST(TreeKey, DerivedTreeKeyVectors) {
  const nlohmann::json v = vectors("derived_vectors.json");
  const auto& keys = v["tree_keys"];
  ASSERT_EQ(keys.size(), 3u);
  for (const auto& entry : keys) {
    const Bytes32 address = from_hex32(entry["address32"].get<std::string>());
    const Bytes32 zero{};
    EXPECT_EQ(to_hex(get_tree_key(address, zero, 0)),
              entry["basic_data_key(tree_index=0,sub=0)"].get<std::string>());
    EXPECT_EQ(to_hex(get_tree_key(address, zero, 1)),
              entry["code_hash_key(sub=1)"].get<std::string>());
    EXPECT_EQ(to_hex(get_tree_key(address, zero, 64)),
              entry["storage_slot_0_key(pos=64)"].get<std::string>());
    EXPECT_EQ(to_hex(get_tree_key(address, zero, 128)),
              entry["code_chunk_0_key(pos=128)"].get<std::string>());
    // pos = 256^31 + 64: tree_index = pos / 256 = 256^30, sub_index = 64
    const Bytes32 index = tree_index_le_from_u64_at(1, 30);
    EXPECT_EQ(to_hex(get_tree_key(address, index, 64)),
              entry["storage_slot_64_key(pos=256**31+64)"].get<std::string>());
    std::array<std::uint8_t, 64> input{};
    std::copy(address.begin(), address.end(), input.begin());
    EXPECT_EQ(to_hex(pedersen_hash(input)),
              entry["pedersen_hash(addr32||LE32(0))"].get<std::string>());
  }
  const Point c = default_pedersen_tables().mul(0, from_u64<BandersnatchFrParams>(16386));
  EXPECT_EQ(to_hex(serialize(c)), v["index0_point_commit([2+256*64])"].get<std::string>());
  // The testnet cross-check stems quoted in public_vectors.json.
  const Bytes32 system_address =
      from_hex32("000000000000000000000000fffffffffffffffffffffffffffffffffffffffe");
  EXPECT_EQ(to_hex(get_tree_key(system_address, Bytes32{}, 64)).substr(0, 62),
            "5b5fdfedd6a0e932da408ac7d772a36513d1eee9b9926e52620c43a433aad7");
  EXPECT_EQ(
      to_hex(get_tree_key(system_address, tree_index_le_from_u64_at(1, 30), 97)).substr(0, 62),
      "ab8fbede899caa6a95ece66789421c7777983761db3cfb33b5e47ba10f413b");
}

// Leaf and single-leaf root commitments: Pedersen commitments with the EIP-6800 leaf layout
// (C1 = (lo + 2^128) * G_{2s} + hi * G_{2s+1}; C = G0 + stem*G1 + map(C1)*G2 + map(C2)*G3).
TEST(Pedersen, LeafCommitmentVectors) {
  const nlohmann::json v = vectors("derived_vectors.json")["leaf_internals"];
  const PedersenTables& t = default_pedersen_tables();
  const std::vector<std::uint8_t> value = from_hex(v["value"].get<std::string>());
  const std::vector<std::uint8_t> stem = from_hex(v["stem"].get<std::string>());
  const int suffix = v["suffix"].get<int>();
  ASSERT_EQ(suffix, 32);
  Bytes32 lo{}, hi{}, stem_le{};
  std::copy(value.begin(), value.begin() + 16, lo.begin());
  lo[16] = 1;  // + 2^128: the "value present" marker
  std::copy(value.begin() + 16, value.end(), hi.begin());
  std::copy(stem.begin(), stem.end(), stem_le.begin());
  Fr flo, fhi, fstem;
  ASSERT_TRUE(from_bytes_le(lo.data(), flo));
  ASSERT_TRUE(from_bytes_le(hi.data(), fhi));
  ASSERT_TRUE(from_bytes_le(stem_le.data(), fstem));
  const std::vector<SparseTerm> c1_terms = {{static_cast<std::uint32_t>(2 * suffix), flo},
                                            {static_cast<std::uint32_t>(2 * suffix + 1), fhi}};
  const Point c1 = *t.commit_sparse(c1_terms);
  EXPECT_EQ(to_hex(serialize(c1)), v["c1_commitment"].get<std::string>());
  EXPECT_EQ(to_hex(map_to_scalar_field_bytes(c1)), v["c1_hash_le"].get<std::string>());
  const Point c2 = Point::identity();
  EXPECT_EQ(to_hex(serialize(c2)), v["c2_commitment"].get<std::string>());
  EXPECT_EQ(to_hex(map_to_scalar_field_bytes(c2)), v["c2_hash_le"].get<std::string>());
  const std::vector<Fr> leaf_scalars = {Fr::one(), fstem, map_to_scalar_field(c1),
                                        map_to_scalar_field(c2)};
  const Point leaf = *t.commit(leaf_scalars);
  EXPECT_EQ(to_hex(serialize(leaf)), v["leaf_commitment"].get<std::string>());
  EXPECT_EQ(to_hex(map_to_scalar_field_bytes(leaf)), v["leaf_hash_le"].get<std::string>());
  // A root holding only this leaf commits map(leaf) at the stem's first byte.
  const Point root = t.mul(stem[0], map_to_scalar_field(leaf));
  const nlohmann::json tree = vectors("public_vectors.json")["tree_vectors"][1];
  EXPECT_EQ(to_hex(serialize(root)), tree["root_commitment"].get<std::string>());
  EXPECT_EQ(to_hex(map_to_scalar_field_bytes(root)), tree["root_hash_le"].get<std::string>());
  EXPECT_EQ(tree["extra"]["c1_hash_le"].get<std::string>(), v["c1_hash_le"].get<std::string>());

  // go-verkle TestEmptyHashCodeCachedPoint: stem 0, values[3] = empty code hash -> C1.
  const nlohmann::json public_vectors = vectors("public_vectors.json");
  const nlohmann::json& cached = public_vectors["tree_vectors"][6];
  ASSERT_TRUE(cached.contains("c1_commitment"));
  const std::vector<std::uint8_t> code_hash =
      from_hex("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  Bytes32 clo{}, chi{};
  std::copy(code_hash.begin(), code_hash.begin() + 16, clo.begin());
  clo[16] = 1;
  std::copy(code_hash.begin() + 16, code_hash.end(), chi.begin());
  Fr a, b;
  ASSERT_TRUE(from_bytes_le(clo.data(), a));
  ASSERT_TRUE(from_bytes_le(chi.data(), b));
  const std::vector<SparseTerm> cached_terms = {{6, a}, {7, b}};
  EXPECT_EQ(to_hex(serialize(*t.commit_sparse(cached_terms))),
            cached["c1_commitment"].get<std::string>());
}

}  // namespace
}  // namespace arbor::verkle
