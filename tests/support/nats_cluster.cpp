#include "tests/support/nats_cluster.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "tests/support/arbord_process.hpp"

namespace arbor::testing {
namespace {

// `count` distinct loopback ports nothing listens on now (the kernel's picks for port 0). All are
// bound until all are picked: one at a time, the kernel may hand out the same port twice.
absl::StatusOr<std::vector<int>> free_ports(int count) {
  std::vector<int> sockets;
  std::vector<int> ports;
  absl::Status status = absl::OkStatus();
  for (int i = 0; i < count && status.ok(); ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
      status = absl::InternalError("socket failed");
      break;
    }
    sockets.push_back(fd);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      status = absl::InternalError("no free loopback port");
      break;
    }
    ports.push_back(static_cast<int>(ntohs(address.sin_port)));
  }
  for (int fd : sockets) close(fd);
  if (!status.ok()) return status;
  return ports;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::string NatsCluster::server_binary() {
  for (const char* candidate : {"/usr/sbin/nats-server", "/usr/bin/nats-server"}) {
    if (access(candidate, X_OK) == 0) return candidate;
  }
  return {};
}

absl::StatusOr<std::unique_ptr<NatsCluster>> NatsCluster::start(const std::filesystem::path& dir,
                                                                int nodes) {
  if (server_binary().empty()) {
    return absl::FailedPreconditionError(
        "nats-server is not installed (Debian package nats-server; scripts/install-deps)");
  }
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create ", dir.string(), ": ", error.message()));
  }
  auto cluster = std::make_unique<NatsCluster>();
  absl::StatusOr<std::vector<int>> ports = free_ports(3 * nodes);
  if (!ports.ok()) return ports.status();
  for (int i = 0; i < nodes; ++i) {
    Node node;
    node.name = absl::StrCat("n", i + 1);
    node.client_port = (*ports)[3 * i];
    node.cluster_port = (*ports)[3 * i + 1];
    node.http_port = (*ports)[3 * i + 2];
    node.config = dir / (node.name + ".conf");
    node.log = dir / (node.name + ".log");
    cluster->nodes_.push_back(std::move(node));
  }
  for (const Node& node : cluster->nodes_) {
    std::ofstream config(node.config);
    config << "server_name: " << node.name << "\nlisten: 127.0.0.1:" << node.client_port
           << "\nhttp: 127.0.0.1:" << node.http_port << "\njetstream { store_dir: \""
           << (dir / node.name).string() << "\" }\n";
    if (nodes > 1) {
      config << "cluster {\n  name: arbor\n  listen: 127.0.0.1:" << node.cluster_port
             << "\n  routes: [\n";
      for (const Node& other : cluster->nodes_) {
        config << "    nats-route://127.0.0.1:" << other.cluster_port << "\n";
      }
      config << "  ]\n}\n";
    }
  }
  for (Node& node : cluster->nodes_) {
    if (absl::Status launched = cluster->launch(node); !launched.ok()) return launched;
  }
  for (const Node& node : cluster->nodes_) {
    if (absl::Status healthy = cluster->wait_healthy(node, std::chrono::seconds(30));
        !healthy.ok()) {
      return healthy;
    }
  }
  return cluster;
}

NatsCluster::~NatsCluster() {
  for (int i = 0; i < size(); ++i) kill(i);
}

absl::Status NatsCluster::launch(Node& node) {
  const std::string binary = server_binary();
  const std::string config = node.config.string();
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    const int log = open(node.log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (log >= 0) {
      dup2(log, STDOUT_FILENO);
      dup2(log, STDERR_FILENO);
    }
    execl(binary.c_str(), binary.c_str(), "-c", config.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  node.pid = pid;
  return absl::OkStatus();
}

absl::Status NatsCluster::wait_healthy(const Node& node, std::chrono::seconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(node.pid, &status, WNOHANG) == node.pid) {
      last = absl::StrCat("it exited with status ", status);
      break;
    }
    absl::StatusOr<HttpAnswer> answer = http_get(node.http_port, "/healthz");
    if (answer.ok() && answer->status == 200) return absl::OkStatus();
    last = answer.ok() ? answer->body : std::string(answer.status().message());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return absl::DeadlineExceededError(absl::StrCat("nats-server ", node.name,
                                                  " never became healthy (", last, "); log:\n",
                                                  read_file(node.log)));
}

std::vector<std::string> NatsCluster::client_urls() const {
  std::vector<std::string> urls;
  for (int i = 0; i < size(); ++i) urls.push_back(client_url(i));
  return urls;
}

std::string NatsCluster::client_url(int node) const {
  return absl::StrCat("nats://127.0.0.1:", nodes_[node].client_port);
}

int NatsCluster::node_named(const std::string& name) const {
  for (int i = 0; i < size(); ++i) {
    if (nodes_[i].name == name) return i;
  }
  return -1;
}

void NatsCluster::kill(int node) {
  Node& n = nodes_[node];
  if (n.pid <= 0) return;
  ::kill(n.pid, SIGCONT);  // a paused process dies on SIGKILL too, but reaps sooner awake
  ::kill(n.pid, SIGKILL);
  int status = 0;
  waitpid(n.pid, &status, 0);
  n.pid = -1;
}

absl::Status NatsCluster::restart(int node) {
  kill(node);
  if (absl::Status launched = launch(nodes_[node]); !launched.ok()) return launched;
  return wait_healthy(nodes_[node], std::chrono::seconds(30));
}

void NatsCluster::pause(int node) {
  if (nodes_[node].pid > 0) ::kill(nodes_[node].pid, SIGSTOP);
}

void NatsCluster::resume(int node) {
  if (nodes_[node].pid > 0) ::kill(nodes_[node].pid, SIGCONT);
}

std::string NatsCluster::log(int node) const { return read_file(nodes_[node].log); }

}  // namespace arbor::testing
