#include "rpc/cli/connection.hpp"

#include <chrono>
#include <cstdlib>
#include <limits>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "host/service/engine.hpp"
#include "host/service/service_config.hpp"
#include "rpc/client/arbor_client.hpp"
#include "rpc/server/arbor_service.hpp"
#include "storage/store_options.hpp"

namespace arbor::cli {
namespace {

class RemoteConnection final : public Connection {
 public:
  explicit RemoteConnection(std::unique_ptr<rpc::ArborClient> client)
      : client_(std::move(client)) {}
  v1::Arbor::StubInterface& stub() override { return client_->stub(); }
  std::shared_ptr<grpc::Channel> channel() override { return client_->channel(); }
  void prepare(grpc::ClientContext& context) const override { client_->prepare(context); }
  bool local() const override { return false; }
  const std::string& location() const override { return client_->address(); }

 private:
  std::unique_ptr<rpc::ArborClient> client_;
};

// What the engine reports after each applied version; read back by apply --stats.
class ApplyStatsSink {
 public:
  void record(const tree::ApplyStats& stats) {
    std::lock_guard lock(mutex_);
    last_ = stats;
  }
  std::optional<tree::ApplyStats> last() const {
    std::lock_guard lock(mutex_);
    return last_;
  }

 private:
  mutable std::mutex mutex_;
  std::optional<tree::ApplyStats> last_;
};

// arbor.v1 served in this process on an engine of its own, reached through an in-process channel
// (no port is opened).
class LocalConnection final : public Connection {
 public:
  static absl::StatusOr<std::unique_ptr<LocalConnection>> open(
      const service::EngineOptions& options, std::uint32_t timeout_ms);
  ~LocalConnection() override;

  v1::Arbor::StubInterface& stub() override { return *stub_; }
  std::shared_ptr<grpc::Channel> channel() override { return channel_; }
  void prepare(grpc::ClientContext& context) const override {
    if (timeout_ms_ > 0) {
      context.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::milliseconds(timeout_ms_));
    }
  }
  bool local() const override { return true; }
  const std::string& location() const override { return location_; }
  std::optional<tree::ApplyStats> last_apply_stats() const override { return stats_->last(); }

 private:
  std::shared_ptr<ApplyStatsSink> stats_ = std::make_shared<ApplyStatsSink>();
  std::unique_ptr<service::Engine> engine_;
  std::unique_ptr<rpc::ArborService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Arbor::Stub> stub_;
  std::string location_;
  std::uint32_t timeout_ms_ = 0;
};

absl::StatusOr<std::unique_ptr<LocalConnection>> LocalConnection::open(
    const service::EngineOptions& options, std::uint32_t timeout_ms) {
  auto connection = std::make_unique<LocalConnection>();
  connection->location_ = options.data_dir.string();
  connection->timeout_ms_ = timeout_ms;
  service::EngineObserver observer;
  observer.on_batch = [sink = connection->stats_](const service::BatchReport& report) {
    if (report.ok) sink->record(report.stats);
  };
  absl::StatusOr<std::unique_ptr<service::Engine>> engine =
      service::Engine::open(options, std::move(observer));
  // Not the request's fault: a missing or locked directory, a damaged store, no GPU.
  if (!engine.ok()) return absl::UnavailableError(std::string(engine.status().message()));
  connection->engine_ = std::move(*engine);

  connection->service_ = std::make_unique<rpc::ArborService>(service::AuthConfig{});
  connection->service_->set_engine(connection->engine_.get());
  // The same message limit as arbord's default, so a request too large for one is too large for
  // the other.
  const int max_message = static_cast<int>(service::ServiceConfig{}.max_message_bytes);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.SetMaxReceiveMessageSize(max_message);
  builder.SetMaxSendMessageSize(max_message);
  builder.RegisterService(connection->service_.get());
  connection->server_ = builder.BuildAndStart();
  if (!connection->server_) return absl::InternalError("cannot start the in-process service");
  connection->server_->GetHealthCheckService()->SetServingStatus(true);
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(max_message);
  arguments.SetMaxSendMessageSize(max_message);
  connection->channel_ = connection->server_->InProcessChannel(arguments);
  connection->stub_ = v1::Arbor::NewStub(connection->channel_);
  return connection;
}

LocalConnection::~LocalConnection() {
  // Streams first (a watch would hold Shutdown for its whole grace), then the RPCs, then the
  // engine they used.
  if (service_) service_->begin_shutdown();
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(10));
    server_->Wait();
  }
  if (service_) service_->set_engine(nullptr);
  if (engine_) engine_->shutdown();
}

