// `arbor` commands that only a server has: trees, info, stats, health, checkpoint, tx.
#pragma once

#include "CLI/CLI.hpp"

namespace arbor::cli {

void add_server_commands(CLI::App& app, int& exit_code);

}  // namespace arbor::cli
