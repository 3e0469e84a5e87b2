// A connection to arbord for the CLI, the load generator and the tests: the channel (plain or
// TLS), the bearer token and a per-call deadline applied to every call.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "arbor/v1/arbor.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace arbor::rpc {

struct ClientOptions {
  std::string address;  // HOST:PORT
  std::string token;    // sent as `authorization: Bearer <token>` when set
  bool tls = false;
  std::string ca_file;                   // PEM roots for TLS; empty: the system's
  std::chrono::milliseconds timeout{0};  // per call; 0: none
};

class ArborClient {
 public:
  static absl::StatusOr<std::unique_ptr<ArborClient>> connect(const ClientOptions& options);
  ArborClient(ClientOptions options, std::shared_ptr<grpc::Channel> channel);  // see connect()

  v1::Arbor::Stub& stub() { return *stub_; }
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  // Applies the token and deadline to a call's context.
  void prepare(grpc::ClientContext& context) const;
  // Waits until the channel is connected; UNAVAILABLE naming the address when it is not.
  absl::Status wait_connected(std::chrono::milliseconds timeout) const;
  const std::string& address() const { return options_.address; }

 private:
  ClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Arbor::Stub> stub_;
};

}  // namespace arbor::rpc
