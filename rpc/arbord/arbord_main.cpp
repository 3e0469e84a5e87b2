// `arbord`: the Arbor service. gRPC (arbor.v1, grpc.health.v1, reflection) on one port,
// Prometheus metrics and /healthz over HTTP on another, an embedded RocksDB store under --data.
//
// Start-up order: the ports open first with health NOT_SERVING, so orchestrators see the process
// while a large store opens; then the engine opens, health turns SERVING, and only then the one
// "listening" line goes to stdout (scripts may send RPCs once they have read it). SIGTERM or
// SIGINT: health NOT_SERVING while RPCs are still served for shutdown_drain_ms; then no new RPCs;
// writes still queued shortly before shutdown_grace_ms (counted from the signal) are answered
// UNAVAILABLE without being applied; then the store is closed cleanly.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "host/replication/replicator.hpp"
#include "host/service/engine.hpp"
#include "host/service/service_config.hpp"
#include "rpc/server/arbor_service.hpp"
#include "rpc/server/request_guard.hpp"
#include "rpc/server/server_metrics.hpp"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"

namespace {

using arbor::service::ServiceConfig;

constexpr int kExitOk = 0;
constexpr int kExitConfig = 1;
constexpr int kExitFailure = 2;

struct Flags {
  std::string config_file;
  std::string data;
  std::string listen;
  std::string metrics_listen;
  std::string backend;
  std::string sync;
  std::string log_level;
  std::string checkpoint_dir;
  bool print_config = false;
  bool no_metrics = false;
  bool follow = false;
  std::string nats;
  std::string leader_address;
  std::string advertise_address;
};

absl::StatusOr<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::StatusOr<ServiceConfig> effective_config(const Flags& flags) {
  ServiceConfig config = arbor::service::default_service_config();
  if (!flags.config_file.empty()) {
    absl::StatusOr<ServiceConfig> loaded = arbor::service::load_service_config(flags.config_file);
    if (!loaded.ok()) return loaded.status();
    config = std::move(*loaded);
  }
  const bool checkpoint_follows_data =
      config.engine.checkpoint_dir == config.engine.data_dir / "checkpoints";
  if (!flags.data.empty()) config.engine.data_dir = flags.data;
  if (!flags.checkpoint_dir.empty()) {
    config.engine.checkpoint_dir = flags.checkpoint_dir;
  } else if (checkpoint_follows_data) {
    config.engine.checkpoint_dir = config.engine.data_dir / "checkpoints";
  }
  if (!flags.listen.empty()) config.listen = flags.listen;
  if (!flags.metrics_listen.empty()) config.metrics_listen = flags.metrics_listen;
  if (flags.no_metrics) config.metrics_listen.clear();
  if (!flags.log_level.empty()) config.log_level = flags.log_level;
  if (!flags.backend.empty()) {
    absl::StatusOr<arbor::host::BackendChoice> backend =
        arbor::host::parse_backend_choice(flags.backend);
    if (!backend.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--backend: ", std::string(backend.status().message())));
    }
    config.engine.backend = *backend;
  }
  if (!flags.sync.empty()) {
    absl::StatusOr<arbor::storage::SyncMode> sync = arbor::storage::parse_sync_mode(flags.sync);
    if (!sync.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--sync: ", std::string(sync.status().message())));
    }
    config.engine.store.sync = *sync;
  }
  if (!flags.nats.empty()) config.replication.nats = absl::StrSplit(flags.nats, ',');
  if (flags.follow) config.replication.role = "follower";
  if (!flags.leader_address.empty()) config.replication.leader_address = flags.leader_address;
  if (!flags.advertise_address.empty()) {
    config.replication.advertise_address = flags.advertise_address;
  }
  if (flags.follow && !config.replication.enabled()) {
    return absl::InvalidArgumentError(
        "--follow: a follower needs the log's NATS servers (--nats or [replication] nats)");
  }
  if (absl::Status valid = arbor::service::validate_service_config(config); !valid.ok()) {
    return valid;
  }
  return config;
}

bool is_loopback(const std::string& address) {
  const std::string host = address.substr(0, address.rfind(':'));
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "[::1]" || host == "::1";
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> server_credentials(
    const ServiceConfig& config) {
  if (!config.tls.enabled()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options;
  absl::StatusOr<std::string> cert = read_file(config.tls.cert_file);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = read_file(config.tls.key_file);
  if (!key.ok()) return key.status();
  options.pem_key_cert_pairs.push_back({*key, *cert});
  if (!config.tls.client_ca_file.empty()) {
    absl::StatusOr<std::string> ca = read_file(config.tls.client_ca_file);
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *ca;
    options.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

// The metrics/health HTTP endpoint on its own thread.
class MetricsEndpoint {
 public:
  MetricsEndpoint(const arbor::rpc::ServerMetrics& metrics, const std::atomic<int>& state)
      : metrics_(metrics), state_(state) {}
  ~MetricsEndpoint() { stop(); }

  // Binds now (so a bad address fails start-up) and serves in the background; returns the port.
  absl::StatusOr<int> start(const std::string& address) {
    const size_t colon = address.rfind(':');
    std::string host = address.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    const int wanted = std::stoi(address.substr(colon + 1));
    // httplib's default options include SO_REUSEPORT, which would let a second arbord bind this
    // port too and take half the scrapes; SO_REUSEADDR alone still refuses a port in use.
    server_.set_socket_options([](socket_t sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    });
    server_.Get("/metrics", [this](const httplib::Request&, httplib::Response& response) {
      response.set_content(metrics_.render(), "text/plain; version=0.0.4; charset=utf-8");
    });
    server_.Get("/healthz", [this](const httplib::Request&, httplib::Response& response) {
      static const char* const kStates[] = {"starting\n", "ok\n", "stopping\n"};
      const int state = state_.load();
      const arbor::rpc::ServerMetrics::HealthDetail detail = metrics_.health_detail();
      // A store that failed serves reads but no writes until a restart: not healthy. A full disk
      // clears by itself when space returns, so it is only reported.
      const bool store_failed = detail.store.code() == absl::StatusCode::kUnavailable;
      // A replica whose log disagrees with its store serves only what it held: not healthy.
      const bool replication_failed =
          detail.replication &&
          detail.replication->state == arbor::replication::ReplicaState::kFailed;
      const bool failed = store_failed || replication_failed;
      response.status = state == 1 && !failed ? 200 : 503;
      std::string body = failed && state == 1 ? "failed\n" : kStates[state];
      if (!detail.store.ok()) {
        body += absl::StrCat("writes refused: ", std::string(detail.store.message()), "\n");
      }
      if (detail.replication) {
        const arbor::replication::ReplicaStatus& replica = *detail.replication;
        body += absl::StrCat(
            "replication: ", std::string(arbor::replication::to_string(replica.state)),
            ", log position ", replica.position, " (log last seen at ", replica.log_last, ")",
            replica.unreplicated == 0
                ? ""
                : absl::StrCat(", ", replica.unreplicated, " changes not in the log yet"),
            replica.failure.empty() ? "" : ": " + replica.failure, "\n");
      }
      // Still serving, only slower: said here so that an operator sees a GPU node on its CPU.
      if (!detail.backend_fallback.empty()) {
        body += "backend on the CPU: " + detail.backend_fallback + "\n";
      }
      response.set_content(body, "text/plain; charset=utf-8");
    });
    int port = -1;
    if (wanted == 0) {
      port = server_.bind_to_any_port(host);
    } else if (server_.bind_to_port(host, wanted)) {
      port = wanted;
    }
    if (port <= 0) {
      return absl::UnavailableError(absl::StrCat(
          "cannot listen on ", address,
          " for metrics: the port is in use (another arbord?) or the address is not local"));
    }
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    return port;
  }

  void stop() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

 private:
  const arbor::rpc::ServerMetrics& metrics_;
  const std::atomic<int>& state_;
  httplib::Server server_;
  std::thread thread_;
};

// Turns gRPC health NOT_SERVING once the store has failed (a write error only a restart clears)
// or replication has stopped (the log and this store disagree), checking every 500 ms; a full disk
// leaves it SERVING (reads go on; it clears by itself).
class FailureWatch {
 public:
  FailureWatch(const arbor::service::Engine& engine,
               const arbor::replication::Replicator* replicator,
               grpc::HealthCheckServiceInterface& health)
      : thread_([this, &engine, replicator, &health] { watch(engine, replicator, health); }) {}
  ~FailureWatch() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  void watch(const arbor::service::Engine& engine, const arbor::replication::Replicator* replicator,
             grpc::HealthCheckServiceInterface& health) {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stopping_; })) {
      absl::Status failed = engine.store_health();
      if (failed.code() != absl::StatusCode::kUnavailable) failed = absl::OkStatus();
      if (failed.ok() && replicator != nullptr) failed = replicator->health();
      if (failed.ok()) continue;
      spdlog::critical("health NOT_SERVING: {}", std::string(failed.message()));
      health.SetServingStatus(false);
      health.SetServingStatus("arbor.v1.Arbor", false);
      return;
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

// Starts replication (host/replication/replicator.hpp) on the open engine. A stream just created on
// a new cluster needs an election (4-9 s) before it answers: start-up waits up to a minute.
absl::StatusOr<std::unique_ptr<arbor::replication::Replicator>> start_replication(
    const ServiceConfig& config, arbor::service::Engine& engine, int grpc_port) {
  const arbor::service::ReplicationConfig& replication = config.replication;
  arbor::replication::ReplicatorOptions options;
  options.log.servers = replication.nats;
  options.log.stream = replication.stream;
  options.log.subject = absl::StrCat("arbor.log.", replication.shard);
  options.log.replicas = replication.replicas;
  options.log.max_age = std::chrono::hours(replication.retention_hours);
  options.role = replication.role == "follower"
                     ? arbor::replication::ReplicatorOptions::Role::kFollower
                     : arbor::replication::ReplicatorOptions::Role::kLeader;
  options.leader_address = replication.leader_address;
  options.advertise_address = replication.advertise_address;
  if (options.advertise_address.empty()) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    options.advertise_address = absl::StrCat(host, ":", grpc_port);
  }
  options.log.lease_ttl = std::chrono::milliseconds(replication.lease_ttl_ms);
  options.retry_for = std::chrono::milliseconds(replication.retry_for_ms);
  options.ack = replication.ack == "leader" ? arbor::replication::ReplicatorOptions::Ack::kLeader
                                            : arbor::replication::ReplicatorOptions::Ack::kQuorum;
  options.max_unreplicated = replication.max_unreplicated;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (true) {
    absl::StatusOr<std::unique_ptr<arbor::replication::Replicator>> started =
        arbor::replication::Replicator::start(engine, options);
    if (started.ok() || started.status().code() != absl::StatusCode::kUnavailable ||
        std::chrono::steady_clock::now() > deadline) {
      return started;
    }
    spdlog::warn("replication: {}; retrying", started.status().ToString());
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

// Stops the server's RPCs by `grace_ends`. At `grace_ends - margin`, writes that are still queued
// are refused (UNAVAILABLE, not applied) so that their RPCs end with an answer instead of holding
// shutdown past the grace; a version being applied finishes and its writes are answered as usual.
void stop_rpcs_within_grace(grpc::Server& server, arbor::service::Engine& engine,
                            std::chrono::steady_clock::time_point grace_ends,
                            std::chrono::milliseconds margin) {
  std::mutex mutex;
  std::condition_variable wake;
  bool rpcs_done = false;
  std::thread refuse_late_writes([&] {
    std::unique_lock lock(mutex);
    if (wake.wait_until(lock, grace_ends - margin, [&] { return rpcs_done; })) return;
    lock.unlock();
    const std::uint64_t refused = engine.refuse_queued_writes();
    spdlog::warn("shutdown grace nearly over: {} queued writes answered UNAVAILABLE, not applied",
                 refused);
  });
  server.Shutdown(std::chrono::system_clock::now() +
                  std::chrono::duration_cast<std::chrono::system_clock::duration>(
                      grace_ends - std::chrono::steady_clock::now()));
  server.Wait();
  {
    std::lock_guard lock(mutex);
    rpcs_done = true;
  }
  wake.notify_all();
  refuse_late_writes.join();
}

int serve(const ServiceConfig& config) {
  // Signals go to one waiting thread, never to a thread inside gRPC or RocksDB.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<std::unique_ptr<arbor::rpc::ServerMetrics>> metrics =
      arbor::rpc::ServerMetrics::create();
  if (!metrics.ok()) {
    spdlog::critical("metrics: {}", metrics.status().ToString());
    return kExitFailure;
  }
  std::atomic<int> state{0};  // 0 starting, 1 serving, 2 stopping

  arbor::rpc::ArborService service(config.auth, (*metrics)->rpc_observer());
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials = server_credentials(config);
  if (!credentials.ok()) {
    spdlog::critical("tls: {}", credentials.status().ToString());
    return kExitConfig;
  }
  if (!is_loopback(config.listen) && !config.tls.enabled()) {
    spdlog::warn("listening on {} without TLS: traffic (and any bearer token) is in clear text",
                 config.listen);
  }
  if (!is_loopback(config.listen) && !config.auth.enabled()) {
    spdlog::warn("listening on {} without tokens: anyone who reaches the port can write",
                 config.listen);
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int grpc_port = 0;
  // gRPC sets SO_REUSEPORT by default: a second server on the same port would then share its
  // clients, each served from a different store. Off, a port in use fails start-up.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(config.listen, *credentials, &grpc_port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(config.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(config.max_message_bytes));
  builder.RegisterService(&service);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(arbor::rpc::make_undecodable_request_interceptor_factory());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  arbor::rpc::install_protobuf_log_limiter();
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || grpc_port == 0) {
    spdlog::critical(
        "cannot listen on {} for gRPC: the port is in use (another arbord?) or the address is "
        "not local",
        config.listen);
    return kExitFailure;
  }
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  health->SetServingStatus(false);
  health->SetServingStatus("arbor.v1.Arbor", false);

  MetricsEndpoint endpoint(**metrics, state);
  int metrics_port = 0;
  if (!config.metrics_listen.empty()) {
    absl::StatusOr<int> port = endpoint.start(config.metrics_listen);
    if (!port.ok()) {
      spdlog::critical("{}", std::string(port.status().message()));
      server->Shutdown();
      return kExitFailure;
    }
    metrics_port = *port;
  }
  const std::string grpc_address =
      absl::StrCat(config.listen.substr(0, config.listen.rfind(':')), ":", grpc_port);
  std::string metrics_address = "off";
  if (!config.metrics_listen.empty()) {
    metrics_address =
        absl::StrCat("http://", config.metrics_listen.substr(0, config.metrics_listen.rfind(':')),
                     ":", metrics_port, "/metrics");
  }
  spdlog::info("gRPC on {}, metrics {}: opening the store in {} (NOT_SERVING until it is open)",
               grpc_address, metrics_address, config.engine.data_dir.string());

  // A write's answer is one gRPC message: the engine refuses, before applying, proofs that could
  // not be sent.
  arbor::service::EngineOptions engine_options = config.engine;
  engine_options.max_answer_bytes = config.max_message_bytes;
  engine_options.replicated = config.replication.enabled();
  absl::StatusOr<std::unique_ptr<arbor::service::Engine>> engine =
      arbor::service::Engine::open(engine_options, (*metrics)->engine_observer());
  if (!engine.ok()) {
    spdlog::critical("cannot open the store in {}: {}", config.engine.data_dir.string(),
                     engine.status().ToString());
    server->Shutdown();
    endpoint.stop();
    return kExitFailure;
  }
  std::unique_ptr<arbor::replication::Replicator> replicator;
  if (config.replication.enabled()) {
    absl::StatusOr<std::unique_ptr<arbor::replication::Replicator>> started =
        start_replication(config, **engine, grpc_port);
    if (!started.ok()) {
      spdlog::critical("cannot start replication on {}: {}",
                       absl::StrJoin(config.replication.nats, ","), started.status().ToString());
      server->Shutdown();
      endpoint.stop();
      return kExitFailure;
    }
    replicator = std::move(*started);
    // Its state and position are on /metrics and /healthz during the catch-up too.
    (*metrics)->set_replicator(replicator.get());
    spdlog::info("replication: {} on stream {} ({}), ack {}", config.replication.role,
                 config.replication.stream, absl::StrJoin(config.replication.nats, ","),
                 config.replication.ack);
    // SERVING, and the listening line, once the node has read the log up to its tail: before
    // that a leader takes no writes and a follower's reads are older than they need be.
    const arbor::replication::ReplicaState ready =
        config.replication.role == "follower" ? arbor::replication::ReplicaState::kFollowing
                                              : arbor::replication::ReplicaState::kLeading;
    while (replicator->wait_for(ready, std::chrono::seconds(5)) ==
           arbor::replication::ReplicaState::kCatchingUp) {
      const arbor::replication::ReplicaStatus status = replicator->status();
      spdlog::info("replication: catching up, at log position {} of {}", status.position,
                   status.log_last);
    }
  }
  service.set_engine(engine->get());
  (*metrics)->set_engine(engine->get());
  // A replica whose log disagrees with its store serves reads of what it holds, NOT_SERVING.
  const bool serving = replicator == nullptr || replicator->health().ok();
  health->SetServingStatus(serving);
  health->SetServingStatus("arbor.v1.Arbor", serving);
  state = 1;
  spdlog::info("serving: backend {}, sync {}", (*engine)->backend().description(),
               std::string(arbor::storage::to_string(config.engine.store.sync)));
  // One line on stdout once RPCs are served, for people and for scripts that started us on port 0.
  std::cout << "arbord: listening on " << grpc_address << " (gRPC"
            << (config.tls.enabled() ? ", TLS" : "") << "), metrics " << metrics_address
            << ", data " << config.engine.data_dir.string() << std::endl;

  int signal_number = 0;
  {
    FailureWatch failure_watch(**engine, replicator.get(), *health);
    sigwait(&signals, &signal_number);
  }
  const auto stopping_since = std::chrono::steady_clock::now();
  const auto grace_ends = stopping_since + std::chrono::milliseconds(config.shutdown_grace_ms);
  spdlog::info("{}: NOT_SERVING; draining for {} ms, then in-flight RPCs get the rest of {} ms",
               signal_number == SIGTERM ? "SIGTERM" : "SIGINT", config.shutdown_drain_ms,
               config.shutdown_grace_ms);
  state = 2;
  health->SetServingStatus(false);
  health->SetServingStatus("arbor.v1.Arbor", false);
  // The drain: RPCs are still served while load balancers see NOT_SERVING. A second signal ends
  // it early.
  const timespec drain{static_cast<time_t>(config.shutdown_drain_ms / 1000),
                       static_cast<long>(config.shutdown_drain_ms % 1000) * 1'000'000};
  if (sigtimedwait(&signals, nullptr, &drain) > 0) spdlog::info("second signal: drain cut short");
  service.begin_shutdown();
  stop_rpcs_within_grace(*server, **engine, grace_ends,
                         std::min<std::chrono::milliseconds>(
                             std::chrono::milliseconds(1000),
                             std::chrono::milliseconds(config.shutdown_grace_ms / 10)));
  spdlog::info("gRPC stopped after {} ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                               std::chrono::steady_clock::now() - stopping_since)
                                               .count());
  (*metrics)->set_replicator(nullptr);
  (*metrics)->set_engine(nullptr);
  service.set_engine(nullptr);
  // The log stops being read first; the engine still logs the writes it drains; then the
  // replicator detaches.
  if (replicator) replicator->stop();
  (*engine)->shutdown();
  replicator.reset();
  engine->reset();
  endpoint.stop();
  spdlog::info("stopped; the store is closed");
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "arbord: the Arbor service (gRPC arbor.v1 with health and reflection, Prometheus "
      "metrics), on an embedded RocksDB store"};
  Flags flags;
  app.add_option("--config", flags.config_file, "TOML configuration file (flags override it)");
  app.add_option("--data", flags.data, "Data directory (default ./data)");
  app.add_option("--listen", flags.listen, "gRPC address HOST:PORT (default 127.0.0.1:50051)");
  app.add_option("--metrics-listen", flags.metrics_listen,
                 "Metrics/healthz HTTP address HOST:PORT (default 127.0.0.1:9464)");
  app.add_flag("--no-metrics", flags.no_metrics, "Serve no metrics endpoint");
  app.add_option("--backend", flags.backend, "Compute backend: auto (default), cpu or cuda");
  app.add_option("--sync", flags.sync, "Durability: full (default), async or none");
  app.add_option("--checkpoint-dir", flags.checkpoint_dir,
                 "Where Checkpoint writes (default DATA/checkpoints)");
  app.add_option("--log-level", flags.log_level, "trace, debug, info (default), warn, error");
  app.add_option("--nats", flags.nats,
                 "Replicate through this NATS JetStream cluster: nats://HOST:PORT[,...] (see "
                 "[replication])");
  app.add_flag("--follow", flags.follow,
               "Run as a replica that follows the leader's log (needs --nats); it serves reads and "
               "refuses writes");
  app.add_option("--leader-address", flags.leader_address,
                 "Where clients write (HOST:PORT), named in a follower's refusals");
  app.add_option("--advertise-address", flags.advertise_address,
                 "This node's address for clients (HOST:PORT), held in the leadership lease "
                 "(default HOSTNAME:PORT)");
  app.add_flag("--print-config", flags.print_config, "Print the effective configuration and exit");
  CLI11_PARSE(app, argc, argv);

  auto logger = spdlog::stderr_color_mt("arbord");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

  absl::StatusOr<ServiceConfig> config = effective_config(flags);
  if (!config.ok()) {
    std::cerr << "arbord: " << config.status().message() << "\n";
    return kExitConfig;
  }
  if (flags.print_config) {
    std::cout << arbor::service::describe_service_config(*config);
    return kExitOk;
  }
  spdlog::set_level(spdlog::level::from_str(config->log_level));
  return serve(*config);
}
