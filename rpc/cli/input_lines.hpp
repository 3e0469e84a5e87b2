// Parsing of the CLI's numeric input lines: numbers separated by spaces and/or commas.
#pragma once

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "kernels/field/bn254_fr.hpp"

namespace arbor::cli {

// "1 2", "1,2", "1, 0x2" -> two elements. An empty line, an empty value between commas or a value
// >= p is an error. A trailing '\r' (CRLF files) is ignored.
absl::StatusOr<std::vector<field::Fr>> parse_number_list(std::string_view line);

}  // namespace arbor::cli
