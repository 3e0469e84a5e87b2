#include "rpc/cli/op_lines.hpp"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <optional>
#include <string_view>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "kernels/field/bn254_fr_text.hpp"
#include "rpc/cli/cli_support.hpp"
#include "rpc/server/wire.hpp"

namespace arbor::cli {
namespace {

using field::Fr;

constexpr int kMaxReportedErrors = 20;

absl::StatusOr<Fr> parse_number(std::string_view text, std::string_view what) {
  absl::StatusOr<Fr> value = field::parse_fr(text);
  if (!value.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(what), ": ", std::string(value.status().message())));
  }
  return value;
}

// The words of one line, without a # comment or a trailing CR.
std::vector<std::string_view> line_words(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (const size_t hash = line.find('#'); hash != std::string_view::npos)
    line = line.substr(0, hash);
  std::vector<std::string_view> words;
  for (size_t at = 0; at < line.size();) {
    const size_t start = line.find_first_not_of(" \t", at);
    if (start == std::string_view::npos) break;
    const size_t end = std::min(line.find_first_of(" \t", start), line.size());
    words.push_back(line.substr(start, end - start));
    at = end;
  }
  return words;
}

// `put KEY VALUE` or `del KEY` with the operands parsed by `parse` (key and value alike).
template <class Op, class Operand>
absl::StatusOr<Op> parse_op_words(const std::vector<std::string_view>& words,
                                  absl::StatusOr<Operand> (*parse)(std::string_view,
                                                                   std::string_view)) {
  if (words[0] == "put") {
    if (words.size() != 3) return absl::InvalidArgumentError("expected `put KEY VALUE`");
    absl::StatusOr<Operand> key = parse(words[1], "key");
    if (!key.ok()) return key.status();
    absl::StatusOr<Operand> value = parse(words[2], "value");
    if (!value.ok()) return value.status();
    return Op::put(*key, *value);
  }
  if (words[0] == "del") {
    if (words.size() != 2) return absl::InvalidArgumentError("expected `del KEY`");
    absl::StatusOr<Operand> key = parse(words[1], "key");
    if (!key.ok()) return key.status();
    return Op::erase(*key);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown operation \"", std::string(words[0]), "\" (put or del)"));
}

// Every line is checked before anything is applied: a bad line anywhere applies nothing.
template <class Op, class Operand>
int read_lines(std::istream& in, const std::string& source, std::vector<Op>& ops,
               absl::StatusOr<Operand> (*parse)(std::string_view, std::string_view)) {
  std::string line;
  size_t line_number = 0;
  int errors = 0;
  while (std::getline(in, line)) {
    ++line_number;
    const std::vector<std::string_view> words = line_words(line);
    if (words.empty()) continue;
    absl::StatusOr<Op> op = parse_op_words<Op>(words, parse);
    if (!op.ok()) {
      if (++errors <= kMaxReportedErrors) {
        std::cerr << "arbor: " << source << " line " << line_number << ": " << op.status().message()
                  << "\n";
      }
      continue;
    }
    ops.push_back(*op);
  }
  if (in.bad()) return fail(kExitFailure, absl::StrCat("cannot read ", source));
  if (errors > kMaxReportedErrors) {
    std::cerr << "arbor: ... and " << errors - kMaxReportedErrors << " more bad lines\n";
  }
  if (errors > 0) {
    std::cerr << "arbor: nothing was applied\n";
    return kExitRejected;
  }
  return kExitOk;
}

template <class Op, class Operand>
int read_file(const std::string& file, std::vector<Op>& ops,
              absl::StatusOr<Operand> (*parse)(std::string_view, std::string_view)) {
  if (file.empty() || file == "-") return read_lines(std::cin, "stdin", ops, parse);
  std::ifstream in(file);
  if (!in) return fail(kExitFailure, absl::StrCat("cannot open ", file));
  return read_lines(in, file, ops, parse);
}

}  // namespace

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

int read_op_lines(std::istream& in, const std::string& source, std::vector<smt::SmtOp>& ops) {
  return read_lines(in, source, ops, parse_number);
}

int read_op_file(const std::string& file, std::vector<smt::SmtOp>& ops) {
  return read_file(file, ops, parse_number);
}

int read_verkle_op_file(const std::string& file, std::vector<verkle::VerkleOp>& ops) {
  return read_file(file, ops, parse_bytes32);
}

void ops_to_wire(std::span<const smt::SmtOp> ops,
                 google::protobuf::RepeatedPtrField<v1::Op>& wire) {
  wire.Reserve(static_cast<int>(wire.size() + ops.size()));
  for (const smt::SmtOp& op : ops) {
    v1::Op* out = wire.Add();
    out->set_key(rpc::field_to_wire(op.key));
    if (op.kind == smt::SmtOp::Kind::kPut) {
      out->set_kind(v1::OP_KIND_PUT);
      out->set_value(rpc::field_to_wire(op.value));
    } else {
      out->set_kind(v1::OP_KIND_DELETE);
    }
  }
}

}  // namespace arbor::cli
