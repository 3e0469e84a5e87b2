// `arbor verkle tree-key ADDRESS TREE_INDEX SUB_INDEX`: EIP-6800's get_tree_key, offline.
#pragma once

#include "CLI/CLI.hpp"

namespace arbor::cli {

// Registers `tree-key` under the `verkle` command; it sets `exit_code` when it runs.
void add_tree_key_command(CLI::App* verkle, int& exit_code);

}  // namespace arbor::cli
