// The CLI's text parsers (rpc/cli): `apply` operation lines, `--keys-file` key lists, hash input
// lines, each scheme's key/value/root text, and `arbor verkle tree-key`'s arguments. The first
// input byte picks the parser; the rest is its text.
//
// Each is compared with a model written here from its documentation (numbers through GMP, lines
// and words by the rules in the headers): the parser accepts exactly what the model accepts and
// gives the same values; accepted text printed back in the canonical form parses to the same
// bytes; refusals are the documented exit code or status with a message.
#include <gmp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "host/smt/smt_records.hpp"
#include "kernels/field/bn254_fr_text.hpp"
#include "kernels/verkle/pedersen.hpp"
#include "rpc/cli/cli_support.hpp"
#include "rpc/cli/input_lines.hpp"
#include "rpc/cli/op_lines.hpp"
#include "rpc/cli/scheme_text.hpp"
#include "rpc/cli/verkle_tree_key.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace arbor::fuzz {
namespace {

using Bytes32 = std::array<std::uint8_t, 32>;

constexpr const char* kModulus =
    "21888242871839275222246405745257275088548364400416034343698204186575808495617";

bool all_of(std::string_view text, std::string_view alphabet) {
  return text.find_first_not_of(alphabet) == std::string_view::npos;
}

// An integer written in decimal or 0x-hex, below p or (below_p false) below 2^256: its 32 bytes
// big-endian, or nullopt when the text is not such a number.
std::optional<Bytes32> model_integer(std::string_view text, bool below_p) {
  std::string digits;
  int base = 10;
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    digits = std::string(text.substr(2));
    base = 16;
    if (digits.empty() || !all_of(digits, "0123456789abcdefABCDEF")) return std::nullopt;
  } else {
    digits = std::string(text);
    if (digits.empty() || !all_of(digits, "0123456789")) return std::nullopt;
  }
  mpz_t value, limit;
  mpz_init(value);
  mpz_init(limit);
  mpz_set_str(value, digits.c_str(), base);
  if (below_p) {
    mpz_set_str(limit, kModulus, 10);
  } else {
    mpz_ui_pow_ui(limit, 2, 256);
  }
  std::optional<Bytes32> out;
  if (mpz_cmp(value, limit) < 0) {
    Bytes32 be{};
    std::size_t count = 0;
    std::uint8_t raw[32];
    mpz_export(raw, &count, 1, 1, 1, 0, value);
    std::copy_n(raw, count, be.begin() + (32 - count));
    out = be;
  }
  mpz_clear(value);
  mpz_clear(limit);
  return out;
}

// 0x optional, then exactly 64 hex digits.
std::optional<Bytes32> model_bytes32(std::string_view text) {
  if (text.starts_with("0x") || text.starts_with("0X")) text.remove_prefix(2);
  if (text.size() != 64 || !all_of(text, "0123456789abcdefABCDEF")) return std::nullopt;
  return model_integer("0x" + std::string(text), false);
}

std::string wire(const Bytes32& bytes) { return std::string(bytes.begin(), bytes.end()); }

std::optional<std::string> model_scheme_parse(const cli::SchemeText& scheme,
                                              std::string_view text) {
  const std::optional<Bytes32> bytes =
      scheme.scheme == cli::kSmt ? model_integer(text, true) : model_bytes32(text);
  if (!bytes) return std::nullopt;
  return wire(*bytes);
}

// The words of one line: up to a #, split at spaces, tabs and CRs.
std::vector<std::string_view> model_words(std::string_view line) {
  line = line.substr(0, line.find('#'));
  std::vector<std::string_view> words;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= line.size(); ++i) {
    if (i == line.size() || line[i] == ' ' || line[i] == '\t' || line[i] == '\r') {
      if (i > start) words.push_back(line.substr(start, i - start));
      start = i + 1;
    }
  }
  return words;
}

