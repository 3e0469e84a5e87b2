#include "rpc/cli/cli_support.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "rpc/server/wire.hpp"

namespace arbor::cli {

int fail(int code, const std::string& message) {
  std::cerr << "arbor: " << message << "\n";
  return code;
}

int fail(int code, const char* message) { return fail(code, std::string(message)); }

int fail(int code, absl::string_view message) { return fail(code, std::string(message)); }

absl::StatusOr<std::string> read_whole_input(const std::string& path) {
  std::string bytes;
  if (path == "-") {
    bytes.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    if (std::cin.bad()) return absl::UnavailableError("cannot read stdin");
    return bytes;
  }
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored)) {
    return absl::UnavailableError(absl::StrCat("cannot read ", path, ": it is a directory"));
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) return absl::UnavailableError(absl::StrCat("cannot open ", path));
  try {
    bytes.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
  } catch (const std::ios_base::failure&) {
    file.setstate(std::ios::badbit);
  }
  if (file.bad()) return absl::UnavailableError(absl::StrCat("cannot read ", path));
  return bytes;
}

int write_whole_output(const std::string& path, const std::string& bytes) {
  if (path.empty() || path == "-") {
    std::cout << bytes << std::flush;
    return std::cout ? kExitOk : kExitFailure;
  }
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << bytes;
  file.close();
  if (!file) return fail(kExitFailure, absl::StrCat("cannot write ", path));
  return kExitOk;
}

int status_exit(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kUnimplemented:
      return fail(kExitRejected, std::string(status.message()));
    default:
      return fail(kExitFailure, std::string(status.message()));
  }
}

int grpc_exit(const grpc::Status& status) {
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
      status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return fail(kExitFailure, absl::StrCat("server: ", status.error_message()));
  }
  return status_exit(rpc::from_grpc(status));
}

ProgressBar::ProgressBar(std::string what, std::uint64_t total, bool enabled, std::string unit)
    : what_(std::move(what)), unit_(std::move(unit)), total_(total), enabled_(enabled) {}

ProgressBar::~ProgressBar() { finish(); }

void StagedProgress::update(std::string_view stage, std::uint64_t done, std::uint64_t total,
                            std::string_view unit) {
  if (!bar_ || stage_ != stage) {
    if (bar_) bar_->finish();
    stage_ = std::string(stage);
    bar_ = std::make_unique<ProgressBar>(stage_, total, enabled_, std::string(unit));
  }
  bar_->update(done);
}

void ProgressBar::update(std::uint64_t done) {
  done_ = done;
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - drawn_ < std::chrono::milliseconds(100)) return;
  drawn_ = now;
  draw(false);
}

void ProgressBar::finish() {
  if (finished_) return;
  finished_ = true;
  if (enabled_) draw(true);
}

void ProgressBar::draw(bool final_line) {
  constexpr int kWidth = 30;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  const double fraction = total_ == 0 ? 1.0 : static_cast<double>(done_) / total_;
  const double rate = seconds > 0 ? done_ / seconds : 0;
  const int filled = static_cast<int>(fraction * kWidth);
  std::string bar(filled, '#');
  bar.resize(kWidth, '.');
  std::string eta = "--";
  if (rate > 0 && done_ < total_) eta = absl::StrFormat("%.0fs", (total_ - done_) / rate);
  if (final_line) eta = absl::StrFormat("took %.1fs", seconds);
  std::fprintf(stderr, "\r%s [%s] %3.0f%% %llu/%llu %s  %.0f %s/s  %s   %s", what_.c_str(),
               bar.c_str(), fraction * 100, static_cast<unsigned long long>(done_),
               static_cast<unsigned long long>(total_), unit_.c_str(), rate, unit_.c_str(),
               final_line ? "" : "ETA", eta.c_str());
  if (final_line) std::fputc('\n', stderr);
  std::fflush(stderr);
}

}  // namespace arbor::cli
