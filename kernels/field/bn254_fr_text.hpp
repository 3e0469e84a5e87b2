// Text and byte encodings of BN254 Fr elements (host only). Every decoder rejects values >= p
// instead of reducing them: a silently reduced key would name a different leaf.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "kernels/field/bn254_fr.hpp"

namespace arbor::field {

// Parses a decimal ("123") or 0x-prefixed hexadecimal ("0x7b") non-negative integer < p, with
// any number of leading zeros. INVALID_ARGUMENT when the text is not such a number (a character
// other than a digit anywhere, whatever its length); OUT_OF_RANGE when it is one, but >= p. Time
// is linear in the length.
absl::StatusOr<Fr> parse_fr(std::string_view text);

// "0x" followed by exactly 64 lowercase hex digits (big-endian, zero-padded).
std::string to_hex(const Fr& value);
std::string to_decimal(const Fr& value);

// 32-byte big-endian canonical encoding, the wire form.
std::array<std::uint8_t, 32> to_bytes_be(const Fr& value);
absl::StatusOr<Fr> from_bytes_be(const std::uint8_t* bytes, std::size_t length);

}  // namespace arbor::field
