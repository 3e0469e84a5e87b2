// arbord's configuration: a TOML file (every key optional, unknown keys refused so a typo is not
// silently ignored) with command-line flags applied on top. The defaults are what `arbord` does
// with no configuration at all: an embedded store in ./data, gRPC and metrics on localhost only.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "host/service/engine.hpp"

namespace arbor::service {

struct TlsConfig {
  std::string cert_file;       // PEM; TLS is on when cert_file and key_file are set
  std::string key_file;        // PEM
  std::string client_ca_file;  // PEM; when set, clients must present a certificate it signed
  bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
};

struct AuthConfig {
  // With no tokens at all, every RPC is open (and the server should listen on localhost only).
  // With any token, every RPC needs `authorization: Bearer <token>`: a write token for RPCs that
  // change state, a read or write token for the rest.
  std::vector<std::string> write_tokens;
  std::vector<std::string> read_tokens;
  bool enabled() const { return !write_tokens.empty() || !read_tokens.empty(); }
};

// Replication on NATS JetStream (host/replication/README.md). Off (nats empty) by default: arbord
// then behaves as an unreplicated server.
struct ReplicationConfig {
  std::vector<std::string> nats;  // nats://host:port of the cluster's servers
  std::string role = "leader";    // "leader" or "follower" (arbord --follow)
  // "quorum": a write is answered once the log's quorum holds it. "leader": once this node has
  // committed it (the log gets it moments later; a failover before then loses it).
  std::string ack = "quorum";
  // ack = "leader": at most this many changes committed here wait for the log; writes beyond are
  // refused (UNAVAILABLE) until it takes them.
  std::uint32_t max_unreplicated = 10'000;
  std::string stream = "ARBOR_LOG";
  std::uint32_t shard = 0;  // subject arbor.log.<shard>
  int replicas = 3;         // the stream's replication factor (a new stream)
  // How long the stream keeps entries (a new stream): longer than the checkpoint interval, or a
  // replica down longer needs a checkpoint.
  std::uint32_t retention_hours = 7 * 24;
  std::uint32_t retry_for_ms = 15'000;  // an append with no answer is retried this long
  std::string leader_address;  // named in a follower's refusals while no lease holder is known
  // This node's address for clients, stored in the leadership lease so that followers name it;
  // empty: HOSTNAME:PORT of the gRPC listener. Must differ between nodes.
  std::string advertise_address;
  // The leadership lease's TTL (a new bucket): a leader that cannot refresh it for this long stops
  // leading, and a follower may take over. Keep it above NATS elections (4-9 s).
  std::uint32_t lease_ttl_ms = 10'000;
  bool enabled() const { return !nats.empty(); }
};

struct ServiceConfig {
  EngineOptions engine;
  std::string listen = "127.0.0.1:50051";
  std::string metrics_listen = "127.0.0.1:9464";  // empty: no metrics endpoint
  std::string log_level = "info";
  std::uint64_t max_message_bytes = 64ULL << 20;
  // SIGTERM: health turns NOT_SERVING and RPCs are still served for shutdown_drain_ms (so load
  // balancers move clients away), then no new RPCs; everything must end within
  // shutdown_grace_ms of the signal (the drain included): writes still queued shortly before
  // that are answered UNAVAILABLE, not applied.
  std::uint32_t shutdown_grace_ms = 30'000;
  std::uint32_t shutdown_drain_ms = 1'000;
  TlsConfig tls;
  AuthConfig auth;
  ReplicationConfig replication;
};

// Defaults with data_dir `data`, checkpoints in `data/checkpoints`.
ServiceConfig default_service_config();

// Reads a TOML file over the defaults. INVALID_ARGUMENT naming the key (and line) on a bad value,
// an unknown key or a type mismatch; NOT_FOUND when the file does not exist.
absl::StatusOr<ServiceConfig> load_service_config(const std::filesystem::path& file);
absl::StatusOr<ServiceConfig> parse_service_config(const std::string& toml_text,
                                                   const std::string& source_name);

// Checks what only makes sense together (TLS files exist, listen addresses well formed, limits
// consistent). Run after flags are applied.
absl::Status validate_service_config(const ServiceConfig& config);

// The effective configuration as TOML, for `arbord --print-config`; tokens are not shown (their
// count is, as a comment).
std::string describe_service_config(const ServiceConfig& config);

}  // namespace arbor::service
