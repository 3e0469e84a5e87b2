// Kills `arbor load` with SIGKILL at moments spread over its stages (reading, sorting, hashing,
// writing pages, ingesting) and checks after each reopen that the tree is absent or whole: its
// root and size are those of a complete load, its head verifies, and no scratch files are left.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "host/smt/smt_records.hpp"
#include "storage/store.hpp"
#include "storage/tree_loader.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::crash {
namespace {

using arbor::testing::TempDir;
using Clock = std::chrono::steady_clock;

constexpr int kKeys = 300000;

// Runs `arbor load DIR accounts FILE --format binary`; kills it after `kill_after` unless it ends
// first. Its exit status, or -SIGKILL.
int run_load(const std::filesystem::path& dir, const std::filesystem::path& file,
             std::optional<std::chrono::milliseconds> kill_after) {
  std::string program = std::string(ARBOR_BIN_DIR) + "/arbor";
  std::string dir_arg = dir.string(), file_arg = file.string();
  std::string load = "load", tree = "accounts", format = "--format", binary = "binary";
  std::string backend = "--backend", cpu = "cpu";
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    char* args[] = {program.data(), load.data(),   dir_arg.data(), tree.data(), file_arg.data(),
                    format.data(),  binary.data(), backend.data(), cpu.data(),  nullptr};
    execv(program.c_str(), args);
    _exit(127);
  }
  const Clock::time_point deadline = Clock::now() + kill_after.value_or(std::chrono::minutes(5));
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (Clock::now() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

TEST(LoadCrashTest, AKilledLoadLeavesTheTreeWholeOrAbsent) {
  TempDir dir("load-crash");
  auto rng = testing::seeded_rng("AKilledLoadLeavesTheTreeWholeOrAbsent");
  const auto file = dir.path() / "state.bin";
  {
    std::ofstream out(file, std::ios::binary);
    for (int i = 0; i < kKeys; ++i) {
      out << smt::fr_bytes(testing::random_fr(rng)) << smt::fr_bytes(testing::random_fr(rng));
    }
  }
  // A complete load: the root and its duration.
  const auto reference_dir = dir.path() / "reference";
  const Clock::time_point started = Clock::now();
  ASSERT_EQ(run_load(reference_dir, file, std::nullopt), 0);
  const auto full = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  std::string root;
  {
    auto store = storage::Store::open_read_only(reference_dir);
    ASSERT_TRUE(store.ok()) << store.status();
    auto info = (*store)->tree_info("accounts");
    ASSERT_TRUE(info.ok());
    root = info->head_root;
  }
  std::printf("a complete load of %d keys takes %lld ms\n", kKeys,
              static_cast<long long>(full.count()));

  const auto data = dir.path() / "data";
  int whole = 0, absent = 0;
  constexpr int kKills = 12;
  for (int attempt = 0; attempt < kKills; ++attempt) {
    // From the start to past the end: every stage gets its share of kills, and the last ones
    // usually let the load finish.
    const auto after = std::chrono::milliseconds(full.count() * (attempt + 1) / (kKills - 2));
    const int status = run_load(data, file, after);
    auto store = storage::Store::open(data);  // verifies every head
    ASSERT_TRUE(store.ok()) << "after a kill at " << after.count() << " ms: " << store.status();
    EXPECT_FALSE(std::filesystem::exists(data / storage::kLoadDirectoryName));
    auto info = (*store)->tree_info("accounts");
    if (info.ok()) {
      ++whole;
      EXPECT_EQ(info->head_root, root) << "after a kill at " << after.count() << " ms";
      auto versions = (*store)->versions("accounts");
      ASSERT_TRUE(versions.ok());
      EXPECT_EQ(versions->back().entry_count, static_cast<std::uint64_t>(kKeys));
      auto view = (*store)->view("accounts");
      ASSERT_TRUE(view.ok());
      std::uint64_t values = 0;
      ASSERT_TRUE(view->scan(storage::Space::kValues, "",
                             [&](std::string_view, std::string_view) {
                               ++values;
                               return true;
                             })
                      .ok());
      EXPECT_EQ(values, static_cast<std::uint64_t>(kKeys));
      EXPECT_EQ(status == 0 || status == -SIGKILL, true) << status;
      ASSERT_TRUE((*store)->drop_tree("accounts").ok());
    } else {
      ++absent;
      EXPECT_EQ(info.status().code(), absl::StatusCode::kNotFound);
      EXPECT_EQ(status, -SIGKILL);
    }
  }
  std::printf("%d kills: %d loads whole, %d absent\n", kKills, whole, absent);
  EXPECT_GT(absent, 0);
}

}  // namespace
}  // namespace arbor::crash
