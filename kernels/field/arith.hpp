// Arithmetic policies: how a hot loop multiplies field elements. Hot code (the Poseidon
// permutation, point additions, fixed-base and multi-scalar multiplication) is templated on one of
// these and instantiated once per path; arith_dispatch.hpp picks the fastest path the CPU runs,
// once per call of a bulk or single operation, so the inner loops carry no per-product branch.
//
// Every policy computes the same canonical result for every input (tests hold them equal); they
// differ only in speed. Addition and subtraction are the template's own (already cheap).
#pragma once

#include "kernels/field/modinv.hpp"
#include "kernels/field/mont_field.hpp"
#include "kernels/hd.hpp"

namespace arbor::field {

// The reference: mont_field.hpp's mul() (portable C++ on the host; the device's own path on GPU).
struct PortableArith {
  static constexpr const char* kName = "portable";
  template <class P>
  ARBOR_HD static MontField<P> mul(const MontField<P>& a, const MontField<P>& b) {
    return field::mul(a, b);
  }
  template <class P>
  ARBOR_HD static MontField<P> square(const MontField<P>& a) {
    return field::square(a);
  }
};

// An unreduced 512-bit product or sum of products, little-endian limbs.
struct Wide {
  std::uint64_t limb[8];
};

// How many products of canonical values may be summed before one Montgomery reduction
// (lazy reduction): the sum x < N * p^2 must keep x / 2^256 + p below 2p, i.e. N * p < 2^256.
// N * (P3 + 1) <= 2^64 implies it. BN254 Fr allows 5, Bandersnatch Fr 8, BLS12-381 Fr 2.
template <class P>
inline constexpr int kMaxLazyTerms = static_cast<int>(~std::uint64_t{0} /
                                                      (mont_detail::Constants<P>::P3 + 1));

// sum_{k < N} a[k] * b[k] (Montgomery products). A policy with a dot<N> member sums the wide
// products and reduces once; otherwise products and additions, same result.
template <class A, int N, class P>
ARBOR_HD MontField<P> dot_with(const MontField<P>* a, const MontField<P>* b) {
  if constexpr (requires { A::template dot<N, P>(a, b); }) {
    if constexpr (N <= kMaxLazyTerms<P>) {
      return A::template dot<N, P>(a, b);
    } else {
      constexpr int kHead = kMaxLazyTerms<P>;
      return add(A::template dot<kHead, P>(a, b), dot_with<A, N - kHead>(a + kHead, b + kHead));
    }
  } else {
    MontField<P> acc = A::mul(a[0], b[0]);
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
    for (int k = 1; k < N; ++k) acc = add(acc, A::mul(a[k], b[k]));
    return acc;
  }
}

// sum_{k < N} a[k] * b[k] + c * d, the c * d product computed last: where c * d waits on a long
// dependency chain (an S-box), the other products run meanwhile and, with a dot_plus member
// (AdxArith), only one product and one addition follow c * d before the single reduction.
template <class A, int N, class P>
ARBOR_HD MontField<P> dot_plus_with(const MontField<P>* a, const MontField<P>* b,
                                    const MontField<P>& c, const MontField<P>& d) {
  if constexpr (requires { A::template dot_plus<N, P>(a, b, c, d); }) {
    if constexpr (N + 1 <= kMaxLazyTerms<P>) return A::template dot_plus<N, P>(a, b, c, d);
  }
  return add(dot_with<A, N>(a, b), A::mul(c, d));
}

// x^5 (the Poseidon S-box): two squarings and a product.
template <class A, class P>
ARBOR_HD MontField<P> pow5_with(const MontField<P>& x) {
  const MontField<P> x2 = A::square(x);
  return A::mul(A::square(x2), x);
}

// (x + c)^5 for canonical x and c (an S-box after its round constant). A policy whose products
// take an operand below 2p (kTakesOperandsBelow2p: AdxArith, for fields with 4p < 2^256, which
// is kMaxLazyTerms >= 4) skips reducing the sum, which sits on the permutation's dependency
// chain.
template <class A, class P>
ARBOR_HD MontField<P> pow5_of_sum_with(const MontField<P>& x, const MontField<P>& c) {
  if constexpr (requires { A::kTakesOperandsBelow2p; }) {
    if constexpr (A::kTakesOperandsBelow2p && kMaxLazyTerms<P> >= 4) {
      return pow5_with<A>(A::add_unreduced(x, c));
    }
  }
  return pow5_with<A>(add(x, c));
}

// The inverse of a public value (everything Arbor inverts is public tree or proof data): safegcd
// on the host (modinv.hpp, ~8x faster than Fermat), Fermat's a^(p-2) on the device, where
// safegcd's data-dependent loops would diverge across a warp. The inverse of zero is zero.
template <class P>
ARBOR_HD MontField<P> inverse_public(const MontField<P>& a) {
#if defined(__CUDA_ARCH__)
  return inverse(a);
#else
  return inverse_vartime(a);
#endif
}

// Montgomery's trick: inverts values[0..n) in place with one inversion and 3(n-1) products.
// Zeros stay zero and do not spoil the others. `scratch` holds n elements.
template <class A = PortableArith, class P>
ARBOR_HD void batch_inverse(MontField<P>* values, std::size_t n, MontField<P>* scratch) {
  MontField<P> acc = MontField<P>::one();
  for (std::size_t i = 0; i < n; ++i) {
    scratch[i] = acc;  // product of the non-zero values before i
    if (!values[i].is_zero()) acc = A::mul(acc, values[i]);
  }
  MontField<P> inv = inverse_public(acc);
  for (std::size_t i = n; i-- > 0;) {
    if (values[i].is_zero()) continue;
    const MontField<P> vi = values[i];
    values[i] = A::mul(inv, scratch[i]);
    inv = A::mul(inv, vi);
  }
}

}  // namespace arbor::field
