// Kills a committing child process with SIGKILL at random moments, many times, and checks after
// each reopen that the store is whole: the head version's records are all there and equal to what
// the workload wrote, every commit the child reported is present (sync full and async: a process
// crash loses nothing acknowledged), and nothing of a batch beyond the head is visible.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "storage/store.hpp"
#include "tests/crash/crash_workload.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::crash {
namespace {

using arbor::testing::TempDir;
using storage::Space;

// The child process, its stdout read line by line.
class Child {
 public:
  Child(const std::filesystem::path& dir, uint64_t seed, std::string_view sync) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    std::string program = ARBOR_CRASH_CHILD;
    std::string dir_arg = dir.string();
    std::string seed_arg = std::to_string(seed);
    std::string sync_arg(sync);
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      char* args[] = {program.data(), dir_arg.data(), seed_arg.data(), sync_arg.data(), nullptr};
      execv(program.c_str(), args);
      _exit(127);
    }
    close(fds[1]);
    out_ = fds[0];
  }
  ~Child() {
    if (pid_ > 0) kill_now();
    if (out_ >= 0) close(out_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Reads lines for up to `wait`; returns false at end of stream.
  bool read_for(std::chrono::milliseconds wait) {
    auto deadline = std::chrono::steady_clock::now() + wait;
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return true;
      pollfd poll_fd{out_, POLLIN, 0};
      int ready = poll(&poll_fd, 1, static_cast<int>(left.count()));
      if (ready <= 0) continue;
      char chunk[4096];
      ssize_t got = read(out_, chunk, sizeof chunk);
      if (got <= 0) return false;
      pending_.append(chunk, static_cast<size_t>(got));
      size_t newline;
      while ((newline = pending_.find('\n')) != std::string::npos) {
        lines_.push_back(pending_.substr(0, newline));
        pending_.erase(0, newline + 1);
      }
    }
  }

  // SIGKILL, then collect whatever it had written before dying.
  int kill_now() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    while (read_for(std::chrono::milliseconds(50))) {
    }
    return status;
  }

  const std::vector<std::string>& lines() const { return lines_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string pending_;
  std::vector<std::string> lines_;
};

int rounds() {
  if (const char* text = std::getenv("ARBOR_CRASH_ROUNDS")) return std::max(1, std::atoi(text));
  return 20;
}

void expect_version_matches(const storage::Store& store, uint64_t seed, uint64_t version,
                            const WorkloadModel& model) {
  auto view = store.view(kTree, version);
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ(view->version().root, version_root(seed, version));
  std::vector<std::string> keys;
  for (uint64_t k = 0; k < kKeySpace + 4; ++k) keys.push_back(workload_key(k));
  for (Space space : {Space::kNodes, Space::kValues}) {
    const auto& expected = model.spaces[static_cast<int>(space)];
    auto values = view->get_many(space, keys);
    ASSERT_TRUE(values.ok()) << values.status();
    size_t mismatches = 0;
    for (size_t k = 0; k < keys.size(); ++k) {
      auto found = expected.find(keys[k]);
      std::optional<std::string> want;
      if (found != expected.end()) want = found->second;
      if ((*values)[k] != want) ++mismatches;
    }
    EXPECT_EQ(mismatches, 0u) << "version " << version << ", " << storage::to_string(space);
    size_t live = 0;
    ASSERT_TRUE(view->scan(space, "",
                           [&](std::string_view, std::string_view) {
                             ++live;
                             return true;
                           })
                    .ok());
    EXPECT_EQ(live, expected.size()) << "version " << version;
  }
}

class StoreCrashTest : public ::testing::TestWithParam<std::string> {};

TEST_P(StoreCrashTest, KilledMidCommitReopensWhole) {
  const std::string sync = GetParam();
  const bool keeps_acknowledged = sync != "none";
  auto rng = arbor::testing::seeded_rng("store crash");
  const uint64_t seed = rng() % 1000000;
  TempDir dir("crash");
  auto data = dir / "data";
  WorkloadModel head_model;
  uint64_t acknowledged = 0;  // highest version any child reported
  int kills_mid_run = 0;
  uint64_t lost_commits = 0;  // reported, then gone after the crash (sync none only)

  for (int round = 0; round < rounds(); ++round) {
    SCOPED_TRACE("round " + std::to_string(round) + ", sync " + sync);
    uint64_t reported = 0;
    {
      Child child(data, seed, sync);
      // Wait for it to open, let it commit for a random while, then kill it.
      auto started = std::chrono::steady_clock::now();
      while (child.lines().empty() &&
             std::chrono::steady_clock::now() - started < std::chrono::seconds(30)) {
        if (!child.read_for(std::chrono::milliseconds(20))) break;
      }
      ASSERT_FALSE(child.lines().empty()) << "the child never opened the store";
      ASSERT_EQ(child.lines()[0].rfind("ready", 0), 0u) << child.lines()[0];
      child.read_for(std::chrono::milliseconds(rng() % 250));
      int status = child.kill_now();
      ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
          << "the child exited by itself (status " << status << ")";
      ++kills_mid_run;
      for (const auto& line : child.lines()) {
        if (line.rfind("committed ", 0) == 0) reported = std::stoull(line.substr(10));
      }
    }
    acknowledged = std::max(acknowledged, reported);

    auto store = storage::Store::open(data);
    ASSERT_TRUE(store.ok()) << store.status();
    auto info = (*store)->tree_info(kTree);
    ASSERT_TRUE(info.ok()) << info.status();
    const uint64_t head = info->head_version;
    if (keeps_acknowledged) {
      ASSERT_GE(head, acknowledged) << "a reported commit was lost";
    }
    // At most the batch in flight at the kill landed, and then all of it (checked below).
    ASSERT_LE(head, std::max(reported, head_model.version) + 1);
    EXPECT_EQ((*store)->view(kTree, head + 1).status().code(), absl::StatusCode::kOutOfRange);

    if (head < acknowledged) lost_commits += acknowledged - head;
    if (head < head_model.version) head_model = WorkloadModel();  // sync none lost commits
    head_model.advance_to(seed, head);
    expect_version_matches(**store, seed, head, head_model);

    auto versions = (*store)->versions(kTree);
    ASSERT_TRUE(versions.ok());
    ASSERT_EQ(versions->size(), head - info->oldest_version + 1);
    for (const auto& record : *versions) {
      EXPECT_EQ(record.root, version_root(seed, record.version));
      EXPECT_EQ(record.label, record.version == 0 ? "" : std::to_string(record.version));
    }
    if (round % 5 == 4 && info->oldest_version < head) {
      WorkloadModel older;
      older.advance_to(seed, info->oldest_version);
      expect_version_matches(**store, seed, info->oldest_version, older);
    }
    if (!keeps_acknowledged) acknowledged = head;
  }
  std::printf("sync %s: %d kills, reached version %llu, %llu reported commits lost\n", sync.c_str(),
              kills_mid_run, static_cast<unsigned long long>(head_model.version),
              static_cast<unsigned long long>(lost_commits));
  if (keeps_acknowledged) {
    EXPECT_GT(head_model.version, static_cast<uint64_t>(rounds()));
  }
}

INSTANTIATE_TEST_SUITE_P(SyncModes, StoreCrashTest, ::testing::Values("full", "async", "none"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace arbor::crash
