// The Verkle multiproof (go-ipa multiproof.go, rust-verkle ipa-multipoint multiproof.rs): one
// 576-byte proof that k commitments C_i open to y_i = f_i(z_i), z_i in the domain 0..255.
//
// Prover: domain_sep("multiproof"); per opening append "C", "z", "y"; r = challenge("r").
// Openings are aggregated per distinct evaluation point, g_z = sum r^i f_i over the openings at z;
// g = sum_z (g_z - g_z(z)) / (X - z) (in-domain division in evaluation form); D = [g], "D";
// t = challenge("t"); h = sum_z g_z / (t - z); E = [h], "E"; then the IPA of h - g at t for the
// commitment E - D. Bytes: D || IPA (ipa.hpp) = 576.
// Verifier: the same transcript; E = sum_i r^i / (t - z_i) * C_i (one variable-base MSM over the
// distinct commitments), g2(t) = sum_i r^i y_i / (t - z_i), then the IPA check of E - D at t.
//
// The elliptic-curve work of the prover (D, E, the 16 IPA round commitments) and the verifier's
// fixed-base part run on the compute backend; the field work (aggregation, quotients, h) is
// spread over the cores with oneTBB. The bytes do not depend on the backend or the thread count.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "host/backend/compute_backend.hpp"
#include "host/verkle/ipa.hpp"
#include "kernels/verkle/pedersen.hpp"
#include "kernels/verkle/transcript.hpp"

namespace arbor::verkle {

inline constexpr std::size_t kMultiproofBytes = 32 + kIpaProofBytes;  // 576

struct Multiproof {
  Point d;
  IpaProof ipa;
};

using MultiproofBytes = std::array<std::uint8_t, kMultiproofBytes>;
using PointBytes = std::array<std::uint8_t, 32>;

MultiproofBytes encode_multiproof(const Multiproof& proof);
// Exactly 576 bytes, every point subgroup-checked, the final scalar below r; INVALID_ARGUMENT
// naming the part otherwise.
absl::StatusOr<Multiproof> decode_multiproof(std::span<const std::uint8_t> bytes);

// A polynomial in evaluation form given by its non-zero entries (index < 256, increasing; a
// missing index is 0), with its commitment as the transcript sees it (compressed). The prover
// trusts that the commitment is [f].
struct ProverPolynomial {
  PointBytes commitment{};
  std::vector<SparseTerm> f;
};

// Opening i: polynomial `poly` at z.
struct ProverOpening {
  std::uint32_t poly = 0;
  std::uint8_t z = 0;
};

// f(z) of a sparse polynomial.
Fr evaluate_sparse(std::span<const SparseTerm> f, std::uint8_t z);

// The multiproof of the openings, in their order. INVALID_ARGUMENT for no openings, a polynomial
// index out of range or entries that are not increasing indices < 256.
absl::StatusOr<Multiproof> multiproof_prove(host::ComputeBackend& backend, Transcript& transcript,
                                            std::span<const ProverPolynomial> polys,
                                            std::span<const ProverOpening> openings);

// Opening i claims commitments[commitment] opens to y at z. `commitment_bytes[c]` must be the
// compressed form of `commitments[c]` (the caller decoded one from the other).
struct VerifierOpening {
  std::uint32_t commitment = 0;
  std::uint8_t z = 0;
  Fr y;
};

// OK when the proof verifies; INVALID_ARGUMENT ("multiproof: ...") when it does not or the
// openings are malformed; another code when the check could not run.
absl::Status multiproof_verify(host::ComputeBackend& backend, Transcript& transcript,
                               std::span<const Point> commitments,
                               std::span<const PointBytes> commitment_bytes,
                               std::span<const VerifierOpening> openings, const Multiproof& proof);

}  // namespace arbor::verkle
