// `arbor smt ...`: the SMT on a local data directory (offline: no server).
#pragma once

#include "CLI/CLI.hpp"

namespace arbor::cli {

// Registers `smt` and its subcommands under `app`; the one parsed runs and sets `exit_code`:
// 0 success, 1 rejected input / invalid proof / absent key, 2 could not run.
void add_smt_command(CLI::App& app, int& exit_code);

}  // namespace arbor::cli
