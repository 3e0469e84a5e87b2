#include "rpc/cli/server_command.hpp"

#include <fstream>
#include <iostream>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "grpcpp/generic/generic_stub.h"
#include "kernels/field/bn254_fr_text.hpp"
#include "nlohmann/json.hpp"
#include "rpc/cli/cli_support.hpp"
#include "rpc/cli/op_lines.hpp"
#include "rpc/server/wire.hpp"

namespace arbor::cli {
namespace {

struct ServerCliOptions {
  ServerOptions server;
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
};

std::string hex_root(const std::string& wire) {
  absl::StatusOr<field::Fr> root = rpc::field_from_wire(wire, "root");
  return root.ok() ? field::to_hex(*root) : "(malformed)";
}

nlohmann::json tree_json(const v1::TreeInfo& info) {
  return {{"name", info.name()},
          {"scheme", info.scheme()},
          {"params", nlohmann::json::parse(info.params_json(), nullptr, false)},
          {"version", info.version()},
          {"root", hex_root(info.root())},
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
            << hex_root(info.root()) << "\nsize " << info.size() << "\noldest version "
            << info.oldest_version() << "\nkeep versions " << info.keep_versions() << "\n";
  if (!info.label().empty()) std::cout << "label " << info.label() << "\n";
}

using Client = std::unique_ptr<rpc::ArborClient>;

int with_client(const ServerCliOptions& options,
                const std::function<int(rpc::ArborClient&)>& body) {
  absl::StatusOr<Client> client = connect(options.server);
  if (!client.ok()) return status_exit(client.status());
  return body(**client);
}

int run_trees(const ServerCliOptions& options) {
  return with_client(options, [&](rpc::ArborClient& client) {
    v1::ListTreesResponse response;
    grpc::ClientContext context;
    client.prepare(context);
    if (grpc::Status status = client.stub().ListTrees(&context, {}, &response); !status.ok()) {
      return grpc_exit(status);
    }
    if (options.json) {
      nlohmann::json trees = nlohmann::json::array();
      for (const auto& tree : response.trees()) trees.push_back(tree_json(tree));
      std::cout << trees.dump() << "\n";
      return kExitOk;
    }
    for (const auto& tree : response.trees()) {
      std::cout << tree.name() << "  " << tree.scheme() << "  version " << tree.version()
                << "  size " << tree.size() << "  root " << hex_root(tree.root()) << "\n";
    }
    return kExitOk;
  });
}

int run_info(const ServerCliOptions& options) {
  return with_client(options, [&](rpc::ArborClient& client) {
    v1::GetTreeRequest request;
    request.set_tree(options.tree);
    if (!options.at_label.empty()) {
      request.mutable_at()->set_label(options.at_label);
    } else if (options.version) {
      request.mutable_at()->set_version(*options.version);
    }
    v1::TreeInfo info;
    grpc::ClientContext context;
    client.prepare(context);
    if (grpc::Status status = client.stub().GetTree(&context, request, &info); !status.ok()) {
      return grpc_exit(status);
    }
    if (options.json) {
      std::cout << tree_json(info).dump() << "\n";
    } else {
      print_tree(info);
    }
    return kExitOk;
  });
}

int run_stats(const ServerCliOptions& options) {
  return with_client(options, [&](rpc::ArborClient& client) {
    v1::StatsResponse stats;
    grpc::ClientContext context;
    client.prepare(context);
    if (grpc::Status status = client.stub().Stats(&context, {}, &stats); !status.ok()) {
      return grpc_exit(status);
    }
    if (options.json) {
      nlohmann::json trees = nlohmann::json::array();
      for (const auto& tree : stats.trees()) {
        trees.push_back({{"tree", tree.tree()},
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
      return kExitOk;
    }
    std::cout << "backend " << stats.backend() << "\nuptime " << stats.uptime_ms() / 1000.0
              << " s\nstore commits " << stats.store_commits() << " (p50 " << stats.commit_p50_us()
              << " us, p99 " << stats.commit_p99_us() << " us)\n";
    for (const auto& tree : stats.trees()) {
      std::cout << "tree " << tree.tree() << ": version " << tree.version() << ", size "
                << tree.size() << ", " << tree.writes() << " writes in " << tree.versions()
                << " versions since start, queue " << tree.queued_writes() << " writes / "
                << tree.queued_ops() << " ops, " << tree.open_transactions()
                << " open transactions\n";
    }
    return kExitOk;
  });
}

// grpc.health.v1.Health/Check through the generic stub: the request (an empty service name) is
// zero bytes, and the answer's only field is the status enum (field 1, varint).
int run_health(const ServerCliOptions& options) {
  return with_client(options, [&](rpc::ArborClient& client) {
    grpc::GenericStub stub(client.channel());
    grpc::ClientContext context;
    client.prepare(context);
    if (options.server.timeout_ms == 0) {
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    }
    grpc::ByteBuffer request;
    grpc::ByteBuffer response;
    std::mutex mutex;
    std::condition_variable done_changed;
    bool done = false;
    grpc::Status status;
    grpc::Slice empty("", 0);
    request = grpc::ByteBuffer(&empty, 1);
    stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                   &response, [&](grpc::Status s) {
                     std::lock_guard lock(mutex);
                     status = std::move(s);
                     done = true;
                     done_changed.notify_all();
                   });
    std::unique_lock lock(mutex);
    done_changed.wait(lock, [&] { return done; });
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
  });
}

int run_checkpoint(const ServerCliOptions& options) {
  return with_client(options, [&](rpc::ArborClient& client) {
    v1::CheckpointRequest request;
    request.set_name(options.name);
    v1::CheckpointResponse response;
    grpc::ClientContext context;
    client.prepare(context);
    if (grpc::Status status = client.stub().Checkpoint(&context, request, &response);
        !status.ok()) {
      return grpc_exit(status);
    }
    if (options.json) {
      std::cout << nlohmann::json{{"path", response.path()}}.dump() << "\n";
    } else {
      std::cout << "checkpoint " << response.path() << "\n";
    }
    return kExitOk;
  });
}

int run_tx_begin(const ServerCliOptions& options) {
  return with_client(options, [&](rpc::ArborClient& client) {
    v1::BeginTxRequest request;
    request.set_tree(options.tree);
    request.set_timeout_ms(options.timeout_ms);
    v1::BeginTxResponse response;
    grpc::ClientContext context;
    client.prepare(context);
    if (grpc::Status status = client.stub().BeginTx(&context, request, &response); !status.ok()) {
      return grpc_exit(status);
    }
    if (options.json) {
      std::cout << nlohmann::json{{"tx_id", response.tx_id()},
                                  {"timeout_ms", response.timeout_ms()}}
                       .dump()
                << "\n";
    } else {
      std::cout << response.tx_id() << "\n";
    }
    return kExitOk;
  });
}

int run_tx_add(const ServerCliOptions& options) {
  v1::AddToTxRequest request;
  request.set_tx_id(options.tx_id);
  std::vector<smt::SmtOp> ops;
  if (int read = read_op_file(options.file, ops); read != kExitOk) return read;
  ops_to_wire(ops, *request.mutable_ops());
  return with_client(options, [&](rpc::ArborClient& client) {
    v1::AddToTxResponse response;
    grpc::ClientContext context;
    client.prepare(context);
    if (grpc::Status status = client.stub().AddToTx(&context, request, &response); !status.ok()) {
      return grpc_exit(status);
    }
    if (options.json) {
      std::cout << nlohmann::json{{"pending_ops", response.pending_ops()}}.dump() << "\n";
    } else {
      std::cout << "pending ops " << response.pending_ops() << "\n";
    }
    return kExitOk;
  });
}

int run_tx_commit(const ServerCliOptions& options) {
  return with_client(options, [&](rpc::ArborClient& client) {
    v1::CommitTxRequest request;
    request.set_tx_id(options.tx_id);
    request.set_label(options.label);
    if (options.expected_version) request.set_expected_version(*options.expected_version);
    v1::WriteResponse response;
    grpc::ClientContext context;
    client.prepare(context);
    if (grpc::Status status = client.stub().CommitTx(&context, request, &response); !status.ok()) {
      return grpc_exit(status);
    }
    if (options.json) {
      std::cout << nlohmann::json{{"root", hex_root(response.root())},
                                  {"version", response.version()}}
                       .dump()
                << "\n";
    } else {
      std::cout << "root " << hex_root(response.root()) << "\nversion " << response.version()
                << "\n";
    }
    return kExitOk;
  });
}

int run_tx_abort(const ServerCliOptions& options) {
  return with_client(options, [&](rpc::ArborClient& client) {
    v1::AbortTxRequest request;
    request.set_tx_id(options.tx_id);
    v1::AbortTxResponse response;
    grpc::ClientContext context;
    client.prepare(context);
    if (grpc::Status status = client.stub().AbortTx(&context, request, &response); !status.ok()) {
      return grpc_exit(status);
    }
    if (options.json) {
      std::cout << nlohmann::json{{"discarded_ops", response.discarded_ops()}}.dump() << "\n";
    } else {
      std::cout << "discarded ops " << response.discarded_ops() << "\n";
    }
    return kExitOk;
  });
}

}  // namespace

void add_server_commands(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<ServerCliOptions>();
  auto run = [options, &exit_code](int (*command)(const ServerCliOptions&)) {
    return [options, &exit_code, command] { exit_code = command(*options); };
  };
  auto common = [&](CLI::App* command) {
    add_server_options(command, options->server, true);
    command->add_flag("--json", options->json, "Print JSON");
  };

  CLI::App* trees = app.add_subcommand("trees", "List the server's trees");
  common(trees);
  trees->callback(run(run_trees));

  CLI::App* info = app.add_subcommand("info", "A tree's root, version, size, scheme and params");
  common(info);
  info->add_option("--tree", options->tree, "Tree name")->required();
  info->add_option("--version", options->version, "A retained version (default: the head)");
  info->add_option("--at-label", options->at_label, "The newest version with this label");
  info->callback(run(run_info));

  CLI::App* stats = app.add_subcommand("stats", "The server's backend, queues and store");
  common(stats);
  stats->callback(run(run_stats));

  CLI::App* health =
      app.add_subcommand("health", "grpc.health.v1 status: SERVING exits 0, anything else 1");
  common(health);
  health->callback(run(run_health));

  CLI::App* checkpoint = app.add_subcommand(
      "checkpoint", "Write a consistent copy of the server's store under its checkpoint dir");
  common(checkpoint);
  checkpoint->add_option("name", options->name, "Checkpoint name")->required();
  checkpoint->callback(run(run_checkpoint));

  CLI::App* tx = app.add_subcommand(
      "tx", "Transactions: operations gathered over several calls, applied at commit");
  tx->require_subcommand(1);
  CLI::App* begin = tx->add_subcommand("begin", "Open a transaction; prints its id");
  common(begin);
  begin->add_option("--tree", options->tree, "Tree name")->required();
  begin->add_option("--idle-timeout-ms", options->timeout_ms,
                    "Idle time before the server discards it (0: the server's default)");
  begin->callback(run(run_tx_begin));
  CLI::App* add = tx->add_subcommand("add", "Add `put KEY VALUE` / `del KEY` lines");
  common(add);
  add->add_option("tx", options->tx_id, "Transaction id")->required();
  add->add_option("--file", options->file, "Input file (default and '-': stdin)");
  add->callback(run(run_tx_add));
  CLI::App* commit = tx->add_subcommand("commit", "Apply everything added as one version");
  common(commit);
  commit->add_option("tx", options->tx_id, "Transaction id")->required();
  commit->add_option("--label", options->label, "Label stored with the version");
  commit->add_option("--expected-version", options->expected_version,
                     "Refuse unless the tree is at this version");
  commit->callback(run(run_tx_commit));
  CLI::App* abort = tx->add_subcommand("abort", "Discard a transaction");
  common(abort);
  abort->add_option("tx", options->tx_id, "Transaction id")->required();
  abort->callback(run(run_tx_abort));
}

}  // namespace arbor::cli
