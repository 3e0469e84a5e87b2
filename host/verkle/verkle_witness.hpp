// The EIP-6800 execution witness: the state diff of a set of keys and the Verkle proof of their
// values, as go-verkle defines it (proof_ipa.go: StateDiff, VerkleProof, IPAProof) and as blocks
// carry it, plus Arbor's compact binary form of the same content.
//
// This header holds the data as it travels (bytes, not decoded points): the codecs check syntax
// only (types, hex, lengths, counts); what the content means is checked by the stateless verifier
// (verkle_stateless.hpp), which decodes every point with the subgroup check.
//
// JSON (go-verkle, exactly; hex strings are 0x-prefixed lowercase on output, either case on input):
//   {"stateDiff": [{"stem": "0x<31 B>",
//                   "suffixDiffs": [{"suffix": <0..255>, "currentValue": "0x<32 B>" | null,
//                                    "newValue": "0x<32 B>" | null}, ...]}, ...],
//    "verkleProof": {"otherStems": ["0x<31 B>", ...],
//                    "depthExtensionPresent": "0x<one byte per stem: depth << 3 | status>",
//                    "commitmentsByPath": ["0x<32 B compressed point>", ...],
//                    "d": "0x<32 B>",
//                    "ipaProof": {"cl": [8 x "0x<32 B>"], "cr": [8 x ...],
//                                 "finalEvaluation": "0x<32 B, BIG-endian>"}}}
//   Parsing also accepts that object under "executionWitness" (a block file: {"header": ...,
//   "executionWitness": {...}}), and @ethereumjs' optional "parentStateRoot". Unknown keys are
//   ignored (go-verkle's encoding/json does the same); a missing key or a wrong type is an error.
//   Note: the 576-byte multiproof stores the final scalar little-endian; only this JSON has it
//   big-endian.
//
// Binary (Arbor's; all integers little-endian):
//   "AVW1" | u32 stems | per stem: stem (31) | u16 suffix count (1..256) | per suffix: suffix (1) |
//   flags (1: bit 0 currentValue present, bit 1 newValue present, other bits 0) | currentValue (32,
//   if present) | newValue (32, if present)
//   | depthExtensionPresent (one byte per stem, so no count) | u32 otherStems | stems (31 each)
//   | u32 commitmentsByPath | points (32 each) | multiproof (576: D | L[8] | R[8] | a, a LE).
//   Exact length: trailing or missing bytes are errors; counts are checked against the bytes left
//   before anything is allocated, so a hostile count costs nothing. Only JSON can carry a status
//   count that differs from the stem count; such a witness is written with every status byte
//   0xff (status 7, which the verifier rejects), so it stays invalid. parentStateRoot is not
//   carried.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "host/verkle/multiproof.hpp"
#include "host/verkle/verkle_records.hpp"

namespace arbor::verkle {

// The extension status of a stem (low 3 bits of its depthExtensionPresent byte).
enum class StemStatus : std::uint8_t { kAbsentEmpty = 0, kAbsentOther = 1, kPresent = 2 };

inline std::uint8_t extension_byte(int depth, StemStatus status) {
  return static_cast<std::uint8_t>(depth << 3 | static_cast<std::uint8_t>(status));
}

struct SuffixDiff {
  std::uint8_t suffix = 0;
  std::optional<Value32> current;  // the value in the pre-state; nullopt: absent
  std::optional<Value32> next;     // "newValue": the value written by the block; nullopt: untouched
};

struct StemDiff {
  Stem stem{};
  std::vector<SuffixDiff> suffixes;
};

struct VerkleWitness {
  std::vector<StemDiff> state_diff;
  std::vector<Stem> other_stems;
  std::vector<std::uint8_t> extension_statuses;  // depthExtensionPresent, one byte per stem
  std::vector<PointBytes> commitments_by_path;
  PointBytes d{};
  std::array<PointBytes, kIpaRounds> cl{};
  std::array<PointBytes, kIpaRounds> cr{};
  std::array<std::uint8_t, 32> final_evaluation_le{};  // little-endian, as in the multiproof
  std::optional<RootCommitment> parent_state_root;     // @ethereumjs' optional field

  // D | L[8] | R[8] | a: what decode_multiproof reads.
  MultiproofBytes multiproof_bytes() const;
  void set_multiproof(const MultiproofBytes& bytes);
  // Distinct keys in the witness (sum of suffix counts).
  std::size_t key_count() const;
};

// Hard limits a witness must stay within (a block carries a few hundred stems).
inline constexpr std::size_t kMaxWitnessStems = 1u << 20;
inline constexpr std::size_t kMaxWitnessCommitments = 1u << 22;

// go-verkle's JSON, compact (no whitespace).
std::string witness_to_json(const VerkleWitness& witness);
// INVALID_ARGUMENT naming the field (e.g. "stateDiff[3].suffixDiffs[0].currentValue: expected 32
// bytes of hex") for anything malformed.
absl::StatusOr<VerkleWitness> witness_from_json(std::string_view text);

std::string witness_to_binary(const VerkleWitness& witness);
// An upper bound on witness_to_binary's size for a witness of `keys` keys from one tree: each key
// adds at most one stem (31 bytes, a 2-byte suffix count, an extension status), one suffix diff
// (2 + 2 * 32), one other stem (31) and the commitments on its path (at most 30 internal nodes
// below the root, the extension's C, C1 and C2: 33, counted as 34); plus the counts and the
// 576-byte multiproof.
constexpr std::uint64_t max_binary_witness_bytes(std::uint64_t keys) {
  return 1024 + keys * (31 + 2 + 1 + 2 + 64 + 31 + 34 * 32);
}
absl::StatusOr<VerkleWitness> witness_from_binary(std::string_view bytes);

// The first bytes of the binary form.
inline constexpr std::string_view kBinaryWitnessMagic = "AVW1";

// Binary when `bytes` starts with kBinaryWitnessMagic, else JSON.
absl::StatusOr<VerkleWitness> parse_witness(std::string_view bytes);

}  // namespace arbor::verkle
