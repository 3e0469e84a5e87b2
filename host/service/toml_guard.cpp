#include "host/service/toml_guard.hpp"

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"

namespace arbor::service {
namespace {

// The length of the UTF-8 sequence at text[at], or 0 if it is not well formed (overlong forms,
// surrogates and code points above U+10FFFF included).
std::size_t utf8_sequence_length(std::string_view text, std::size_t at) {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(text[i]); };
  const std::uint8_t lead = byte(at);
  if (lead < 0x80) return 1;
  std::size_t length;
  std::uint32_t code_point;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
    code_point = lead & 0x1f;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    code_point = lead & 0x0f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    code_point = lead & 0x07;
  } else {
    return 0;
  }
  if (text.size() - at < length) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(at + i) & 0xc0) != 0x80) return 0;
    code_point = (code_point << 6) | (byte(at + i) & 0x3f);
  }
  constexpr std::uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code_point < kSmallest[length] || code_point > 0x10ffff) return 0;
  if (code_point >= 0xd800 && code_point <= 0xdfff) return 0;
  return length;
}

class Scanner {
 public:
  Scanner(std::string_view text, std::string_view source)
      : text_(text), source_(std::string(source)) {}

  absl::Status run() {
    if (text_.size() > kMaxTomlBytes) {
      return absl::InvalidArgumentError(absl::StrCat(source_, ": larger than ", kMaxTomlBytes,
                                                     " bytes, the limit for a configuration file"));
    }
    if (absl::Status bytes = check_characters(); !bytes.ok()) return bytes;
    return check_structure();
  }

 private:
  absl::Status error(const std::string& what) const {
    return absl::InvalidArgumentError(absl::StrCat(source_, " (line ", line_, "): ", what));
  }

  absl::Status check_characters() {
    line_ = 1;
    for (std::size_t at = 0; at < text_.size();) {
      const auto c = static_cast<std::uint8_t>(text_[at]);
      if (c == '\n') ++line_;
      if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
        return error(absl::StrCat("control character 0x", absl::Hex(c), " (not allowed in TOML)"));
      }
      const std::size_t length = utf8_sequence_length(text_, at);
      if (length == 0) return error("invalid UTF-8 (a TOML file must be UTF-8)");
      at += length;
    }
    return absl::OkStatus();
  }

  bool at(std::size_t i, std::string_view s) const { return text_.substr(i, s.size()) == s; }

  // Skips the string that starts at i; returns the index after it, or npos if unterminated.
  std::size_t skip_string(std::size_t i) {
    const char quote = text_[i];
    const std::string triple(3, quote);
    const bool multiline = at(i, triple);
    std::size_t j = i + (multiline ? 3 : 1);
    while (j < text_.size()) {
      const char c = text_[j];
      if (c == '\n') {
        if (!multiline) return std::string_view::npos;
        ++line_;
      }
      if (c == '\\' && quote == '"') {
        if (j + 1 < text_.size() && text_[j + 1] == '\n') ++line_;
        j += 2;
        continue;
      }
      if (c == quote && (!multiline || at(j, triple))) {
        // A multi-line string may end with up to two more quotes ("""a"""" is a"").
        std::size_t end = j + (multiline ? 3 : 1);
        while (multiline && end < text_.size() && text_[end] == quote && end < j + 5) ++end;
        return end;
      }
      ++j;
    }
    return std::string_view::npos;
  }

  absl::Status check_structure() {
    line_ = 1;
    int depth = 0;
    int dots = 0;
    for (std::size_t i = 0; i < text_.size();) {
      const char c = text_[i];
      if (c == '"' || c == '\'') {
        const std::size_t end = skip_string(i);
        if (end == std::string_view::npos) return error("unterminated string");
        i = end;
        continue;
      }
      if (c == '#') {
        while (i < text_.size() && text_[i] != '\n') ++i;
        continue;
      }
      if (c == '\n') {
        ++line_;
        dots = 0;
      } else if (c == '[' || c == '{') {
        if (++depth > kMaxTomlNesting) {
          return error(
              absl::StrCat("arrays or tables nested more than ", kMaxTomlNesting, " deep"));
        }
      } else if (c == ']' || c == '}') {
        if (depth > 0) --depth;  // an unbalanced bracket is toml11's to report
      } else if (c == '.' && ++dots > kMaxTomlDotsPerLine) {
        return error(absl::StrCat("more than ", kMaxTomlDotsPerLine,
                                  " dots on one line (dotted keys that deep are refused)"));
      }
      ++i;
    }
    return absl::OkStatus();
  }

  std::string_view text_;
  std::string source_;
  int line_ = 1;
};

}  // namespace

absl::Status check_toml_bytes(std::string_view text, std::string_view source_name) {
  return Scanner(text, source_name).run();
}

}  // namespace arbor::service
