#include "rpc/cli/tree_command.hpp"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <span>

#include "absl/strings/str_cat.h"
#include "host/smt/smt_records.hpp"
#include "kernels/verkle/banderwagon.hpp"
#include "nlohmann/json.hpp"
#include "rpc/cli/cli_support.hpp"
#include "rpc/cli/op_lines.hpp"
#include "rpc/cli/verkle_tree_key.hpp"

namespace arbor::cli {
namespace {

using Stub = v1::Arbor::StubInterface;

absl::StatusOr<std::unique_ptr<Connection>> connect(const TreeCli& o, Access access,
                                                    bool compute = false) {
  return open_connection(o.connection, access, compute);
}

// What apply, root and rollback print about a version.
struct VersionView {
  std::string root;  // wire
  std::uint64_t version = 0;
  std::uint64_t entries = 0;
  std::int64_t committed_unix_ms = 0;
};

VersionView view_of(const v1::TreeInfo& info) {
  return {info.root(), info.version(), info.size(), info.committed_unix_ms()};
}

// Verkle: map_to_field(root) as 32 bytes little-endian, the form some clients hash with.
absl::StatusOr<std::string> verkle_root_hash(const std::string& root) {
  absl::StatusOr<verkle::Point> point = verkle::deserialize(
      std::span(reinterpret_cast<const std::uint8_t*>(root.data()), root.size()));
  if (!point.ok()) {
    return absl::DataLossError(absl::StrCat(
        "the root ", hex_text(root), " is not a point: ", std::string(point.status().message())));
  }
  const std::array<std::uint8_t, 32> hash = verkle::map_to_scalar_field_bytes(*point);
  return hex_text(std::string(hash.begin(), hash.end()));
}

nlohmann::json stats_json(const tree::ApplyStats& s) {
  return {{"ops", s.ops},
          {"inserted", s.inserted},
          {"updated", s.updated},
          {"deleted", s.deleted},
          {"absent_deletes", s.absent_deletes},
          {"nodes_read", s.nodes_read},
          {"records_written", s.records_written},
          {"bytes_written", s.bytes_written},
          {"leaf_hashes", s.leaf_hashes},
          {"node_hashes", s.node_hashes},
          {"commitment_deltas", s.commitment_deltas},
          {"read_ms", s.read_ms},
          {"plan_ms", s.plan_ms},
          {"compute_ms", s.compute_ms},
          {"commit_ms", s.commit_ms}};
}

void print_stats(const tree::ApplyStats& s) {
  std::cerr << "ops " << s.ops << " (inserted " << s.inserted << ", updated " << s.updated
            << ", deleted " << s.deleted << ", absent deletes " << s.absent_deletes
            << "), nodes read " << s.nodes_read << ", records written " << s.records_written << " ("
            << s.bytes_written << " bytes)";
  if (s.leaf_hashes + s.node_hashes > 0) {
    std::cerr << ", Poseidon hashes " << s.leaf_hashes << " leaf / " << s.node_hashes << " node";
  }
  if (s.commitment_deltas > 0) std::cerr << ", fixed-base multiplications " << s.commitment_deltas;
  std::cerr << "; read " << s.read_ms << " ms, plan " << s.plan_ms << " ms, compute "
            << s.compute_ms << " ms, commit " << s.commit_ms << " ms\n";
}

int print_version(const TreeCli& o, const VersionView& v,
                  const std::optional<tree::ApplyStats>& stats = std::nullopt) {
  std::optional<std::string> hash;
  if (o.hash) {
    absl::StatusOr<std::string> mapped = verkle_root_hash(v.root);
    if (!mapped.ok()) return status_exit(mapped.status());
    hash = *mapped;
  }
  if (o.json) {
    nlohmann::json out{{"root", o.scheme->format(v.root)},
                       {"version", v.version},
                       {"entries", v.entries},
                       {"committed_unix_ms", v.committed_unix_ms}};
    if (hash) out["root_hash_le"] = *hash;
    if (stats) out["stats"] = stats_json(*stats);
    std::cout << out.dump() << "\n";
    return kExitOk;
  }
  std::cout << "root " << o.scheme->format(v.root) << "\n";
  if (hash) std::cout << "root_hash " << *hash << "\n";
  std::cout << "version " << v.version << "\n";
  if (stats) print_stats(*stats);
  return kExitOk;
}

// The max depth a created SMT reports in its parameters ({"max_depth":64}).
int max_depth_of(const v1::TreeInfo& info, int fallback) {
  const nlohmann::json params = nlohmann::json::parse(info.params_json(), nullptr, false);
  if (params.is_object() && params.contains("max_depth") && params["max_depth"].is_number()) {
    return params["max_depth"].get<int>();
  }
  return fallback;
}

int create_tree(const TreeCli& o) {
  absl::StatusOr<std::unique_ptr<Connection>> c = connect(o, Access::kCreate);
  if (!c.ok()) return status_exit(c.status());
  v1::CreateTreeRequest request;
  request.set_name(o.tree);
  request.set_scheme(std::string(o.scheme->scheme));
  if (o.smt()) request.set_max_depth(static_cast<std::uint32_t>(o.max_depth));
  request.set_keep_versions(o.keep_versions);
  v1::TreeInfo info;
  if (grpc::Status s = call(**c, &Stub::CreateTree, request, info); !s.ok()) return grpc_exit(s);
  const int max_depth = max_depth_of(info, o.max_depth);
  if (o.json) {
    nlohmann::json out{{"tree", info.name()}, {"scheme", info.scheme()}};
    if (o.smt()) out["max_depth"] = max_depth;
    out[(*c)->local() ? "data" : "server"] = (*c)->location();
    std::cout << out.dump() << "\n";
    return kExitOk;
  }
  std::cout << "created " << o.scheme->title << " \"" << info.name() << "\"";
  if (o.smt()) std::cout << " (max depth " << max_depth << ")";
  std::cout << ((*c)->local() ? " in " : " on ") << (*c)->location() << "\n";
  return kExitOk;
}

int run_create(const TreeCli& o) {
  // CreateTree reads 0 as "the default": the CLI's default is explicit, so 0 is a mistake here.
  if (o.smt() && (o.max_depth < 1 || o.max_depth > smt::kMaxDepthLimit)) {
    return fail(kExitRejected,
                absl::StrCat("max depth must be 1..", smt::kMaxDepthLimit, ", got ", o.max_depth));
  }
  std::error_code ignored;
  const bool local = o.connection.server.address.empty();
  const bool existed = local && std::filesystem::exists(o.connection.data, ignored);
  const int code = create_tree(o);  // the store is closed when it returns
  // A refused create leaves no new, empty data directory behind.
  if (code != kExitOk && local && !existed) std::filesystem::remove_all(o.connection.data, ignored);
  return code;
}

// Small batches go as one Write; larger ones (or any with --progress) stream as one transaction
// in chunks. Atomic either way.
grpc::Status write_ops(Connection& c, const TreeCli& o, const std::vector<tree::Op>& ops,
                       v1::WriteResponse& response) {
  const std::uint64_t chunk = std::max<std::uint64_t>(o.chunk_ops, 1);
  if (ops.size() <= chunk && !o.progress) {
    v1::WriteRequest request;
    request.set_tree(o.tree);
    ops_to_wire(ops, *request.mutable_ops());
    if (o.expected_version) request.set_expected_version(*o.expected_version);
    request.set_label(o.label);
    return call(c, &Stub::Write, request, response);
  }
  ProgressBar progress("applying", ops.size(), o.progress);
  grpc::ClientContext context;
  c.prepare(context);
  std::unique_ptr<grpc::ClientWriterInterface<v1::TransactionRequest>> stream =
      c.stub().Transaction(&context, &response);
  for (std::uint64_t at = 0;; at += chunk) {
    const std::uint64_t end = std::min<std::uint64_t>(ops.size(), at + chunk);
    v1::TransactionRequest message;
    if (at == 0) message.set_tree(o.tree);
    ops_to_wire(std::span(ops).subspan(at, end - at), *message.mutable_ops());
    if (end == ops.size()) {
      message.set_commit(true);
      if (o.expected_version) message.set_expected_version(*o.expected_version);
      message.set_label(o.label);
    }
    // A refused write ends the stream; Finish() says why.
    if (!stream->Write(message)) break;
    progress.update(end);
    if (end == ops.size()) break;
  }
  stream->WritesDone();
  grpc::Status status = stream->Finish();
  progress.finish();
  return status;
}

int run_apply(const TreeCli& o) {
  std::vector<tree::Op> ops;
  if (int read = read_op_file(o.file, *o.scheme, ops); read != kExitOk) return read;
  absl::StatusOr<std::unique_ptr<Connection>> c = connect(o, Access::kWrite, /*compute=*/true);
  if (!c.ok()) return status_exit(c.status());
  if (int checked = require_tree(**c, o); checked != kExitOk) return checked;
  v1::WriteResponse response;
  if (grpc::Status s = write_ops(**c, o, ops, response); !s.ok()) return grpc_exit(s);
  std::optional<tree::ApplyStats> stats;
  if (o.stats) stats = (*c)->last_apply_stats();
  return print_version(
      o, {response.root(), response.version(), response.size(), response.committed_unix_ms()},
      stats);
}

int run_root(const TreeCli& o) {
  absl::StatusOr<std::unique_ptr<Connection>> c = connect(o, Access::kRead);
  if (!c.ok()) return status_exit(c.status());
  v1::GetTreeRequest request;
  request.set_tree(o.tree);
  set_selector(o, *request.mutable_at());
  v1::TreeInfo info;
  if (grpc::Status s = call(**c, &Stub::GetTree, request, info); !s.ok()) return grpc_exit(s);
  if (absl::Status scheme = check_scheme(o, info); !scheme.ok()) return status_exit(scheme);
  return print_version(o, view_of(info));
}

int run_get(const TreeCli& o) {
  absl::StatusOr<std::string> key = o.scheme->parse(o.keys.at(0), "key");
  if (!key.ok()) return fail(kExitRejected, key.status().message());
  absl::StatusOr<std::unique_ptr<Connection>> c = connect(o, Access::kRead);
  if (!c.ok()) return status_exit(c.status());
  if (int checked = require_tree(**c, o); checked != kExitOk) return checked;
  v1::GetRequest request;
  request.set_tree(o.tree);
  request.set_key(*key);
  set_selector(o, *request.mutable_at());
  v1::GetResponse response;
  if (grpc::Status s = call(**c, &Stub::Get, request, response); !s.ok()) return grpc_exit(s);
  const std::string key_text = o.scheme->format(*key);
  if (o.json) {
    nlohmann::json out{{"key", key_text},
                       {"found", response.found()},
                       {"version", response.version()},
                       {"committed_unix_ms", response.committed_unix_ms()}};
    if (response.found()) out["value"] = o.scheme->format(response.value());
    std::cout << out.dump() << "\n";
    return response.found() ? kExitOk : kExitRejected;
  }
  if (!response.found()) {
    return fail(kExitRejected, absl::StrCat("key ", key_text, " is not in the tree"));
  }
  std::cout << o.scheme->format(response.value()) << "\n";
  return kExitOk;
}

int run_rollback(const TreeCli& o) {
  if (o.to_label.empty() == !o.version) {
    return fail(kExitRejected, o.version ? "give a VERSION or --to-label, not both"
                                         : "rollback needs a VERSION or --to-label LABEL");
  }
  absl::StatusOr<std::unique_ptr<Connection>> c = connect(o, Access::kWrite);
  if (!c.ok()) return status_exit(c.status());
  if (int checked = require_tree(**c, o); checked != kExitOk) return checked;
  v1::RollbackRequest request;
  request.set_tree(o.tree);
  if (o.version) {
    request.mutable_to()->set_version(*o.version);
  } else {
    request.mutable_to()->set_label(o.to_label);
  }
  v1::TreeInfo info;
  if (grpc::Status s = call(**c, &Stub::Rollback, request, info); !s.ok()) return grpc_exit(s);
  return print_version(o, view_of(info));
}

int run_prune(const TreeCli& o) {
  absl::StatusOr<std::unique_ptr<Connection>> c = connect(o, Access::kWrite);
  if (!c.ok()) return status_exit(c.status());
  if (int checked = require_tree(**c, o); checked != kExitOk) return checked;
  v1::PruneRequest request;
  request.set_tree(o.tree);
  request.set_oldest_version(o.target_version);
  request.set_compact(o.compact);
  v1::PruneResponse pruned;
  if (grpc::Status s = call(**c, &Stub::Prune, request, pruned); !s.ok()) return grpc_exit(s);
  if (o.json) {
    std::cout << nlohmann::json{{"oldest_version", pruned.oldest_version()},
                                {"versions_dropped", pruned.versions_dropped()},
                                {"records_deleted", pruned.records_deleted()}}
                     .dump()
              << "\n";
  } else {
    std::cout << "oldest version " << pruned.oldest_version() << "\nversions dropped "
              << pruned.versions_dropped() << "\nrecords deleted " << pruned.records_deleted()
              << "\n";
  }
  return kExitOk;
}

// ---- registration -------------------------------------------------------------------------------

using Command = int (*)(const TreeCli&);
// Makes `command` run `run` with the shared options.
using Runs = std::function<void(CLI::App* command, Command run)>;

// --data / --server and the rest, --tree, --json; returns --server.
CLI::Option* add_tree_options(CLI::App* command, TreeCli& o) {
  CLI::Option* server = add_connection_options(command, o.connection, Where::kDataOrServer);
  command->add_option("--tree", o.tree, "Tree name")->required();
  command->add_flag("--json", o.json, "Print JSON");
  return server;
}

void add_version_options(CLI::App* command, TreeCli& o) {
  command->add_option("--version", o.version, "A retained version (default: the head)");
  command->add_option("--at-label", o.at_label,
                      "The newest retained version written with this label");
}

void add_hash_option(CLI::App* command, TreeCli& o) {
  if (o.smt()) return;
  command->add_flag("--hash", o.hash,
                    "Also print map_to_field(root) as 32 bytes little-endian (root_hash)");
}

void add_write_commands(CLI::App* tree, TreeCli& o, const Runs& runs) {
  CLI::App* create = tree->add_subcommand("create", "Create an empty tree");
  add_sync_option(create, o.connection, add_tree_options(create, o));
  if (o.smt()) {
    create->add_option("--max-depth", o.max_depth, "Deepest level a leaf may sit at, 1..254")
        ->capture_default_str();
  }
  create->add_option("--keep-versions", o.keep_versions, "Versions kept readable (0 = all)")
      ->capture_default_str();
  runs(create, run_create);

  CLI::App* apply = tree->add_subcommand(
      "apply", o.smt() ? "Apply `put KEY VALUE` / `del KEY` lines as one new version; prints the "
                         "root and version"
                       : "Apply `put KEY VALUE` / `del KEY` lines as one new version (the last "
                         "line of a key wins; deletes remove values as go-verkle does, before the "
                         "batch's puts); prints root and version");
  CLI::Option* server = add_tree_options(apply, o);
  add_hash_option(apply, o);
  apply->add_option("--file", o.file, "Input file (default and '-': stdin)");
  apply->add_option("--label", o.label, "Label stored with the version (e.g. a block)");
  apply->add_option("--expected-version", o.expected_version,
                    "Refuse (exit 1, nothing applied) unless the tree is at this version");
  apply->add_flag("--progress", o.progress,
                  "Stream in chunks with a progress bar (rate, ETA) on stderr");
  apply
      ->add_option("--chunk-ops", o.chunk_ops,
                   "Operations per message; larger inputs stream as one transaction")
      ->capture_default_str();
  apply
      ->add_flag("--stats", o.stats,
                 "--data: what the batch did and where the time went (stderr; in --json output). "
                 "The service does not report it, so not with --server")
      ->excludes(server);
  add_backend_option(apply, o.connection, server);
  add_sync_option(apply, o.connection, server);
  runs(apply, run_apply);
}

void add_read_commands(CLI::App* tree, TreeCli& o, const Runs& runs) {
  CLI::App* root = tree->add_subcommand("root", "Print the root and version");
  add_tree_options(root, o);
  add_version_options(root, o);
  add_hash_option(root, o);
  runs(root, run_root);

  CLI::App* get = tree->add_subcommand("get", "Print a key's value (exit 1 when absent)");
  add_tree_options(get, o);
  get->add_option("key", o.keys, "Key")->required()->expected(1);
  add_version_options(get, o);
  runs(get, run_get);

  CLI::App* prove = tree->add_subcommand(
      "prove", o.smt() ? "Prove keys present or absent: one key a single proof, several one "
                         "multi-proof (binary, JSON or circom SMTVerifier input)"
                       : "Print an EIP-6800 execution witness for the keys: their values "
                         "(stateDiff) and the Verkle multiproof (go-verkle JSON, or Arbor's binary "
                         "form), verifiable against the version's root");
  CLI::Option* server = add_tree_options(prove, o);
  add_version_options(prove, o);
  prove->add_option("keys", o.keys, "Key(s)");
  prove->add_option("--keys-file", o.keys_file,
                    "Also prove the keys in this file, one per line ('-' = stdin)");
  prove->add_option("--format", o.format, o.smt() ? "binary, json or circom" : "json or binary")
      ->capture_default_str();
  if (o.smt()) prove->add_option("--levels", o.levels, "circom: the circuit's nLevels");
  prove->add_option("--out", o.out, "Write the proof here (default: stdout)");
  if (!o.smt()) add_backend_option(prove, o.connection, server);
  runs(prove, run_prove);
}

void add_version_commands(CLI::App* tree, TreeCli& o, const Runs& runs) {
  CLI::App* rollback =
      tree->add_subcommand("rollback", "Make a retained version the head, dropping later ones");
  add_sync_option(rollback, o.connection, add_tree_options(rollback, o));
  add_hash_option(rollback, o);
  rollback->add_option("version", o.version, "Version");
  rollback->add_option("--to-label", o.to_label,
                       "Roll back to the newest retained version with this label");
  runs(rollback, run_rollback);

  CLI::App* prune = tree->add_subcommand("prune", "Drop the versions below a version");
  add_sync_option(prune, o.connection, add_tree_options(prune, o));
  prune->add_option("version", o.target_version, "The new oldest version")->required();
  prune->add_flag("--compact", o.compact, "Also compact, returning the space now");
  runs(prune, run_prune);
}

void add_verify_command(CLI::App* tree, TreeCli& o, const Runs& runs) {
  CLI::App* verify = tree->add_subcommand(
      "verify", o.smt() ? "Check a proof file (binary, JSON or circom; detected) against a root, "
                          "with no tree. Exit 0 valid, 1 invalid, 2 error"
                        : "Check an execution witness (JSON or binary, detected) against a "
                          "pre-state root, with no tree: exit 0 valid, 1 invalid (the reason on "
                          "stderr), 2 could not run");
  verify
      ->add_option(
          "--root", o.root,
          o.smt() ? "The root, decimal or 0x-hex" : "The pre-state root (32-byte compressed, hex)")
      ->required();
  verify->add_option("--proof", o.proof, "Proof file ('-' = stdin)")->required();
  CLI::Option* server = add_connection_options(verify, o.connection, Where::kOptionalServer);
  verify->add_flag("--json", o.json, "Print JSON");
  if (!o.smt()) {
    verify
        ->add_option("--post-root", o.post_root,
                     "Also apply the witness's newValues and require this post-state root. The "
                     "Verify RPC has no post-state check: this runs here, so not with --server")
        ->excludes(server);
    add_backend_option(verify, o.connection, server);
  }
  runs(verify, run_verify);
}

}  // namespace

void set_selector(const TreeCli& o, v1::VersionSelector& selector) {
  if (!o.at_label.empty()) {
    selector.set_label(o.at_label);
  } else if (o.version) {
    selector.set_version(*o.version);
  }
}

absl::Status check_scheme(const TreeCli& o, const v1::TreeInfo& info) {
  if (info.scheme() == o.scheme->scheme) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat("tree \"", info.name(), "\" is not ",
                                                    std::string(o.scheme->a_title),
                                                    " (its scheme is ", info.scheme(), ")"));
}

