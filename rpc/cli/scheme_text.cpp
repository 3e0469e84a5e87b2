#include "rpc/cli/scheme_text.hpp"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "host/smt/smt_records.hpp"
#include "kernels/field/bn254_fr_text.hpp"

namespace arbor::cli {
namespace {

// SMT: a decimal or 0x-hex number below p, as its 32 big-endian bytes.
absl::StatusOr<std::string> parse_smt(std::string_view text, std::string_view what) {
  absl::StatusOr<field::Fr> value = field::parse_fr(text);
  if (!value.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(what), ": ", std::string(value.status().message())));
  }
  return smt::fr_bytes(*value);
}

// Verkle: exactly 32 bytes of hex.
absl::StatusOr<std::string> parse_verkle(std::string_view text, std::string_view what) {
  absl::StatusOr<std::array<std::uint8_t, 32>> bytes = parse_bytes32(text, what);
  if (!bytes.ok()) return bytes.status();
  return std::string(bytes->begin(), bytes->end());
}

constexpr SchemeText kSchemes[] = {
    {kSmt, "SMT", "an SMT", "keys, values and roots are decimal or 0x-hex numbers < p", parse_smt,
     hex_text},
    {kVerkle, "Verkle tree", "a Verkle tree",
     "keys, values and roots are 32 bytes of hex (0x optional)", parse_verkle, hex_text},
};

}  // namespace

const SchemeText* find_scheme_text(std::string_view scheme) {
  for (const SchemeText& entry : kSchemes) {
    if (entry.scheme == scheme) return &entry;
  }
  return nullptr;
}

const SchemeText& scheme_text(std::string_view scheme) {
  const SchemeText* entry = find_scheme_text(scheme);
  if (entry == nullptr) std::abort();  // the CLI registers only schemes of the table
  return *entry;
}

std::string hex_text(std::string_view bytes) {
  return absl::StrCat("0x", absl::BytesToHexString(absl::string_view(bytes.data(), bytes.size())));
}

absl::StatusOr<std::array<std::uint8_t, 32>> parse_bytes32(std::string_view text,
                                                           std::string_view what) {
  std::string_view digits = text;
  if (digits.substr(0, 2) == "0x" || digits.substr(0, 2) == "0X") digits.remove_prefix(2);
  if (digits.size() != 64 ||
      digits.find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(what), ": \"", std::string(text),
                                                   "\" is not 32 bytes of hex (0x + 64 digits)"));
  }
  const std::string bytes = absl::HexStringToBytes(std::string(digits));
  std::array<std::uint8_t, 32> out;
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return out;
}

}  // namespace arbor::cli
