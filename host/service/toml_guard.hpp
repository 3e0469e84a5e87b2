// Checks on a configuration file's bytes before toml11 parses them.
//
// Debian's toml11 3.7.1 reads past the end of its buffer on invalid UTF-8 inside a literal
// string, and recurses once per nesting level of arrays, inline tables and dotted keys (a few KB
// of `[[[[...` overflow the stack). arbord's configuration needs none of that, so the bytes are
// held to what it does need: at most kMaxTomlBytes, valid UTF-8 (as TOML requires), no control
// characters but tab and line ends, brackets nested at most kMaxTomlNesting deep and at most
// kMaxTomlDotsPerLine unquoted dots on a line. Strings and comments are skipped when counting.
// The cost is one pass over the bytes.
#pragma once

#include <cstddef>
#include <string_view>

#include "absl/status/status.h"

namespace arbor::service {

inline constexpr std::size_t kMaxTomlBytes = 64 * 1024;
inline constexpr int kMaxTomlNesting = 16;
inline constexpr int kMaxTomlDotsPerLine = 64;

// INVALID_ARGUMENT naming `source_name`, the line and what is wrong.
absl::Status check_toml_bytes(std::string_view text, std::string_view source_name);

}  // namespace arbor::service
