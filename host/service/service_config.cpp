#include "host/service/service_config.hpp"

#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "host/service/toml_guard.hpp"
#include "toml.hpp"

namespace arbor::service {
namespace {

std::string where(const toml::value& value) {
  const toml::source_location location = value.location();
  if (location.line() == 0) return "";
  return absl::StrCat(" (line ", location.line(), ")");
}

absl::Status bad(const std::string& key, const toml::value& value, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat(key, where(value), ": ", why));
}

// One table's keys, each with a setter; anything else in the table is refused.
class TableReader {
 public:
  using Setter = std::function<absl::Status(const std::string& key, const toml::value&)>;
  explicit TableReader(std::string prefix) : prefix_(std::move(prefix)) {}

  void on(const std::string& key, Setter setter) { setters_[key] = std::move(setter); }

  absl::Status read(const toml::value& table) const {
    for (const auto& [key, value] : table.as_table()) {
      const std::string full = prefix_.empty() ? key : absl::StrCat(prefix_, ".", key);
      auto setter = setters_.find(key);
      if (setter == setters_.end()) return bad(full, value, "unknown setting");
      if (absl::Status set = setter->second(full, value); !set.ok()) return set;
    }
    return absl::OkStatus();
  }

 private:
  std::string prefix_;
  std::map<std::string, Setter> setters_;
};

TableReader::Setter string_into(std::string& target) {
  return [&target](const std::string& key, const toml::value& value) {
    if (!value.is_string()) return bad(key, value, "expected a string");
    target = value.as_string().str;
    return absl::OkStatus();
  };
}

TableReader::Setter path_into(std::filesystem::path& target) {
  return [&target](const std::string& key, const toml::value& value) {
    if (!value.is_string() || value.as_string().str.empty()) {
      return bad(key, value, "expected a non-empty path string");
    }
    target = value.as_string().str;
    return absl::OkStatus();
  };
}

template <typename Integer>
TableReader::Setter integer_into(Integer& target, std::int64_t min, std::int64_t max,
                                 std::int64_t scale = 1) {
  return [&target, min, max, scale](const std::string& key, const toml::value& value) {
    if (!value.is_integer()) return bad(key, value, "expected an integer");
    const std::int64_t number = value.as_integer();
    if (number < min || number > max) {
      return bad(key, value, absl::StrCat(number, " is outside ", min, "..", max));
    }
    target = static_cast<Integer>(number * scale);
    return absl::OkStatus();
  };
}

TableReader::Setter bool_into(bool& target) {
  return [&target](const std::string& key, const toml::value& value) {
    if (!value.is_boolean()) return bad(key, value, "expected true or false");
    target = value.as_boolean();
    return absl::OkStatus();
  };
}

TableReader::Setter strings_into(std::vector<std::string>& target) {
  return [&target](const std::string& key, const toml::value& value) {
    if (!value.is_array()) return bad(key, value, "expected an array of strings");
    target.clear();
    for (const toml::value& item : value.as_array()) {
      if (!item.is_string() || item.as_string().str.empty()) {
        return bad(key, item, "expected non-empty strings");
      }
      target.push_back(item.as_string().str);
    }
    return absl::OkStatus();
  };
}

template <typename Parsed, typename Parser>
TableReader::Setter parsed_into(Parsed& target, Parser parser) {
  return [&target, parser](const std::string& key, const toml::value& value) {
    if (!value.is_string()) return bad(key, value, "expected a string");
    auto parsed = parser(value.as_string().str);
    if (!parsed.ok()) return bad(key, value, std::string(parsed.status().message()));
    target = *parsed;
    return absl::OkStatus();
  };
}

TableReader::Setter table_into(const TableReader& reader) {
  return [&reader](const std::string& key, const toml::value& value) {
    if (!value.is_table()) return bad(key, value, "expected a table");
    return reader.read(value);
  };
}

constexpr std::int64_t kMiB = 1 << 20;

bool valid_host_port(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) return false;
  const std::string port = address.substr(colon + 1);
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return false;
  return std::stoul(port) <= 65535;
}

}  // namespace

ServiceConfig default_service_config() {
  ServiceConfig config;
  config.engine.data_dir = "data";
  config.engine.checkpoint_dir = config.engine.data_dir / "checkpoints";
  return config;
}

