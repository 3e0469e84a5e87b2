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

// x^5 (the Poseidon S-box): two squarings and a product.
template <class A, class P>
ARBOR_HD MontField<P> pow5_with(const MontField<P>& x) {
  const MontField<P> x2 = A::square(x);
  return A::mul(A::square(x2), x);
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
