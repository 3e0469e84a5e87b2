#include "tests/crash/soak/soak_run.hpp"

#include <stdlib.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tests/crash/soak/soak_checks.hpp"
#include "tests/crash/soak/soak_reader.hpp"
#include "tests/crash/soak/soak_state.hpp"
#include "tests/crash/soak/soak_writer.hpp"
#include "tests/support/arbord_process.hpp"

namespace arbor::soak {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Where the store and arbord's log live: --data, or a fresh temporary directory that a passing
// run removes (a failing one keeps it for a look).
class RunDirectory {
 public:
  static absl::StatusOr<RunDirectory> make(const std::filesystem::path& given) {
    RunDirectory dir;
    if (!given.empty()) {
      dir.path_ = given;
      std::error_code error;
      std::filesystem::create_directories(given, error);
      if (error) return absl::InvalidArgumentError(absl::StrCat("--data ", given.string()));
      if (std::filesystem::exists(dir.store())) {
        return absl::InvalidArgumentError(
            absl::StrCat("--data: ", dir.store().string(), " exists (give a fresh directory)"));
      }
      return dir;
    }
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = absl::StrCat(tmp != nullptr && *tmp ? tmp : "/tmp", "/arbor-soak-XXXXXX");
    if (mkdtemp(pattern.data()) == nullptr) return absl::InternalError("mkdtemp failed");
    dir.path_ = pattern;
    dir.temporary_ = true;
    return dir;
  }
  std::filesystem::path store() const { return path_ / "store"; }
  std::filesystem::path log() const { return path_ / "store.arbord.log"; }
  void remove_if_temporary() const {
    std::error_code ignored;
    if (temporary_) std::filesystem::remove_all(path_, ignored);
  }

 private:
  std::filesystem::path path_;
  bool temporary_ = false;
};

class Soak {
 public:
  Soak(const SoakOptions& options, RunDirectory dir, std::uint64_t seed)
      : options_(options), dir_(std::move(dir)), seed_(seed), rng_(seed) {
    smt_.name = "soak-smt";
    smt_.scheme = "smt";
    verkle_.name = "soak-verkle";
    verkle_.scheme = "verkle";
    trees_ = {&smt_, &verkle_};
    for (int w = 0; w < options.writers; ++w) {
      writers_.push_back(std::make_unique<Writer>(w, *trees_[w % 2], rng_(),
                                                  options.keys_per_writer, counters_, failures_));
    }
  }

  // Runs until the duration is over or a check fails; true when all held.
  bool run() {
    const Clock::time_point start = Clock::now();
    const Clock::time_point end = start + options_.duration;
    if (!step(start_arbord()) || !step(create_trees())) return false;
    std::uniform_int_distribution<std::int64_t> delay_ms(options_.kill_every.count() / 2,
                                                         options_.kill_every.count() * 3 / 2);
    while (Clock::now() + std::chrono::milliseconds(500) < end) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
      const std::chrono::milliseconds delay =
          std::min(std::chrono::milliseconds(delay_ms(rng_)), left);
      const Counts before = counters_.load();
      const std::uint64_t smt_before = smt_.acked_writes, verkle_before = verkle_.acked_writes;
      load_then_kill(delay);
      ++kills_;
      if (failures_.any() || !step(start_arbord())) break;
      absl::StatusOr<std::uint64_t> checked = recover_and_check();
      if (!step(checked.status())) break;
      key_checks_ += *checked;
      const Counts now = counters_.load();
      std::cout << absl::StrFormat(
                       "soak: cycle %d at %.0f s: load %.1f s then SIGKILL; acked %d (smt %d, "
                       "verkle %d), cut off %d, overloaded %d, reads %d (%d values exact); restart "
                       "%.2f s; retried %d (%d had applied), replays %d; checked %d keys",
                       kills_, seconds_since(start), std::chrono::duration<double>(delay).count(),
                       now.acked - before.acked, smt_.acked_writes - smt_before,
                       verkle_.acked_writes - verkle_before, now.unknown - before.unknown,
                       now.overloaded - before.overloaded, now.reads - before.reads,
                       now.values_checked - before.values_checked, restart_s_,
                       now.retried - before.retried, now.retried_applied - before.retried_applied,
                       now.replays - before.replays, *checked)
                << std::endl;
    }
    if (failures_.any()) return false;
    return step(stop_and_check_offline());
  }

  void print_summary(bool passed, double elapsed_s) const {
    if (!passed) {
      for (const std::string& failure : failures_.messages()) {
        std::cout << "soak: FAILED: " << failure << "\n";
      }
      std::cout << "soak: arbord's log: " << dir_.log().string() << "; the store is kept in "
                << dir_.store().string() << "\n";
    }
    const Counts totals = counters_.load();
    std::cout << absl::StrFormat(
                     "soak: %s %d kills in %.0f s (seed %d, sync %s, %d writers, %d readers): %d "
                     "acked writes (smt %d, verkle %d), %d cut off, %d keyed retries (%d had "
                     "applied), %d replays, %d verified reads; %d key checks after restarts, %d "
                     "keys checked offline with recomputed roots",
                     passed ? "PASS" : "FAIL", kills_, elapsed_s, seed_, options_.sync,
                     options_.writers, options_.readers, totals.acked, smt_.acked_writes.load(),
                     verkle_.acked_writes.load(), totals.unknown, totals.retried,
                     totals.retried_applied, totals.replays, totals.reads, key_checks_,
                     offline_keys_)
              << std::endl;
  }

