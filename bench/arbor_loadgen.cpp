// `arbor_loadgen`: drives a running arbord (or one it spawns) with N concurrent gRPC workers and
// reports throughput and per-request latency (p50/p90/p99/max), as text and as JSON shaped like
// Google Benchmark's output. Scenarios:
//   write1        single-key Write RPCs
//   write1000     1000-key Write RPCs
//   write_proofs  single-key Writes with with_proofs; every Nth proof is verified
//   stream        StreamWrite, each worker keeping up to W single-key writes in flight
//   read_proofs   Get with_proof of preloaded keys; every Nth proof is verified and timed
//   prove         Prove of K preloaded keys at once (one multi-proof / witness); every Nth verified
// `--scheme smt` (the default) loads SMT trees and verifies proofs client-side (verify_proof);
// `--scheme verkle` loads EIP-6800 trees, checks every witness's "AVW1" magic, and sends every
// Nth through the Verify RPC with the returned root (the client has no Verkle verifier's tables).
// Every run writes into its own tree (load-<scenario>-<timestamp>-c<N>-r<rep>, with "verkle-"
// after "load-" for Verkle) unless --tree names one, so runs do not disturb each other's tree
// shape.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "grpcpp/grpcpp.h"
#include "host/smt/smt_proof.hpp"
#include "host/smt/smt_proof_codec.hpp"
#include "host/verkle/verkle_witness.hpp"
#include "nlohmann/json.hpp"
#include "rpc/client/arbor_client.hpp"
#include "rpc/server/wire.hpp"

extern char** environ;

namespace {

namespace v1 = arbor::v1;
using arbor::rpc::ArborClient;
using arbor::rpc::ClientOptions;
using Clock = std::chrono::steady_clock;
// Ordered, so the JSON reads in the order written (context first, name first), as Google
// Benchmark's does.
using json = nlohmann::ordered_json;

constexpr int kExitOk = 0;
constexpr int kExitSetup = 1;
constexpr int kExitFailures = 2;

enum class Scenario { kWrite1, kWrite1000, kWriteProofs, kStream, kReadProofs, kProve };

struct ScenarioInfo {
  Scenario id;
  const char* name;
  bool writes;
  // In `--scenario all` for SMT: `prove` came later and is left out, so that an SMT "all" run
  // stays the run RESULTS.md cites.
  bool in_smt_all;
};

constexpr ScenarioInfo kScenarios[] = {
    {Scenario::kWrite1, "write1", true, true},
    {Scenario::kWrite1000, "write1000", true, true},
    {Scenario::kWriteProofs, "write_proofs", true, true},
    {Scenario::kStream, "stream", true, true},
    {Scenario::kReadProofs, "read_proofs", false, true},
    {Scenario::kProve, "prove", false, false},
};

bool reads_preloaded(Scenario id) { return id == Scenario::kReadProofs || id == Scenario::kProve; }

enum class SchemeId { kSmt, kVerkle };

struct Options {
  std::string scheme = "smt";
  SchemeId scheme_id = SchemeId::kSmt;
  double stem_reuse = 0.5;  // verkle: share of generated keys that reuse an earlier key's stem
  int prove_keys = 8;
  std::vector<int> cpus;        // pin this process (and its threads) to these CPUs
  std::vector<int> spawn_cpus;  // pin the spawned arbord to these CPUs
  std::string server;
  std::string spawn;
  std::string sync;
  std::vector<std::string> spawn_args;
  bool keep_data = false;
  std::vector<std::string> scenarios{"all"};
  std::vector<int> concurrency{16};
  std::string channels = "per-worker";
  double duration_s = 10;
  std::uint64_t ops = 0;  // total measured requests per run; 0: run for duration_s
  double warmup_s = 1;
  int repetitions = 1;
  int window = 64;
  std::uint64_t preload = 100'000;
  std::uint64_t preload_batch = 10'000;
  std::uint64_t verify_every = 100;
  std::string tree;
  std::string token;
  bool tls = false;
  std::string ca_file;
  int timeout_ms = 60'000;
  std::string json_out;
  std::uint64_t seed = 0;  // 0: random
};

// ---------------------------------------------------------------------------------------------
// Small helpers

// 31 random bytes under a zero top byte: always below p, so the server never refuses a key.
void fill_field(std::mt19937_64& rng, std::string& out) {
  out.assign(arbor::rpc::kFieldBytes, '\0');
  for (size_t at = 1; at < out.size(); at += 8) {
    const std::uint64_t bits = rng();
    std::memcpy(out.data() + at, &bits, std::min<size_t>(8, out.size() - at));
  }
}

void fill_random(std::mt19937_64& rng, std::string& out, size_t bytes) {
  out.resize(bytes);
  for (size_t at = 0; at < bytes; at += 8) {
    const std::uint64_t bits = rng();
    std::memcpy(out.data() + at, &bits, std::min<size_t>(8, bytes - at));
  }
}

// Keys and values in the scheme's wire form. SMT: field elements (fill_field). Verkle: 32 random
// bytes, where a share `stem_reuse` of keys take the stem (first 31 bytes) of an earlier key and
// only a new suffix: Ethereum accounts keep their header fields and first storage slots under one
// stem, so a block's writes share stems, and a stem-shared write updates an existing leaf node
// instead of adding one.
class KeyMaker {
 public:
  KeyMaker(SchemeId scheme, double stem_reuse) : scheme_(scheme), stem_reuse_(stem_reuse) {}

  void key(std::mt19937_64& rng, std::string& out) {
    if (scheme_ == SchemeId::kSmt) return fill_field(rng, out);
    fill_random(rng, out, kVerkleBytes);
    if (!stems_.empty() && std::uniform_real_distribution<double>(0, 1)(rng) < stem_reuse_) {
      const std::string& stem = stems_[rng() % stems_.size()];
      std::memcpy(out.data(), stem.data(), kStemBytes);
      return;
    }
    // A new stem; the pool is bounded, and a full one forgets a random old stem.
    if (stems_.size() < kStemPool) {
      stems_.push_back(out.substr(0, kStemBytes));
    } else {
      stems_[rng() % kStemPool] = out.substr(0, kStemBytes);
    }
  }

  void value(std::mt19937_64& rng, std::string& out) {
    if (scheme_ == SchemeId::kSmt) return fill_field(rng, out);
    fill_random(rng, out, kVerkleBytes);
  }

 private:
  static constexpr size_t kVerkleBytes = 32;
  static constexpr size_t kStemBytes = 31;
  static constexpr size_t kStemPool = 4096;
  SchemeId scheme_;
  double stem_reuse_;
  std::vector<std::string> stems_;
};

// "0", "1,3", "0-1": CPU numbers for --cpus / --spawn-cpus.
absl::StatusOr<std::vector<int>> parse_cpu_list(const std::string& text) {
  std::vector<int> cpus;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    int first = 0, last = 0;
    char dash = 0;
    std::istringstream range(part);
    if (!(range >> first) || first < 0) {
      return absl::InvalidArgumentError(absl::StrCat("bad CPU list '", text, "'"));
    }
    last = first;
    if (range >> dash && (dash != '-' || !(range >> last) || last < first)) {
      return absl::InvalidArgumentError(absl::StrCat("bad CPU list '", text, "'"));
    }
    for (int cpu = first; cpu <= last; ++cpu) cpus.push_back(cpu);
  }
  if (cpus.empty()) return absl::InvalidArgumentError("empty CPU list");
  return cpus;
}

// Pins the calling thread; threads and processes it starts afterwards inherit the mask.
absl::Status pin_to(const std::vector<int>& cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int cpu : cpus) {
    if (cpu >= CPU_SETSIZE) return absl::InvalidArgumentError(absl::StrCat("CPU ", cpu));
    CPU_SET(cpu, &set);
  }
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("sched_setaffinity: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

std::string cpu_list_text(const std::vector<int>& cpus) {
  std::string text;
  for (int cpu : cpus) absl::StrAppend(&text, text.empty() ? "" : ",", cpu);
  return text;
}

double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

double median_of(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

std::string timestamp_for_names() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%S", &local);
  return text;
}

std::string iso_date() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char text[40];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S%z", &local);
  return text;
}

std::string cpuinfo_field(const std::string& name) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name, 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon != std::string::npos) return line.substr(std::min(colon + 2, line.size()));
  }
  return "";
}

