#include "rpc/cli/op_lines.hpp"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "rpc/cli/cli_support.hpp"

namespace arbor::cli {
namespace {

constexpr int kMaxReportedErrors = 20;

// The words of one line, without a # comment or a trailing CR.
std::vector<std::string_view> line_words(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (const size_t hash = line.find('#'); hash != std::string_view::npos) {
    line = line.substr(0, hash);
  }
  std::vector<std::string_view> words;
  for (size_t at = 0; at < line.size();) {
    const size_t start = line.find_first_not_of(" \t\r", at);
    if (start == std::string_view::npos) break;
    const size_t end = std::min(line.find_first_of(" \t\r", start), line.size());
    words.push_back(line.substr(start, end - start));
    at = end;
  }
  return words;
}

// `put KEY VALUE` or `del KEY`.
absl::StatusOr<tree::Op> parse_op(const std::vector<std::string_view>& words,
                                  const SchemeText& scheme) {
  if (words[0] == "put") {
    if (words.size() != 3) return absl::InvalidArgumentError("expected `put KEY VALUE`");
    absl::StatusOr<std::string> key = scheme.parse(words[1], "key");
    if (!key.ok()) return key.status();
    absl::StatusOr<std::string> value = scheme.parse(words[2], "value");
    if (!value.ok()) return value.status();
    return tree::Op::put(std::move(*key), std::move(*value));
  }
  if (words[0] == "del") {
    if (words.size() != 2) return absl::InvalidArgumentError("expected `del KEY`");
    absl::StatusOr<std::string> key = scheme.parse(words[1], "key");
    if (!key.ok()) return key.status();
    return tree::Op::erase(std::move(*key));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown operation \"", std::string(words[0]), "\" (put or del)"));
}

}  // namespace

// Every line is checked before anything is applied: a bad line anywhere applies nothing.
int read_op_lines(std::istream& in, const std::string& source, const SchemeText& scheme,
                  std::vector<tree::Op>& ops) {
  std::string line;
  size_t line_number = 0;
  int errors = 0;
  while (std::getline(in, line)) {
    ++line_number;
    const std::vector<std::string_view> words = line_words(line);
    if (words.empty()) continue;
    absl::StatusOr<tree::Op> op = parse_op(words, scheme);
    if (!op.ok()) {
      if (++errors <= kMaxReportedErrors) {
        std::cerr << "arbor: " << source << " line " << line_number << ": " << op.status().message()
                  << "\n";
      }
      continue;
    }
    ops.push_back(std::move(*op));
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

int read_op_file(const std::string& file, const SchemeText& scheme, std::vector<tree::Op>& ops) {
  if (file.empty() || file == "-") return read_op_lines(std::cin, "stdin", scheme, ops);
  std::ifstream in(file);
  if (!in) return fail(kExitFailure, absl::StrCat("cannot open ", file));
  return read_op_lines(in, file, scheme, ops);
}

int read_key_file(const std::string& file, const SchemeText& scheme,
                  std::vector<std::string>& keys) {
  absl::StatusOr<std::string> text = read_whole_input(file);
  if (!text.ok()) return fail(kExitFailure, text.status().message());
  std::size_t line_number = 0;
  for (std::string_view rest = *text; !rest.empty();) {
    const std::size_t end = std::min(rest.find('\n'), rest.size());
    const std::vector<std::string_view> words = line_words(rest.substr(0, end));
    rest.remove_prefix(std::min(end + 1, rest.size()));
    ++line_number;
    if (words.empty()) continue;
    absl::StatusOr<std::string> key =
        words.size() == 1 ? scheme.parse(words[0], "key")
                          : absl::InvalidArgumentError("expected one key on the line");
    if (!key.ok()) {
      return fail(kExitRejected, absl::StrCat(file, ": line ", line_number, ": ",
                                              std::string(key.status().message())));
    }
    keys.push_back(std::move(*key));
  }
  return kExitOk;
}

void ops_to_wire(std::span<const tree::Op> ops, google::protobuf::RepeatedPtrField<v1::Op>& wire) {
  wire.Reserve(static_cast<int>(wire.size() + ops.size()));
  for (const tree::Op& op : ops) {
    v1::Op* out = wire.Add();
    out->set_key(op.key);
    if (op.kind == tree::Op::Kind::kPut) {
      out->set_kind(v1::OP_KIND_PUT);
      out->set_value(op.value);
    } else {
      out->set_kind(v1::OP_KIND_DELETE);
    }
  }
}

}  // namespace arbor::cli
