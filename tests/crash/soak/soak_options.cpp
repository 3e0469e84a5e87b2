#include "tests/crash/soak/soak_options.hpp"

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace arbor::soak {
namespace {

absl::StatusOr<double> positive_number(const std::string& option, const std::string& text) {
  double value = 0;
  if (!absl::SimpleAtod(text, &value) || !(value > 0)) {
    return absl::InvalidArgumentError(absl::StrCat(option, ": \"", text, "\" is not > 0"));
  }
  return value;
}

absl::StatusOr<int> count(const std::string& option, const std::string& text, int most) {
  int value = 0;
  if (!absl::SimpleAtoi(text, &value) || value < 1 || value > most) {
    return absl::InvalidArgumentError(absl::StrCat(option, ": \"", text, "\" is not in 1..", most));
  }
  return value;
}

std::chrono::milliseconds seconds(double s) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(s * 1000));
}

}  // namespace

absl::StatusOr<SoakOptions> parse_soak_options(int argc, char** argv) {
  SoakOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string option = argv[i];
    if (option == "-h" || option == "--help") return absl::NotFoundError("help");
    if (i + 1 >= argc) return absl::InvalidArgumentError(absl::StrCat(option, ": needs a value"));
    const std::string value = argv[++i];
    if (option == "--minutes" || option == "--seconds") {
      absl::StatusOr<double> n = positive_number(option, value);
      if (!n.ok()) return n.status();
      options.duration = seconds(option == "--minutes" ? *n * 60 : *n);
    } else if (option == "--kill-every-s") {
      absl::StatusOr<double> n = positive_number(option, value);
      if (!n.ok()) return n.status();
      options.kill_every = seconds(*n);
    } else if (option == "--seed") {
      if (!absl::SimpleAtoi(value, &options.seed)) {
        return absl::InvalidArgumentError(absl::StrCat("--seed: \"", value, "\""));
      }
      options.seed_given = true;
    } else if (option == "--data") {
      options.data = value;
    } else if (option == "--arbord") {
      options.arbord = value;
    } else if (option == "--sync") {
      if (value != "full" && value != "async") {
        return absl::InvalidArgumentError(absl::StrCat("--sync: \"", value, "\" (full or async)"));
      }
      options.sync = value;
    } else if (option == "--writers") {
      absl::StatusOr<int> n = count(option, value, 256);
      if (!n.ok()) return n.status();
      options.writers = *n;
    } else if (option == "--readers") {
      absl::StatusOr<int> n = count(option, value, 256);
      if (!n.ok()) return n.status();
      options.readers = *n;
    } else if (option == "--keys-per-writer") {
      absl::StatusOr<int> n = count(option, value, 1'000'000);
      if (!n.ok()) return n.status();
      options.keys_per_writer = *n;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown option ", option));
    }
  }
  return options;
}

}  // namespace arbor::soak
