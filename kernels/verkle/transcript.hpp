// The Fiat-Shamir transcript of Verkle proofs (go-ipa common/transcript.go, rust-verkle
// ipa-multipoint transcript.rs): a SHA-256 state that starts with a label and absorbs labelled
// messages; a challenge hashes the state, resets it and absorbs the challenge itself, so that each
// challenge depends on everything before it.
//
//   append(l, m)   : state ||= l || m
//   domain_sep(l)  : state ||= l
//   challenge(l)   : state ||= l; h = SHA-256(state); state = ""; c = int_le(h) mod r;
//                    append(l, LE32(c))
// Points enter as their 32-byte compressed (big-endian) encoding, scalars as 32 bytes little-
// endian. The label of a new transcript is a parameter: "vt" for tree witnesses (EIP-6800),
// "verkle" for rust-verkle's raw proof API, "multiproof"/"ipa"/"test" in vectors. Host-only
// (OpenSSL SHA-256).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "kernels/verkle/banderwagon.hpp"

namespace arbor::verkle {

inline constexpr std::string_view kTreeTranscriptLabel = "vt";
inline constexpr std::string_view kRustVerkleTranscriptLabel = "verkle";

class Transcript {
 public:
  explicit Transcript(std::string_view label) : state_(label) {}

  void append_bytes(std::string_view label, std::span<const std::uint8_t> message);
  // A point already in its 32-byte compressed form (callers batch the serialization).
  void append_point(std::string_view label, const std::array<std::uint8_t, 32>& compressed) {
    append_bytes(label, compressed);
  }
  void append_point(std::string_view label, const Point& p) { append_point(label, serialize(p)); }
  void append_scalar(std::string_view label, const Fr& s);
  void domain_sep(std::string_view label) { state_.append(label); }
  Fr challenge(std::string_view label);

 private:
  // The bytes absorbed since the last challenge; hashed in one call when a challenge is drawn
  // (one EVP call per challenge instead of one per message).
  std::string state_;
};

}  // namespace arbor::verkle
