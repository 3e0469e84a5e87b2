// `arbor`: the Arbor command-line tool.
#include "CLI/CLI.hpp"
#include "rpc/cli/hash_command.hpp"
#include "rpc/cli/server_command.hpp"
#include "rpc/cli/smt_command.hpp"
#include "rpc/cli/verkle_command.hpp"
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
  arbor::cli::add_smt_command(app, exit_code);
  arbor::cli::add_verkle_command(app, exit_code);
  arbor::cli::add_server_commands(app, exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