 private:
  bool step(const absl::Status& status) {
    if (!status.ok()) failures_.add(std::string(status.ToString()));
    return status.ok();
  }

  absl::Status start_arbord() {
    const Clock::time_point begun = Clock::now();
    testing::ArbordLaunch launch;
    launch.args = {"--sync", options_.sync};
    launch.timeout = std::chrono::seconds(120);
    launch.binary = options_.arbord;
    absl::StatusOr<std::unique_ptr<testing::ArbordProcess>> server =
        testing::ArbordProcess::start_with(dir_.store(), std::move(launch));
    if (!server.ok()) return server.status();
    server_ = *std::move(server);
    restart_s_ = seconds_since(begun);
    return absl::OkStatus();
  }

  absl::Status create_trees() {
    std::unique_ptr<rpc::ArborClient> client = server_->client();
    for (SoakTree* tree : trees_) {
      v1::CreateTreeRequest request;
      request.set_name(tree->name);
      request.set_scheme(tree->scheme);
      v1::TreeInfo info;
      grpc::ClientContext context;
      const grpc::Status status = client->stub().CreateTree(&context, request, &info);
      if (!status.ok()) {
        return absl::InternalError(
            absl::StrCat("CreateTree ", tree->name, ": ", status.error_message()));
      }
    }
    return absl::OkStatus();
  }

  // With no load: heads not behind, cut-off keyed writes retried, every key checked.
  absl::StatusOr<std::uint64_t> recover_and_check() {
    std::unique_ptr<rpc::ArborClient> client = server_->client();
    for (std::size_t t = 0; t < trees_.size(); ++t) {
      absl::StatusOr<std::uint64_t> head = head_not_behind(*client, *trees_[t]);
      if (!head.ok()) return head.status();
      for (std::size_t w = t; w < writers_.size(); w += trees_.size()) {
        writers_[w]->recover(*client, *head);
      }
    }
    if (failures_.any()) return absl::DataLossError("the retries after the restart failed");
    std::uint64_t checked = 0;
    for (SoakTree* tree : trees_) {
      absl::StatusOr<std::uint64_t> keys = check_and_settle(*client, *tree);
      if (!keys.ok()) return keys.status();
      checked += *keys;
    }
    return checked;
  }

  void load_then_kill(std::chrono::milliseconds delay) {
    CycleFlags flags;
    std::vector<std::thread> threads;
    for (const std::unique_ptr<Writer>& writer : writers_) {
      threads.emplace_back(
          [&, w = writer.get(), client = server_->client()] { w->run(*client, flags); });
    }
    for (int r = 0; r < options_.readers; ++r) {
      threads.emplace_back([&, seed = rng_(), client = server_->client()] {
        read_until_stopped(*client, trees_, seed, flags, counters_, failures_);
      });
    }
    const Clock::time_point kill_at = Clock::now() + delay;
    while (Clock::now() < kill_at && !failures_.any()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    flags.killing = true;
    server_->kill_now();
    flags.stop = true;
    for (std::thread& thread : threads) thread.join();
  }

  absl::Status stop_and_check_offline() {
    const int exit_code = server_->terminate();
    server_.reset();
    if (exit_code != 0) {
      return absl::InternalError(absl::StrCat("arbord exited ", exit_code, " on SIGTERM"));
    }
    absl::StatusOr<std::uint64_t> checked = check_offline(dir_.store(), trees_);
    if (!checked.ok()) return checked.status();
    offline_keys_ = *checked;
    return absl::OkStatus();
  }

  const SoakOptions options_;
  const RunDirectory dir_;
  const std::uint64_t seed_;
  std::mt19937_64 rng_;
  SoakTree smt_, verkle_;
  std::vector<SoakTree*> trees_;
  Counters counters_;
  Failures failures_;
  std::vector<std::unique_ptr<Writer>> writers_;
  std::unique_ptr<testing::ArbordProcess> server_;
  int kills_ = 0;
  double restart_s_ = 0;
  std::uint64_t key_checks_ = 0;
  std::uint64_t offline_keys_ = 0;
};

}  // namespace

int run_soak(const SoakOptions& options) {
  const std::uint64_t seed =
      options.seed_given
          ? options.seed
          : (static_cast<std::uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
  absl::StatusOr<RunDirectory> dir = RunDirectory::make(options.data);
  if (!dir.ok()) {
    std::cerr << "arbor_soak: " << dir.status().message() << "\n";
    return 2;
  }
  std::cout << absl::StrFormat(
                   "soak: seed %d (again with --seed %d); %.0f s, a kill every ~%.1f s; "
                   "store %s",
                   seed, seed, std::chrono::duration<double>(options.duration).count(),
                   std::chrono::duration<double>(options.kill_every).count(), dir->store().string())
            << std::endl;
  const Clock::time_point start = Clock::now();
  Soak soak(options, *dir, seed);
  const bool passed = soak.run();
  soak.print_summary(passed, seconds_since(start));
  if (passed) dir->remove_if_temporary();
  return passed ? 0 : 1;
}

}  // namespace arbor::soak
