// `arbor smt ...` and `arbor verkle ...`: one command set for every tree scheme (create, apply,
// root, get, prove, verify, rollback, prune), each written once against the arbor.v1 stub and run
// on a data directory (--data) or through arbord (--server). What differs per scheme is the text
// form of keys and values (scheme_text.hpp) and the proofs' formats (proof_command.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "arbor/v1/arbor.pb.h"
#include "host/smt/smt_records.hpp"
#include "rpc/cli/connection.hpp"
#include "rpc/cli/scheme_text.hpp"

namespace arbor::cli {

// Operations per message when an apply streams as one transaction.
inline constexpr std::uint64_t kDefaultChunkOps = 20'000;

// The options of every tree subcommand (one subcommand runs per process).
struct TreeCli {
  const SchemeText* scheme = nullptr;
  ConnectionOptions connection;
  std::string tree;
  bool json = false;
  // create
  int max_depth = smt::kDefaultMaxDepth;
  std::uint64_t keep_versions = 0;
  // apply
  std::string file;
  std::string label;
  std::optional<std::uint64_t> expected_version;
  bool progress = false;
  std::uint64_t chunk_ops = kDefaultChunkOps;
  bool stats = false;
  bool hash = false;  // verkle: also print map_to_field(root)
  // reads; rollback's VERSION is `version` too
  std::optional<std::uint64_t> version;
  std::string at_label;
  std::string to_label;
  // get, prove
  std::vector<std::string> keys;
  std::string keys_file;
  std::string format = "json";
  int levels = 0;  // smt circom
  std::string out;
  // verify
  std::string root;
  std::string post_root;  // verkle
  std::string proof;
  // prune
  std::uint64_t target_version = 0;
  bool compact = false;

  bool smt() const { return scheme->scheme == kSmt; }
};

// Registers `arbor SCHEME` and its subcommands; the one parsed runs and sets `exit_code`: 0
// success, 1 rejected input / invalid proof / absent key, 2 could not run or bad arguments.
void add_tree_command(CLI::App& app, std::string_view scheme, int& exit_code);

// --version / --at-label as a selector (absent: the head).
void set_selector(const TreeCli& options, v1::VersionSelector& selector);
// FAILED_PRECONDITION unless `info` is a tree of the command's scheme.
absl::Status check_scheme(const TreeCli& options, const v1::TreeInfo& info);
// GetTree and check_scheme: 0, or the exit code after printing why not.
int require_tree(Connection& connection, const TreeCli& options);

// proof_command.cpp
int run_prove(const TreeCli& options);
int run_verify(const TreeCli& options);

}  // namespace arbor::cli
