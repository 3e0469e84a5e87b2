// The eight-lane radix-2^52 arithmetic (kernels/field/lanes.hpp) and the lane Poseidon
// (kernels/poseidon/poseidon_lanes.hpp) against the scalar field and permute<T>: the portable
// emulation always, the AVX-512 IFMA implementation where the CPU has it (and then bit for bit
// equal to the emulation). BN254 Fr and the BLS12-381 scalar field, to hold the template generic.
#include "kernels/poseidon/poseidon_lanes.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/field/bn254_fr_text.hpp"
#include "kernels/field/cpu_features.hpp"
#include "kernels/field/lanes.hpp"
#include "kernels/poseidon/poseidon_params.hpp"
#include "kernels/verkle/bls12_381_fr.hpp"
#include "tests/support/test_support.hpp"

namespace arbor {
namespace {

using field::kLaneLimbs;
using field::kLanes;
using field::LaneBlock;
using field::LaneImpl;
using field::MontField;
using field::lanes_detail::kMask52;
using field::lanes_detail::Limbs52;
using field::mont_detail::Limbs;
using poseidon::Fr;

// ---- lane operands ------------------------------------------------------------------------------

// A lane-form operand: the integer c + k * p (k <= 3, so < 4p, the widest input the product
// takes), whose residue c < p is what the scalar field sees.
struct RawOperand {
  Limbs c;
  int k;
};

template <class P>
Limbs52 raw_limbs(const RawOperand& x) {
  Limbs52 l = field::lanes_detail::split52(x.c);
  for (int rep = 0; rep < x.k; ++rep) {
    std::uint64_t carry = 0;
    for (int i = 0; i < kLaneLimbs; ++i) {
      const std::uint64_t s = l[i] + field::LaneConstants<P>::kP52[i] + carry;
      l[i] = s & kMask52;
      carry = s >> 52;
    }
    l[kLaneLimbs - 1] += carry << 52;  // < 2^260 by k <= 3
  }
  return l;
}

// v < 4p as an operand: c = v mod p by subtraction.
template <class P>
RawOperand operand_from_integer(Limbs v) {
  int k = 0;
  while (field::mont_detail::compare(v, P::kModulus) >= 0) {
    v = field::mont_detail::sub_limbs(v, P::kModulus);
    ++k;
  }
  return RawOperand{v, k};
}

template <class P>
Limbs random_below_p(std::mt19937_64& rng) {
  const int bits = field::LaneConstants<P>::kBits;
  while (true) {
    Limbs v = {rng(), rng(), rng(), rng()};
    v[3] &= (std::uint64_t{1} << (bits - 192)) - 1;
    if (field::mont_detail::compare(v, P::kModulus) < 0) return v;
  }
}

// 0, 1, p - 1, all-ones limbs below p (64- and 52-bit), integers near 2^254 and 2^255, and the
// largest operands (4p - 1, 3p).
template <class P>
std::vector<RawOperand> edge_operands() {
  const Limbs p = P::kModulus;
  const Limbs pm1 = field::mont_detail::sub_limbs(p, Limbs{1, 0, 0, 0});
  const Limbs ones64 = {~0ULL, ~0ULL, ~0ULL, p[3] - 1};
  const Limbs52 p52 = field::LaneConstants<P>::kP52A;
  const Limbs ones52 =
      field::lanes_detail::join52(Limbs52{kMask52, kMask52, kMask52, kMask52, p52[4] - 1});
  std::vector<RawOperand> out = {{Limbs{0, 0, 0, 0}, 0},
                                 {Limbs{1, 0, 0, 0}, 0},
                                 {Limbs{2, 0, 0, 0}, 0},
                                 {pm1, 0},
                                 {pm1, 1},
                                 {pm1, 3},
                                 {Limbs{0, 0, 0, 0}, 3},
                                 {Limbs{1, 0, 0, 0}, 3},
                                 {ones64, 0},
                                 {ones64, 2},
                                 {ones52, 0},
                                 {ones52, 3},
                                 {Limbs{~0ULL, 0, 0, 0}, 0},
                                 {Limbs{0, 0, 1, 0}, 0},
                                 {Limbs{0, 0, 0, 1ULL << 60}, 0}};
  for (const Limbs v : {Limbs{~0ULL, ~0ULL, ~0ULL, (1ULL << 62) - 1}, Limbs{0, 0, 0, 1ULL << 62},
                        Limbs{~0ULL, ~0ULL, ~0ULL, (1ULL << 63) - 1}}) {
    out.push_back(operand_from_integer<P>(v));
  }
  return out;
}

template <class P>
RawOperand random_operand(std::mt19937_64& rng, int max_k) {
  static const std::vector<RawOperand> edges = edge_operands<P>();
  if (rng() % 4 == 0) {
    RawOperand e = edges[rng() % edges.size()];
    if (e.k <= max_k) return e;
  }
  return RawOperand{random_below_p<P>(rng), static_cast<int>(rng() % (max_k + 1))};
}

void put_lane(LaneBlock& b, int lane, const Limbs52& l) {
  for (int k = 0; k < kLaneLimbs; ++k) b.limb[k][lane] = l[k];
}

// Checks lane `lane` of a result Z: normalized limbs, Z < 2p, and Z = expected * 2^-260, i.e.
// field::mul(Z mod p, 2^260 mod p) = Z * 2^4 equals `expected_times_2_4` (a scalar product or
// sum of products, which field::mul scales by 2^-256).
template <class P>
::testing::AssertionResult lane_result_ok(const LaneBlock& z, int lane,
                                          const MontField<P>& expected_times_2_4) {
  Limbs52 l{};
  for (int k = 0; k < kLaneLimbs; ++k) {
    l[k] = z.limb[k][lane];
    if (l[k] > kMask52) return ::testing::AssertionFailure() << "limb " << k << " not normalized";
  }
  Limbs v = field::lanes_detail::join52(l);
  if (l[4] >> 48 != 0) return ::testing::AssertionFailure() << "value >= 2^256";
  const Limbs p = P::kModulus;
  const Limbs two_p = {p[0] << 1, (p[1] << 1) | (p[0] >> 63), (p[2] << 1) | (p[1] >> 63),
                       (p[3] << 1) | (p[2] >> 63)};
  if (field::mont_detail::compare(v, two_p) >= 0) {
    return ::testing::AssertionFailure() << "result not below 2p";
  }
  if (field::mont_detail::compare(v, p) >= 0) v = field::mont_detail::sub_limbs(v, p);
  constexpr Limbs r260 = field::LaneConstants<P>::kR260;
  const MontField<P> got = field::mul(MontField<P>{{v[0], v[1], v[2], v[3]}},
                                      MontField<P>{{r260[0], r260[1], r260[2], r260[3]}});
  if (got != expected_times_2_4) return ::testing::AssertionFailure() << "wrong residue";
  return ::testing::AssertionSuccess();
}

template <class P>
MontField<P> as_field(const Limbs& c) {
  return MontField<P>{{c[0], c[1], c[2], c[3]}};
}

bool blocks_equal(const LaneBlock& a, const LaneBlock& b) {
  for (int k = 0; k < kLaneLimbs; ++k) {
    for (int i = 0; i < kLanes; ++i) {
      if (a.limb[k][i] != b.limb[k][i]) return false;
    }
  }
  return true;
}

// mul, sqr and dot products of `impl` on random and edge operands (inputs up to 4p; the dot
// products' terms as Poseidon's mixing: < p times < 2p, up to 17 of them). With `bitwise`, also
// equal limb for limb to the emulation.
template <class P>
void check_raw_ops(LaneImpl impl, std::mt19937_64& rng, int groups, bool bitwise) {
  const std::vector<RawOperand> edges = edge_operands<P>();
  for (int g = 0; g < groups; ++g) {
    LaneBlock a{}, b{}, out{}, reference{};
    MontField<P> prod[kLanes], square[kLanes];
    for (int i = 0; i < kLanes; ++i) {
      // The first groups pair every edge operand with every other.
      const std::size_t pair = static_cast<std::size_t>(g) * kLanes + static_cast<std::size_t>(i);
      const RawOperand x = pair < edges.size() * edges.size() ? edges[pair / edges.size()]
                                                              : random_operand<P>(rng, 3);
      const RawOperand y = pair < edges.size() * edges.size() ? edges[pair % edges.size()]
                                                              : random_operand<P>(rng, 3);
      put_lane(a, i, raw_limbs<P>(x));
      put_lane(b, i, raw_limbs<P>(y));
      prod[i] = field::mul(as_field<P>(x.c), as_field<P>(y.c));
      square[i] = field::mul(as_field<P>(x.c), as_field<P>(x.c));
    }
    field::lane_mul_block<P>(impl, a, b, out);
    for (int i = 0; i < kLanes; ++i) ASSERT_TRUE(lane_result_ok<P>(out, i, prod[i])) << "mul";
    if (bitwise) {
      field::lane_mul_block<P>(LaneImpl::kEmulated, a, b, reference);
      ASSERT_TRUE(blocks_equal(out, reference)) << "mul differs from the emulation";
    }
    field::lane_sqr_block<P>(impl, a, out);
    for (int i = 0; i < kLanes; ++i) ASSERT_TRUE(lane_result_ok<P>(out, i, square[i])) << "sqr";
    if (bitwise) {
      field::lane_sqr_block<P>(LaneImpl::kEmulated, a, reference);
      ASSERT_TRUE(blocks_equal(out, reference)) << "sqr differs from the emulation";
    }
  }
  for (const int n : {1, 2, 3, 17}) {
    for (int rep = 0; rep < groups / 4 + 1; ++rep) {
      std::vector<LaneBlock> a(static_cast<std::size_t>(n)), b(static_cast<std::size_t>(n));
      MontField<P> sum[kLanes];
      for (int i = 0; i < kLanes; ++i) {
        sum[i] = MontField<P>::zero();
        for (int j = 0; j < n; ++j) {
          const RawOperand x = random_operand<P>(rng, 0), y = random_operand<P>(rng, 1);
          put_lane(a[j], i, raw_limbs<P>(x));
          put_lane(b[j], i, raw_limbs<P>(y));
          sum[i] = field::add(sum[i], field::mul(as_field<P>(x.c), as_field<P>(y.c)));
        }
      }
      LaneBlock out{}, reference{};
      field::lane_dot_block<P>(impl, a.data(), b.data(), n, out);
      for (int i = 0; i < kLanes; ++i) ASSERT_TRUE(lane_result_ok<P>(out, i, sum[i])) << "dot";
      if (bitwise) {
        field::lane_dot_block<P>(LaneImpl::kEmulated, a.data(), b.data(), n, reference);
        ASSERT_TRUE(blocks_equal(out, reference)) << "dot differs from the emulation";
      }
    }
  }
}

// Canonical MontField values through from_words / mul / to_words: equal to field::mul.
template <class P>
void check_mul_many(LaneImpl impl, std::mt19937_64& rng) {
  std::vector<MontField<P>> values;
  for (const RawOperand& e : edge_operands<P>()) values.push_back(as_field<P>(e.c));
  for (const std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{8},
                              std::size_t{9}, std::size_t{300}}) {
    std::vector<MontField<P>> a(n), b(n), out(n, MontField<P>::one()), expected(n);
    for (std::size_t i = 0; i < n; ++i) {
      a[i] = rng() % 4 == 0 ? values[rng() % values.size()] : as_field<P>(random_below_p<P>(rng));
      b[i] = rng() % 4 == 0 ? values[rng() % values.size()] : as_field<P>(random_below_p<P>(rng));
      expected[i] = field::mul(a[i], b[i]);
    }
    field::lane_mul_many<P>(impl, a.data(), b.data(), out.data(), n);
    ASSERT_EQ(out, expected) << "n = " << n;
  }
}

TEST(LaneField, ConstantsDerivedFromTheModulus) {
  using K = field::LaneConstants<field::Bn254FrParams>;
  EXPECT_EQ(K::kBits, 254);
  EXPECT_EQ(field::LaneConstants<verkle::Bls12381FrParams>::kBits, 255);
  // -p^-1 mod 2^52 agrees with MontField's -p^-1 mod 2^64 (p0 shares its low 52 bits).
  EXPECT_EQ(K::kK0, Fr::Constants::kInv & kMask52);
  EXPECT_EQ(field::lanes_detail::join52(K::kP52A), field::Bn254FrParams::kModulus);
  EXPECT_TRUE(field::lane_impl_supported(LaneImpl::kEmulated));
  EXPECT_EQ(field::lane_impl_supported(LaneImpl::kAvx512), field::cpu_features().has_ifma_path());
}

TEST(LaneField, EmulatedMulSqrDotMatchScalarBn254) {
  std::mt19937_64 rng = testing::seeded_rng("LaneField.EmulatedMulSqrDotMatchScalarBn254");
  check_raw_ops<field::Bn254FrParams>(LaneImpl::kEmulated, rng, 200, false);
}

TEST(LaneField, EmulatedMulSqrDotMatchScalarBls12381) {
  std::mt19937_64 rng = testing::seeded_rng("LaneField.EmulatedMulSqrDotMatchScalarBls12381");
  check_raw_ops<verkle::Bls12381FrParams>(LaneImpl::kEmulated, rng, 200, false);
}

TEST(LaneField, EmulatedMulManyEqualsFieldMul) {
  std::mt19937_64 rng = testing::seeded_rng("LaneField.EmulatedMulManyEqualsFieldMul");
  check_mul_many<field::Bn254FrParams>(LaneImpl::kEmulated, rng);
  check_mul_many<verkle::Bls12381FrParams>(LaneImpl::kEmulated, rng);
}

TEST(LaneField, Avx512MatchesEmulationWhereSupported) {
  if (!field::cpu_features().has_ifma_path()) GTEST_SKIP() << testing::kNoIfmaSkip;
  std::mt19937_64 rng = testing::seeded_rng("LaneField.Avx512MatchesEmulationWhereSupported");
  check_raw_ops<field::Bn254FrParams>(LaneImpl::kAvx512, rng, 400, true);
  check_raw_ops<verkle::Bls12381FrParams>(LaneImpl::kAvx512, rng, 400, true);
  check_mul_many<field::Bn254FrParams>(LaneImpl::kAvx512, rng);
  check_mul_many<verkle::Bls12381FrParams>(LaneImpl::kAvx512, rng);
}

// ---- Poseidon -----------------------------------------------------------------------------------

std::vector<Fr> scalar_hashes(int t, const std::vector<Fr>& inputs, std::size_t count) {
  const poseidon::PoseidonTables tables = poseidon::poseidon_params(t).tables();
  std::vector<Fr> out(count);
  for (std::size_t i = 0; i < count; ++i) {
    Fr state[poseidon::kMaxWidth];
    state[0] = Fr::zero();
    std::copy_n(inputs.begin() + static_cast<std::ptrdiff_t>(i * (t - 1)), t - 1, state + 1);
    poseidon::permute<0>(state, tables);
    out[i] = state[0];
  }
  return out;
}

void check_hash_many(LaneImpl impl, std::mt19937_64& rng, const std::vector<int>& widths,
                     const std::vector<std::size_t>& sizes) {
  for (const int t : widths) {
    for (const std::size_t count : sizes) {
      std::vector<Fr> inputs(count * static_cast<std::size_t>(t - 1));
      for (Fr& x : inputs) x = testing::random_fr_with_edges(rng);
      const std::vector<Fr> expected = scalar_hashes(t, inputs, count);
      std::vector<Fr> got(count, Fr::one());
      poseidon::hash_many_lanes(t, inputs.data(), got.data(), count, impl);
      ASSERT_EQ(got, expected) << "t = " << t << ", count = " << count;
    }
  }
}

void check_permute_many(LaneImpl impl, std::mt19937_64& rng) {
  for (int t = poseidon::kMinWidth; t <= poseidon::kMaxWidth; ++t) {
    const poseidon::PoseidonTables tables = poseidon::poseidon_params(t).tables();
    for (const std::size_t count : {std::size_t{1}, std::size_t{9}, std::size_t{16}}) {
      std::vector<Fr> states(count * static_cast<std::size_t>(t));
      for (Fr& x : states) x = testing::random_fr_with_edges(rng);
      std::vector<Fr> expected = states;
      for (std::size_t i = 0; i < count; ++i) poseidon::permute<0>(expected.data() + i * t, tables);
      poseidon::permute_many_lanes(t, states.data(), count, impl);
      ASSERT_EQ(states, expected) << "t = " << t << ", count = " << count;
    }
  }
}

Fr fr(const std::string& text) {
  absl::StatusOr<Fr> v = field::parse_fr(text);
  EXPECT_TRUE(v.ok()) << text << ": " << v.status();
  return v.value_or(Fr::zero());
}

// Every circomlib vector, copied into all lanes of a group and a padded tail (nine copies).
void check_vectors(LaneImpl impl) {
  const nlohmann::json vectors =
      testing::read_json(testing::vectors_dir() / "poseidon_bn254_circom.json");
  ASSERT_GE(vectors.at("hash").size(), 1u);
  constexpr std::size_t kCopies = 9;
  for (const auto& v : vectors.at("hash")) {
    const int t = v.at("t").get<int>();
    std::vector<Fr> state{fr(v.at("init_state").get<std::string>())};
    for (const auto& x : v.at("inputs")) state.push_back(fr(x.get<std::string>()));
    ASSERT_EQ(static_cast<int>(state.size()), t);
    const std::string expected = v.at("output_hex").get<std::string>();
    if (state[0].is_zero()) {
      std::vector<Fr> inputs, out(kCopies);
      for (std::size_t c = 0; c < kCopies; ++c)
        inputs.insert(inputs.end(), state.begin() + 1, state.end());
      poseidon::hash_many_lanes(t, inputs.data(), out.data(), kCopies, impl);
      for (std::size_t c = 0; c < kCopies; ++c)
        EXPECT_EQ(field::to_hex(out[c]), expected) << v.dump();
    }
    std::vector<Fr> states;
    for (std::size_t c = 0; c < kCopies; ++c)
      states.insert(states.end(), state.begin(), state.end());
    poseidon::permute_many_lanes(t, states.data(), kCopies, impl);
    for (std::size_t c = 0; c < kCopies; ++c) {
      EXPECT_EQ(field::to_hex(states[c * static_cast<std::size_t>(t)]), expected) << v.dump();
    }
  }
  for (const auto& [name, expected] : vectors.at("permutation").items()) {
    const int t = static_cast<int>(expected.size());
    std::vector<Fr> state;
    for (int i = 0; i < t; ++i) state.push_back(field::from_u64(static_cast<std::uint64_t>(i)));
    poseidon::permute_many_lanes(t, state.data(), 1, impl);
    for (int i = 0; i < t; ++i) {
      EXPECT_EQ(field::to_hex(state[i]), expected[i].get<std::string>()) << name << " output " << i;
    }
  }
}

const std::vector<std::size_t> kSizes = {0, 1, 7, 8, 9, 1000};

TEST(PoseidonLanes, EmulatedHashManyEqualsPermuteCommonWidths) {
  std::mt19937_64 rng = testing::seeded_rng("PoseidonLanes.EmulatedHashManyEqualsPermute");
  check_hash_many(LaneImpl::kEmulated, rng, {2, 3, 4, 5, 6, 17}, kSizes);
}

TEST(PoseidonLanes, EmulatedHashManyEqualsPermuteOtherWidths) {
  std::mt19937_64 rng = testing::seeded_rng("PoseidonLanes.EmulatedHashManyOtherWidths");
  check_hash_many(LaneImpl::kEmulated, rng, {7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, {9});
}

TEST(PoseidonLanes, EmulatedPermuteManyEqualsPermute) {
  std::mt19937_64 rng = testing::seeded_rng("PoseidonLanes.EmulatedPermuteManyEqualsPermute");
  check_permute_many(LaneImpl::kEmulated, rng);
}

TEST(PoseidonLanes, EmulatedCircomlibVectors) { check_vectors(LaneImpl::kEmulated); }

TEST(PoseidonLanes, Avx512PathRanWhereSupported) {
  if (!field::cpu_features().has_ifma_path()) GTEST_SKIP() << testing::kNoIfmaSkip;
  std::mt19937_64 rng = testing::seeded_rng("PoseidonLanes.Avx512PathRanWhereSupported");
  check_vectors(LaneImpl::kAvx512);
  check_hash_many(LaneImpl::kAvx512, rng, {2, 3, 4, 5, 6, 17}, kSizes);
  check_hash_many(LaneImpl::kAvx512, rng, {7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, {9, 100});
  check_permute_many(LaneImpl::kAvx512, rng);
  // In place (outputs == inputs) is allowed.
  std::vector<Fr> inputs(17 * 2);
  for (Fr& x : inputs) x = testing::random_fr(rng);
  const std::vector<Fr> expected = scalar_hashes(3, inputs, 17);
  poseidon::hash_many_lanes(3, inputs.data(), inputs.data(), 17, LaneImpl::kAvx512);
  EXPECT_EQ(std::vector<Fr>(inputs.begin(), inputs.begin() + 17), expected);
}

TEST(PoseidonLanes, EmulatedInPlace) {
  std::mt19937_64 rng = testing::seeded_rng("PoseidonLanes.EmulatedInPlace");
  std::vector<Fr> inputs(17 * 2);
  for (Fr& x : inputs) x = testing::random_fr(rng);
  const std::vector<Fr> expected = scalar_hashes(3, inputs, 17);
  poseidon::hash_many_lanes(3, inputs.data(), inputs.data(), 17, LaneImpl::kEmulated);
  EXPECT_EQ(std::vector<Fr>(inputs.begin(), inputs.begin() + 17), expected);
}

TEST(PoseidonLanesDeathTest, Avx512EntryAbortsWithoutIfma) {
  if (field::cpu_features().has_ifma_path()) GTEST_SKIP() << "this CPU has AVX-512 IFMA";
  std::vector<Fr> inputs(16, Fr::one()), out(8);
  EXPECT_DEATH(poseidon::hash_many_lanes(3, inputs.data(), out.data(), 8, LaneImpl::kAvx512),
               "without them");
}

}  // namespace
}  // namespace arbor
