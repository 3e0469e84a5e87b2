// `arbor verkle ...`: the EIP-6800 Verkle tree on a local data directory, and tree-key derivation.
#pragma once

#include "CLI/CLI.hpp"

namespace arbor::cli {

// Registers `verkle` and its subcommands under `app`; the one parsed runs and sets `exit_code`:
// 0 success, 1 rejected input / absent key, 2 could not run.
void add_verkle_command(CLI::App& app, int& exit_code);

}  // namespace arbor::cli