absl::StatusOr<ServiceConfig> parse_service_config(const std::string& toml_text,
                                                   const std::string& source_name) {
  ServiceConfig config = default_service_config();
  // toml11 is not safe on arbitrary bytes (toml_guard.hpp): they are checked first.
  if (absl::Status bytes = check_toml_bytes(toml_text, source_name); !bytes.ok()) return bytes;
  toml::value document;
  try {
    std::istringstream stream(toml_text);
    document = toml::parse(stream, source_name);
  } catch (const std::exception& error) {
    return absl::InvalidArgumentError(absl::StrCat(source_name, ": ", error.what()));
  }
  bool checkpoint_dir_set = false;
  EngineOptions& engine = config.engine;

  TableReader store("store");
  store.on("sync", parsed_into(engine.store.sync, storage::parse_sync_mode));
  store.on("async_sync_interval_ms",
           integer_into(engine.store.async_sync_interval_ms, 1, 3'600'000));
  store.on("compression", parsed_into(engine.store.compression, storage::parse_compression));
  store.on("block_cache_mb", integer_into(engine.store.block_cache_bytes, 0, 1 << 20, kMiB));
  store.on("write_buffer_mb", integer_into(engine.store.write_buffer_bytes, 1, 1 << 16, kMiB));
  store.on("max_open_files", integer_into(engine.store.max_open_files, -1, 1 << 20));
  store.on("verify_heads_on_open", bool_into(engine.store.verify_heads_on_open));

  TableReader trees("trees");
  trees.on("node_cache_mb", integer_into(engine.tree.node_cache_bytes, 0, 1 << 20, kMiB));

  TableReader batcher("batcher");
  std::int64_t max_delay_us = engine.batcher.max_delay.count();
  batcher.on("max_batch_ops", integer_into(engine.batcher.max_batch_ops, 1, 100'000'000));
  batcher.on("max_delay_us", integer_into(max_delay_us, 0, 10'000'000));
  batcher.on("max_queue_ops", integer_into(engine.batcher.max_queue_ops, 1, 1'000'000'000));
  batcher.on("max_queue_writes", integer_into(engine.batcher.max_queue_writes, 1, 100'000'000));
  batcher.on("idempotency_keys", integer_into(engine.batcher.idempotency_keys, 0, 100'000'000));
  std::int64_t max_queue_delay_ms = engine.batcher.max_queue_delay.count();
  batcher.on("max_queue_delay_ms", integer_into(max_queue_delay_ms, 0, 3'600'000));

  TableReader tx("transactions");
  tx.on("default_timeout_ms", integer_into(engine.tx.default_timeout_ms, 1, 86'400'000));
  tx.on("max_timeout_ms", integer_into(engine.tx.max_timeout_ms, 1, 86'400'000));
  tx.on("max_ops_per_tx", integer_into(engine.tx.max_ops_per_tx, 1, 1'000'000'000));
  tx.on("max_open", integer_into(engine.tx.max_open, 1, 1'000'000));
  tx.on("max_total_ops", integer_into(engine.tx.max_total_ops, 1, 10'000'000'000));

  TableReader tls("tls");
  tls.on("cert_file", string_into(config.tls.cert_file));
  tls.on("key_file", string_into(config.tls.key_file));
  tls.on("client_ca_file", string_into(config.tls.client_ca_file));

  TableReader auth("auth");
  auth.on("write_tokens", strings_into(config.auth.write_tokens));
  auth.on("read_tokens", strings_into(config.auth.read_tokens));

  TableReader replication("replication");
  ReplicationConfig& replicated = config.replication;
  replication.on("nats", strings_into(replicated.nats));
  replication.on("role", string_into(replicated.role));
  replication.on("ack", string_into(replicated.ack));
  replication.on("max_unreplicated", integer_into(replicated.max_unreplicated, 1, 10'000'000));
  replication.on("stream", string_into(replicated.stream));
  replication.on("shard", integer_into(replicated.shard, 0, 1'000'000));
  replication.on("replicas", integer_into(replicated.replicas, 1, 5));
  replication.on("retention_hours", integer_into(replicated.retention_hours, 1, 24 * 3650));
  replication.on("retry_for_ms", integer_into(replicated.retry_for_ms, 100, 3'600'000));
  replication.on("leader_address", string_into(replicated.leader_address));
  replication.on("advertise_address", string_into(replicated.advertise_address));
  replication.on("lease_ttl_ms", integer_into(replicated.lease_ttl_ms, 500, 600'000));

  TableReader top("");
  top.on("data", path_into(engine.data_dir));
  top.on("checkpoint_dir", [&](const std::string& key, const toml::value& value) {
    checkpoint_dir_set = true;
    return path_into(engine.checkpoint_dir)(key, value);
  });
  top.on("listen", string_into(config.listen));
  top.on("metrics_listen", string_into(config.metrics_listen));
  top.on("backend", parsed_into(engine.backend, host::parse_backend_choice));
  top.on("log_level", string_into(config.log_level));
  top.on("max_message_mb", integer_into(config.max_message_bytes, 1, 2047, kMiB));
  top.on("shutdown_grace_ms", integer_into(config.shutdown_grace_ms, 0, 3'600'000));
  top.on("shutdown_drain_ms", integer_into(config.shutdown_drain_ms, 0, 3'600'000));
  top.on("store", table_into(store));
  top.on("trees", table_into(trees));
  top.on("batcher", table_into(batcher));
  top.on("transactions", table_into(tx));
  top.on("tls", table_into(tls));
  top.on("auth", table_into(auth));
  top.on("replication", table_into(replication));

  if (absl::Status read = top.read(document); !read.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(source_name, ": ", read.message()));
  }
  engine.batcher.max_delay = std::chrono::microseconds(max_delay_us);
  engine.batcher.max_queue_delay = std::chrono::milliseconds(max_queue_delay_ms);
  if (!checkpoint_dir_set) engine.checkpoint_dir = engine.data_dir / "checkpoints";
  return config;
}

absl::StatusOr<ServiceConfig> load_service_config(const std::filesystem::path& file) {
  std::error_code error;
  if (!std::filesystem::exists(file, error)) {
    return absl::NotFoundError(absl::StrCat("config file ", file.string(), " does not exist"));
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return absl::FailedPreconditionError(absl::StrCat("cannot read ", file.string()));
  // One byte past the limit is enough to refuse it; /dev/zero or a huge file is not read whole.
  std::string text(kMaxTomlBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return absl::FailedPreconditionError(absl::StrCat("cannot read ", file.string()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return parse_service_config(text, file.string());
}

absl::Status validate_service_config(const ServiceConfig& config) {
  if (!valid_host_port(config.listen)) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen: \"", config.listen, "\" is not HOST:PORT"));
  }
  if (!config.metrics_listen.empty() && !valid_host_port(config.metrics_listen)) {
    return absl::InvalidArgumentError(absl::StrCat("metrics_listen: \"", config.metrics_listen,
                                                   "\" is not HOST:PORT (empty disables it)"));
  }
  if (config.shutdown_drain_ms > config.shutdown_grace_ms) {
    return absl::InvalidArgumentError(absl::StrCat(
        "shutdown_drain_ms (", config.shutdown_drain_ms, ") is part of shutdown_grace_ms (",
        config.shutdown_grace_ms, ") and cannot exceed it"));
  }
  static const char* const kLevels[] = {"trace", "debug",    "info", "warn",
                                        "error", "critical", "off"};
  if (std::find(std::begin(kLevels), std::end(kLevels), config.log_level) == std::end(kLevels)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "log_level: \"", config.log_level, "\" (trace, debug, info, warn, error, critical, off)"));
  }
  if (config.tls.enabled()) {
    if (config.tls.cert_file.empty() || config.tls.key_file.empty()) {
      return absl::InvalidArgumentError("tls: cert_file and key_file are both needed");
    }
    for (const std::string& file :
         {config.tls.cert_file, config.tls.key_file, config.tls.client_ca_file}) {
      std::error_code error;
      if (!file.empty() && !std::filesystem::is_regular_file(file, error)) {
        return absl::InvalidArgumentError(absl::StrCat("tls: ", file, " is not a readable file"));
      }
    }
  } else if (!config.tls.client_ca_file.empty()) {
    return absl::InvalidArgumentError("tls.client_ca_file needs tls.cert_file and tls.key_file");
  }
  const ReplicationConfig& replication = config.replication;
  if (replication.role != "leader" && replication.role != "follower") {
    return absl::InvalidArgumentError(
        absl::StrCat("replication.role: \"", replication.role, "\" (leader or follower)"));
  }
  if (replication.ack != "quorum" && replication.ack != "leader") {
    return absl::InvalidArgumentError(
        absl::StrCat("replication.ack: \"", replication.ack, "\" (quorum or leader)"));
  }
  if (replication.stream.empty() ||
      replication.stream.find_first_of(" \t.*>/\\") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("replication.stream: \"", replication.stream,
                     "\" is not a JetStream stream name (no spaces, dots, *, >, slashes)"));
  }
  for (const std::string& server : replication.nats) {
    if (server.rfind("nats://", 0) != 0 && server.rfind("tls://", 0) != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "replication.nats: \"", server, "\" is not a nats://host:port (or tls://) URL"));
    }
  }
  const EngineOptions& engine = config.engine;
  if (engine.batcher.max_queue_ops < engine.batcher.max_batch_ops) {
    return absl::InvalidArgumentError("batcher.max_queue_ops must be >= batcher.max_batch_ops");
  }
  if (engine.tx.max_ops_per_tx > engine.batcher.max_queue_ops) {
    return absl::InvalidArgumentError(
        "transactions.max_ops_per_tx must be <= batcher.max_queue_ops, or a full transaction "
        "could never be committed");
  }
  if (engine.tx.default_timeout_ms > engine.tx.max_timeout_ms) {
    return absl::InvalidArgumentError(
        "transactions.default_timeout_ms must be <= transactions.max_timeout_ms");
  }
  return absl::OkStatus();
}

std::string describe_service_config(const ServiceConfig& config) {
  const EngineOptions& engine = config.engine;
  // A TOML basic string: quotes, backslashes and control characters escaped, so that any value
  // (a path with a quote, a listen address with a backslash) reads back as itself.
  auto quoted_text = [](const std::string& text) {
    std::string out = "\"";
    for (const char c : text) {
      const auto byte = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else if (byte < 0x20 || byte == 0x7f) {
        absl::StrAppend(&out, "\\u", absl::Hex(byte, absl::kZeroPad4));
      } else {
        out += c;
      }
    }
    return out + "\"";
  };
  auto redacted = [](const std::vector<std::string>& tokens) {
    return tokens.empty() ? std::string("[]")
                          : absl::StrCat("[]  # ", tokens.size(), " set, not shown");
  };
  std::ostringstream out;
  out << "data = " << quoted_text(engine.data_dir.string()) << "\n"
      << "checkpoint_dir = " << quoted_text(engine.checkpoint_dir.string()) << "\n"
      << "listen = " << quoted_text(config.listen) << "\n"
      << "metrics_listen = " << quoted_text(config.metrics_listen) << "\n"
      << "backend = "
      << quoted_text(engine.backend == host::BackendChoice::kAuto  ? "auto"
                     : engine.backend == host::BackendChoice::kCpu ? "cpu"
                                                                   : "cuda")
      << "\n"
      << "log_level = " << quoted_text(config.log_level) << "\n"
      << "max_message_mb = " << config.max_message_bytes / kMiB << "\n"
      << "shutdown_grace_ms = " << config.shutdown_grace_ms << "\n"
      << "shutdown_drain_ms = " << config.shutdown_drain_ms << "\n\n"
      << "[store]\nsync = " << quoted_text(std::string(storage::to_string(engine.store.sync)))
      << "\nasync_sync_interval_ms = " << engine.store.async_sync_interval_ms << "\ncompression = "
      << quoted_text(std::string(storage::to_string(engine.store.compression)))
      << "\nblock_cache_mb = " << engine.store.block_cache_bytes / kMiB
      << "\nwrite_buffer_mb = " << engine.store.write_buffer_bytes / kMiB
      << "\nmax_open_files = " << engine.store.max_open_files
      << "\nverify_heads_on_open = " << (engine.store.verify_heads_on_open ? "true" : "false")
      << "\n\n[trees]\nnode_cache_mb = " << engine.tree.node_cache_bytes / kMiB
      << "\n\n[batcher]\nmax_batch_ops = " << engine.batcher.max_batch_ops
      << "\nmax_delay_us = " << engine.batcher.max_delay.count()
      << "\nmax_queue_ops = " << engine.batcher.max_queue_ops
      << "\nmax_queue_writes = " << engine.batcher.max_queue_writes
      << "\nmax_queue_delay_ms = " << engine.batcher.max_queue_delay.count()
      << "\nidempotency_keys = " << engine.batcher.idempotency_keys
      << "\n\n[transactions]\ndefault_timeout_ms = " << engine.tx.default_timeout_ms
      << "\nmax_timeout_ms = " << engine.tx.max_timeout_ms
      << "\nmax_ops_per_tx = " << engine.tx.max_ops_per_tx << "\nmax_open = " << engine.tx.max_open
      << "\nmax_total_ops = " << engine.tx.max_total_ops
      << "\n\n[tls]\ncert_file = " << quoted_text(config.tls.cert_file)
      << "\nkey_file = " << quoted_text(config.tls.key_file)
      << "\nclient_ca_file = " << quoted_text(config.tls.client_ca_file)
      << "\n\n[auth]\nwrite_tokens = " << redacted(config.auth.write_tokens)
      << "\nread_tokens = " << redacted(config.auth.read_tokens) << "\n";
  const ReplicationConfig& replication = config.replication;
  out << "\n[replication]\nnats = [";
  for (std::size_t i = 0; i < replication.nats.size(); ++i) {
    out << (i ? ", " : "") << quoted_text(replication.nats[i]);
  }
  out << "]" << (replication.enabled() ? "" : "  # empty: no replication")
      << "\nrole = " << quoted_text(replication.role) << "\nack = " << quoted_text(replication.ack)
      << "\nmax_unreplicated = " << replication.max_unreplicated
      << "\nstream = " << quoted_text(replication.stream) << "\nshard = " << replication.shard
      << "\nreplicas = " << replication.replicas
      << "\nretention_hours = " << replication.retention_hours
      << "\nretry_for_ms = " << replication.retry_for_ms
      << "\nleader_address = " << quoted_text(replication.leader_address)
      << "\nadvertise_address = " << quoted_text(replication.advertise_address)
      << "\nlease_ttl_ms = " << replication.lease_ttl_ms << "\n";
  return out.str();
}

}  // namespace arbor::service
