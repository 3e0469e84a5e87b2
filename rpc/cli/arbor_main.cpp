// `arbor`: the Arbor command-line tool.
#include "CLI/CLI.hpp"
#include "rpc/cli/cli_support.hpp"
#include "rpc/cli/hash_command.hpp"
#include "rpc/cli/load_command.hpp"
#include "rpc/cli/migrate_command.hpp"
#include "rpc/cli/scheme_text.hpp"
#include "rpc/cli/server_command.hpp"
#include "rpc/cli/tree_command.hpp"
#include "spdlog/spdlog.h"

int main(int argc, char** argv) {
  CLI::App app{"arbor: authenticated trees (Poseidon SMT, Verkle) on CPU and GPU"};
  app.require_subcommand(1);
  spdlog::set_level(spdlog::level::warn);
  app.add_flag_callback(
      "-v,--verbose", [] { spdlog::set_level(spdlog::level::info); },
      "Log what happens (backend choice) to stderr");
  int exit_code = 0;
  arbor::cli::add_hash_command(app, exit_code);
  arbor::cli::add_tree_command(app, arbor::cli::kSmt, exit_code);
  arbor::cli::add_tree_command(app, arbor::cli::kVerkle, exit_code);
  arbor::cli::add_server_commands(app, exit_code);
  arbor::cli::add_migrate_command(app, exit_code);
  arbor::cli::add_load_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help prints and exits 0; any other argument error prints CLI11's message and exits 2,
    // the README's "could not run" (CLI11's own codes, such as 106, would mean nothing to a
    // caller).
    return app.exit(e) == 0 ? arbor::cli::kExitOk : arbor::cli::kExitFailure;
  }
  return exit_code;
}
