// The text forms of each tree scheme's keys, values and roots on the command line, in one table:
// what a user types is parsed into the wire bytes of rpc/arbor/v1/arbor.proto, and wire bytes
// print back as text. Everything else the CLI does is scheme-neutral.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace arbor::cli {

struct SchemeText {
  std::string_view scheme;    // as in TreeInfo.scheme: "smt", "verkle"
  std::string_view title;     // "SMT", "Verkle tree": `created SMT "t"`
  std::string_view a_title;   // "an SMT", "a Verkle tree": `tree "t" is not a Verkle tree`
  std::string_view operands;  // help text: what a key, a value and a root look like
  // A key, value or root as typed to its wire bytes; INVALID_ARGUMENT starting with `what`.
  absl::StatusOr<std::string> (*parse)(std::string_view text, std::string_view what);
  // Wire bytes (a key, value or root) as printed.
  std::string (*format)(std::string_view wire);
};

inline constexpr std::string_view kSmt = "smt";
inline constexpr std::string_view kVerkle = "verkle";

// The entry of `scheme`; nullptr for a scheme the CLI has no text form for.
const SchemeText* find_scheme_text(std::string_view scheme);
// Of a scheme the table has (the CLI's own commands).
const SchemeText& scheme_text(std::string_view scheme);

// "0x" and lowercase hex: how every scheme prints its 32-byte keys, values and roots (an SMT
// element big-endian, zero-padded to 64 digits).
std::string hex_text(std::string_view bytes);
// 0x + 64 hex digits (0x optional, either case); INVALID_ARGUMENT naming `what` otherwise.
absl::StatusOr<std::array<std::uint8_t, 32>> parse_bytes32(std::string_view text,
                                                           std::string_view what);

}  // namespace arbor::cli
