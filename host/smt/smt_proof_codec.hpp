// The encodings of SMT proofs (specified in host/smt/README.md):
//  - binary: compact, zero siblings replaced by a bitmap;
//  - JSON: readable, hex field elements;
//  - circom: the input of circomlib's SMTVerifier(nLevels) circuit (single-key proofs only).
// Every decoder refuses malformed input, padding and values >= p with INVALID_ARGUMENT, and so
// every proof no tree produces that it can tell from the bytes (entries out of path order, shapes
// a tree cannot have, paths deeper than ProofLimits::max_depth) and every proof over the caps of
// smt_proof.hpp. Each allocates in proportion to its input, after checking counts against the
// bytes left, and runs in time linear in it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "absl/status/statusor.h"
#include "host/smt/smt_proof.hpp"
#include "nlohmann/json.hpp"

namespace arbor::smt {

enum class ProofFormat { kBinary, kJson, kCircom };
absl::StatusOr<ProofFormat> parse_proof_format(std::string_view name);
std::string_view to_string(ProofFormat format);

inline constexpr char kProofMagic[2] = {'A', 'S'};
inline constexpr char kMultiProofMagic[2] = {'A', 'M'};
inline constexpr std::uint8_t kProofCodecVersion = 1;

// JSON text is parsed with these bounds (the largest proof under the caps needs about half as
// many values and 4 levels), so that its memory stays in proportion to the text.
inline constexpr std::size_t kMaxProofJsonValues = std::size_t{1} << 19;
inline constexpr int kMaxProofJsonDepth = 8;
// Longest string, and longest run of other bytes between two of {}[],: (a number, whitespace).
// The parser holds each token whole, twice, so one 60 MiB string would cost 250 MB and a second.
inline constexpr std::size_t kMaxProofJsonToken = 4096;

std::string encode_proof_binary(const SmtProof& proof);
// An upper bound on encode_proof_binary's size for a proof of depth <= `depth`: the 5-byte header,
// the key, a value and an aux leaf (4 * 32), the sibling bitmap and every sibling.
constexpr std::uint64_t max_proof_binary_bytes(int depth) {
  return 5 + 4 * 32 + (static_cast<std::uint64_t>(depth) + 7) / 8 +
         32 * static_cast<std::uint64_t>(depth);
}
absl::StatusOr<SmtProof> decode_proof_binary(std::string_view bytes,
                                             const ProofLimits& limits = {});
std::string encode_multi_proof_binary(const SmtMultiProof& proof);
absl::StatusOr<SmtMultiProof> decode_multi_proof_binary(std::string_view bytes,
                                                        const ProofLimits& limits = {});

// `root`, when given, is written as the root the proof is for.
nlohmann::json proof_to_json(const SmtProof& proof, const std::optional<Fr>& root);
nlohmann::json multi_proof_to_json(const SmtMultiProof& proof, const std::optional<Fr>& root);

// SMTVerifier(levels) input. The circuit's last sibling must be 0, so a proof whose path is D
// levels deep needs levels >= D + 1; fewer is OUT_OF_RANGE.
absl::StatusOr<nlohmann::json> proof_to_circom(const SmtProof& proof, const Fr& root, int levels);

// A decoded proof file of any format, with the root it names (JSON and circom forms carry one).
struct DecodedProof {
  ProofFormat format = ProofFormat::kBinary;
  std::variant<SmtProof, SmtMultiProof> proof;
  std::optional<Fr> root;
  int circom_levels = 0;  // circom form: nLevels
};
absl::StatusOr<DecodedProof> decode_proof_json(const nlohmann::json& json,
                                               const ProofLimits& limits = {});
// JSON text as a value, within kMaxProofJsonValues, kMaxProofJsonDepth and kMaxProofJsonToken
// (INVALID_ARGUMENT past them, or when it is not JSON), stopping at the first value over.
absl::StatusOr<nlohmann::json> parse_proof_json(std::string_view text);
// Detects the format: the binary magic, else JSON (circom inputs have "fnc" and "enabled").
absl::StatusOr<DecodedProof> decode_any_proof(std::string_view bytes,
                                              const ProofLimits& limits = {});

// Verifies a decoded proof against `root`: the proof's own claim, and the root it names if any.
// A service decodes and verifies with the same limits (the tree's max depth when it knows the
// tree, the RPC's deadline).
absl::Status verify_decoded(const Fr& root, const DecodedProof& decoded,
                            const ProofLimits& limits = {});

}  // namespace arbor::smt
