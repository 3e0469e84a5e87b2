#include "kernels/verkle/evaluation_domain.hpp"

#include <cassert>

namespace arbor::verkle {

namespace {

Fr fr(std::uint64_t v) { return from_u64<BandersnatchFrParams>(v); }

// i - j as a field element, for i, j < 256.
Fr difference(std::size_t i, std::size_t j) { return i >= j ? fr(i - j) : neg(fr(j - i)); }

}  // namespace

EvaluationDomain::EvaluationDomain() {
  for (std::size_t i = 0; i < kDomainSize; ++i) {
    Fr w = Fr::one();
    for (std::size_t j = 0; j < kDomainSize; ++j) {
      if (j != i) w = mul(w, difference(i, j));
    }
    weights_[i] = w;
    inverse_weights_[i] = w;
  }
  DensePoly scratch;
  batch_inverse(inverse_weights_.data(), kDomainSize, scratch.data());
  inverses_[0] = Fr::zero();
  for (std::size_t k = 1; k < kDomainSize; ++k) inverses_[k] = fr(k);
  batch_inverse(inverses_.data() + 1, kDomainSize - 1, scratch.data());
}

Fr EvaluationDomain::inverse_difference(std::size_t i, std::size_t j) const {
  assert(i != j && i < kDomainSize && j < kDomainSize);
  return i > j ? inverses_[i - j] : neg(inverses_[j - i]);
}

DensePoly EvaluationDomain::lagrange_coefficients(const Fr& z) const {
  DensePoly b;
  std::uint8_t index;
  if (in_domain(z, index)) {
    b.fill(Fr::zero());
    b[index] = Fr::one();
    return b;
  }
  // A(z) = prod (z - i); b_i = A(z) / (A'(i) (z - i)), with one batched inversion.
  Fr a_of_z = Fr::one();
  for (std::size_t i = 0; i < kDomainSize; ++i) {
    const Fr z_minus_i = sub(z, fr(i));
    a_of_z = mul(a_of_z, z_minus_i);
    b[i] = mul(weights_[i], z_minus_i);
  }
  DensePoly scratch;
  batch_inverse(b.data(), kDomainSize, scratch.data());
  for (std::size_t i = 0; i < kDomainSize; ++i) b[i] = mul(b[i], a_of_z);
  return b;
}

void EvaluationDomain::add_quotient(std::uint8_t z, const DensePoly& f, DensePoly& out) const {
  const Fr y = f[z];
  // q(z) = -A'(z) * sum_{i != z} q(i) / A'(i): A'(z) factored out of the sum.
  Fr weighted_sum = Fr::zero();
  for (std::size_t i = 0; i < kDomainSize; ++i) {
    if (i == z) continue;
    const Fr q = mul(sub(f[i], y), inverse_difference(i, z));
    out[i] = add(out[i], q);
    weighted_sum = add(weighted_sum, mul(inverse_weights_[i], q));
  }
  out[z] = sub(out[z], mul(weights_[z], weighted_sum));
}

const EvaluationDomain& evaluation_domain() {
  static const EvaluationDomain domain;
  return domain;
}

Fr inner_product(std::span<const Fr> a, std::span<const Fr> b) {
  assert(a.size() == b.size());
  Fr acc = Fr::zero();
  for (std::size_t i = 0; i < a.size(); ++i) acc = add(acc, mul(a[i], b[i]));
  return acc;
}

bool in_domain(const Fr& z, std::uint8_t& index) {
  std::uint64_t limbs[4];
  to_canonical_limbs(z, limbs);
  if ((limbs[1] | limbs[2] | limbs[3]) != 0 || limbs[0] >= kDomainSize) return false;
  index = static_cast<std::uint8_t>(limbs[0]);
  return true;
}

}  // namespace arbor::verkle
