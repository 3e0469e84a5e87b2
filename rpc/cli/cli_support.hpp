// What every `arbor` command shares: exit codes, error reporting, whole-file input and output,
// the progress bar of bulk loads.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/support/status.h"

namespace arbor::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRejected = 1;  // rejected input, invalid proof, absent key
inline constexpr int kExitFailure = 2;   // could not run (I/O, server unreachable, corruption)

int fail(int code, const std::string& message);
int fail(int code, const char* message);
int fail(int code, absl::string_view message);  // absl's is not std::string_view here
// Errors a caller could fix by changing the request exit 1; the rest 2.
int status_exit(const absl::Status& status);
int grpc_exit(const grpc::Status& status);

// The whole of a file, or of stdin for "-"; UNAVAILABLE naming the file when it cannot be read
// (a directory, missing, unreadable).
absl::StatusOr<std::string> read_whole_input(const std::string& path);
// `bytes` to the file `path` (truncated), or to stdout for "" or "-". Exit code: 0, or 2 with a
// message when it cannot be written.
int write_whole_output(const std::string& path, const std::string& bytes);

// A one-line progress bar on stderr (rate and ETA), redrawn at most 10 times a second.
class ProgressBar {
 public:
  // `unit` names what is counted ("ops", "versions").
  ProgressBar(std::string what, std::uint64_t total, bool enabled, std::string unit = "ops");
  ~ProgressBar();
  void update(std::uint64_t done);
  void finish();

 private:
  void draw(bool final_line);
  std::string what_;
  std::string unit_;
  std::uint64_t total_;
  std::uint64_t done_ = 0;
  bool enabled_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point drawn_{};
};

// One progress bar at a time for work in stages (a load's stages, a migration's trees): a new
// name finishes the current bar and starts the next.
class StagedProgress {
 public:
  explicit StagedProgress(bool enabled) : enabled_(enabled) {}
  void update(std::string_view stage, std::uint64_t done, std::uint64_t total,
              std::string_view unit);
  void finish() {
    if (bar_) bar_->finish();
  }

 private:
  bool enabled_;
  std::string stage_;
  std::unique_ptr<ProgressBar> bar_;
};

}  // namespace arbor::cli
