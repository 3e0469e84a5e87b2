#include "rpc/cli/op_lines.hpp"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <optional>
#include <string_view>

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

// One `put KEY VALUE` or `del KEY` line; blank lines and # comments yield nothing.
absl::StatusOr<std::optional<smt::SmtOp>> parse_op_line(std::string_view line) {
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
  if (words.empty()) return std::optional<smt::SmtOp>();
  if (words[0] == "put") {
    if (words.size() != 3) {
      return absl::InvalidArgumentError("expected `put KEY VALUE`");
    }
    absl::StatusOr<Fr> key = parse_number(words[1], "key");
    if (!key.ok()) return key.status();
    absl::StatusOr<Fr> value = parse_number(words[2], "value");
    if (!value.ok()) return value.status();
    return std::optional(smt::SmtOp::put(*key, *value));
  }
  if (words[0] == "del") {
    if (words.size() != 2) return absl::InvalidArgumentError("expected `del KEY`");
    absl::StatusOr<Fr> key = parse_number(words[1], "key");
    if (!key.ok()) return key.status();
    return std::optional(smt::SmtOp::erase(*key));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown operation \"", std::string(words[0]), "\" (put or del)"));
}

// Every line is checked before anything is applied: a bad line anywhere applies nothing.
}  // namespace

int read_op_lines(std::istream& in, const std::string& source, std::vector<smt::SmtOp>& ops) {
  std::string line;
  size_t line_number = 0;
  int errors = 0;
  while (std::getline(in, line)) {
    ++line_number;
    absl::StatusOr<std::optional<smt::SmtOp>> op = parse_op_line(line);
    if (!op.ok()) {
      if (++errors <= kMaxReportedErrors) {
        std::cerr << "arbor: " << source << " line " << line_number << ": " << op.status().message()
                  << "\n";
      }
      continue;
    }
    if (*op) ops.push_back(**op);
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

int read_op_file(const std::string& file, std::vector<smt::SmtOp>& ops) {
  if (file.empty() || file == "-") return read_op_lines(std::cin, "stdin", ops);
  std::ifstream in(file);
  if (!in) return fail(kExitFailure, absl::StrCat("cannot open ", file));
  return read_op_lines(in, file, ops);
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
