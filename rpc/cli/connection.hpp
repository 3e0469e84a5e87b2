// Where an `arbor` command sends its RPCs: a running arbord (--server), or the same gRPC service
// run inside this process on a data directory (--data) or on no store at all (stateless: proof
// verification). Every command is written once against the stub, so what it prints cannot depend
// on where it ran.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "arbor/v1/arbor.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "host/tree/tree.hpp"

namespace arbor::cli {

struct ServerOptions {
  std::string address;  // empty: not through a server
  std::string token;    // default: $ARBOR_TOKEN
  bool tls = false;
  std::string ca_file;
  std::uint32_t timeout_ms = 0;
};

struct ConnectionOptions {
  std::string data;  // --data DIR
  ServerOptions server;
  std::string sync = "full";  // --data: durability of writes
  std::string backend =
      "auto";  // --data or stateless: the compute backend of commands that compute
};

// What the command does with the store, which decides how a data directory is opened.
enum class Access {
  kStateless,  // no store (verify); --server when given
  kRead,       // read-only: works beside a running arbord
  kWrite,      // the directory must exist
  kCreate,     // may create the directory
};

class Connection {
 public:
  virtual ~Connection() = default;
  virtual v1::Arbor::StubInterface& stub() = 0;
  // For services other than arbor.v1 (grpc.health.v1).
  virtual std::shared_ptr<grpc::Channel> channel() = 0;
  // Token and deadline of one call.
  virtual void prepare(grpc::ClientContext& context) const = 0;
  // True for a service in this process (--data, stateless).
  virtual bool local() const = 0;
  // The data directory or the server address.
  virtual const std::string& location() const = 0;
  // In-process only: the statistics of the last version the engine applied (apply --stats).
  virtual std::optional<tree::ApplyStats> last_apply_stats() const { return std::nullopt; }
};

// --server when given, else --data, else (kStateless only) no store. `compute` says the command
// computes in bulk (applies, Verkle proofs): only then does --backend matter locally; other local
// commands use the CPU. A data directory that cannot be opened is UNAVAILABLE (exit 2).
absl::StatusOr<std::unique_ptr<Connection>> open_connection(const ConnectionOptions& options,
                                                            Access access, bool compute);

// One unary call on `connection` with its token and deadline.
template <class Request, class Response>
grpc::Status call(Connection& connection,
                  grpc::Status (v1::Arbor::StubInterface::*method)(grpc::ClientContext*,
                                                                   const Request&, Response*),
                  const Request& request, Response& response) {
  grpc::ClientContext context;
  connection.prepare(context);
  return (connection.stub().*method)(&context, request, &response);
}

// Which of --data / --server a command takes.
enum class Where {
  kDataOrServer,    // exactly one of them (checked by require_location)
  kServerOnly,      // --server required
  kOptionalServer,  // --server or nothing (stateless)
};
// --data (where it applies), --server, --token, --tls, --ca-file, --timeout-ms; --data and
// --server exclude each other. Returns the --server option, for commands that add options it
// excludes.
CLI::Option* add_connection_options(CLI::App* command, ConnectionOptions& options, Where where);
// --backend (auto|cpu|cuda) and --sync (full|async|none): --data only, so both exclude --server.
void add_backend_option(CLI::App* command, ConnectionOptions& options, CLI::Option* server);
void add_sync_option(CLI::App* command, ConnectionOptions& options, CLI::Option* server);
// Throws CLI11's RequiredError unless --data or --server was given (kDataOrServer commands call
// it from their callback, so the error exits 2 like every argument error).
void require_location(const ConnectionOptions& options);

}  // namespace arbor::cli
