// Every scalar field-arithmetic path against GMP and against each other, for every field of the
// template: the portable reference (mont_field.hpp), MULX/ADX (mont_x86.hpp) and, where it exists,
// the host build of the device's 32-bit-limb algorithm (mont32.hpp). Expected values come from GMP
// alone (x * y * 2^-256 mod p on the stored Montgomery integers), not from any path under test.
//
// PathsThisMachineRuns says which paths ran and fails when the CPU supports one this build lost.
// The vector and oracle suites run once more with ARBOR_FIELD_PATHS=portable (tests/CMakeLists.txt)
// so known answers pass through the reference path as well as the fastest one.
#include <array>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/field/arith_dispatch.hpp"
#include "kernels/field/bn254_fr.hpp"
#include "kernels/field/cpu_features.hpp"
#include "kernels/field/mont_x86.hpp"
#include "kernels/verkle/bandersnatch_fr.hpp"
#include "kernels/verkle/bls12_381_fr.hpp"
#include "tests/support/mpz.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::field {
namespace {

using testing::limbs_of;
using testing::Mpz;
using testing::set_limbs;

// GMP's view of one field: p and 2^-256 mod p.
template <class F>
struct Reference {
  Mpz p, r_inv, a, b, expected;
  Reference() {
    set_limbs(p, F::Params::kModulus.data());
    mpz_set_ui(r_inv.get(), 1);
    mpz_mul_2exp(r_inv.get(), r_inv.get(), 256);
    mpz_invert(r_inv.get(), r_inv.get(), p.get());
  }
  // Montgomery product of the stored integers: x * y * 2^-256 mod p.
  std::array<std::uint64_t, 4> mont_mul(const F& x, const F& y) {
    set_limbs(a, x.limb);
    set_limbs(b, y.limb);
    mpz_mul(expected.get(), a.get(), b.get());
    mpz_mul(expected.get(), expected.get(), r_inv.get());
    mpz_mod(expected.get(), expected.get(), p.get());
    return limbs_of(expected);
  }
};

template <class F>
std::array<std::uint64_t, 4> limbs_vec(const F& x) {
  return {x.limb[0], x.limb[1], x.limb[2], x.limb[3]};
}

// Stored integers where carries and the final subtraction go wrong: 0, 1, 2, p-1, p-2, (p-1)/2,
// (p+1)/2, R mod p (one), all-ones limbs below p, powers of two, and p - 2^k just below p (near
// 2^255 for BLS12-381 Fr, 2^254 for BN254).
template <class F>
std::vector<F> edge_operands() {
  using C = typename F::Constants;
  namespace md = mont_detail;
  const md::Limbs p = C::kP;
  std::vector<md::Limbs> raw = {{0, 0, 0, 0},
                                {1, 0, 0, 0},
                                {2, 0, 0, 0},
                                md::sub_limbs(p, {1, 0, 0, 0}),
                                md::sub_limbs(p, {2, 0, 0, 0}),
                                C::kHalf,
                                md::sub_limbs(p, C::kHalf),
                                C::kR,
                                {~0ULL, 0, 0, 0},
                                {~0ULL, ~0ULL, 0, 0},
                                {~0ULL, ~0ULL, ~0ULL, 0},
                                {~0ULL, ~0ULL, ~0ULL, C::P3 - 1},
                                {0, 0, 0, C::P3},
                                {~0ULL, ~0ULL, ~0ULL, C::P3 >> 1}};
  for (int k = 0; k < 64 * 4; k += 17) {
    md::Limbs two_k{0, 0, 0, 0};
    two_k[k / 64] = std::uint64_t{1} << (k % 64);
    if (md::compare(two_k, p) < 0) {
      raw.push_back(two_k);
      raw.push_back(md::sub_limbs(p, two_k));
    }
  }
  std::vector<F> out;
  for (const md::Limbs& r : raw) {
    EXPECT_LT(md::compare(r, p), 0);
    out.push_back(F{{r[0], r[1], r[2], r[3]}});
  }
  return out;
}

template <class F>
F random_element(std::mt19937_64& rng) {
  using C = typename F::Constants;
  // Uniform below the next power of two above p, rejected down to [0, p).
  const std::uint64_t top_mask = ~0ULL >> __builtin_clzll(C::P3);
  while (true) {
    F x{{rng(), rng(), rng(), rng() & top_mask}};
    if (mont_detail::less_than_modulus<typename F::Params>(x.limb)) return x;
  }
}

// One path (an arithmetic policy) on edge pairs against GMP, and on random pairs against the
// portable reference (every pair) and GMP (one in 16).
template <class F, class Arith>
void check_path_against_gmp(const char* field_name, std::mt19937_64& rng, int random_pairs) {
  Reference<F> ref;
  const std::vector<F> edges = edge_operands<F>();
  for (const F& x : edges) {
    for (const F& y : edges) {
      ASSERT_EQ(limbs_vec(Arith::mul(x, y)), ref.mont_mul(x, y))
          << field_name << " " << Arith::kName << " mul of edge operands";
    }
    ASSERT_EQ(limbs_vec(Arith::square(x)), ref.mont_mul(x, x))
        << field_name << " " << Arith::kName << " square of an edge operand";
  }
  for (int i = 0; i < random_pairs; ++i) {
    const F x = random_element<F>(rng), y = random_element<F>(rng);
    const F product = Arith::mul(x, y);
    // GMP costs ~20x a product, hence one pair in 16.
    ASSERT_EQ(product, PortableArith::mul(x, y)) << field_name << " " << Arith::kName;
    ASSERT_EQ(Arith::square(x), PortableArith::square(x)) << field_name << " " << Arith::kName;
    if (i % 16 == 0) {
      ASSERT_EQ(limbs_vec(product), ref.mont_mul(x, y)) << field_name << " " << Arith::kName;
    }
  }
}

template <class F>
void check_add_sub_against_gmp(const char* field_name, std::mt19937_64& rng) {
  Reference<F> ref;
  std::vector<F> values = edge_operands<F>();
  for (int i = 0; i < 200; ++i) values.push_back(random_element<F>(rng));
  Mpz expected;
  for (const F& x : values) {
    for (const F& y : values) {
      set_limbs(ref.a, x.limb);
      set_limbs(ref.b, y.limb);
      mpz_add(expected.get(), ref.a.get(), ref.b.get());
      mpz_mod(expected.get(), expected.get(), ref.p.get());
      ASSERT_EQ(limbs_vec(add(x, y)), limbs_of(expected)) << field_name << " add";
      mpz_sub(expected.get(), ref.a.get(), ref.b.get());
      mpz_mod(expected.get(), expected.get(), ref.p.get());
      ASSERT_EQ(limbs_vec(sub(x, y)), limbs_of(expected)) << field_name << " sub";
    }
  }
}

// Sums of N products through dot_with<Arith, N> (lazy reduction on ADX: one Montgomery reduction
// per sum) against GMP: sum x_k * y_k * 2^-256 mod p. N runs past kMaxLazyTerms so the split into
// reduced groups is exercised too; all-(p-1) terms are the largest sum the reduction must take.
template <class F, class Arith, int N>
void check_dot_against_gmp(const char* field_name, std::mt19937_64& rng) {
  Reference<F> ref;
  const std::vector<F> edges = edge_operands<F>();
  Mpz sum, term;
  auto expected_dot = [&](const F* x, const F* y) {
    mpz_set_ui(sum.get(), 0);
    for (int k = 0; k < N; ++k) {
      set_limbs(ref.a, x[k].limb);
      set_limbs(ref.b, y[k].limb);
      mpz_mul(term.get(), ref.a.get(), ref.b.get());
      mpz_add(sum.get(), sum.get(), term.get());
    }
    mpz_mul(sum.get(), sum.get(), ref.r_inv.get());
    mpz_mod(sum.get(), sum.get(), ref.p.get());
    return limbs_of(sum);
  };
  F x[N], y[N];
  for (std::size_t e = 0; e < edges.size(); ++e) {
    for (int k = 0; k < N; ++k) {
      x[k] = edges[(e + static_cast<std::size_t>(k)) % edges.size()];
      y[k] = edges[(e * 7 + static_cast<std::size_t>(k) * 3) % edges.size()];
    }
    ASSERT_EQ(limbs_vec(dot_with<Arith, N>(x, y)), expected_dot(x, y))
        << field_name << " " << Arith::kName << " dot<" << N << "> of edge operands";
  }
  const F p_minus_1 = edges[3];
  for (int k = 0; k < N; ++k) x[k] = y[k] = p_minus_1;
  ASSERT_EQ(limbs_vec(dot_with<Arith, N>(x, y)), expected_dot(x, y))
      << field_name << " " << Arith::kName << " dot<" << N << "> of p-1 terms";
  for (int i = 0; i < 2000; ++i) {
    for (int k = 0; k < N; ++k) {
      x[k] = random_element<F>(rng);
      y[k] = random_element<F>(rng);
    }
    const F got = dot_with<Arith, N>(x, y);
    ASSERT_EQ(got, (dot_with<PortableArith, N>(x, y))) << field_name << " " << Arith::kName;
    if (i % 16 == 0) {
      ASSERT_EQ(limbs_vec(got), expected_dot(x, y)) << field_name;
    }
  }
}

template <class F, class Arith>
void check_dots_against_gmp(const char* field_name, std::mt19937_64& rng) {
  [&]<int... N>(std::integer_sequence<int, N...>) {
    (check_dot_against_gmp<F, Arith, N + 1>(field_name, rng), ...);
  }
  (std::make_integer_sequence<int, 10>{});
}

#if defined(ARBOR_FIELD_HAVE_X86_ASM)
// AdxArith's operands below 2p (kTakesOperandsBelow2p, fields with 4p < 2^256): products and
// squares of an unreduced sum x + y against GMP on its stored integer; pow5_of_sum_with against
// the portable S-box of the reduced sum (every field: BLS12-381 Fr takes the reducing branch).
template <class F>
void check_unreduced_operands_against_gmp(const char* field_name, std::mt19937_64& rng) {
  using P = typename F::Params;
  Reference<F> ref;
  const std::vector<F> edges = edge_operands<F>();
  auto check = [&](const F& x, const F& y, const F& b) {
    if constexpr (kMaxLazyTerms<P> >= 4) {
      const F u = x86::add_unreduced(x, y);
      ASSERT_EQ(limbs_vec(x86::mul_adx(u, b)), ref.mont_mul(u, b)) << field_name << " (x+y)*b";
      ASSERT_EQ(limbs_vec(x86::mul_adx(b, u)), ref.mont_mul(b, u)) << field_name << " b*(x+y)";
      ASSERT_EQ(limbs_vec(x86::square_adx(u)), ref.mont_mul(u, u)) << field_name << " (x+y)^2";
    }
    ASSERT_EQ(pow5_of_sum_with<AdxArith>(x, y), pow5_with<PortableArith>(add(x, y)))
        << field_name << " (x+y)^5";
  };
  for (const F& x : edges) {
    for (const F& y : edges) check(x, y, edges[(limbs_vec(x)[0] + limbs_vec(y)[0]) % edges.size()]);
  }
  for (int i = 0; i < 20000; ++i) {
    check(random_element<F>(rng), random_element<F>(rng), random_element<F>(rng));
  }
}

// dot_plus_with (c * d added last, one reduction on ADX) against dot_with and a product.
template <class F, int N>
void check_dot_plus(const char* field_name, std::mt19937_64& rng) {
  const std::vector<F> edges = edge_operands<F>();
  F x[N], y[N];
  for (int i = 0; i < 3000; ++i) {
    const bool edge = i < 200;
    auto pick = [&](std::size_t k) {
      return edge ? edges[(i + k * 5) % edges.size()] : random_element<F>(rng);
    };
    for (int k = 0; k < N; ++k) {
      x[k] = pick(k);
      y[k] = pick(k + 3);
    }
    const F c = i == 0 ? edges[3] : pick(11), d = i == 0 ? edges[3] : pick(13);
    if (i == 0) {
      for (int k = 0; k < N; ++k) x[k] = y[k] = edges[3];  // all p-1: the largest sum
    }
    ASSERT_EQ((dot_plus_with<AdxArith, N>(x, y, c, d)),
              add(dot_with<PortableArith, N>(x, y), PortableArith::mul(c, d)))
        << field_name << " dot_plus<" << N << "> trial " << i;
  }
}
#endif

template <class F>
void check_every_path(const char* field_name) {
  std::mt19937_64 rng = testing::seeded_rng(field_name);
  constexpr int kPairs = 200000;
  check_add_sub_against_gmp<F>(field_name, rng);
  check_path_against_gmp<F, PortableArith>(field_name, rng, kPairs / 4);
  check_dots_against_gmp<F, PortableArith>(field_name, rng);
#if defined(ARBOR_FIELD_HAVE_X86_ASM)
  if (cpu_features().has_adx_path()) {
    check_path_against_gmp<F, AdxArith>(field_name, rng, kPairs);
    check_dots_against_gmp<F, AdxArith>(field_name, rng);
    check_unreduced_operands_against_gmp<F>(field_name, rng);
    [&]<int... N>(std::integer_sequence<int, N...>) {
      (check_dot_plus<F, N + 1>(field_name, rng), ...);
    }
    (std::make_integer_sequence<int, 9>{});
  }
#endif
}

// The lazy-reduction bound of each field (arith.hpp): N * p < 2^256.
static_assert(kMaxLazyTerms<Bn254FrParams> == 5);
static_assert(kMaxLazyTerms<verkle::Fp::Params> == 2);
static_assert(kMaxLazyTerms<verkle::Fr::Params> == 8);

TEST(FieldPaths, Bn254FrEveryPathMatchesGmp) { check_every_path<Fr>("bn254-fr"); }
TEST(FieldPaths, Bls12381FrEveryPathMatchesGmp) { check_every_path<verkle::Fp>("bls12-381-fr"); }
TEST(FieldPaths, BandersnatchFrEveryPathMatchesGmp) {
  check_every_path<verkle::Fr>("bandersnatch-fr");
}

TEST(FieldPaths, PathsThisMachineRuns) {
  const CpuFeatures& cpu = cpu_features();
  std::string ran = "portable";
#if defined(ARBOR_FIELD_HAVE_X86_ASM)
  if (cpu.has_adx_path()) ran += ", adx";
#else
  // Only x86-64 has the ADX path; a build for x86-64 that lost it (other than the sanitizer
  // tree's, which leaves it out on purpose) would fail here.
#if defined(__x86_64__) && !defined(ARBOR_FIELD_NO_X86_ASM)
  ADD_FAILURE() << "x86-64 build without the MULX/ADX path";
#endif
#endif
  std::printf("field paths tested here: %s (CPU: bmi2=%d adx=%d avx512-ifma=%d; in use: %s)\n",
              ran.c_str(), cpu.bmi2, cpu.adx, cpu.avx512_ifma, field_paths_name().c_str());
  ::testing::Test::RecordProperty("field_paths_tested", ran);
  // Unless ARBOR_FIELD_PATHS narrows it, the fastest supported path is the one in use.
  const char* env = std::getenv("ARBOR_FIELD_PATHS");
  if (env == nullptr || std::string(env) == "auto") {
#if defined(ARBOR_FIELD_HAVE_X86_ASM)
    EXPECT_EQ(field_paths().adx, cpu.has_adx_path());
#else
    EXPECT_FALSE(field_paths().adx);
#endif
#if defined(ARBOR_FIELD_NO_AUTO_LANES)
    EXPECT_FALSE(field_paths().ifma);
#else
    EXPECT_EQ(field_paths().ifma, cpu.has_ifma_path());
#endif
  }
  // with_fastest_arith picks what field_paths() says.
  const std::string chosen = with_fastest_arith([]<class A>() { return std::string(A::kName); });
  EXPECT_EQ(chosen, field_paths().adx ? "adx" : "portable");
}

}  // namespace
}  // namespace arbor::field
