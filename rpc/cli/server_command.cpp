#include "rpc/cli/server_command.hpp"

#include <condition_variable>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>

#include "absl/strings/str_cat.h"
#include "grpcpp/generic/generic_stub.h"
#include "nlohmann/json.hpp"
#include "rpc/cli/cli_support.hpp"
#include "rpc/cli/connection.hpp"
#include "rpc/cli/op_lines.hpp"
#include "rpc/cli/scheme_text.hpp"
#include "rpc/cli/watch_scan_command.hpp"

namespace arbor::cli {
namespace {

using Stub = v1::Arbor::StubInterface;

struct ServerCliOptions {
  ConnectionOptions connection;
  bool json = false;
  std::string tree;
  std::optional<std::uint64_t> version;
  std::string at_label;
  std::string name;
  std::string tx_id;
  std::uint32_t timeout_ms = 0;
  std::string file;
  std::string label;
  std::optional<std::uint64_t> expected_version;
  std::string scheme = "smt";  // tx add: the text form of the lines
};

using Connected = absl::StatusOr<std::unique_ptr<Connection>>;

Connected connect(const ServerCliOptions& options, Access access) {
  return open_connection(options.connection, access, /*compute=*/false);
}

nlohmann::json tree_json(const v1::TreeInfo& info) {
  return {{"name", info.name()},
          {"scheme", info.scheme()},
          {"params", nlohmann::json::parse(info.params_json(), nullptr, false)},
          {"version", info.version()},
          {"root", hex_text(info.root())},
          {"size", info.size()},
          {"oldest_version", info.oldest_version()},
          {"keep_versions", info.keep_versions()},
          {"label", info.label()},
          {"created_unix_ms", info.created_unix_ms()},
          {"committed_unix_ms", info.committed_unix_ms()}};
}

void print_tree(const v1::TreeInfo& info) {
  std::cout << "tree " << info.name() << "\nscheme " << info.scheme() << "\nparams "
            << info.params_json() << "\nversion " << info.version() << "\nroot "
            << hex_text(info.root()) << "\nsize " << info.size() << "\noldest version "
            << info.oldest_version() << "\nkeep versions " << info.keep_versions() << "\n";
  if (!info.label().empty()) std::cout << "label " << info.label() << "\n";
}

int run_trees(const ServerCliOptions& options) {
  Connected c = connect(options, Access::kRead);
  if (!c.ok()) return status_exit(c.status());
  v1::ListTreesResponse response;
  if (grpc::Status s = call(**c, &Stub::ListTrees, {}, response); !s.ok()) return grpc_exit(s);
  if (options.json) {
    nlohmann::json trees = nlohmann::json::array();
    for (const auto& tree : response.trees()) trees.push_back(tree_json(tree));
    std::cout << trees.dump() << "\n";
    return kExitOk;
  }
  for (const auto& tree : response.trees()) {
    std::cout << tree.name() << "  " << tree.scheme() << "  version " << tree.version() << "  size "
              << tree.size() << "  root " << hex_text(tree.root()) << "\n";
  }
  return kExitOk;
}

int run_info(const ServerCliOptions& options) {
  Connected c = connect(options, Access::kRead);
  if (!c.ok()) return status_exit(c.status());
  v1::GetTreeRequest request;
  request.set_tree(options.tree);
  if (!options.at_label.empty()) {
    request.mutable_at()->set_label(options.at_label);
  } else if (options.version) {
    request.mutable_at()->set_version(*options.version);
  }
  v1::TreeInfo info;
  if (grpc::Status s = call(**c, &Stub::GetTree, request, info); !s.ok()) return grpc_exit(s);
  if (options.json) {
    std::cout << tree_json(info).dump() << "\n";
  } else {
    print_tree(info);
  }
  return kExitOk;
}

void print_stats_json(const v1::StatsResponse& stats) {
  nlohmann::json trees = nlohmann::json::array();
  for (const auto& tree : stats.trees()) {
    trees.push_back({{"tree", tree.tree()},
                     {"scheme", tree.scheme()},
                     {"version", tree.version()},
                     {"size", tree.size()},
                     {"queued_writes", tree.queued_writes()},
                     {"queued_ops", tree.queued_ops()},
                     {"open_transactions", tree.open_transactions()},
                     {"writes", tree.writes()},
                     {"versions", tree.versions()}});
  }
  std::cout << nlohmann::json{{"backend", stats.backend()},
                              {"trees", trees},
                              {"store_commits", stats.store_commits()},
                              {"store_records_committed", stats.store_records_committed()},
                              {"block_cache_usage_bytes", stats.block_cache_usage_bytes()},
                              {"pending_compaction_bytes", stats.pending_compaction_bytes()},
                              {"commit_p50_us", stats.commit_p50_us()},
                              {"commit_p99_us", stats.commit_p99_us()},
                              {"uptime_ms", stats.uptime_ms()}}
                   .dump()
            << "\n";
}

int run_stats(const ServerCliOptions& options) {
  Connected c = connect(options, Access::kRead);
  if (!c.ok()) return status_exit(c.status());
  v1::StatsResponse stats;
  if (grpc::Status s = call(**c, &Stub::Stats, {}, stats); !s.ok()) return grpc_exit(s);
  if (options.json) {
    print_stats_json(stats);
    return kExitOk;
  }
  std::cout << "backend " << stats.backend() << "\nuptime " << stats.uptime_ms() / 1000.0
            << " s\nstore commits " << stats.store_commits() << " (p50 " << stats.commit_p50_us()
            << " us, p99 " << stats.commit_p99_us() << " us)\n";
  for (const auto& tree : stats.trees()) {
    std::cout << "tree " << tree.tree();
    if (!tree.scheme().empty()) std::cout << " (" << tree.scheme() << ")";
    std::cout << ": version " << tree.version() << ", size " << tree.size() << ", " << tree.writes()
              << " writes in " << tree.versions() << " versions since start, queue "
              << tree.queued_writes() << " writes / " << tree.queued_ops() << " ops, "
              << tree.open_transactions() << " open transactions\n";
  }
  return kExitOk;
}

// grpc.health.v1.Health/Check through the generic stub: the request (an empty service name) is
// zero bytes, and the answer's only field is the status enum (field 1, varint).
int run_health(const ServerCliOptions& options) {
  Connected c = connect(options, Access::kRead);
  if (!c.ok()) return status_exit(c.status());
  grpc::GenericStub stub((*c)->channel());
  grpc::ClientContext context;
  (*c)->prepare(context);
  if (options.connection.server.timeout_ms == 0) {
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }
  grpc::Slice empty("", 0);
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  std::mutex mutex;
  std::condition_variable done_changed;
  bool done = false;
  grpc::Status status;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   std::lock_guard lock(mutex);
                   status = std::move(s);
                   done = true;
                   done_changed.notify_all();
                 });
  {
    std::unique_lock lock(mutex);
    done_changed.wait(lock, [&] { return done; });
  }
  if (!status.ok()) return grpc_exit(status);
  std::vector<grpc::Slice> slices;
  (void)response.Dump(&slices);
  std::string bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  int serving = 0;  // UNKNOWN
  if (bytes.size() == 2 && bytes[0] == 0x08) serving = bytes[1];
  static const char* const kNames[] = {"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"};
  const char* name = serving >= 0 && serving < 4 ? kNames[serving] : "UNKNOWN";
  if (options.json) {
    std::cout << nlohmann::json{{"status", name}}.dump() << "\n";
  } else {
    std::cout << name << "\n";
  }
  return serving == 1 ? kExitOk : kExitRejected;
}