int require_tree(Connection& c, const TreeCli& o) {
  v1::GetTreeRequest request;
  request.set_tree(o.tree);
  v1::TreeInfo info;
  if (grpc::Status s = call(c, &Stub::GetTree, request, info); !s.ok()) return grpc_exit(s);
  if (absl::Status scheme = check_scheme(o, info); !scheme.ok()) return status_exit(scheme);
  return kExitOk;
}

void add_tree_command(CLI::App& app, std::string_view scheme, int& exit_code) {
  auto options = std::make_shared<TreeCli>();
  options->scheme = &scheme_text(scheme);
  const bool smt = options->smt();
  CLI::App* tree = app.add_subcommand(
      std::string(scheme),
      absl::StrCat(smt ? "The Poseidon sparse Merkle tree (iden3/circomlib-compatible)"
                       : "The EIP-6800 Verkle tree (go-verkle / rust-verkle / @ethereumjs/verkle "
                         "compatible)",
                   ", on a data directory (--data DIR) or through arbord (--server HOST:PORT), "
                   "with the same output; ",
                   std::string(options->scheme->operands), "."));
  tree->require_subcommand(1);
  // Commands on a tree need --data or --server; verify needs neither.
  auto runs = [options, &exit_code](CLI::App* command, Command run) {
    const bool needs_location = command->get_name() != "verify";
    command->callback([options, &exit_code, run, needs_location] {
      if (needs_location) require_location(options->connection);
      exit_code = run(*options);
    });
  };
  add_write_commands(tree, *options, runs);
  add_read_commands(tree, *options, runs);
  add_verify_command(tree, *options, runs);
  add_version_commands(tree, *options, runs);
  if (!smt) add_tree_key_command(tree, exit_code);
}

}  // namespace arbor::cli
