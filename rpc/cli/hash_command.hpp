// `arbor hash poseidon`: offline hashing of numbers from the command line, stdin or a file.
#pragma once

#include <string>
#include <vector>

#include "CLI/CLI.hpp"

namespace arbor::cli {

struct HashOptions {
  std::vector<std::string> values;
  std::string batch_file;
  bool decimal = false;
  std::string backend = "auto";
};

// Registers `hash poseidon` under `app`; the command runs when parsed and sets `exit_code`.
void add_hash_command(CLI::App& app, int& exit_code);

}  // namespace arbor::cli
