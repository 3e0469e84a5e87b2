// BN254 Fr against GMP as an independent big-integer reference, plus the text and byte codecs.
#include "kernels/field/bn254_fr.hpp"

#include <gmp.h>

#include <string>

#include "gtest/gtest.h"
#include "kernels/field/bn254_fr_text.hpp"
#include "tests/support/mpz.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::field {
namespace {

constexpr const char* kModulusDec =
    "21888242871839275222246405745257275088548364400416034343698204186575808495617";

using testing::Mpz;

Mpz& modulus() {
  static Mpz p(kModulusDec);
  return p;
}

std::vector<Fr> operands(std::mt19937_64& rng, int random_count) {
  std::vector<Fr> values = testing::edge_values();
  for (int i = 0; i < random_count; ++i) values.push_back(testing::random_fr(rng));
  return values;
}

TEST(Bn254Fr, ModulusAndConstantsAreDerivedCorrectly) {
  EXPECT_EQ(to_decimal(Fr::one()), "1");
  EXPECT_EQ(to_decimal(Fr::zero()), "0");
  EXPECT_EQ(to_decimal(sub(Fr::zero(), Fr::one())),
            "21888242871839275222246405745257275088548364400416034343698204186575808495616");
  EXPECT_TRUE(add(sub(Fr::zero(), Fr::one()), Fr::one()).is_zero());
}

TEST(Bn254Fr, ArithmeticMatchesGmp) {
  std::mt19937_64 rng = testing::seeded_rng("Bn254Fr.ArithmeticMatchesGmp");
  const std::vector<Fr> values = operands(rng, 60);
  Mpz a, b, expected;
  for (const Fr& x : values) {
    mpz_set_str(a.get(), to_decimal(x).c_str(), 10);
    for (const Fr& y : values) {
      mpz_set_str(b.get(), to_decimal(y).c_str(), 10);
      mpz_add(expected.get(), a.get(), b.get());
      mpz_mod(expected.get(), expected.get(), modulus().get());
      ASSERT_EQ(to_decimal(add(x, y)), expected.str()) << to_hex(x) << " + " << to_hex(y);
      mpz_sub(expected.get(), a.get(), b.get());
      mpz_mod(expected.get(), expected.get(), modulus().get());
      ASSERT_EQ(to_decimal(sub(x, y)), expected.str()) << to_hex(x) << " - " << to_hex(y);
      mpz_mul(expected.get(), a.get(), b.get());
      mpz_mod(expected.get(), expected.get(), modulus().get());
      ASSERT_EQ(to_decimal(mul(x, y)), expected.str()) << to_hex(x) << " * " << to_hex(y);
    }
  }
}

TEST(Bn254Fr, NegSquarePow5InverseMatchGmp) {
  std::mt19937_64 rng = testing::seeded_rng("Bn254Fr.NegSquarePow5InverseMatchGmp");
  Mpz a, expected, five;
  mpz_set_ui(five.get(), 5);
  for (const Fr& x : operands(rng, 200)) {
    mpz_set_str(a.get(), to_decimal(x).c_str(), 10);
    mpz_neg(expected.get(), a.get());
    mpz_mod(expected.get(), expected.get(), modulus().get());
    ASSERT_EQ(to_decimal(neg(x)), expected.str());
    mpz_powm_ui(expected.get(), a.get(), 2, modulus().get());
    ASSERT_EQ(to_decimal(square(x)), expected.str());
    mpz_powm(expected.get(), a.get(), five.get(), modulus().get());
    ASSERT_EQ(to_decimal(pow5(x)), expected.str());
    if (x.is_zero()) {
      EXPECT_TRUE(inverse(x).is_zero());
    } else {
      ASSERT_NE(mpz_invert(expected.get(), a.get(), modulus().get()), 0);
      ASSERT_EQ(to_decimal(inverse(x)), expected.str());
      ASSERT_EQ(mul(x, inverse(x)), Fr::one());
    }
  }
}

TEST(Bn254Fr, TextRoundTripsAndMatchesGmpFormatting) {
  std::mt19937_64 rng = testing::seeded_rng("Bn254Fr.TextRoundTrips");
  Mpz a;
  for (const Fr& x : operands(rng, 500)) {
    const std::string dec = to_decimal(x);
    const std::string hex = to_hex(x);
    ASSERT_EQ(hex.size(), 66u);
    mpz_set_str(a.get(), hex.c_str() + 2, 16);
    ASSERT_EQ(a.str(), dec);
    ASSERT_EQ(*parse_fr(dec), x);
    ASSERT_EQ(*parse_fr(hex), x);
    const auto bytes = to_bytes_be(x);
    ASSERT_EQ(*from_bytes_be(bytes.data(), bytes.size()), x);
  }
  EXPECT_EQ(to_hex(*parse_fr("0X1F")), "0x" + std::string(62, '0') + "1f");
  EXPECT_EQ(to_decimal(
                *parse_fr("0x0000000000000000000000000000000000000000000000000000000000000000001")),
            "1");
  EXPECT_EQ(to_decimal(*parse_fr("000123")), "123");
  EXPECT_EQ(to_decimal(*parse_fr("10000000000000000000")), "10000000000000000000");
}

TEST(Bn254Fr, RejectsValuesAtOrAboveTheModulus) {
  const std::string p = kModulusDec;
  for (const std::string& text :
       {p,
        std::string(
            "21888242871839275222246405745257275088548364400416034343698204186575808495618"),
        std::string("0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001"),
        std::string("0x" + std::string(64, 'f')), std::string("0x1" + std::string(64, '0')),
        std::string(200, '9')}) {
    absl::StatusOr<Fr> parsed = parse_fr(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kOutOfRange) << text;
    EXPECT_NE(parsed.status().message().find("modulus"), std::string::npos);
  }
  std::array<std::uint8_t, 32> p_bytes{};
  const auto p_minus_1 = to_bytes_be(sub(Fr::zero(), Fr::one()));
  p_bytes = p_minus_1;
  p_bytes[31] += 1;  // p - 1 ends in 0x00, so this is p
  EXPECT_EQ(from_bytes_be(p_bytes.data(), 32).status().code(), absl::StatusCode::kOutOfRange);
  std::array<std::uint8_t, 32> all_ff;
  all_ff.fill(0xff);
  EXPECT_FALSE(from_bytes_be(all_ff.data(), 32).ok());
}

TEST(Bn254Fr, RejectsMalformedText) {
  for (const char* text : {"", "0x", "0X", "-1", "+1", " 1", "1 ", "1.0", "1e3", "0x1g", "abc",
                           "0b101", "١", "0x-1", "1_000"}) {
    absl::StatusOr<Fr> parsed = parse_fr(text);
    ASSERT_FALSE(parsed.ok()) << "'" << text << "'";
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
  const std::uint8_t short_bytes[31] = {};
  EXPECT_EQ(from_bytes_be(short_bytes, 31).status().code(), absl::StatusCode::kInvalidArgument);
  const std::uint8_t long_bytes[33] = {};
  EXPECT_EQ(from_bytes_be(long_bytes, 33).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace arbor::field
