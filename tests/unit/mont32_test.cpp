// The 32-bit-limb Montgomery multiplication (kernels/field/mont32.hpp), which the GPU runs for
// every field product, against field::mul() bit for bit on the host: the portable build of
// mont32 runs the same carry chains, in the same order, as the device's inline PTX.
#include "kernels/field/mont32.hpp"

#include <array>
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/field/bn254_fr.hpp"
#include "kernels/verkle/bandersnatch_fr.hpp"
#include "kernels/verkle/bls12_381_fr.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::field {
namespace {

using Limbs = std::array<std::uint64_t, 4>;

template <class F>
F from_limbs(const Limbs& x) {
  return F{{x[0], x[1], x[2], x[3]}};
}

template <class F>
bool below_p(const Limbs& x) {
  return mont_detail::below_modulus<typename F::Params>(x);
}

// Uniform in [0, p): random bits up to p's top bit, rejected when >= p.
template <class F>
F random_element(std::mt19937_64& rng) {
  const Limbs& p = F::Params::kModulus;
  int top_bit = 63;
  while (((p[3] >> top_bit) & 1) == 0) --top_bit;
  const std::uint64_t top_mask = (std::uint64_t{2} << top_bit) - 1;
  while (true) {
    const Limbs x = {rng(), rng(), rng(), rng() & top_mask};
    if (below_p<F>(x)) return from_limbs<F>(x);
  }
}

// Operands where carries and reductions go wrong: 0, 1, 2, p - 1, p - 2, (p - 1) / 2, 2^255 mod p
// and its neighbours, p rounded down to each 32-bit limb minus one (the limbs below all ones), runs
// of all-ones 32-bit limbs that stay below p, and p - 2^k.
template <class F>
std::vector<F> edge_elements() {
  using mont_detail::sub_limbs;
  const Limbs p = F::Params::kModulus;
  std::vector<Limbs> raw = {{0, 0, 0, 0},
                            {1, 0, 0, 0},
                            {2, 0, 0, 0},
                            sub_limbs(p, {1, 0, 0, 0}),
                            sub_limbs(p, {2, 0, 0, 0}),
                            mont_detail::shift_right(sub_limbs(p, {1, 0, 0, 0}), 1)};
  // 2^255 - 1, 2^255 and 2^255 + 1, reduced mod p (p < 2^255 for all three fields).
  Limbs near = {~0ULL, ~0ULL, ~0ULL, ~0ULL >> 1};
  for (int k = 0; k < 3; ++k) {
    Limbs v = near;
    while (!below_p<F>(v)) v = sub_limbs(v, p);
    raw.push_back(v);
    // near + 1, carried through the limbs.
    for (int i = 0; i < 4 && ++near[i] == 0; ++i) {
    }
  }
  for (int k = 1; k < 8; ++k) {
    // p with its k low 32-bit limbs cleared, minus one: those limbs become all ones.
    Limbs rounded = p;
    for (int i = 0; i < k; ++i) {
      rounded[i / 2] &= i % 2 == 0 ? 0xffffffff00000000ULL : 0x00000000ffffffffULL;
    }
    raw.push_back(sub_limbs(rounded, {1, 0, 0, 0}));
    // 2^(32k) - 1.
    Limbs ones = {0, 0, 0, 0};
    for (int i = 0; i < k; ++i) ones[i / 2] |= 0xffffffffULL << (32 * (i % 2));
    raw.push_back(ones);
  }
  for (int k = 0; k < 255; k += 31) {
    Limbs bit = {0, 0, 0, 0};
    bit[k / 64] = std::uint64_t{1} << (k % 64);
    if (mont_detail::compare(bit, p) < 0) raw.push_back(sub_limbs(p, bit));
  }
  std::vector<F> out;
  for (const Limbs& x : raw) {
    if (below_p<F>(x)) out.push_back(from_limbs<F>(x));
  }
  // 1 and -1 in Montgomery form too.
  out.push_back(F::one());
  out.push_back(neg(F::one()));
  return out;
}

template <class F>
class Mont32Test : public ::testing::Test {};

using Fields = ::testing::Types<Fr, verkle::Fp, verkle::Fr>;
TYPED_TEST_SUITE(Mont32Test, Fields);

TYPED_TEST(Mont32Test, EdgeOperandsMatchFieldMul) {
  using F = TypeParam;
  const std::vector<F> edges = edge_elements<F>();
  ASSERT_GE(edges.size(), 20u);
  for (const F& a : edges) {
    for (const F& b : edges) {
      ASSERT_EQ(mont32::mul(a, b), mul(a, b))
          << "a = " << a.limb[3] << ":" << a.limb[2] << ":" << a.limb[1] << ":" << a.limb[0]
          << ", b = " << b.limb[3] << ":" << b.limb[2] << ":" << b.limb[1] << ":" << b.limb[0];
    }
  }
}

TYPED_TEST(Mont32Test, RandomOperandsMatchFieldMul) {
  using F = TypeParam;
  std::mt19937_64 rng = testing::seeded_rng("Mont32.RandomOperandsMatchFieldMul");
  const std::vector<F> edges = edge_elements<F>();
  constexpr int kPairs = 200000;
  int mismatches = 0;
  for (int i = 0; i < kPairs; ++i) {
    // One operand in sixteen is an edge value, against a random other.
    const F a = i % 16 == 0 ? edges[rng() % edges.size()] : random_element<F>(rng);
    const F b = random_element<F>(rng);
    if (mont32::mul(a, b) != mul(a, b) && mismatches++ < 5) {
      ADD_FAILURE() << "pair " << i << " differs";
    }
    // Squaring: the device's square() is mont32::mul(a, a).
    if (mont32::mul(b, b) != square(b) && mismatches++ < 5) {
      ADD_FAILURE() << "square " << i << " differs";
    }
  }
  EXPECT_EQ(mismatches, 0);
}

TYPED_TEST(Mont32Test, ChainedProductsStayCanonical) {
  using F = TypeParam;
  std::mt19937_64 rng = testing::seeded_rng("Mont32.ChainedProductsStayCanonical");
  // Feeding results back in: every output must be a canonical input for the next product.
  F x = random_element<F>(rng), y = x;
  for (int i = 0; i < 20000; ++i) {
    const F b = random_element<F>(rng);
    x = mont32::mul(x, b);
    y = mul(y, b);
    ASSERT_EQ(x, y) << "step " << i;
    ASSERT_TRUE(below_p<F>({x.limb[0], x.limb[1], x.limb[2], x.limb[3]})) << "step " << i;
  }
}

TEST(Mont32Constants, DerivedFromTheModulus) {
  using K = mont32::Constants32<verkle::Bls12381FrParams>;
  EXPECT_EQ(K::P0, 1u);
  EXPECT_EQ(K::P1, 0xffffffffu);
  EXPECT_EQ(K::kInv, 0xffffffffu);  // -1/1
  using B = mont32::Constants32<Bn254FrParams>;
  EXPECT_EQ(B::P0, 0xf0000001u);
  EXPECT_EQ(B::P7, 0x30644e72u);
  EXPECT_EQ(static_cast<std::uint32_t>(B::P0 * B::kInv), 0xffffffffu);
}

}  // namespace
}  // namespace arbor::field
