// A NATS JetStream cluster of nats-server processes on loopback for the `cluster` tests: one
// config file, data directory and log per node under a test directory, free ports picked at start.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace arbor::testing {

class NatsCluster {
 public:
  // nats-server's path (/usr/sbin is not on every PATH); empty when it is not installed.
  static std::string server_binary();

  // Starts `nodes` servers (1: a single JetStream server; 3: a cluster) in `dir` (created when
  // missing) and waits until every one answers /healthz with JetStream ready.
  static absl::StatusOr<std::unique_ptr<NatsCluster>> start(const std::filesystem::path& dir,
                                                            int nodes = 3);
  NatsCluster() = default;  // see start()
  ~NatsCluster();           // SIGKILL to every node still running
  NatsCluster(const NatsCluster&) = delete;
  NatsCluster& operator=(const NatsCluster&) = delete;

  int size() const { return static_cast<int>(nodes_.size()); }
  // nats://127.0.0.1:PORT of every node (clients reconnect among them).
  std::vector<std::string> client_urls() const;
  std::string client_url(int node) const;
  const std::string& name(int node) const { return nodes_[node].name; }
  // The node called `name`; -1 when none is.
  int node_named(const std::string& name) const;

  void kill(int node);             // SIGKILL and reap
  absl::Status restart(int node);  // start it again on its ports and data, wait for health
  void pause(int node);            // SIGSTOP
  void resume(int node);           // SIGCONT
  std::string log(int node) const;

 private:
  struct Node {
    std::string name;
    int client_port = 0;
    int cluster_port = 0;
    int http_port = 0;
    std::filesystem::path config;
    std::filesystem::path log;
    pid_t pid = -1;
  };
  absl::Status launch(Node& node);
  absl::Status wait_healthy(const Node& node, std::chrono::seconds timeout) const;

  std::vector<Node> nodes_;
};

}  // namespace arbor::testing
