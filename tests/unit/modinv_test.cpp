// inverse_vartime() (kernels/field/modinv.hpp, safegcd divsteps) against Fermat's inverse() and
// GMP's mpz_invert for the three Montgomery fields: BN254 Fr, BLS12-381 Fr, Bandersnatch Fr.
#include "kernels/field/modinv.hpp"

#include <gmp.h>

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kernels/field/bn254_fr.hpp"
#include "kernels/verkle/bandersnatch_fr.hpp"
#include "kernels/verkle/bls12_381_fr.hpp"
#include "tests/support/mpz.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::field {
namespace {

using Limbs = std::array<std::uint64_t, 4>;

using testing::Mpz;

void to_mpz(const Limbs& x, Mpz& out) { testing::set_limbs(out, x.data()); }
Limbs from_mpz(const Mpz& v) { return testing::limbs_of(v); }

std::string hex(const Limbs& x) {
  static const char* digits = "0123456789abcdef";
  std::string out = "0x";
  for (int i = 3; i >= 0; --i) {
    for (int s = 60; s >= 0; s -= 4) out.push_back(digits[(x[i] >> s) & 15]);
  }
  return out;
}

template <class P>
Limbs canonical(const MontField<P>& a) {
  std::uint64_t x[4];
  to_canonical_limbs(a, x);
  return {x[0], x[1], x[2], x[3]};
}

template <class P>
MontField<P> from_canonical(const Limbs& x) {
  const std::uint64_t limbs[4] = {x[0], x[1], x[2], x[3]};
  return from_canonical_limbs<P>(limbs);
}

template <class P>
bool below_p(const Limbs& x) {
  return mont_detail::compare(x, P::kModulus) < 0;
}

template <class P>
int bit_length() {
  const Limbs& p = P::kModulus;
  for (int i = 3; i >= 0; --i) {
    if (p[i] != 0) return 64 * i + 64 - __builtin_clzll(p[i]);
  }
  return 0;
}

// Integers below p where the gcd's bit patterns are extreme: 0, 1, 2, p-1, p-2, (p-1)/2,
// combinations of all-ones and zero limbs, 2^k and p - 2^k for every k below p's bit length, and
// 1..1000.
template <class P>
std::vector<Limbs> edge_integers() {
  const Limbs& p = P::kModulus;
  std::vector<Limbs> out;
  auto add = [&](const Limbs& x) {
    if (below_p<P>(x)) out.push_back(x);
  };
  const Limbs one = {1, 0, 0, 0};
  add({0, 0, 0, 0});
  add(one);
  add({2, 0, 0, 0});
  add(mont_detail::sub_limbs(p, one));
  add(mont_detail::sub_limbs(p, Limbs{2, 0, 0, 0}));
  add(mont_detail::shift_right(mont_detail::sub_limbs(p, one), 1));
  for (int mask = 1; mask < 16; ++mask) {
    Limbs x{};
    for (int i = 0; i < 4; ++i) x[i] = (mask >> i) & 1 ? ~std::uint64_t{0} : 0;
    add(x);
    x[3] = (mask & 8) ? p[3] - 1 : 0;  // the largest top limb that stays below p
    add(x);
  }
  for (int k = 0; k < bit_length<P>(); ++k) {
    Limbs x{};
    x[k / 64] = std::uint64_t{1} << (k % 64);
    add(x);
    add(mont_detail::sub_limbs(p, x));
  }
  for (std::uint64_t v = 1; v <= 1000; ++v) add({v, 0, 0, 0});
  return out;
}

template <class P>
Limbs random_below_p(std::mt19937_64& rng) {
  const int top_bits = bit_length<P>() - 192;
  for (;;) {
    Limbs x = {rng(), rng(), rng(), rng() >> (64 - top_bits)};
    if (below_p<P>(x)) return x;
  }
}

// Few set bits: long runs of zeros, which drive delta (eta) far from 0 inside the divsteps.
template <class P>
Limbs sparse_below_p(std::mt19937_64& rng) {
  const int bits = bit_length<P>();
  for (;;) {
    Limbs x{};
    const int count = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < count; ++i) {
      const int k = static_cast<int>(rng() % bits);
      x[k / 64] |= std::uint64_t{1} << (k % 64);
    }
    if (below_p<P>(x) && (x[0] | x[1] | x[2] | x[3]) != 0) return x;
  }
}

template <class Params, const char* Name>
struct Case {
  using P = Params;
  static const char* name() { return Name; }
};

constexpr char kBn254[] = "Bn254Fr";
constexpr char kBls12381[] = "Bls12381Fr";
constexpr char kBandersnatch[] = "BandersnatchFr";

template <class C>
class ModInvTest : public ::testing::Test {
 protected:
  using P = typename C::P;
  using F = MontField<P>;

  ModInvTest() { to_mpz(P::kModulus, p_); }

