// arbor_soak's command line.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "absl/status/statusor.h"

namespace arbor::soak {

struct SoakOptions {
  std::chrono::milliseconds duration{std::chrono::minutes(10)};
  // Each kill comes at a random moment in [0.5, 1.5] times this after the load starts.
  std::chrono::milliseconds kill_every{std::chrono::seconds(30)};
  std::uint64_t seed = 0;
  bool seed_given = false;
  std::filesystem::path data;    // empty: a temporary directory, removed after a pass
  std::filesystem::path arbord;  // empty: the build's bin/arbord
  std::string sync = "full";     // full or async: a SIGKILL loses nothing in either
  int writers = 4;               // half on the SMT tree, half on the Verkle tree
  int readers = 2;
  int keys_per_writer = 2000;  // then a writer only overwrites and deletes its keys
};

inline constexpr const char* kUsage =
    "usage: arbor_soak [--minutes N | --seconds N] [--kill-every-s S] [--seed N] [--data DIR]\n"
    "                  [--arbord PATH] [--sync full|async] [--writers N] [--readers N]\n"
    "                  [--keys-per-writer N]\n"
    "Mixed load on one SMT and one Verkle tree in arbord, a SIGKILL about every S seconds\n"
    "(default 30), and every acknowledged write checked after each restart and at the end.\n";

// INVALID_ARGUMENT naming the option; "--help" is NOT_FOUND (print kUsage, exit 0).
absl::StatusOr<SoakOptions> parse_soak_options(int argc, char** argv);

}  // namespace arbor::soak
