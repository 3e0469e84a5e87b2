#include "host/verkle/ipa.hpp"

#include <vector>

#include "absl/strings/str_cat.h"
#include "host/verkle/crs_msm.hpp"
#include "kernels/verkle/msm.hpp"

namespace arbor::verkle {

namespace {

Fr inner_product_range(const DensePoly& a, std::size_t a_begin, const DensePoly& b,
                       std::size_t b_begin, std::size_t n) {
  return inner_product(std::span<const Fr>(a).subspan(a_begin, n),
                       std::span<const Fr>(b).subspan(b_begin, n));
}

}  // namespace

void write_ipa_proof(const IpaProof& proof, std::uint8_t* out) {
  std::array<Point, 2 * kIpaRounds> points;
  for (int j = 0; j < kIpaRounds; ++j) {
    points[j] = proof.left[j];
    points[kIpaRounds + j] = proof.right[j];
  }
  const std::vector<std::array<std::uint8_t, 32>> encoded = batch_serialize(points);
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    std::copy(encoded[i].begin(), encoded[i].end(), out + 32 * i);
  }
  write_bytes_le(proof.final_scalar, out + 32 * 2 * kIpaRounds);
}

IpaProofBytes encode_ipa_proof(const IpaProof& proof) {
  IpaProofBytes out;
  write_ipa_proof(proof, out.data());
  return out;
}

absl::StatusOr<IpaProof> decode_ipa_proof(std::span<const std::uint8_t> bytes) {
  if (bytes.size() != kIpaProofBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("ipa proof: expected ", kIpaProofBytes, " bytes, got ", bytes.size()));
  }
  IpaProof proof;
  for (int i = 0; i < 2 * kIpaRounds; ++i) {
    absl::StatusOr<Point> p = deserialize(bytes.subspan(32 * i, 32));
    if (!p.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("ipa proof: ", i < kIpaRounds ? "L" : "R", "[",
                                                     i % kIpaRounds, "]: ", p.status().message()));
    }
    (i < kIpaRounds ? proof.left[i] : proof.right[i - kIpaRounds]) = *p;
  }
  if (!from_bytes_le(bytes.data() + 32 * 2 * kIpaRounds, proof.final_scalar)) {
    return absl::InvalidArgumentError(
        "ipa proof: the final scalar is not below the Bandersnatch group order r");
  }
  return proof;
}

absl::StatusOr<IpaProof> ipa_prove(host::ComputeBackend& backend, Transcript& transcript,
                                   const Point& commitment, const DensePoly& a_in, const Fr& z) {
  DensePoly a = a_in;
  DensePoly b = evaluation_domain().lagrange_coefficients(z);
  const Fr y = inner_product(a, b);
  transcript.domain_sep("ipa");
  transcript.append_point("C", commitment);
  transcript.append_scalar("input point", z);
  transcript.append_scalar("output point", y);
  const Fr w = transcript.challenge("w");

  // s[k]: the factor the folded basis carries on G_k (see ipa.hpp).
  std::array<Fr, kDomainSize> s;
  s.fill(Fr::one());
  std::vector<SparseTerm> left_terms, right_terms;
  left_terms.reserve(kDomainSize / 2);
  right_terms.reserve(kDomainSize / 2);
  IpaProof proof;
  for (int round = 0; round < kIpaRounds; ++round) {
    const std::size_t n = kDomainSize >> round, half = n / 2;
    const Fr z_left = inner_product_range(a, half, b, 0, half);
    const Fr z_right = inner_product_range(a, 0, b, half, half);
    left_terms.clear();
    right_terms.clear();
    for (std::uint32_t k = 0; k < kDomainSize; ++k) {
      const std::size_t m = k & (n - 1);
      if (m < half) {
        left_terms.push_back({k, mul(a[m + half], s[k])});
      } else {
        right_terms.push_back({k, mul(a[m - half], s[k])});
      }
    }
    const std::span<const SparseTerm> jobs[] = {left_terms, right_terms};
    absl::StatusOr<std::vector<Point>> lr = crs_msm(backend, jobs);
    if (!lr.ok()) return lr.status();
    const Point left = add((*lr)[0], mul_q(mul(z_left, w)));
    const Point right = add((*lr)[1], mul_q(mul(z_right, w)));
    const Point pair[] = {left, right};
    const std::vector<std::array<std::uint8_t, 32>> encoded = batch_serialize(pair);
    transcript.append_point("L", encoded[0]);
    transcript.append_point("R", encoded[1]);
    const Fr x = transcript.challenge("x");
    const Fr x_inv = inverse_public(x);
    for (std::size_t i = 0; i < half; ++i) {
      a[i] = add(a[i], mul(x, a[i + half]));
      b[i] = add(b[i], mul(x_inv, b[i + half]));
    }
    for (std::size_t k = 0; k < kDomainSize; ++k) {
      if ((k & (n - 1)) >= half) s[k] = mul(s[k], x_inv);
    }
    proof.left[round] = left;
    proof.right[round] = right;
  }
  proof.final_scalar = a[0];
  return proof;
}

