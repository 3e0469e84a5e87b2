// `arbor load DIR TREE FILE [--scheme smt|verkle]`: the first import of a large state into a data
// directory, as a bulk load (host/smt/smt_bulk_load.hpp, host/verkle/verkle_bulk_load.hpp)
// instead of batches through arbord.
#pragma once

#include "CLI/CLI.hpp"

namespace arbor::cli {

void add_load_command(CLI::App& app, int& exit_code);

}  // namespace arbor::cli
