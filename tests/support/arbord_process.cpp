#include "tests/support/arbord_process.hpp"

#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "grpcpp/generic/generic_stub.h"

namespace arbor::testing {

absl::StatusOr<std::unique_ptr<ArbordProcess>> ArbordProcess::start_with(
    const std::filesystem::path& data, ArbordLaunch launch) {
  auto process = std::make_unique<ArbordProcess>();
  process->log_file_ = data.string() + ".arbord.log";
  int out_pipe[2];
  if (pipe(out_pipe) != 0) return absl::InternalError("pipe failed");
  const std::string program =
      launch.binary.empty() ? ARBOR_BIN_DIR "/arbord" : launch.binary.string();
  std::vector<std::string> args = {program,       "--data",           data.string(), "--listen",
                                   "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"};
  args.insert(args.end(), launch.args.begin(), launch.args.end());
  std::vector<std::string>& environment = launch.environment;
  const std::chrono::seconds timeout = launch.timeout;
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    dup2(out_pipe[1], STDOUT_FILENO);
    const int log = open(process->log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (log >= 0) dup2(log, STDERR_FILENO);
    close(out_pipe[0]);
    for (std::string& variable : environment) putenv(variable.data());
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out_pipe[1]);
  process->pid_ = pid;
  // Read the first line with a deadline.
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  fcntl(out_pipe[0], F_SETFL, O_NONBLOCK);
  while (line.find('\n') == std::string::npos) {
    char buffer[512];
    const ssize_t got = read(out_pipe[0], buffer, sizeof buffer);
    if (got > 0) {
      line.append(buffer, static_cast<size_t>(got));
      continue;
    }
    if (got == 0) break;  // arbord closed stdout: it exited
    if (std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  close(out_pipe[0]);
  std::smatch match;
  const std::regex listening(R"(listening on ([0-9.]+:[0-9]+) .*metrics http://[0-9.]+:([0-9]+)/)");
  if (!std::regex_search(line, match, listening)) {
    const std::string log = process->log();
    process->kill_now();
    return absl::UnavailableError(
        absl::StrCat("arbord did not start; stdout: \"", line, "\"; log: ", log));
  }
  process->address_ = match[1];
  process->metrics_port_ = std::stoi(match[2]);
  process->metrics_url_ = absl::StrCat("http://127.0.0.1:", process->metrics_port_, "/metrics");
  // Ready = the store is open: health SERVING.
  std::unique_ptr<rpc::ArborClient> probe = process->client();
  while (std::chrono::steady_clock::now() < deadline) {
    absl::StatusOr<std::string> health = health_check(*probe);
    if (health.ok() && *health == "SERVING") return process;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const std::string log = process->log();
  process->kill_now();
  return absl::DeadlineExceededError(absl::StrCat("arbord never became SERVING; log: ", log));
}

ArbordProcess::~ArbordProcess() {
  if (pid_ > 0) kill_now();
}

std::string ArbordProcess::log() const {
  std::ifstream in(log_file_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::unique_ptr<rpc::ArborClient> ArbordProcess::client(const std::string& token) const {
  rpc::ClientOptions options;
  options.address = address_;
  options.token = token;
  options.timeout = std::chrono::seconds(120);
  return *rpc::ArborClient::connect(options);
}

int ArbordProcess::terminate(std::chrono::seconds timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    const pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill_now();
  return -1;
}

void ArbordProcess::kill_now() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

absl::StatusOr<std::string> raw_unary_call(const rpc::ArborClient& client,
                                           const std::string& method,
                                           const std::string& request_bytes) {
  grpc::GenericStub stub(client.channel());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::Slice slice(request_bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  std::mutex mutex;
  std::condition_variable changed;
  bool done = false;
  grpc::Status status;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response, [&](grpc::Status s) {
    std::lock_guard lock(mutex);
    status = std::move(s);
    done = true;
    changed.notify_all();
  });
  std::unique_lock lock(mutex);
  changed.wait(lock, [&] { return done; });
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  std::vector<grpc::Slice> slices;
  (void)response.Dump(&slices);
  std::string bytes;
  for (const grpc::Slice& part : slices) {
    bytes.append(reinterpret_cast<const char*>(part.begin()), part.size());
  }
  return bytes;
}

absl::StatusOr<std::string> health_check(const rpc::ArborClient& client,
                                         const std::string& service) {
  // HealthCheckRequest: field 1 (string service).
  std::string request;
  if (!service.empty()) {
    request.push_back(0x0a);
    request.push_back(static_cast<char>(service.size()));
    request += service;
  }
  absl::StatusOr<std::string> bytes =
      raw_unary_call(client, "/grpc.health.v1.Health/Check", request);
  if (!bytes.ok()) return bytes.status();
  static const char* const kNames[] = {"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"};
  // An enum at its default (UNKNOWN = 0) is not serialized at all.
  if (bytes->empty()) return std::string(kNames[0]);
  if (bytes->size() == 2 && (*bytes)[0] == 0x08 && (*bytes)[1] >= 0 && (*bytes)[1] < 4) {
    return std::string(kNames[static_cast<int>((*bytes)[1])]);
  }
  return absl::DataLossError("unexpected health response");
}

absl::StatusOr<HttpAnswer> http_get(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(5);
  client.set_read_timeout(10);
  httplib::Result result = client.Get(path.c_str());
  if (!result) return absl::UnavailableError(absl::StrCat("GET ", path, " failed"));
  return HttpAnswer{result->status, result->body};
}

}  // namespace arbor::testing
