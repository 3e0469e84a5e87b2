// The inner-product argument of Verkle proofs (go-ipa ipa/, rust-verkle ipa-multipoint): proves
// that the commitment C = sum a_i G_i (a in evaluation form over 0..255, the 256 CRS generators)
// opens to y = f(z) = <a, b(z)>, b the Lagrange coefficients at z (the unit vector e_z when z is in
// the domain). 8 halving rounds; each sends L and R; the proof is L[0..7] || R[0..7] || a (the
// final scalar, 32 bytes little-endian): 544 bytes.
//
// Transcript (after whatever the caller absorbed): domain_sep("ipa"), C, "input point" z,
// "output point" y, challenge "w" (Q' = w*Q, Q the Banderwagon generator), then per round "L",
// "R" and challenge "x".
//
// The prover never folds the basis: round j's L = sum over k with (k mod n) < n/2 of
// a[(k mod n) + n/2] * s_k * G_k + <a_R, b_L> * Q', n = 256 >> j, where s_k is the product of the
// inverse challenges of the earlier rounds in which k was in the right half (R mirrors it). So
// every round is two fixed-base MSMs of 128 CRS terms, run by the compute backend (crs_msm.hpp),
// and the verifier checks everything with one MSM: C + w*y*Q + sum x_j L_j + x_j^-1 R_j
// - a * sum s_k G_k - a * b0 * w * Q = 0, b0 = <b, s>.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "host/backend/compute_backend.hpp"
#include "kernels/verkle/evaluation_domain.hpp"
#include "kernels/verkle/transcript.hpp"

namespace arbor::verkle {

inline constexpr int kIpaRounds = 8;
inline constexpr std::size_t kIpaProofBytes = 2 * kIpaRounds * 32 + 32;  // 544

struct IpaProof {
  std::array<Point, kIpaRounds> left;
  std::array<Point, kIpaRounds> right;
  Fr final_scalar;
};

using IpaProofBytes = std::array<std::uint8_t, kIpaProofBytes>;

// L[0..7] || R[0..7] (compressed) || a (little-endian); one inversion for the 16 points.
void write_ipa_proof(const IpaProof& proof, std::uint8_t* out);
IpaProofBytes encode_ipa_proof(const IpaProof& proof);
// Exactly 544 bytes; every point decoded with the subgroup check (32 zero bytes is the identity);
// the final scalar below r. INVALID_ARGUMENT naming the part that is wrong otherwise.
absl::StatusOr<IpaProof> decode_ipa_proof(std::span<const std::uint8_t> bytes);

// Proves that `commitment` (= sum a_i G_i; not checked) opens to <a, b(z)> at z.
absl::StatusOr<IpaProof> ipa_prove(host::ComputeBackend& backend, Transcript& transcript,
                                   const Point& commitment, const DensePoly& a, const Fr& z);

// OK when the proof shows that `commitment` opens to y at z; INVALID_ARGUMENT ("ipa: ...") when it
// does not; another code when the check could not run (a backend failure).
absl::Status ipa_verify(host::ComputeBackend& backend, Transcript& transcript,
                        const Point& commitment, const Fr& z, const Fr& y, const IpaProof& proof);

}  // namespace arbor::verkle