// Lines as getline gives them: split at '\n', no empty last line after a final '\n'.
std::vector<std::string_view> model_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const std::size_t end = std::min(text.find('\n'), text.size());
    lines.push_back(text.substr(0, end));
    text.remove_prefix(std::min(end + 1, text.size()));
  }
  return lines;
}

void op_lines(std::string_view text, const cli::SchemeText& scheme) {
  std::vector<tree::Op> expected;
  bool all_good = true;
  for (std::string_view line : model_lines(text)) {
    const std::vector<std::string_view> w = model_words(line);
    if (w.empty()) continue;
    std::optional<std::string> key =
        w.size() >= 2 ? model_scheme_parse(scheme, w[1]) : std::nullopt;
    if (w[0] == "put" && w.size() == 3 && key) {
      if (std::optional<std::string> value = model_scheme_parse(scheme, w[2])) {
        expected.push_back(tree::Op::put(*key, *value));
        continue;
      }
    } else if (w[0] == "del" && w.size() == 2 && key) {
      expected.push_back(tree::Op::erase(*key));
      continue;
    }
    all_good = false;
  }
  std::istringstream in{std::string(text)};
  std::vector<tree::Op> ops;
  QuietStderr quiet;
  const int code = cli::read_op_lines(in, "fuzz", scheme, ops);
  if (!all_good) {
    check(code == cli::kExitRejected, "bad operation lines are rejected (exit 1)");
    check(quiet.text().find("line ") != std::string::npos, "a rejected line is named");
    return;
  }
  check(code == cli::kExitOk, "good operation lines are accepted", quiet.text());
  check(ops.size() == expected.size(), "one operation per line");
  for (std::size_t i = 0; i < ops.size(); ++i) {
    check(ops[i].kind == expected[i].kind && ops[i].key == expected[i].key &&
              ops[i].value == expected[i].value,
          "operations parse to the model's bytes", std::to_string(i));
  }
  // Printed back in the canonical form, they read the same.
  std::string printed;
  for (const tree::Op& op : ops) {
    printed += op.kind == tree::Op::Kind::kPut
                   ? absl::StrCat("put ", scheme.format(op.key), " ", scheme.format(op.value), "\n")
                   : absl::StrCat("del ", scheme.format(op.key), "\n");
  }
  std::istringstream again_in(printed);
  std::vector<tree::Op> again;
  check(cli::read_op_lines(again_in, "again", scheme, again) == cli::kExitOk &&
            again.size() == ops.size(),
        "printed operations read back");
  for (std::size_t i = 0; i < ops.size(); ++i) {
    check(again[i].key == ops[i].key && again[i].value == ops[i].value,
          "printed operations read back the same");
  }
}

const TempDir& scratch() {
  static const TempDir dir("cli-lines");
  return dir;
}

void key_file(std::string_view text, const cli::SchemeText& scheme) {
  std::vector<std::string> expected;
  bool good = true;
  for (std::string_view line : model_lines(text)) {
    const std::vector<std::string_view> w = model_words(line);
    if (w.empty()) continue;
    std::optional<std::string> key =
        w.size() == 1 ? model_scheme_parse(scheme, w[0]) : std::nullopt;
    if (!key) {
      good = false;
      break;
    }
    expected.push_back(*key);
  }
  const std::string path = (scratch().path() / "keys").string();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  std::vector<std::string> keys;
  QuietStderr quiet;
  const int code = cli::read_key_file(path, scheme, keys);
  if (!good) {
    check(code == cli::kExitRejected, "a bad key file is rejected (exit 1)");
    check(quiet.text().find(": line ") != std::string::npos, "the bad key's line is named");
    return;
  }
  check(code == cli::kExitOk, "a good key file is accepted", quiet.text());
  check(keys == expected, "a key file parses to the model's keys");
}