int run_checkpoint(const ServerCliOptions& options) {
  Connected c = connect(options, Access::kWrite);
  if (!c.ok()) return status_exit(c.status());
  v1::CheckpointRequest request;
  request.set_name(options.name);
  v1::CheckpointResponse response;
  if (grpc::Status s = call(**c, &Stub::Checkpoint, request, response); !s.ok()) {
    return grpc_exit(s);
  }
  if (options.json) {
    std::cout << nlohmann::json{{"path", response.path()}}.dump() << "\n";
  } else {
    std::cout << "checkpoint " << response.path() << "\n";
  }
  return kExitOk;
}

int run_tx_begin(const ServerCliOptions& options) {
  Connected c = connect(options, Access::kWrite);
  if (!c.ok()) return status_exit(c.status());
  v1::BeginTxRequest request;
  request.set_tree(options.tree);
  request.set_timeout_ms(options.timeout_ms);
  v1::BeginTxResponse response;
  if (grpc::Status s = call(**c, &Stub::BeginTx, request, response); !s.ok()) return grpc_exit(s);
  if (options.json) {
    std::cout
        << nlohmann::json{{"tx_id", response.tx_id()}, {"timeout_ms", response.timeout_ms()}}.dump()
        << "\n";
  } else {
    std::cout << response.tx_id() << "\n";
  }
  return kExitOk;
}

int run_tx_add(const ServerCliOptions& options) {
  const SchemeText* scheme = find_scheme_text(options.scheme);
  if (scheme == nullptr) return fail(kExitFailure, "--scheme: smt or verkle");
  std::vector<tree::Op> ops;
  if (int read = read_op_file(options.file, *scheme, ops); read != kExitOk) return read;
  Connected c = connect(options, Access::kWrite);
  if (!c.ok()) return status_exit(c.status());
  v1::AddToTxRequest request;
  request.set_tx_id(options.tx_id);
  ops_to_wire(ops, *request.mutable_ops());
  v1::AddToTxResponse response;
  if (grpc::Status s = call(**c, &Stub::AddToTx, request, response); !s.ok()) return grpc_exit(s);
  if (options.json) {
    std::cout << nlohmann::json{{"pending_ops", response.pending_ops()}}.dump() << "\n";
  } else {
    std::cout << "pending ops " << response.pending_ops() << "\n";
  }
  return kExitOk;
}

