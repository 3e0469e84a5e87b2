// `arbor migrate FROM TO`: rewrites a data directory of the previous store format into a new one
// of the current format (host/tree/migrate.hpp). arbord must not be running on FROM.
#pragma once

#include "CLI/CLI.hpp"

namespace arbor::cli {

// Registers `migrate` under `app`; the command runs when parsed and sets `exit_code`.
void add_migrate_command(CLI::App& app, int& exit_code);

}  // namespace arbor::cli