absl::Status ipa_verify(host::ComputeBackend& backend, Transcript& transcript,
                        const Point& commitment, const Fr& z, const Fr& y, const IpaProof& proof) {
  const DensePoly b = evaluation_domain().lagrange_coefficients(z);
  transcript.domain_sep("ipa");
  transcript.append_point("C", commitment);
  transcript.append_scalar("input point", z);
  transcript.append_scalar("output point", y);
  const Fr w = transcript.challenge("w");

  std::array<Point, 2 * kIpaRounds> round_points;
  for (int j = 0; j < kIpaRounds; ++j) {
    round_points[j] = proof.left[j];
    round_points[kIpaRounds + j] = proof.right[j];
  }
  const std::vector<std::array<std::uint8_t, 32>> encoded = batch_serialize(round_points);
  std::array<Fr, kIpaRounds> x, x_inv;
  for (int j = 0; j < kIpaRounds; ++j) {
    transcript.append_point("L", encoded[j]);
    transcript.append_point("R", encoded[kIpaRounds + j]);
    x[j] = transcript.challenge("x");
    x_inv[j] = x[j];
  }
  std::array<Fr, kIpaRounds> scratch;
  batch_inverse(x_inv.data(), kIpaRounds, scratch.data());

  // s_k = product of x_j^-1 over the rounds j in which k was in the right half: bit 7 - j of k.
  // Built bit by bit: s_k = s_{k - 2^b} * x_{7-b}^-1 for 2^b <= k < 2^(b+1) (255 products).
  std::array<Fr, kDomainSize> s;
  s[0] = Fr::one();
  for (int b = 0; b < kIpaRounds; ++b) {
    const std::size_t half = std::size_t{1} << b;
    for (std::size_t k = half; k < 2 * half; ++k)
      s[k] = mul(s[k - half], x_inv[kIpaRounds - 1 - b]);
  }
  const Fr b0 = inner_product(b, s);
  const Fr& a = proof.final_scalar;

  // C + w*y*Q + sum x_j L_j + x_j^-1 R_j - a * sum s_k G_k - a*b0*w*Q must be the identity.
  std::vector<SparseTerm> basis_terms(kDomainSize);
  const Fr minus_a = neg(a);
  for (std::uint32_t k = 0; k < kDomainSize; ++k) basis_terms[k] = {k, mul(minus_a, s[k])};
  absl::StatusOr<Point> folded = crs_commit(backend, basis_terms);
  if (!folded.ok()) return folded.status();
  std::array<Fr, 2 * kIpaRounds> round_scalars;
  for (int j = 0; j < kIpaRounds; ++j) {
    round_scalars[j] = x[j];
    round_scalars[kIpaRounds + j] = x_inv[j];
  }
  Point check = add(commitment, msm(round_points, round_scalars));
  check = add(check, *folded);
  check = add(check, mul_q(mul(w, sub(y, mul(a, b0)))));
  if (!is_identity(check)) {
    return absl::InvalidArgumentError("ipa: the inner-product argument does not verify");
  }
  return absl::OkStatus();
}

}  // namespace arbor::verkle