int run_tx_commit(const ServerCliOptions& options) {
  Connected c = connect(options, Access::kWrite);
  if (!c.ok()) return status_exit(c.status());
  v1::CommitTxRequest request;
  request.set_tx_id(options.tx_id);
  request.set_label(options.label);
  if (options.expected_version) request.set_expected_version(*options.expected_version);
  v1::WriteResponse response;
  if (grpc::Status s = call(**c, &Stub::CommitTx, request, response); !s.ok()) return grpc_exit(s);
  if (options.json) {
    std::cout << nlohmann::json{{"root", hex_text(response.root())},
                                {"version", response.version()},
                                {"entries", response.size()},
                                {"committed_unix_ms", response.committed_unix_ms()}}
                     .dump()
              << "\n";
  } else {
    std::cout << "root " << hex_text(response.root()) << "\nversion " << response.version() << "\n";
  }
  return kExitOk;
}

int run_tx_abort(const ServerCliOptions& options) {
  Connected c = connect(options, Access::kWrite);
  if (!c.ok()) return status_exit(c.status());
  v1::AbortTxRequest request;
  request.set_tx_id(options.tx_id);
  v1::AbortTxResponse response;
  if (grpc::Status s = call(**c, &Stub::AbortTx, request, response); !s.ok()) return grpc_exit(s);
  if (options.json) {
    std::cout << nlohmann::json{{"discarded_ops", response.discarded_ops()}}.dump() << "\n";
  } else {
    std::cout << "discarded ops " << response.discarded_ops() << "\n";
  }
  return kExitOk;
}

void add_tx_commands(
    CLI::App& app, const std::shared_ptr<ServerCliOptions>& options,
    const std::function<void(CLI::App*, Where, int (*)(const ServerCliOptions&))>& common) {
  // A transaction lives in a server between calls: with --data it would end with the process.
  CLI::App* tx = app.add_subcommand(
      "tx",
      "Transactions on arbord (--server): operations gathered over several calls, applied "
      "at commit");
  tx->require_subcommand(1);
  CLI::App* begin = tx->add_subcommand("begin", "Open a transaction; prints its id");
  common(begin, Where::kServerOnly, run_tx_begin);
  begin->add_option("--tree", options->tree, "Tree name")->required();
  begin->add_option("--idle-timeout-ms", options->timeout_ms,
                    "Idle time before the server discards it (0: the server's default)");
  CLI::App* add = tx->add_subcommand("add", "Add `put KEY VALUE` / `del KEY` lines");
  common(add, Where::kServerOnly, run_tx_add);
  add->add_option("tx", options->tx_id, "Transaction id")->required();
  add->add_option("--file", options->file, "Input file (default and '-': stdin)");
  add->add_option("--scheme", options->scheme,
                  "The lines' text form: smt (numbers < p) or verkle (32 bytes of hex)")
      ->check(CLI::IsMember({"smt", "verkle"}))
      ->capture_default_str();
  CLI::App* commit = tx->add_subcommand("commit", "Apply everything added as one version");
  common(commit, Where::kServerOnly, run_tx_commit);
  commit->add_option("tx", options->tx_id, "Transaction id")->required();
  commit->add_option("--label", options->label, "Label stored with the version");
  commit->add_option("--expected-version", options->expected_version,
                     "Refuse unless the tree is at this version");
  CLI::App* abort = tx->add_subcommand("abort", "Discard a transaction");
  common(abort, Where::kServerOnly, run_tx_abort);
  abort->add_option("tx", options->tx_id, "Transaction id")->required();
}

}  // namespace

void add_server_commands(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<ServerCliOptions>();
  auto common = [options, &exit_code](CLI::App* command, Where where,
                                      int (*run)(const ServerCliOptions&)) {
    add_connection_options(command, options->connection, where);
    command->add_flag("--json", options->json, "Print JSON");
    command->callback([options, &exit_code, where, run] {
      if (where == Where::kDataOrServer) require_location(options->connection);
      exit_code = run(*options);
    });
  };

  CLI::App* trees = app.add_subcommand("trees", "List the trees");
  common(trees, Where::kDataOrServer, run_trees);

  CLI::App* info = app.add_subcommand("info", "A tree's root, version, size, scheme and params");
  common(info, Where::kDataOrServer, run_info);
  info->add_option("--tree", options->tree, "Tree name")->required();
  info->add_option("--version", options->version, "A retained version (default: the head)");
  info->add_option("--at-label", options->at_label, "The newest version with this label");

  CLI::App* stats = app.add_subcommand("stats", "The backend, queues and store");
  common(stats, Where::kDataOrServer, run_stats);

  CLI::App* health =
      app.add_subcommand("health", "grpc.health.v1 status: SERVING exits 0, anything else 1");
  common(health, Where::kDataOrServer, run_health);

  CLI::App* checkpoint = app.add_subcommand(
      "checkpoint",
      "Write a consistent copy of the store under its checkpoint dir (--data: DIR/checkpoints)");
  common(checkpoint, Where::kDataOrServer, run_checkpoint);
  checkpoint->add_option("name", options->name, "Checkpoint name")->required();

  add_tx_commands(app, options, common);
  add_watch_scan_commands(app, exit_code);
}

}  // namespace arbor::cli