// Values separated by spaces/tabs and single commas; no empty value between commas, none after
// a trailing comma, at least one value.
void number_list(std::string_view text) {
  std::string_view line = text;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::vector<Bytes32> expected;
  bool good = true;
  for (std::string_view rest = line;;) {
    const std::size_t comma = std::min(rest.find(','), rest.size());
    std::string_view field = rest.substr(0, comma);
    std::size_t tokens = 0;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= field.size(); ++i) {
      if (i == field.size() || field[i] == ' ' || field[i] == '\t') {
        if (i > start) {
          ++tokens;
          const std::optional<Bytes32> v = model_integer(field.substr(start, i - start), true);
          if (v) {
            expected.push_back(*v);
          } else {
            good = false;
          }
        }
        start = i + 1;
      }
    }
    if (tokens == 0) good = false;  // an empty field (or an empty line)
    if (comma == rest.size()) break;
    rest.remove_prefix(comma + 1);
  }
  absl::StatusOr<std::vector<field::Fr>> parsed = cli::parse_number_list(text);
  if (!good) {
    check_refusal(parsed.status(), "parse_number_list",
                  {absl::StatusCode::kInvalidArgument, absl::StatusCode::kOutOfRange});
    return;
  }
  check(parsed.ok(), "a good number list parses", parsed.status().ToString());
  check(parsed->size() == expected.size(), "a number list has the model's count");
  std::string printed;
  for (std::size_t i = 0; i < parsed->size(); ++i) {
    check(field::to_bytes_be((*parsed)[i]) == expected[i], "numbers parse to the model's values");
    printed += absl::StrCat(i % 2 ? field::to_decimal((*parsed)[i]) : field::to_hex((*parsed)[i]),
                            i + 1 < parsed->size() ? (i % 3 ? ", " : " ") : "");
  }
  absl::StatusOr<std::vector<field::Fr>> again = cli::parse_number_list(printed);
  check(again.ok() && *again == *parsed, "a printed number list reads back", printed);
}

void scheme_token(std::string_view text) {
  for (std::string_view name : {cli::kSmt, cli::kVerkle}) {
    const cli::SchemeText& scheme = cli::scheme_text(name);
    const std::optional<std::string> expected = model_scheme_parse(scheme, text);
    absl::StatusOr<std::string> parsed = scheme.parse(text, "key");
    if (!expected) {
      check_refusal(parsed.status(), "scheme parse", {absl::StatusCode::kInvalidArgument});
      check(std::string(parsed.status().message()).starts_with("key"), "a refusal names the field");
      continue;
    }
    check(parsed.ok() && *parsed == *expected, "a scheme's text parses to the model's bytes",
          parsed.status().ToString());
    const std::string printed = scheme.format(*parsed);
    check(printed.size() == 66 && printed.starts_with("0x") &&
              printed == absl::AsciiStrToLower(printed),
          "wire bytes print as 0x + 64 lowercase digits", printed);
    absl::StatusOr<std::string> again = scheme.parse(printed, "key");
    check(again.ok() && *again == *parsed, "printed text parses back to the same bytes");
  }
  absl::StatusOr<Bytes32> bytes = cli::parse_bytes32(text, "what");
  const std::optional<Bytes32> expected = model_bytes32(text);
  check(bytes.ok() == expected.has_value(), "parse_bytes32 accepts what the model does");
  if (bytes.ok()) check(*bytes == *expected, "parse_bytes32 gives the model's bytes");
}