// ---------------------------------------------------------------------------------------------
// A spawned arbord

// The spawned arbord's pid, so that an interrupted run does not leave it running.
std::atomic<pid_t> g_spawned_pid{-1};
static_assert(std::atomic<pid_t>::is_always_lock_free);

void forward_and_die(int signal_number) {
  const pid_t child = g_spawned_pid.load();
  if (child > 0) kill(child, SIGTERM);
  signal(signal_number, SIG_DFL);
  raise(signal_number);
}

class SpawnedServer {
 public:
  static absl::StatusOr<std::unique_ptr<SpawnedServer>> start(const Options& options) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = absl::StrCat(tmp && *tmp ? tmp : "/tmp", "/arbor-loadgen-XXXXXX");
    if (mkdtemp(pattern.data()) == nullptr) {
      return absl::InternalError(absl::StrCat("mkdtemp ", pattern, ": ", std::strerror(errno)));
    }
    auto server = std::make_unique<SpawnedServer>(pattern, options.keep_data);
    if (absl::Status started = server->launch(options); !started.ok()) return started;
    return server;
  }

  // Use start(); public only for make_unique.
  SpawnedServer(std::filesystem::path dir, bool keep_data)
      : dir_(std::move(dir)), log_(dir_ / "arbord.log"), keep_data_(keep_data) {}
  SpawnedServer(const SpawnedServer&) = delete;
  SpawnedServer& operator=(const SpawnedServer&) = delete;

  ~SpawnedServer() {
    if (absl::Status stopped = stop(); !stopped.ok()) {
      std::cerr << "arbor_loadgen: " << stopped.message() << "\n";
    }
  }

  const std::string& address() const { return address_; }
  const std::filesystem::path& log_file() const { return log_; }
  const std::filesystem::path& dir() const { return dir_; }

  // SIGTERM, then the grace arbord promises (in-flight RPCs finish), then SIGKILL.
  absl::Status stop() {
    if (pid_ <= 0) return absl::OkStatus();
    g_spawned_pid = -1;
    kill(pid_, SIGTERM);
    absl::Status result = absl::OkStatus();
    const auto give_up = Clock::now() + std::chrono::seconds(60);
    int wait_status = 0;
    for (;;) {
      const pid_t done = waitpid(pid_, &wait_status, WNOHANG);
      if (done == pid_) break;
      if (Clock::now() > give_up) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &wait_status, 0);
        result = absl::DeadlineExceededError("arbord did not stop within 60 s of SIGTERM");
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (result.ok() && !(WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0)) {
      result = absl::InternalError(absl::StrCat("arbord exited with status ", wait_status,
                                                " after SIGTERM; see ", log_.string()));
    }
    pid_ = -1;
    if (drain_.joinable()) drain_.join();
    if (stdout_fd_ >= 0) close(stdout_fd_);
    stdout_fd_ = -1;
    if (!keep_data_) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_ / "data", ignored);
    }
    return result;
  }

  // The log's warning, error and critical lines: what a run should not have produced.
  std::vector<std::string> complaints() const {
    std::vector<std::string> lines;
    std::ifstream in(log_);
    std::string line;
    while (std::getline(in, line)) {
      if (line.find(" warning ") != std::string::npos ||
          line.find(" error ") != std::string::npos ||
          line.find(" critical ") != std::string::npos) {
        lines.push_back(line);
      }
    }
    return lines;
  }

 private:
  absl::Status launch(const Options& options) {
    std::vector<std::string> args = {options.spawn, "--data",      (dir_ / "data").string(),
                                     "--listen",    "127.0.0.1:0", "--metrics-listen",
                                     "127.0.0.1:0"};
    if (!options.sync.empty()) {
      args.push_back("--sync");
      args.push_back(options.sync);
    }
    args.insert(args.end(), options.spawn_args.begin(), options.spawn_args.end());
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);

    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) return absl::InternalError(absl::StrCat("pipe: ", strerror(errno)));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
    posix_spawn_file_actions_addclose(&actions, pipe_fds[1]);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    // The child inherits the spawning thread's CPU mask: set it for the spawn, then put ours back.
    cpu_set_t own_cpus;
    CPU_ZERO(&own_cpus);
    const bool pin = !options.spawn_cpus.empty();
    if (pin) {
      sched_getaffinity(0, sizeof own_cpus, &own_cpus);
      if (absl::Status pinned = pin_to(options.spawn_cpus); !pinned.ok()) {
        posix_spawn_file_actions_destroy(&actions);
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        return absl::Status(pinned.code(), absl::StrCat("--spawn-cpus: ", pinned.message()));
      }
    }
    const int spawned =
        posix_spawn(&pid_, options.spawn.c_str(), &actions, nullptr, argv.data(), environ);
    if (pin) sched_setaffinity(0, sizeof own_cpus, &own_cpus);
    posix_spawn_file_actions_destroy(&actions);
    close(pipe_fds[1]);
    stdout_fd_ = pipe_fds[0];
    if (spawned != 0) {
      pid_ = -1;
      return absl::NotFoundError(
          absl::StrCat("cannot start ", options.spawn, ": ", std::strerror(spawned)));
    }
    g_spawned_pid = pid_;

    // arbord prints one line once its port is open (see rpc/arbord/arbord_main.cpp):
    // "arbord: listening on HOST:PORT (gRPC...), metrics ..., data ...".
    std::string text;
    const auto give_up = Clock::now() + std::chrono::seconds(60);
    while (text.find('\n') == std::string::npos) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(give_up - Clock::now());
      if (left.count() <= 0) {
        return absl::DeadlineExceededError(
            absl::StrCat("arbord printed no listening line within 60 s; see ", log_.string()));
      }
      pollfd poll_fd{stdout_fd_, POLLIN, 0};
      if (poll(&poll_fd, 1, static_cast<int>(left.count())) <= 0) continue;
      char buffer[512];
      const ssize_t got = read(stdout_fd_, buffer, sizeof buffer);
      if (got <= 0) {
        return absl::UnavailableError(
            absl::StrCat("arbord exited before listening; see ", log_.string()));
      }
      text.append(buffer, static_cast<size_t>(got));
    }
    constexpr std::string_view kPrefix = "arbord: listening on ";
    const size_t at = text.find(kPrefix);
    const size_t end = at == std::string::npos ? at : text.find(" (gRPC", at);
    if (end == std::string::npos) {
      return absl::InternalError(absl::StrCat("unexpected arbord output: ", text));
    }
    address_ = text.substr(at + kPrefix.size(), end - at - kPrefix.size());
    // Keep reading stdout so arbord can never block on a full pipe.
    drain_ = std::thread([fd = stdout_fd_] {
      char buffer[512];
      while (read(fd, buffer, sizeof buffer) > 0) {
      }
    });
    return absl::OkStatus();
  }

  std::filesystem::path dir_;
  std::filesystem::path log_;
  bool keep_data_;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::thread drain_;
  std::string address_;
};

// ---------------------------------------------------------------------------------------------
// Noisy neighbours

// CPU seconds used on the whole machine, and by this process plus the spawned arbord. Their
// difference over a run is what everything else took (other processes, hypervisor steal): on a
// shared 2-core VM that says which repetitions a neighbour disturbed.
struct CpuSample {
  double machine_s = 0;
  double ours_s = 0;
  Clock::time_point at = Clock::now();
};