  // Checks inverse_vartime(a) for one element a: a * a^-1 = 1, Fermat agrees, GMP agrees. `kind`
  // and `x` (the integer that made a) only label failures.
  void check(const F& a, const char* kind, const Limbs& x) {
    const F inv = inverse_vartime(a);
    if (a.is_zero()) {
      ASSERT_TRUE(inv.is_zero()) << kind << " " << hex(x);
      return;
    }
    ASSERT_EQ(mul(inv, a), F::one()) << kind << " " << hex(x);
    ASSERT_EQ(inv, inverse(a)) << kind << " " << hex(x);
    to_mpz(canonical(a), x_);
    ASSERT_NE(mpz_invert(expected_.get(), x_.get(), p_.get()), 0) << kind << " " << hex(x);
    ASSERT_EQ(canonical(inv), from_mpz(expected_))
        << kind << " " << hex(x) << ": got " << hex(canonical(inv)) << ", GMP "
        << hex(from_mpz(expected_));
  }

  Mpz p_, x_, expected_;
};

using Cases =
    ::testing::Types<Case<Bn254FrParams, kBn254>, Case<verkle::Bls12381FrParams, kBls12381>,
                     Case<verkle::BandersnatchFrParams, kBandersnatch>>;
TYPED_TEST_SUITE(ModInvTest, Cases);

TYPED_TEST(ModInvTest, ConstantsMatchGmp) {
  using P = typename TestFixture::P;
  using C = modinv_detail::InvConstants<P>;
  // The 62-bit limbs recombine to p.
  Mpz sum, limb;
  mpz_set_ui(sum.get(), 0);
  const std::int64_t p62[5] = {C::P62_0, C::P62_1, C::P62_2, C::P62_3, C::P62_4};
  for (int i = 4; i >= 0; --i) {
    ASSERT_GE(p62[i], 0);
    mpz_mul_2exp(sum.get(), sum.get(), 62);
    mpz_set_ui(limb.get(), static_cast<unsigned long>(p62[i]));
    mpz_add(sum.get(), sum.get(), limb.get());
  }
  EXPECT_EQ(mpz_cmp(sum.get(), this->p_.get()), 0);
  // p * p^-1 = 1 (mod 2^62).
  EXPECT_EQ((P::kModulus[0] * C::kPInv62) & modinv_detail::kMask62, 1u);
  // The final factor is 2^(768 - 62 * 4) mod p.
  Mpz two, expected;
  mpz_set_ui(two.get(), 2);
  mpz_powm_ui(expected.get(), two.get(), 768 - 62 * modinv_detail::kExactBatches, this->p_.get());
  EXPECT_EQ(hex({C::F0, C::F1, C::F2, C::F3}), hex(from_mpz(expected)));
}

TYPED_TEST(ModInvTest, ZeroGivesZero) {
  using F = typename TestFixture::F;
  EXPECT_TRUE(inverse_vartime(F::zero()).is_zero());
  EXPECT_EQ(inverse_vartime(F::one()), F::one());
}

// Edge integers as canonical values (a = x; the gcd then sees the stored x R mod p).
TYPED_TEST(ModInvTest, EdgeCanonicalOperands) {
  using P = typename TestFixture::P;
  for (const Limbs& x : edge_integers<P>()) {
    this->check(from_canonical<P>(x), "canonical", x);
    if (this->HasFatalFailure()) return;
  }
}

// The same integers as the stored Montgomery limbs, so that the gcd itself runs on 1, 2^k,
// p - 1, ... (a = x R^-1).
TYPED_TEST(ModInvTest, EdgeStoredOperands) {
  using P = typename TestFixture::P;
  using F = typename TestFixture::F;
  for (const Limbs& x : edge_integers<P>()) {
    this->check(F{{x[0], x[1], x[2], x[3]}}, "stored", x);
    if (this->HasFatalFailure()) return;
  }
}

TYPED_TEST(ModInvTest, SparseStoredOperands) {
  using P = typename TestFixture::P;
  using F = typename TestFixture::F;
  std::mt19937_64 rng =
      testing::seeded_rng((std::string(TypeParam::name()) + ".SparseStoredOperands").c_str());
  for (int i = 0; i < 20000; ++i) {
    const Limbs x = sparse_below_p<P>(rng);
    this->check(F{{x[0], x[1], x[2], x[3]}}, "stored", x);
    if (this->HasFatalFailure()) return;
  }
}

TYPED_TEST(ModInvTest, RandomOperands) {
  using P = typename TestFixture::P;
  std::mt19937_64 rng =
      testing::seeded_rng((std::string(TypeParam::name()) + ".RandomOperands").c_str());
  for (int i = 0; i < 100000; ++i) {
    const Limbs x = random_below_p<P>(rng);
    this->check(from_canonical<P>(x), "canonical", x);
    if (this->HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace arbor::field