// ADDRESS \n TREE_INDEX \n SUB_INDEX.
void tree_key(std::string_view text) {
  std::vector<std::string> args;
  for (std::string_view line : model_lines(text)) args.emplace_back(line);
  if (args.size() != 3) return;
  std::string address = args[0];
  if (address.starts_with("0x") || address.starts_with("0X")) address = address.substr(2);
  if (address.size() == 40) address = std::string(24, '0') + address;
  const std::optional<Bytes32> address32 = model_bytes32(address);
  // TREE_INDEX: decimal, or 0x and 1 to 64 hex digits; below 2^256.
  std::optional<Bytes32> index_be = model_integer(args[1], false);
  if (args[1].size() > 66 && (args[1].starts_with("0x") || args[1].starts_with("0X"))) {
    index_be.reset();
  }
  // SUB_INDEX is read by CLI11 (strtoll base 0: 0x hex, a leading 0 octal); plain decimal must
  // mean itself.
  std::optional<int> sub;
  if (!args[2].empty() && args[2].size() <= 3 && all_of(args[2], "0123456789") &&
      (args[2] == "0" || args[2][0] != '0')) {
    sub = std::stoi(args[2]);
  }

  CLI::App app;
  CLI::App* verkle = app.add_subcommand("verkle");
  int exit_code = -1;
  cli::add_tree_key_command(verkle, exit_code);
  std::ostringstream out;
  std::streambuf* saved = std::cout.rdbuf(out.rdbuf());
  {
    QuietStderr quiet;
    try {
      app.parse(std::vector<std::string>{args[2], args[1], args[0], "tree-key", "verkle"});
    } catch (const CLI::ParseError&) {
      exit_code = -2;  // CLI11's own refusal (an option-like argument, a non-integer SUB_INDEX)
    }
  }
  std::cout.rdbuf(saved);
  if (exit_code == -2) return;
  if (!address32 || !index_be) {
    check(exit_code == cli::kExitRejected, "a bad ADDRESS or TREE_INDEX is rejected (exit 1)");
    return;
  }
  if (sub && *sub <= 255) check(exit_code == cli::kExitOk, "good tree-key arguments run");
  if (exit_code != cli::kExitOk) {
    check(exit_code == cli::kExitRejected, "tree-key exits 0 or 1");
    return;
  }
  Bytes32 index_le;
  std::reverse_copy(index_be->begin(), index_be->end(), index_le.begin());
  const Bytes32 key = verkle::get_tree_key(*address32, index_le, 0);
  const std::string printed = out.str();
  check(printed.size() == 67 && printed.substr(0, 64) == cli::hex_text(wire(key)).substr(0, 64),
        "tree-key prints the model's stem", printed);
  if (sub) {
    check(printed.substr(64, 2) == absl::StrCat(absl::Hex(*sub, absl::kZeroPad2)),
          "tree-key's last byte is SUB_INDEX", printed);
  }
}

}  // namespace

std::vector<std::string> seeds() {
  const auto with = with_selector;
  return {
      with(0, "put 1 11\nput 0x2 22 # two\r\n\ndel 3\n"),
      with(0,
           "put 21888242871839275222246405745257275088548364400416034343698204186575808495616 0\n"),
      with(1,
           "put 0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20 "
           "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20\n"
           "del 0X0102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F20\n"),
      with(2, "1\n# comment\n0x10\n  42  \n"),
      with(10, "0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20\n"),
      with(3, "1 2, 0x3,4\r"),
      with(3, "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000000"),
      with(4, "0x00000000000000000000000000000000000000000000000000000000000000ff"),
      with(4, "123456789"),
      with(5, "0x0000000000000000000000000000000000000000\n0\n0"),
      with(5, "0x00112233445566778899aabbccddeeff00112233\n0xff\n255"),
  };
}

void test_one(std::string_view input) {
  const std::optional<Selected> in = split_selector(input);
  if (!in) return;
  const std::string_view text = in->rest;
  const cli::SchemeText& scheme = cli::scheme_text(in->selector & 8 ? cli::kVerkle : cli::kSmt);
  switch (in->selector % 8) {
    case 0:
    case 1:
      op_lines(text, cli::scheme_text(in->selector % 8 ? cli::kVerkle : cli::kSmt));
      break;
    case 2:
      key_file(text, scheme);
      break;
    case 3:
      number_list(text);
      break;
    case 4:
      scheme_token(text);
      break;
    case 5:
      tree_key(text);
      break;
    default:
      break;
  }
}

}  // namespace arbor::fuzz