absl::StatusOr<service::EngineOptions> engine_options(const ConnectionOptions& options,
                                                      Access access, bool compute) {
  service::EngineOptions engine;
  // A one-shot command builds tables only if it computes (apply, prove), on first use.
  engine.warm_up_schemes = false;
  // An empty data_dir is a stateless engine: no store, only Verify.
  engine.data_dir =
      access == Access::kStateless ? std::filesystem::path() : std::filesystem::path(options.data);
  engine.read_only = access == Access::kRead;
  engine.store.create_if_missing = access == Access::kCreate;
  absl::StatusOr<storage::SyncMode> sync = storage::parse_sync_mode(options.sync);
  if (!sync.ok()) return sync.status();
  engine.store.sync = *sync;
  engine.backend = host::BackendChoice::kCpu;
  if (compute) {
    absl::StatusOr<host::BackendChoice> backend = host::parse_backend_choice(options.backend);
    if (!backend.ok()) return backend.status();
    engine.backend = *backend;
  }
  engine.checkpoint_dir = engine.data_dir / "checkpoints";  // where arbord puts them by default
  // One process, one caller: the limits that keep a shared server fair would only refuse a large
  // apply here, and there is no one to coalesce with.
  constexpr std::uint64_t kUnlimited = std::numeric_limits<std::uint64_t>::max();
  engine.batcher.max_queue_ops = kUnlimited;
  engine.batcher.max_delay = std::chrono::microseconds(0);
  engine.tx.max_ops_per_tx = kUnlimited;
  engine.tx.max_total_ops = kUnlimited;
  return engine;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Connection>> open_connection(const ConnectionOptions& options,
                                                            Access access, bool compute) {
  if (!options.server.address.empty()) {
    rpc::ClientOptions client;
    client.address = options.server.address;
    client.token = options.server.token;
    if (client.token.empty()) {
      if (const char* token = std::getenv("ARBOR_TOKEN")) client.token = token;
    }
    client.tls = options.server.tls || !options.server.ca_file.empty();
    client.ca_file = options.server.ca_file;
    client.timeout = std::chrono::milliseconds(options.server.timeout_ms);
    absl::StatusOr<std::unique_ptr<rpc::ArborClient>> connected = rpc::ArborClient::connect(client);
    if (!connected.ok()) return absl::UnavailableError(std::string(connected.status().message()));
    return std::make_unique<RemoteConnection>(std::move(*connected));
  }
  if (options.data.empty() && access != Access::kStateless) {
    return absl::InvalidArgumentError("give --data DIR or --server HOST:PORT");
  }
  absl::StatusOr<service::EngineOptions> engine = engine_options(options, access, compute);
  if (!engine.ok()) return engine.status();
  absl::StatusOr<std::unique_ptr<LocalConnection>> local =
      LocalConnection::open(*engine, options.server.timeout_ms);
  if (!local.ok()) return local.status();
  return std::unique_ptr<Connection>(std::move(*local));
}

CLI::Option* add_connection_options(CLI::App* command, ConnectionOptions& options, Where where) {
  CLI::Option* data = nullptr;
  if (where == Where::kDataOrServer) {
    data = command->add_option("--data", options.data,
                               "Data directory: run the service in this process on it");
  }
  CLI::Option* server = command->add_option(
      "--server", options.server.address,
      where == Where::kOptionalServer ? "arbord address HOST:PORT: let it do the work"
                                      : "arbord address HOST:PORT: go through the service");
  if (where == Where::kServerOnly) server->required();
  if (data != nullptr) data->excludes(server);
  command->add_option("--token", options.server.token, "Bearer token (default: $ARBOR_TOKEN)")
      ->needs(server);
  command->add_flag("--tls", options.server.tls, "Connect with TLS")->needs(server);
  command
      ->add_option("--ca-file", options.server.ca_file, "TLS: PEM roots to trust (default: system)")
      ->needs(server);
  command->add_option("--timeout-ms", options.server.timeout_ms, "Per-call deadline (0 = none)");
  return server;
}

void add_backend_option(CLI::App* command, ConnectionOptions& options, CLI::Option* server) {
  command
      ->add_option("--backend", options.backend,
                   "Compute backend here (not with --server): auto, cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))
      ->excludes(server)
      ->capture_default_str();
}

void add_sync_option(CLI::App* command, ConnectionOptions& options, CLI::Option* server) {
  command
      ->add_option("--sync", options.sync, "--data: durability of the write: full, async or none")
      ->check(CLI::IsMember({"full", "async", "none"}))
      ->excludes(server)
      ->capture_default_str();
}

void require_location(const ConnectionOptions& options) {
  if (options.data.empty() && options.server.address.empty()) {
    throw CLI::RequiredError("--data DIR or --server HOST:PORT");
  }
}

}  // namespace arbor::cli
