#include "rpc/cli/verkle_tree_key.hpp"

#include <algorithm>
#include <array>
#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "kernels/verkle/pedersen.hpp"
#include "nlohmann/json.hpp"
#include "rpc/cli/cli_support.hpp"
#include "rpc/cli/scheme_text.hpp"

namespace arbor::cli {
namespace {

struct TreeKeyOptions {
  std::string address;
  std::string tree_index;
  int sub_index = 0;
  bool json = false;
};

std::string hex(const std::array<std::uint8_t, 32>& bytes) {
  return hex_text(std::string(bytes.begin(), bytes.end()));
}

// TREE_INDEX: a decimal or 0x-hex integer below 2^256, as 32 bytes little-endian.
absl::StatusOr<std::array<std::uint8_t, 32>> parse_tree_index(std::string_view text) {
  std::array<std::uint8_t, 32> le{};
  auto bad = [&](std::string_view why) {
    // A long argument is quoted by its start and length, not repeated whole.
    constexpr std::size_t kQuoted = 80;
    const std::string quoted =
        text.size() <= kQuoted
            ? std::string(text)
            : absl::StrCat(std::string(text.substr(0, kQuoted)), "... (", text.size(), " bytes)");
    return absl::InvalidArgumentError(
        absl::StrCat("TREE_INDEX \"", quoted, "\": ", std::string(why)));
  };
  if (text.substr(0, 2) == "0x" || text.substr(0, 2) == "0X") {
    std::string digits(text.substr(2));
    if (digits.empty() || digits.size() > 64 ||
        digits.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
      return bad("expected 1 to 64 hex digits after 0x");
    }
    if (digits.size() % 2) digits.insert(digits.begin(), '0');
    const std::string be = absl::HexStringToBytes(digits);
    std::copy(be.rbegin(), be.rend(), le.begin());
    return le;
  }
  if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos) {
    return bad("expected a decimal or 0x-hex integer");
  }
  for (char c : text) {  // le = le * 10 + digit, with an overflow check
    unsigned carry = static_cast<unsigned>(c - '0');
    for (auto& byte : le) {
      const unsigned v = byte * 10u + carry;
      byte = static_cast<std::uint8_t>(v);
      carry = v >> 8;
    }
    if (carry != 0) return bad("does not fit in 256 bits");
  }
  return le;
}

int run_tree_key(const TreeKeyOptions& options) {
  std::string address = options.address;
  if (address.substr(0, 2) == "0x" || address.substr(0, 2) == "0X") address = address.substr(2);
  if (address.size() == 40) address = std::string(24, '0') + address;  // 20-byte address
  absl::StatusOr<std::array<std::uint8_t, 32>> address32 = parse_bytes32(address, "ADDRESS");
  if (!address32.ok()) {
    return fail(kExitRejected,
                absl::StrCat("ADDRESS \"", options.address,
                             "\" is not a 20- or 32-byte hex address (0x + 40 or 64 digits)"));
  }
  absl::StatusOr<std::array<std::uint8_t, 32>> index = parse_tree_index(options.tree_index);
  if (!index.ok()) return fail(kExitRejected, index.status().message());
  if (options.sub_index < 0 || options.sub_index > 255) {
    return fail(kExitRejected, absl::StrCat("SUB_INDEX ", options.sub_index, " is not 0..255"));
  }
  const std::array<std::uint8_t, 32> key =
      verkle::get_tree_key(*address32, *index, static_cast<std::uint8_t>(options.sub_index));
  if (options.json) {
    std::cout << nlohmann::json{{"key", hex(key)}}.dump() << "\n";
  } else {
    std::cout << hex(key) << "\n";
  }
  return kExitOk;
}

}  // namespace

void add_tree_key_command(CLI::App* verkle, int& exit_code) {
  auto options = std::make_shared<TreeKeyOptions>();
  CLI::App* tree_key = verkle->add_subcommand(
      "tree-key",
      "Print EIP-6800's get_tree_key(ADDRESS, TREE_INDEX, SUB_INDEX): the 31-byte stem "
      "pedersen_hash(address32 || LE32(TREE_INDEX)) and SUB_INDEX as the last byte");
  tree_key->add_option("address", options->address, "20- or 32-byte address, hex")->required();
  tree_key->add_option("tree_index", options->tree_index, "Decimal or 0x-hex integer < 2^256")
      ->required();
  tree_key->add_option("sub_index", options->sub_index, "0..255")->required();
  tree_key->add_flag("--json", options->json, "Print JSON");
  tree_key->callback([options, &exit_code] { exit_code = run_tree_key(*options); });
}

}  // namespace arbor::cli
