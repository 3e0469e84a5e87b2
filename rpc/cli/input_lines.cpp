#include "rpc/cli/input_lines.hpp"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "kernels/field/bn254_fr_text.hpp"

namespace arbor::cli {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }

}  // namespace

absl::StatusOr<std::vector<field::Fr>> parse_number_list(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::vector<field::Fr> values;
  std::size_t pos = 0;
  bool expect_value = true;  // after a comma a value must follow
  bool any_separator_comma = false;
  while (true) {
    while (pos < line.size() && is_space(line[pos])) ++pos;
    if (pos == line.size()) break;
    if (line[pos] == ',') {
      if (expect_value) {
        return absl::InvalidArgumentError(
            absl::StrCat("empty value before the comma at column ", pos + 1));
      }
      expect_value = true;
      any_separator_comma = true;
      ++pos;
      continue;
    }
    const std::size_t start = pos;
    while (pos < line.size() && !is_space(line[pos]) && line[pos] != ',') ++pos;
    const std::string_view token = line.substr(start, pos - start);
    absl::StatusOr<field::Fr> value = field::parse_fr(token);
    if (!value.ok()) {
      return absl::Status(value.status().code(), absl::StrCat("value ", values.size() + 1, ": ",
                                                              value.status().message()));
    }
    values.push_back(*value);
    expect_value = false;
  }
  if (values.empty()) return absl::InvalidArgumentError("empty input set (no numbers)");
  if (expect_value && any_separator_comma) {
    return absl::InvalidArgumentError("trailing comma with no value after it");
  }
  return values;
}

}  // namespace arbor::cli
