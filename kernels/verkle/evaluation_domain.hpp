// Polynomials of degree < 256 in evaluation form over the domain {0, 1, ..., 255} of the
// Bandersnatch scalar field: what every Verkle node commits to (C = sum f(i) * G_i). The IPA and
// the multiproof need three things from the domain, precomputed once (go-ipa's PrecomputedWeights):
//   - the barycentric weights A'(i) = prod_{j != i} (i - j) and their inverses, where
//     A(X) = prod_i (X - i);
//   - 1/k for k = 1..255, for in-domain division;
//   - nothing else: every other quantity is derived from these per call.
// Host code (the scalars are Fr, shared with the GPU kernels as bytes).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "kernels/verkle/bandersnatch_fr.hpp"

namespace arbor::verkle {

inline constexpr std::size_t kDomainSize = 256;

using DensePoly = std::array<Fr, kDomainSize>;

class EvaluationDomain {
 public:
  EvaluationDomain();

  // A'(i) and 1/A'(i).
  const Fr& weight(std::size_t i) const { return weights_[i]; }
  const Fr& inverse_weight(std::size_t i) const { return inverse_weights_[i]; }
  // 1/(i - j) for i != j in the domain.
  Fr inverse_difference(std::size_t i, std::size_t j) const;

  // The vector b with f(z) = sum b_i f(i) for every f: the unit vector e_z when z is in the
  // domain (the barycentric formula divides by zero there), else b_i = A(z) / (A'(i) (z - i)).
  DensePoly lagrange_coefficients(const Fr& z) const;

  // q(X) = (f(X) - f(z)) / (X - z) in evaluation form, for z in the domain: q(i) = (f(i) - f(z)) /
  // (i - z) for i != z, and q(z) = sum_{i != z} -(A'(z) / A'(i)) q(i). Adds q to `out` (a
  // multiproof sums the quotients of every evaluation point).
  void add_quotient(std::uint8_t z, const DensePoly& f, DensePoly& out) const;

 private:
  DensePoly weights_;
  DensePoly inverse_weights_;
  std::array<Fr, kDomainSize> inverses_;  // inverses_[k] = 1/k for k >= 1
};

// The domain every Verkle proof uses, built once on first use (thread-safe static).
const EvaluationDomain& evaluation_domain();

// sum a_i b_i.
Fr inner_product(std::span<const Fr> a, std::span<const Fr> b);

// z as an integer when it is in the domain (its canonical value is below 256).
bool in_domain(const Fr& z, std::uint8_t& index);

}  // namespace arbor::verkle
