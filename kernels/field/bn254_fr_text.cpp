#include "kernels/field/bn254_fr_text.hpp"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace arbor::field {
namespace {

using Limbs = mont_detail::Limbs;

bool less_than_modulus(const Limbs& x) { return mont_detail::below_modulus<Bn254FrParams>(x); }

// x = x * base + digit; false when the result no longer fits in 256 bits.
bool multiply_add(Limbs& x, std::uint64_t base, std::uint64_t digit) {
  std::uint64_t carry = digit;
  for (auto& limb : x) {
    const unsigned __int128 t = static_cast<unsigned __int128>(limb) * base + carry;
    limb = static_cast<std::uint64_t>(t);
    carry = static_cast<std::uint64_t>(t >> 64);
  }
  return carry == 0;
}

std::string shorten(std::string_view text) {
  constexpr std::size_t kMax = 80;
  if (text.size() <= kMax) return std::string(text);
  return std::string(text.substr(0, kMax)) + "...";
}

absl::Status out_of_range(std::string_view text) {
  return absl::OutOfRangeError(
      absl::StrCat("value ", shorten(text), " is not below the BN254 scalar field modulus p"));
}

int hex_digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

absl::StatusOr<Fr> parse_fr(std::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("empty number");
  const bool is_hex = text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
  const std::string_view digits = is_hex ? text.substr(2) : text;
  if (digits.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("'", shorten(text), "' has no hex digits"));
  }
  // Every character is checked before any arithmetic: text with garbage anywhere is not a
  // number (INVALID_ARGUMENT), however long; only a well-formed one can be too large.
  for (char c : digits) {
    if (is_hex ? hex_digit_value(c) < 0 : (c < '0' || c > '9')) {
      return absl::InvalidArgumentError(
          is_hex ? absl::StrCat("'", shorten(text), "' is not a hexadecimal number")
                 : absl::StrCat("'", shorten(text),
                                "' is not a number (expected decimal or 0x-prefixed hex)"));
    }
  }
  // Leading zeros aside, a number with more digits than p has is not below p (p has 77 decimal
  // and 64 hex digits), so at most that many are multiplied in: linear in the text's length.
  const std::size_t first = digits.find_first_not_of('0');
  const std::string_view significant =
      first == std::string_view::npos ? std::string_view() : digits.substr(first);
  if (significant.size() > (is_hex ? 64u : 77u)) return out_of_range(text);
  Limbs value{};
  for (char c : significant) {
    const auto d = static_cast<std::uint64_t>(is_hex ? hex_digit_value(c) : c - '0');
    if (!multiply_add(value, is_hex ? 16 : 10, d)) return out_of_range(text);
  }
  if (!less_than_modulus(value)) return out_of_range(text);
  const std::uint64_t limbs[4] = {value[0], value[1], value[2], value[3]};
  return from_canonical_limbs(limbs);
}

std::string to_hex(const Fr& value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::uint64_t limbs[4];
  to_canonical_limbs(value, limbs);
  std::string out = "0x";
  for (int i = 3; i >= 0; --i) {
    for (int shift = 60; shift >= 0; shift -= 4) out.push_back(kDigits[(limbs[i] >> shift) & 0xf]);
  }
  return out;
}

std::string to_decimal(const Fr& value) {
  std::uint64_t limbs[4];
  to_canonical_limbs(value, limbs);
  std::string digits;
  // Repeated division by 10^19 (the largest power of ten below 2^64), 19 digits at a time.
  constexpr std::uint64_t kChunk = 10000000000000000000ULL;
  while (limbs[0] | limbs[1] | limbs[2] | limbs[3]) {
    unsigned __int128 remainder = 0;
    for (int i = 3; i >= 0; --i) {
      const unsigned __int128 cur = (remainder << 64) | limbs[i];
      limbs[i] = static_cast<std::uint64_t>(cur / kChunk);
      remainder = cur % kChunk;
    }
    auto chunk = static_cast<std::uint64_t>(remainder);
    const bool more = limbs[0] | limbs[1] | limbs[2] | limbs[3];
    for (int d = 0; d < 19 && (more || chunk != 0); ++d) {
      digits.push_back(static_cast<char>('0' + chunk % 10));
      chunk /= 10;
    }
  }
  if (digits.empty()) return "0";
  std::reverse(digits.begin(), digits.end());
  return digits;
}

std::array<std::uint8_t, 32> to_bytes_be(const Fr& value) {
  std::uint64_t limbs[4];
  to_canonical_limbs(value, limbs);
  std::array<std::uint8_t, 32> out{};
  for (int i = 0; i < 32; ++i) {
    out[31 - i] = static_cast<std::uint8_t>(limbs[i / 8] >> (8 * (i % 8)));
  }
  return out;
}

absl::StatusOr<Fr> from_bytes_be(const std::uint8_t* bytes, std::size_t length) {
  if (length != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("a field element is 32 bytes big-endian, got ", length, " bytes"));
  }
  Limbs value{};
  for (int i = 0; i < 32; ++i) {
    value[i / 8] |= static_cast<std::uint64_t>(bytes[31 - i]) << (8 * (i % 8));
  }
  if (!less_than_modulus(value)) {
    return absl::OutOfRangeError("32-byte value is not below the BN254 scalar field modulus p");
  }
  const std::uint64_t limbs[4] = {value[0], value[1], value[2], value[3]};
  return from_canonical_limbs(limbs);
}

}  // namespace arbor::field