double process_cpu_s(const std::string& stat_path) {
  std::ifstream in(stat_path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t name_end = text.rfind(')');
  if (name_end == std::string::npos) return 0;
  std::istringstream fields(text.substr(name_end + 2));
  std::string field;
  std::uint64_t utime = 0, stime = 0;
  // After the name: state is field 3 of proc(5); utime and stime are fields 14 and 15.
  for (int number = 3; number <= 15 && fields >> field; ++number) {
    if (number == 14) utime = std::stoull(field);
    if (number == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

CpuSample cpu_sample() {
  CpuSample sample;
  std::ifstream in("/proc/stat");
  std::string cpu;
  std::uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
                steal = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  sample.machine_s = static_cast<double>(user + nice + system + irq + softirq + steal) /
                     static_cast<double>(sysconf(_SC_CLK_TCK));
  sample.ours_s = process_cpu_s("/proc/self/stat");
  if (const pid_t server = g_spawned_pid.load(); server > 0) {
    sample.ours_s += process_cpu_s(absl::StrCat("/proc/", server, "/stat"));
  }
  return sample;
}

// Mean CPU cores used by everything but us and the spawned server between two samples.
double other_cpu_cores(const CpuSample& before, const CpuSample& after) {
  const double wall = std::chrono::duration<double>(after.at - before.at).count();
  if (wall <= 0) return 0;
  const double other = (after.machine_s - before.machine_s) - (after.ours_s - before.ours_s);
  return std::max(0.0, other / wall);
}

// ---------------------------------------------------------------------------------------------
// Channels

// gRPC shares one TCP connection among channels with equal arguments (its global subchannel
// pool), so ArborClient::connect per worker would not give each worker its own connection. This
// builds a channel with the same credentials and a local subchannel pool.
class ChannelFactory {
 public:
  static absl::StatusOr<ChannelFactory> create(const ClientOptions& options) {
    ChannelFactory factory;
    factory.address_ = options.address;
    if (options.tls) {
      grpc::SslCredentialsOptions ssl;
      if (!options.ca_file.empty()) {
        std::ifstream in(options.ca_file);
        if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", options.ca_file));
        std::stringstream pem;
        pem << in.rdbuf();
        ssl.pem_root_certs = pem.str();
      }
      factory.credentials_ = grpc::SslCredentials(ssl);
    } else {
      factory.credentials_ = grpc::InsecureChannelCredentials();
    }
    return factory;
  }

  std::shared_ptr<grpc::Channel> dedicated_channel() const {
    grpc::ChannelArguments arguments;
    arguments.SetMaxReceiveMessageSize(-1);
    arguments.SetMaxSendMessageSize(-1);
    arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return grpc::CreateCustomChannel(address_, credentials_, arguments);
  }

 private:
  std::string address_;
  std::shared_ptr<grpc::ChannelCredentials> credentials_;
};

// ---------------------------------------------------------------------------------------------
// Runs

// What the main thread tells the workers: warm up, measure, stop.
struct RunControl {
  enum Phase { kWarmup = 0, kMeasure = 1, kStop = 2 };
  std::atomic<int> phase{kWarmup};
  Clock::time_point measure_start;  // written before phase becomes kMeasure
  std::uint64_t quota = 0;          // measured requests per worker; 0: until kStop
};

struct WorkerStats {
  std::vector<double> latency_us;  // measured requests only
  std::uint64_t requests = 0;      // measured, successful
  std::uint64_t ops = 0;
  std::uint64_t errors = 0;
  std::uint64_t refused = 0;  // RESOURCE_EXHAUSTED: backpressure, not a failure
  std::string first_error;
  std::uint64_t coalesced_sum = 0;
  std::uint64_t coalesced_count = 0;
  std::vector<double> proof_bytes;
  std::uint64_t proofs_verified = 0;
  std::uint64_t proof_failures = 0;
  std::string first_proof_failure;
  std::vector<double> verify_us;
  std::optional<Clock::time_point> last_done;

  void error(const grpc::Status& status) {
    if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      ++refused;
      return;
    }
    if (errors++ == 0) {
      first_error = absl::StrCat("code ", static_cast<int>(status.error_code()), ": ",
                                 status.error_message());
    }
  }
  void proof_failure(std::string why) {
    if (proof_failures++ == 0) first_proof_failure = std::move(why);
  }
};

struct RunResult {
  std::string scenario;
  int concurrency = 0;
  int repetition = 0;
  std::string tree;
  double requests = 0;
  double ops = 0;
  double seconds = 0;
  double ops_per_s = 0;
  double requests_per_s = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0, mean_ms = 0;
  double errors = 0, refused = 0;
  std::string first_error;
  bool writes = false;
  double coalesced_mean = 0;
  bool proofs = false;
  double proof_bytes_min = 0, proof_bytes_median = 0, proof_bytes_max = 0;
  double proofs_verified = 0, proof_failures = 0;
  std::string first_proof_failure;
  double verify_p50_us = 0, verify_p99_us = 0;
  double other_cpu_cores = 0;  // see CpuSample
};

struct Shared {
  const Options* options = nullptr;
  ArborClient* control = nullptr;  // token and deadline for every call; the shared channel
  std::vector<std::unique_ptr<v1::Arbor::Stub>> stubs;  // per worker, or empty when shared
  RunControl run;
  std::string tree;
  const std::vector<std::string>* preloaded = nullptr;  // read scenarios' keys (key == value)

  v1::Arbor::Stub& stub(size_t worker) { return stubs.empty() ? control->stub() : *stubs[worker]; }
};

// Checks one returned proof of `key` against `root_bytes`, timing verify_proof alone.
void check_proof(const std::string& proof_bytes, const std::string& root_bytes,
                 const std::string& key, const std::string& value, WorkerStats& stats) {
  absl::StatusOr<arbor::smt::SmtProof> proof = arbor::smt::decode_proof_binary(proof_bytes);
  if (!proof.ok()) return stats.proof_failure(absl::StrCat("decode: ", proof.status().message()));
  absl::StatusOr<arbor::smt::Fr> root = arbor::rpc::field_from_wire(root_bytes, "root");
  if (!root.ok()) return stats.proof_failure(std::string(root.status().message()));
  if (arbor::rpc::field_to_wire(proof->key) != key) {
    return stats.proof_failure("the proof is for another key");
  }
  if (!proof->existence || arbor::rpc::field_to_wire(proof->value) != value) {
    return stats.proof_failure("the proof does not show the key holding the value written");
  }
  const auto started = Clock::now();
  absl::Status verified = arbor::smt::verify_proof(*root, *proof);
  stats.verify_us.push_back(
      std::chrono::duration<double, std::micro>(Clock::now() - started).count());
  ++stats.proofs_verified;
  if (!verified.ok()) stats.proof_failure(absl::StrCat("verify_proof: ", verified.message()));
}

// Checks an SMT multi-proof (or, for one key, single proof) of `keys`, each holding itself as its
// value, against `root_bytes`, timing the verification alone.
void check_multi_proof(const std::string& proof_bytes, const std::string& root_bytes,
                       const std::vector<std::string>& keys, WorkerStats& stats) {
  if (keys.size() == 1) return check_proof(proof_bytes, root_bytes, keys[0], keys[0], stats);
  absl::StatusOr<arbor::smt::SmtMultiProof> proof =
      arbor::smt::decode_multi_proof_binary(proof_bytes);
  if (!proof.ok()) return stats.proof_failure(absl::StrCat("decode: ", proof.status().message()));
  absl::StatusOr<arbor::smt::Fr> root = arbor::rpc::field_from_wire(root_bytes, "root");
  if (!root.ok()) return stats.proof_failure(std::string(root.status().message()));
  if (proof->entries.size() != keys.size()) {
    return stats.proof_failure(
        absl::StrCat("asked to prove ", keys.size(), " keys, got ", proof->entries.size()));
  }
  for (const arbor::smt::MultiProofEntry& entry : proof->entries) {
    const std::string key = arbor::rpc::field_to_wire(entry.key);
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      return stats.proof_failure("the proof has a key that was not asked for");
    }
    if (!entry.existence || arbor::rpc::field_to_wire(entry.value) != key) {
      return stats.proof_failure("the proof does not show a key holding its preloaded value");
    }
  }
  const auto started = Clock::now();
  absl::Status verified = arbor::smt::verify_multi_proof(*root, *proof);
  stats.verify_us.push_back(
      std::chrono::duration<double, std::micro>(Clock::now() - started).count());
  ++stats.proofs_verified;
  if (!verified.ok()) stats.proof_failure(absl::StrCat("verify_multi_proof: ", verified.message()));
}

// Every Verkle witness is checked for its binary magic; cheap, so not sampled.
bool has_witness_magic(const std::string& proof, WorkerStats& stats) {
  if (proof.rfind(arbor::verkle::kBinaryWitnessMagic, 0) == 0) return true;
  stats.proof_failure(absl::StrCat("a ", proof.size(), "-byte proof without the \"",
                                   std::string(arbor::verkle::kBinaryWitnessMagic), "\" magic"));
  return false;
}

// A sampled Verkle witness: its state diff must hold each (key, value) as the current value, and
// the Verify RPC must accept it against `root`. The time is the Verify RPC's round trip: the
// verifier runs in the server, on the machine's shared cores.
void check_witness(v1::Arbor::Stub& stub, const ArborClient& control, const std::string& proof,
                   const std::string& root,
                   const std::vector<std::pair<std::string, std::string>>& expected,
                   WorkerStats& stats) {
  absl::StatusOr<arbor::verkle::VerkleWitness> witness = arbor::verkle::witness_from_binary(proof);
  if (!witness.ok()) {
    return stats.proof_failure(absl::StrCat("decode: ", witness.status().message()));
  }
  for (const auto& [key, value] : expected) {
    const arbor::verkle::SuffixDiff* found = nullptr;
    for (const arbor::verkle::StemDiff& stem : witness->state_diff) {
      if (std::memcmp(stem.stem.data(), key.data(), stem.stem.size()) != 0) continue;
      for (const arbor::verkle::SuffixDiff& suffix : stem.suffixes) {
        if (suffix.suffix == static_cast<std::uint8_t>(key.back())) found = &suffix;
      }
    }
    if (found == nullptr) return stats.proof_failure("the witness leaves out a key asked for");
    if (!found->current ||
        std::memcmp(found->current->data(), value.data(), found->current->size()) != 0) {
      return stats.proof_failure("the witness does not show the key holding its value");
    }
  }
  v1::VerifyRequest request;
  request.set_proof(proof);
  request.set_root(root);
  v1::VerifyResponse response;
  grpc::ClientContext context;
  control.prepare(context);
  const auto started = Clock::now();
  const grpc::Status status = stub.Verify(&context, request, &response);
  stats.verify_us.push_back(
      std::chrono::duration<double, std::micro>(Clock::now() - started).count());
  ++stats.proofs_verified;
  if (!status.ok()) {
    return stats.proof_failure(absl::StrCat(
        "Verify RPC: code ", static_cast<int>(status.error_code()), ": ", status.error_message()));
  }
  if (!response.valid()) stats.proof_failure(absl::StrCat("Verify: ", response.reason()));
}

// The first hash in a process sets up Poseidon's constants (~10 ms): do it before any timing.
void warm_up_verifier() {
  // Both widths: the leaf hash (t=4) and, through one sibling, the node hash (t=3).
  arbor::smt::SmtProof proof;
  proof.existence = true;
  proof.siblings.push_back(arbor::smt::Fr::one());
  (void)arbor::smt::verify_proof(arbor::smt::Fr::zero(), proof);  // fails: only the hashes matter
}

// Write, Get and Prove scenarios: one blocking RPC at a time per worker.
void unary_worker(Shared& shared, Scenario scenario, size_t index, std::uint64_t seed,
                  WorkerStats& stats) {
  std::mt19937_64 rng(seed);
  const Options& options = *shared.options;
  const bool verkle = options.scheme_id == SchemeId::kVerkle;
  KeyMaker keys_made(options.scheme_id, options.stem_reuse);
  v1::Arbor::Stub& stub = shared.stub(index);
  const std::uint64_t every = std::max<std::uint64_t>(1, options.verify_every);
  const int keys_per_write = scenario == Scenario::kWrite1000 ? 1000 : 1;
  v1::WriteRequest write;
  write.set_tree(shared.tree);
  write.set_with_proofs(scenario == Scenario::kWriteProofs);
  for (int i = 0; i < keys_per_write; ++i) write.add_ops()->set_kind(v1::OP_KIND_PUT);
  v1::GetRequest get;
  get.set_tree(shared.tree);
  get.set_with_proof(true);
  v1::ProveRequest prove;
  prove.set_tree(shared.tree);
  std::vector<std::string> proved;
  std::uint64_t sent = 0;

  for (;;) {
    const int phase = shared.run.phase.load(std::memory_order_acquire);
    if (phase == RunControl::kStop) break;
    const bool measured = phase == RunControl::kMeasure;
    if (measured && shared.run.quota != 0 && stats.requests + stats.errors >= shared.run.quota) {
      break;
    }
    const bool sample = ++sent % every == 0;
    grpc::ClientContext context;
    shared.control->prepare(context);
    grpc::Status status;
    const auto started = Clock::now();
    if (scenario == Scenario::kReadProofs) {
      const std::vector<std::string>& keys = *shared.preloaded;
      const std::string& key = keys[rng() % keys.size()];
      get.set_key(key);
      v1::GetResponse response;
      status = stub.Get(&context, get, &response);
      const auto done = Clock::now();
      if (!status.ok()) {
        if (measured) stats.error(status);
        continue;
      }
      if (!measured) continue;
      stats.latency_us.push_back(std::chrono::duration<double, std::micro>(done - started).count());
      stats.last_done = done;
      ++stats.requests;
      ++stats.ops;
      stats.proof_bytes.push_back(static_cast<double>(response.proof().size()));
      if (!response.found() || response.value() != key) {
        stats.proof_failure("Get did not return the preloaded value");
      } else if (verkle) {
        if (has_witness_magic(response.proof(), stats) && sample) {
          check_witness(stub, *shared.control, response.proof(), response.root(), {{key, key}},
                        stats);
        }
      } else if (sample) {
        check_proof(response.proof(), response.root(), key, key, stats);
      }
      continue;
    }
    if (scenario == Scenario::kProve) {
      // Distinct keys: a repeated key would be proved once, and the proof checked for fewer.
      const std::vector<std::string>& keys = *shared.preloaded;
      const size_t want = std::min<size_t>(static_cast<size_t>(options.prove_keys), keys.size());
      proved.clear();
      prove.clear_keys();
      while (proved.size() < want) {
        const std::string& key = keys[rng() % keys.size()];
        if (std::find(proved.begin(), proved.end(), key) != proved.end()) continue;
        proved.push_back(key);
        prove.add_keys(key);
      }
      v1::ProveResponse response;
      status = stub.Prove(&context, prove, &response);
      const auto done = Clock::now();
      if (!status.ok()) {
        if (measured) stats.error(status);
        continue;
      }
      if (!measured) continue;
      stats.latency_us.push_back(std::chrono::duration<double, std::micro>(done - started).count());
      stats.last_done = done;
      ++stats.requests;
      stats.ops += proved.size();
      stats.proof_bytes.push_back(static_cast<double>(response.proof().size()));
      if (verkle) {
        if (has_witness_magic(response.proof(), stats) && sample) {
          std::vector<std::pair<std::string, std::string>> expected;
          for (const std::string& key : proved) expected.emplace_back(key, key);
          check_witness(stub, *shared.control, response.proof(), response.root(), expected, stats);
        }
      } else if (sample) {
        check_multi_proof(response.proof(), response.root(), proved, stats);
      }
      continue;
    }

    for (v1::Op& op : *write.mutable_ops()) {
      keys_made.key(rng, *op.mutable_key());
      keys_made.value(rng, *op.mutable_value());
    }
    v1::WriteResponse response;
    status = stub.Write(&context, write, &response);
    const auto done = Clock::now();
    if (!status.ok()) {
      if (measured) stats.error(status);
      continue;
    }
    if (!measured) continue;
    stats.latency_us.push_back(std::chrono::duration<double, std::micro>(done - started).count());
    stats.last_done = done;
    ++stats.requests;
    stats.ops += static_cast<std::uint64_t>(keys_per_write);
    stats.coalesced_sum += response.coalesced_writes();
    ++stats.coalesced_count;
    if (scenario != Scenario::kWriteProofs) continue;
    if (response.proofs_size() != 1) {
      stats.proof_failure(absl::StrCat("asked for proofs, got ", response.proofs_size()));
      continue;
    }
    const v1::Op& written = write.ops(0);
    if (verkle) {
      // Verkle answers with one witness of the write's keys; its KeyProof only names the key.
      const v1::KeyProof& entry = response.proofs(0);
      if (entry.key() != written.key() || !entry.exists() || entry.value() != written.value()) {
        stats.proof_failure("the write's KeyProof does not show the key holding the value written");
        continue;
      }
      stats.proof_bytes.push_back(static_cast<double>(response.proof().size()));
      if (has_witness_magic(response.proof(), stats) && sample) {
        check_witness(stub, *shared.control, response.proof(), response.root(),
                      {{written.key(), written.value()}}, stats);
      }
      continue;
    }
    const v1::KeyProof& proof = response.proofs(0);
    stats.proof_bytes.push_back(static_cast<double>(proof.proof().size()));
    if (sample) check_proof(proof.proof(), response.root(), written.key(), written.value(), stats);
  }
}

// One StreamWrite per worker: a sender keeps up to `window` writes unanswered, a reader matches
// answers to their send times by request_id (a refusal may overtake earlier accepted writes).
void stream_worker(Shared& shared, size_t index, std::uint64_t seed, WorkerStats& stats) {
  std::mt19937_64 rng(seed);
  const Options& options = *shared.options;
  KeyMaker keys_made(options.scheme_id, options.stem_reuse);
  grpc::ClientContext context;
  shared.control->prepare(context);
  // The stream lives for the whole run, so the per-call deadline starts after it.
  if (options.timeout_ms > 0) {
    const double run_s = options.warmup_s + (options.ops ? 3600.0 : options.duration_s);
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::milliseconds(options.timeout_ms) +
                         std::chrono::milliseconds(static_cast<std::int64_t>(run_s * 1000)));
  }
  std::unique_ptr<grpc::ClientReaderWriter<v1::StreamWriteRequest, v1::StreamWriteResponse>>
      stream = shared.stub(index).StreamWrite(&context);

  struct Sent {
    std::uint64_t id;
    Clock::time_point at;
    bool measured;
  };
  std::mutex mutex;
  std::condition_variable changed;
  std::map<std::uint64_t, Sent> unanswered;  // by request id
  bool reader_done = false;                  // the stream ended: nothing more will be answered
  std::uint64_t measured_sent = 0;

  std::thread reader([&] {
    v1::StreamWriteResponse response;
    while (stream->Read(&response)) {
      const auto done = Clock::now();
      Sent sent;
      {
        std::lock_guard lock(mutex);
        auto found = unanswered.find(response.request_id());
        if (found == unanswered.end()) {
          stats.error(grpc::Status(
              grpc::StatusCode::INTERNAL,
              absl::StrCat("answer ", response.request_id(), ": no such request unanswered")));
          continue;
        }
        sent = found->second;
        unanswered.erase(found);
      }
      changed.notify_all();
      if (!sent.measured) continue;
      if (response.code() != 0) {
        stats.error(
            grpc::Status(static_cast<grpc::StatusCode>(response.code()), response.message()));
        continue;
      }
      stats.latency_us.push_back(std::chrono::duration<double, std::micro>(done - sent.at).count());
      stats.last_done = done;
      ++stats.requests;
      ++stats.ops;
      stats.coalesced_sum += response.result().coalesced_writes();
      ++stats.coalesced_count;
    }
    {
      std::lock_guard lock(mutex);
      reader_done = true;
    }
    changed.notify_all();
  });

  v1::StreamWriteRequest request;
  v1::Op* op = request.mutable_write()->add_ops();
  request.mutable_write()->set_tree(shared.tree);
  op->set_kind(v1::OP_KIND_PUT);
  const size_t window = static_cast<size_t>(std::max(1, options.window));
  for (std::uint64_t id = 1;; ++id) {
    int phase = RunControl::kWarmup;
    {
      std::unique_lock lock(mutex);
      changed.wait(lock, [&] {
        phase = shared.run.phase.load(std::memory_order_acquire);
        return unanswered.size() < window || phase == RunControl::kStop || reader_done;
      });
      if (phase == RunControl::kStop || reader_done) break;
      const bool measured = phase == RunControl::kMeasure;
      if (measured && shared.run.quota != 0 && measured_sent >= shared.run.quota) break;
      if (measured) ++measured_sent;
      unanswered.emplace(id, Sent{id, Clock::now(), measured});
    }
    request.set_request_id(id);
    keys_made.key(rng, *op->mutable_key());
    keys_made.value(rng, *op->mutable_value());
    if (!stream->Write(request)) break;  // the stream broke: Finish says why
  }
  stream->WritesDone();
  reader.join();
  if (grpc::Status finished = stream->Finish(); !finished.ok()) stats.error(finished);
}

RunResult summarize(const ScenarioInfo& info, int concurrency, int repetition,
                    const std::string& tree, const RunControl& run,
                    const std::vector<WorkerStats>& workers) {
  RunResult result;
  result.scenario = info.name;
  result.concurrency = concurrency;
  result.repetition = repetition;
  result.tree = tree;
  result.writes = info.writes;
  result.proofs = info.id == Scenario::kWriteProofs || reads_preloaded(info.id);
  std::vector<double> latency, proof_bytes, verify;
  std::uint64_t coalesced_sum = 0, coalesced_count = 0;
  std::optional<Clock::time_point> last_done;
  for (const WorkerStats& worker : workers) {
    latency.insert(latency.end(), worker.latency_us.begin(), worker.latency_us.end());
    proof_bytes.insert(proof_bytes.end(), worker.proof_bytes.begin(), worker.proof_bytes.end());
    verify.insert(verify.end(), worker.verify_us.begin(), worker.verify_us.end());
    result.requests += static_cast<double>(worker.requests);
    result.ops += static_cast<double>(worker.ops);
    result.errors += static_cast<double>(worker.errors);
    result.refused += static_cast<double>(worker.refused);
    if (result.first_error.empty()) result.first_error = worker.first_error;
    coalesced_sum += worker.coalesced_sum;
    coalesced_count += worker.coalesced_count;
    result.proofs_verified += static_cast<double>(worker.proofs_verified);
    result.proof_failures += static_cast<double>(worker.proof_failures);
    if (result.first_proof_failure.empty()) result.first_proof_failure = worker.first_proof_failure;
    if (worker.last_done && (!last_done || *worker.last_done > *last_done)) {
      last_done = worker.last_done;
    }
  }
  // Requests started in the window count; the window ends when the last of them is answered.
  if (last_done) {
    result.seconds = std::chrono::duration<double>(*last_done - run.measure_start).count();
  }
  if (result.seconds > 0) {
    result.ops_per_s = result.ops / result.seconds;
    result.requests_per_s = result.requests / result.seconds;
  }
  std::sort(latency.begin(), latency.end());
  result.p50_ms = percentile(latency, 0.50) / 1000;
  result.p90_ms = percentile(latency, 0.90) / 1000;
  result.p99_ms = percentile(latency, 0.99) / 1000;
  result.max_ms = latency.empty() ? 0 : latency.back() / 1000;
  if (!latency.empty()) {
    double sum = 0;
    for (double value : latency) sum += value;
    result.mean_ms = sum / static_cast<double>(latency.size()) / 1000;
  }
  if (coalesced_count) {
    result.coalesced_mean =
        static_cast<double>(coalesced_sum) / static_cast<double>(coalesced_count);
  }
  std::sort(proof_bytes.begin(), proof_bytes.end());
  if (!proof_bytes.empty()) {
    result.proof_bytes_min = proof_bytes.front();
    result.proof_bytes_median = percentile(proof_bytes, 0.5);
    result.proof_bytes_max = proof_bytes.back();
  }
  std::sort(verify.begin(), verify.end());
  result.verify_p50_us = percentile(verify, 0.50);
  result.verify_p99_us = percentile(verify, 0.99);
  return result;
}

// Each numeric field's median over the repetitions, the way Google Benchmark aggregates.
RunResult median_result(const std::vector<RunResult>& runs) {
  RunResult out = runs.front();
  out.repetition = 0;
  out.tree.clear();
  auto field = [&](double RunResult::*member) {
    std::vector<double> values;
    for (const RunResult& run : runs) values.push_back(run.*member);
    out.*member = median_of(values);
  };
  for (double RunResult::*member :
       {&RunResult::requests, &RunResult::ops, &RunResult::seconds, &RunResult::ops_per_s,
        &RunResult::requests_per_s, &RunResult::p50_ms, &RunResult::p90_ms, &RunResult::p99_ms,
        &RunResult::max_ms, &RunResult::mean_ms, &RunResult::coalesced_mean,
        &RunResult::proof_bytes_min, &RunResult::proof_bytes_median, &RunResult::proof_bytes_max,
        &RunResult::verify_p50_us, &RunResult::verify_p99_us, &RunResult::other_cpu_cores}) {
    field(member);
  }
  // Failures are summed, not medianed: one bad repetition must show.
  out.errors = out.refused = out.proofs_verified = out.proof_failures = 0;
  for (const RunResult& run : runs) {
    out.errors += run.errors;
    out.refused += run.refused;
    out.proofs_verified += run.proofs_verified;
    out.proof_failures += run.proof_failures;
    if (out.first_error.empty()) out.first_error = run.first_error;
    if (out.first_proof_failure.empty()) out.first_proof_failure = run.first_proof_failure;
  }
  return out;
}

// Counts print as integers; medians of an even number of runs may not be whole.
json count(double value) {
  if (value == std::floor(value) && std::abs(value) < 9e15) {
    return static_cast<std::int64_t>(value);
  }
  return value;
}

json result_json(const RunResult& result, bool aggregate) {
  std::string name = absl::StrCat(result.scenario, "/concurrency:", result.concurrency);
  if (aggregate) {
    absl::StrAppend(&name, "_median");
  } else {
    absl::StrAppend(&name, "/repetition:", result.repetition);
  }
  json out = {{"name", name},
              {"run_type", aggregate ? "aggregate" : "iteration"},
              {"scenario", result.scenario},
              {"concurrency", result.concurrency},
              {"requests", count(result.requests)},
              {"ops", count(result.ops)},
              {"seconds", result.seconds},
              {"ops_per_s", result.ops_per_s},
              {"requests_per_s", result.requests_per_s},
              {"p50_ms", result.p50_ms},
              {"p90_ms", result.p90_ms},
              {"p99_ms", result.p99_ms},
              {"max_ms", result.max_ms},
              {"mean_ms", result.mean_ms},
              {"errors", count(result.errors)},
              {"refused", count(result.refused)},
              {"other_cpu_cores", result.other_cpu_cores}};
  if (aggregate) {
    out["aggregate_name"] = "median";
  } else {
    out["repetition"] = result.repetition;
    out["tree"] = result.tree;
  }
  if (!result.first_error.empty()) out["first_error"] = result.first_error;
  if (result.writes) out["coalesced_writes_mean"] = result.coalesced_mean;
  if (result.proofs) {
    out["proof_bytes_min"] = result.proof_bytes_min;
    out["proof_bytes_median"] = result.proof_bytes_median;
    out["proof_bytes_max"] = result.proof_bytes_max;
    out["proofs_verified"] = count(result.proofs_verified);
    out["proof_failures"] = count(result.proof_failures);
    out["verify_p50_us"] = result.verify_p50_us;
    out["verify_p99_us"] = result.verify_p99_us;
    if (!result.first_proof_failure.empty()) {
      out["first_proof_failure"] = result.first_proof_failure;
    }
  }
  return out;
}

void print_header() {
  std::cout << absl::StrFormat("%-13s %5s %4s %9s %11s %10s %9s %9s %9s %9s %7s %6s %5s  %s\n",
                               "scenario", "conc", "rep", "requests", "ops/s", "req/s", "p50 ms",
                               "p90 ms", "p99 ms", "max ms", "coalesc", "errors", "other",
                               "proofs");
  std::cout << "(other: CPU cores used by everything else on this machine during the run)\n";
}

void print_result(const RunResult& result, bool aggregate) {
  std::string proofs;
  if (result.proofs) {
    proofs = absl::StrFormat(
        "%.0f/%.0f/%.0f B, verify p50 %.0f p99 %.0f us, %.0f checked, %.0f bad",
        result.proof_bytes_min, result.proof_bytes_median, result.proof_bytes_max,
        result.verify_p50_us, result.verify_p99_us, result.proofs_verified, result.proof_failures);
  }
  std::cout << absl::StrFormat(
      "%-13s %5d %4s %9.0f %11.1f %10.1f %9.3f %9.3f %9.3f %9.3f %7s %6.0f %5.2f  %s\n",
      result.scenario, result.concurrency, aggregate ? "med" : std::to_string(result.repetition),
      result.requests, result.ops_per_s, result.requests_per_s, result.p50_ms, result.p90_ms,
      result.p99_ms, result.max_ms,
      result.writes ? absl::StrFormat("%.2f", result.coalesced_mean) : "-", result.errors,
      result.other_cpu_cores, proofs);
  if (result.refused > 0) {
    std::cout << absl::StrFormat("  %.0f writes refused (RESOURCE_EXHAUSTED, server queue full)\n",
                                 result.refused);
  }
  if (!result.first_error.empty()) std::cout << "  first error: " << result.first_error << "\n";
  if (result.proof_failures > 0) {
    std::cout << "  PROOF VERIFICATION FAILED " << result.proof_failures
              << " times; first: " << result.first_proof_failure << "\n";
  }
  std::cout.flush();
}

absl::Status create_tree(ArborClient& client, const std::string& name, const std::string& scheme) {
  grpc::ClientContext context;
  client.prepare(context);
  v1::CreateTreeRequest request;
  request.set_name(name);
  request.set_scheme(scheme);
  v1::TreeInfo info;
  const grpc::Status status = client.stub().CreateTree(&context, request, &info);
  if (status.error_code() == grpc::StatusCode::ALREADY_EXISTS) return absl::OkStatus();
  return arbor::rpc::from_grpc(status);
}

// arbord opens its port before its store; until the store is open every RPC is UNAVAILABLE.
absl::Status wait_serving(ArborClient& client) {
  const auto give_up = Clock::now() + std::chrono::seconds(120);
  for (;;) {
    grpc::ClientContext context;
    client.prepare(context);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    v1::ListTreesResponse response;
    const grpc::Status status = client.stub().ListTrees(&context, {}, &response);
    if (status.ok()) return absl::OkStatus();
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE &&
        status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      return arbor::rpc::from_grpc(status);
    }
    if (Clock::now() > give_up) {
      return absl::UnavailableError(absl::StrCat(
          "arbord at ", client.address(), " is not serving after 120 s: ", status.error_message()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

std::string server_backend(ArborClient& client) {
  grpc::ClientContext context;
  client.prepare(context);
  v1::StatsResponse stats;
  if (!client.stub().Stats(&context, {}, &stats).ok()) return "";
  return stats.backend();
}

// Writes `count` random keys (value = key) in writes of `batch` keys; returns the keys.
absl::StatusOr<std::vector<std::string>> preload(ArborClient& client, const Options& options,
                                                 const std::string& tree, std::uint64_t count,
                                                 std::uint64_t batch, std::mt19937_64& rng) {
  KeyMaker keys_made(options.scheme_id, options.stem_reuse);
  std::vector<std::string> keys;
  keys.reserve(count);
  const auto started = Clock::now();
  while (keys.size() < count) {
    v1::WriteRequest request;
    request.set_tree(tree);
    const std::uint64_t take = std::min<std::uint64_t>(batch, count - keys.size());
    for (std::uint64_t i = 0; i < take; ++i) {
      std::string key;
      keys_made.key(rng, key);
      v1::Op* op = request.add_ops();
      op->set_kind(v1::OP_KIND_PUT);
      op->set_key(key);
      op->set_value(key);
      keys.push_back(std::move(key));
    }
    grpc::ClientContext context;
    client.prepare(context);
    v1::WriteResponse response;
    const grpc::Status status = client.stub().Write(&context, request, &response);
    if (!status.ok()) {
      return absl::Status(arbor::rpc::from_grpc(status).code(),
                          absl::StrCat("preload: ", status.error_message()));
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  std::cout << absl::StrFormat("preloaded %d keys into %s in writes of %d: %.1f s, %.0f keys/s\n",
                               keys.size(), tree, batch, seconds,
                               static_cast<double>(keys.size()) / seconds)
            << std::flush;
  return keys;
}

absl::StatusOr<RunResult> run_once(Shared& shared, const ScenarioInfo& info, int concurrency,
                                   int repetition, std::mt19937_64& seeds) {
  const Options& options = *shared.options;
  shared.run.phase.store(RunControl::kWarmup);
  shared.run.quota =
      options.ops == 0
          ? 0
          : std::max<std::uint64_t>(1, options.ops / static_cast<std::uint64_t>(concurrency));
  std::vector<WorkerStats> stats(static_cast<size_t>(concurrency));
  for (WorkerStats& worker : stats) {
    // Enough for a fast run without reallocating inside the measured window.
    worker.latency_us.reserve(1 << 16);
  }
  std::vector<std::thread> threads;
  for (int i = 0; i < concurrency; ++i) {
    const std::uint64_t seed = seeds();
    const size_t index = static_cast<size_t>(i);
    threads.emplace_back([&shared, &info, &stats, index, seed] {
      if (info.id == Scenario::kStream) {
        stream_worker(shared, index, seed, stats[index]);
      } else {
        unary_worker(shared, info.id, index, seed, stats[index]);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(options.warmup_s));
  const CpuSample before = cpu_sample();
  shared.run.measure_start = Clock::now();
  shared.run.phase.store(RunControl::kMeasure, std::memory_order_release);
  if (options.ops == 0) {
    std::this_thread::sleep_for(std::chrono::duration<double>(options.duration_s));
    shared.run.phase.store(RunControl::kStop, std::memory_order_release);
  }
  for (std::thread& thread : threads) thread.join();
  shared.run.phase.store(RunControl::kStop);
  RunResult result = summarize(info, concurrency, repetition, shared.tree, shared.run, stats);
  result.other_cpu_cores = other_cpu_cores(before, cpu_sample());
  return result;
}

absl::StatusOr<std::vector<const ScenarioInfo*>> selected_scenarios(const Options& options) {
  std::vector<const ScenarioInfo*> out;
  for (const std::string& name : options.scenarios) {
    bool found = false;
    for (const ScenarioInfo& info : kScenarios) {
      const bool all = name == "all";
      if (!all && name != info.name) continue;
      found = true;
      if (all && options.scheme_id == SchemeId::kSmt && !info.in_smt_all) continue;
      if (std::find(out.begin(), out.end(), &info) == out.end()) out.push_back(&info);
    }
    if (!found) {
      return absl::InvalidArgumentError(
          absl::StrCat("--scenario: unknown '", name,
                       "' (write1, write1000, write_proofs, stream, read_proofs, prove or all)"));
    }
  }
  return out;
}

int run(const Options& options) {
  absl::StatusOr<std::vector<const ScenarioInfo*>> scenarios = selected_scenarios(options);
  if (!scenarios.ok()) {
    std::cerr << "arbor_loadgen: " << scenarios.status().message() << "\n";
    return kExitSetup;
  }

  std::unique_ptr<SpawnedServer> spawned;
  std::string address = options.server;
  if (!options.spawn.empty()) {
    absl::StatusOr<std::unique_ptr<SpawnedServer>> started = SpawnedServer::start(options);
    if (!started.ok()) {
      std::cerr << "arbor_loadgen: " << started.status().message() << "\n";
      return kExitSetup;
    }
    spawned = std::move(*started);
    address = spawned->address();
    std::cout << "spawned arbord on " << address << " (sync "
              << (options.sync.empty() ? "default" : options.sync) << "), log "
              << spawned->log_file().string() << std::endl;
  }

  ClientOptions client_options{address, options.token, options.tls, options.ca_file,
                               std::chrono::milliseconds(options.timeout_ms)};
  absl::StatusOr<std::unique_ptr<ArborClient>> control = ArborClient::connect(client_options);
  absl::StatusOr<ChannelFactory> channels = ChannelFactory::create(client_options);
  if (!control.ok() || !channels.ok()) {
    std::cerr << "arbor_loadgen: "
              << (control.ok() ? channels.status() : control.status()).message() << "\n";
    return kExitSetup;
  }
  if (absl::Status serving = wait_serving(**control); !serving.ok()) {
    std::cerr << "arbor_loadgen: " << serving.message() << "\n";
    return kExitSetup;
  }
  const std::string backend = server_backend(**control);

  const std::uint64_t seed = options.seed ? options.seed : std::random_device{}();
  std::mt19937_64 seeds(seed);
  Shared shared;
  shared.options = &options;
  shared.control = control->get();
  const int max_concurrency =
      *std::max_element(options.concurrency.begin(), options.concurrency.end());
  if (options.channels == "per-worker") {
    // Connected up front: a connection set up inside a run would be measured, and a failed
    // attempt would put the channel in back-off and fail its calls for a second or more.
    std::vector<std::shared_ptr<grpc::Channel>> opened;
    for (int i = 0; i < max_concurrency; ++i) opened.push_back(channels->dedicated_channel());
    for (std::shared_ptr<grpc::Channel>& channel : opened) {
      if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(30))) {
        std::cerr << "arbor_loadgen: worker channel " << shared.stubs.size() << " to " << address
                  << " did not connect within 30 s (state " << channel->GetState(false) << ")\n";
        return kExitSetup;
      }
      shared.stubs.push_back(v1::Arbor::NewStub(channel));
    }
  }

  warm_up_verifier();
  const std::string stamp = timestamp_for_names();
  const std::string started_at = iso_date();
  // SMT tree names stay as RESULTS.md shows them; Verkle's say their scheme.
  const std::string prefix =
      options.scheme_id == SchemeId::kSmt ? "load-" : absl::StrCat("load-", options.scheme, "-");
  std::vector<RunResult> all_runs, medians;
  int exit_code = kExitOk;
  if (options.scheme_id != SchemeId::kSmt) {
    std::cout << absl::StrFormat("scheme %s, %.0f%% of generated keys reuse an earlier stem\n",
                                 options.scheme, options.stem_reuse * 100);
  }
  if (!options.cpus.empty() || !options.spawn_cpus.empty()) {
    std::cout << "pinned: loadgen to CPUs "
              << (options.cpus.empty() ? "(any)" : cpu_list_text(options.cpus))
              << ", spawned arbord to CPUs "
              << (options.spawn_cpus.empty() ? "(any)" : cpu_list_text(options.spawn_cpus)) << "\n";
  }
  print_header();
  // One preloaded tree serves every read scenario, concurrency and repetition: reads do not
  // change it. It is named after the first read scenario run.
  std::vector<std::string> preloaded;
  std::string preloaded_tree;
  for (const ScenarioInfo* info : *scenarios) {
    if (reads_preloaded(info->id) && preloaded.empty()) {
      preloaded_tree =
          options.tree.empty() ? absl::StrCat(prefix, info->name, "-", stamp) : options.tree;
      if (absl::Status created = create_tree(**control, preloaded_tree, options.scheme);
          !created.ok()) {
        std::cerr << "arbor_loadgen: CreateTree " << preloaded_tree << ": " << created.message()
                  << "\n";
        return kExitSetup;
      }
      absl::StatusOr<std::vector<std::string>> keys =
          preload(**control, options, preloaded_tree, std::max<std::uint64_t>(1, options.preload),
                  std::max<std::uint64_t>(1, options.preload_batch), seeds);
      if (!keys.ok()) {
        std::cerr << "arbor_loadgen: " << keys.status().message() << "\n";
        return kExitSetup;
      }
      preloaded = std::move(*keys);
    }
    if (reads_preloaded(info->id)) {
      shared.tree = preloaded_tree;
      shared.preloaded = &preloaded;
    }
    for (int concurrency : options.concurrency) {
      std::vector<RunResult> runs;
      for (int repetition = 1; repetition <= options.repetitions; ++repetition) {
        if (!reads_preloaded(info->id)) {
          shared.tree = options.tree.empty() ? absl::StrCat(prefix, info->name, "-", stamp, "-c",
                                                            concurrency, "-r", repetition)
                                             : options.tree;
          if (absl::Status created = create_tree(**control, shared.tree, options.scheme);
              !created.ok()) {
            std::cerr << "arbor_loadgen: CreateTree " << shared.tree << ": " << created.message()
                      << "\n";
            return kExitSetup;
          }
        }
        absl::StatusOr<RunResult> result = run_once(shared, *info, concurrency, repetition, seeds);
        if (!result.ok()) {
          std::cerr << "arbor_loadgen: " << result.status().message() << "\n";
          return kExitSetup;
        }
        print_result(*result, false);
        if (result->errors > 0 || result->proof_failures > 0) exit_code = kExitFailures;
        runs.push_back(*result);
        all_runs.push_back(*result);
      }
      if (runs.size() > 1) {
        medians.push_back(median_result(runs));
        print_result(medians.back(), true);
      }
    }
    shared.preloaded = nullptr;
  }

  std::vector<std::string> complaints;
  if (spawned) {
    // Close our channels first, so the server's grace period is not spent on idle connections.
    shared.stubs.clear();
    control->reset();
    if (absl::Status stopped = spawned->stop(); !stopped.ok()) {
      std::cerr << "arbor_loadgen: " << stopped.message() << "\n";
      exit_code = kExitFailures;
    }
    complaints = spawned->complaints();
    if (!complaints.empty()) {
      std::cout << "arbord logged " << complaints.size() << " warning/error lines, e.g.:\n";
      for (size_t i = 0; i < std::min<size_t>(complaints.size(), 10); ++i) {
        std::cout << "  " << complaints[i] << "\n";
      }
    }
  }

  if (!options.json_out.empty()) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    json context = {{"date", started_at},
                    {"host_name", host},
                    {"executable", "arbor_loadgen"},
                    {"num_cpus", std::thread::hardware_concurrency()},
                    {"cpu_model", cpuinfo_field("model name")},
                    {"mhz_per_cpu", cpuinfo_field("cpu MHz")},
#ifdef NDEBUG
                    {"library_build_type", "release"},
#else
                    {"library_build_type", "debug"},
#endif
                    {"server",
                     {{"address", address},
                      {"spawned", static_cast<bool>(spawned)},
                      {"arbord", options.spawn},
                      {"sync", options.sync.empty() ? "default" : options.sync},
                      {"backend", backend},
                      {"log_complaints", complaints}}},
                    {"options",
                     {{"scheme", options.scheme},
                      {"scenarios", options.scenarios},
                      {"concurrency", options.concurrency},
                      {"channels", options.channels},
                      {"duration_s", options.duration_s},
                      {"ops", options.ops},
                      {"warmup_s", options.warmup_s},
                      {"repetitions", options.repetitions},
                      {"window", options.window},
                      {"preload", options.preload},
                      {"preload_batch", options.preload_batch},
                      {"verify_every", options.verify_every},
                      {"timeout_ms", options.timeout_ms},
                      {"seed", seed}}}};
    // The rest only when used, so that an SMT run's JSON keeps its shape.
    json& recorded = context["options"];
    if (options.scheme_id == SchemeId::kVerkle) recorded["stem_reuse"] = options.stem_reuse;
    for (const ScenarioInfo* info : *scenarios) {
      if (info->id == Scenario::kProve) recorded["prove_keys"] = options.prove_keys;
    }
    if (!options.cpus.empty()) recorded["cpus"] = options.cpus;
    if (!options.spawn_cpus.empty()) recorded["spawn_cpus"] = options.spawn_cpus;
    json results = json::array();
    for (const RunResult& result : all_runs) results.push_back(result_json(result, false));
    for (const RunResult& result : medians) results.push_back(result_json(result, true));
    std::ofstream out(options.json_out);
    out << json{{"context", context}, {"results", results}}.dump(2) << "\n";
    if (!out) {
      std::cerr << "arbor_loadgen: cannot write " << options.json_out << "\n";
      return kExitSetup;
    }
  }
  if (exit_code == kExitFailures) {
    std::cerr << "arbor_loadgen: FAILURES: some requests failed or a proof did not verify "
                 "(see above)\n";
  }
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "arbor_loadgen: drive arbord with concurrent gRPC workers and report throughput and "
      "latency percentiles per scenario"};
  Options options;
  app.add_option("--scheme", options.scheme, "Tree scheme: smt or verkle")
      ->check(CLI::IsMember({"smt", "verkle"}))
      ->capture_default_str();
  app.add_option("--stem-reuse", options.stem_reuse,
                 "verkle: share of generated keys that take an earlier key's stem (0..1)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--prove-keys", options.prove_keys, "prove: keys per Prove request")
      ->check(CLI::Range(1, 65536))
      ->capture_default_str();
  std::string cpus, spawn_cpus;
  app.add_option("--cpus", cpus, "Pin the load generator to these CPUs (e.g. 1 or 2-3)");
  auto* server = app.add_option("--server", options.server, "arbord address HOST:PORT");
  auto* spawn = app.add_option("--spawn", options.spawn,
                               "Start this arbord binary on a temporary data dir and port, and "
                               "stop it (SIGTERM) at the end")
                    ->check(CLI::ExistingFile);
  server->excludes(spawn);
  app.add_option("--sync", options.sync, "With --spawn: arbord's --sync (full, async or none)")
      ->check(CLI::IsMember({"full", "async", "none"}))
      ->needs(spawn);
  app.add_option("--spawn-arg", options.spawn_args, "With --spawn: an extra arbord argument")
      ->needs(spawn)
      ->allow_extra_args(false);
  app.add_option("--spawn-cpus", spawn_cpus, "With --spawn: pin arbord to these CPUs (e.g. 0)")
      ->needs(spawn);
  app.add_flag("--keep-data", options.keep_data, "With --spawn: keep the data directory");
  app.add_option("--scenario", options.scenarios,
                 "write1, write1000, write_proofs, stream, read_proofs, prove or all (repeatable; "
                 "smt's all leaves out prove)")
      ->capture_default_str();
  app.add_option("--concurrency", options.concurrency,
                 "Workers; a comma-separated list runs each in turn")
      ->delimiter(',')
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--channels", options.channels,
                 "per-worker (one connection each) or shared (one for all)")
      ->check(CLI::IsMember({"per-worker", "shared"}))
      ->capture_default_str();
  app.add_option("--duration-s", options.duration_s, "Measured seconds per run")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--ops", options.ops,
                 "Measured requests per run (split over the workers) instead of --duration-s");
  app.add_option("--warmup-s", options.warmup_s, "Unmeasured seconds before each run")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--repetitions", options.repetitions, "Runs per scenario and concurrency")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--window", options.window, "stream: unanswered writes per worker")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  app.add_option("--preload", options.preload, "read_proofs/prove: keys written before reading")
      ->capture_default_str();
  app.add_option("--preload-batch", options.preload_batch,
                 "read_proofs/prove: keys per preload Write")
      ->capture_default_str();
  app.add_option("--verify-every", options.verify_every,
                 "write_proofs/read_proofs/prove: verify every Nth proof (smt: client-side; "
                 "verkle: Verify RPC)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 40))
      ->capture_default_str();
  app.add_option("--tree", options.tree, "Use (create if needed) this tree for every run");
  app.add_option("--token", options.token, "Bearer token");
  app.add_flag("--tls", options.tls, "Connect with TLS");
  app.add_option("--ca-file", options.ca_file, "PEM roots for TLS");
  app.add_option("--timeout-ms", options.timeout_ms, "Deadline per call (0: none)")
      ->capture_default_str();
  app.add_option("--json-out", options.json_out, "Write the results as JSON to this file");
  app.add_option("--seed", options.seed, "Random seed (0: random)");
  CLI11_PARSE(app, argc, argv);
  if (options.server.empty() && options.spawn.empty()) {
    std::cerr << "arbor_loadgen: --server HOST:PORT or --spawn PATH_TO_ARBORD is needed\n";
    return kExitSetup;
  }
  options.scheme_id = options.scheme == "verkle" ? SchemeId::kVerkle : SchemeId::kSmt;
  for (auto [text, out, flag] : {std::tuple{&cpus, &options.cpus, "--cpus"},
                                 std::tuple{&spawn_cpus, &options.spawn_cpus, "--spawn-cpus"}}) {
    if (text->empty()) continue;
    absl::StatusOr<std::vector<int>> parsed = parse_cpu_list(*text);
    if (!parsed.ok()) {
      std::cerr << "arbor_loadgen: " << flag << ": " << parsed.status().message() << "\n";
      return kExitSetup;
    }
    *out = std::move(*parsed);
  }
  // Before any thread starts, so that every one of ours inherits the mask.
  if (!options.cpus.empty()) {
    if (absl::Status pinned = pin_to(options.cpus); !pinned.ok()) {
      std::cerr << "arbor_loadgen: --cpus: " << pinned.message() << "\n";
      return kExitSetup;
    }
  }
  // A server that goes away mid-run must surface as failed calls, not kill us with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  signal(SIGINT, forward_and_die);
  signal(SIGTERM, forward_and_die);
  return run(options);
}
