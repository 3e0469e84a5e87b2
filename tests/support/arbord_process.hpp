// Starts `arbord` as a child process on free loopback ports for end-to-end and crash tests, and
// talks to it: a gRPC client, the health service, the metrics page.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "rpc/client/arbor_client.hpp"

namespace arbor::testing {

// How to start arbord, beyond its data directory.
struct ArbordLaunch {
  std::vector<std::string> args;         // after --data, --listen and --metrics-listen
  std::chrono::seconds timeout{30};      // for the "listening" line and health SERVING
  std::vector<std::string> environment;  // "NAME=value", added to arbord's environment
  std::filesystem::path binary;          // empty: the build's bin/arbord
};

class ArbordProcess {
 public:
  // Runs `arbord --data DIR --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 ARGS...` and waits
  // for its "listening" line and health SERVING. Logs go to DIR.arbord.log (log_file(),
  // inspectable after a failure).
  static absl::StatusOr<std::unique_ptr<ArbordProcess>> start_with(
      const std::filesystem::path& data, ArbordLaunch launch);
  static absl::StatusOr<std::unique_ptr<ArbordProcess>> start(
      const std::filesystem::path& data, std::vector<std::string> extra_args = {},
      std::chrono::seconds timeout = std::chrono::seconds(30)) {
    ArbordLaunch launch;
    launch.args = std::move(extra_args);
    launch.timeout = timeout;
    return start_with(data, std::move(launch));
  }
  ArbordProcess() = default;  // see start()
  ~ArbordProcess();           // SIGKILL if still running

  const std::string& address() const { return address_; }
  const std::string& metrics_url() const { return metrics_url_; }
  int metrics_port() const { return metrics_port_; }
  pid_t pid() const { return pid_; }
  std::string log() const;
  const std::filesystem::path& log_file() const { return log_file_; }

  std::unique_ptr<rpc::ArborClient> client(const std::string& token = "") const;

  // SIGTERM and wait: returns the exit status (-1 on timeout, then SIGKILL).
  int terminate(std::chrono::seconds timeout = std::chrono::seconds(60));
  // SIGKILL and reap.
  void kill_now();

 private:
  pid_t pid_ = -1;
  std::string address_;
  std::string metrics_url_;
  int metrics_port_ = 0;
  std::filesystem::path log_file_;
};

// Sends `request` as the raw body of a unary call to `method` ("/pkg.Service/Method"): no
// generated code, so tests can send bytes that are not a valid message. Returns the raw answer.
absl::StatusOr<std::string> raw_unary_call(const rpc::ArborClient& client,
                                           const std::string& method, const std::string& request);

// grpc.health.v1 Check through the generic stub: "SERVING", "NOT_SERVING", ... or an error.
absl::StatusOr<std::string> health_check(const rpc::ArborClient& client,
                                         const std::string& service = "");

// GET http://127.0.0.1:PORT/PATH: status code and body.
struct HttpAnswer {
  int status = 0;
  std::string body;
};
absl::StatusOr<HttpAnswer> http_get(int port, const std::string& path);

}  // namespace arbor::testing
