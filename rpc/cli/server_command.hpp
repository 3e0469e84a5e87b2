// `arbor` commands about the service or a tree as a whole: trees, info, stats, health,
// checkpoint (on --data or --server), tx (--server: a transaction outlives one call), and watch
// and scan (watch_scan_command.hpp).
#pragma once

#include "CLI/CLI.hpp"

namespace arbor::cli {

void add_server_commands(CLI::App& app, int& exit_code);

}  // namespace arbor::cli
