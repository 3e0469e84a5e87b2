#include "storage/write_health.hpp"

#include <ctime>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"
#include "storage/rocks_status.hpp"

namespace arbor::storage {
namespace {

std::string utc_text(std::chrono::system_clock::time_point when) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(when);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return buffer;
}

}  // namespace

WriteHealth::State WriteHealth::classify(const rocksdb::Status& failed) const {
  if (failed.IsNoSpace()) return State::kDiskFull;
  // Only I/O errors stop RocksDB's writes; the rest (bad arguments, shutdown) say nothing of the
  // disk.
  if (failed.IsIOError() || failed.IsCorruption()) return State::kFailed;
  return State::kHealthy;
}

absl::Status WriteHealth::check_before_write() const {
  std::lock_guard lock(mutex_);
  if (state_ != State::kFailed) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("the store in ", directory_, " failed at ", utc_text(since_), " (", cause_,
                   ") and takes no writes until it is reopened (restart arbord): not applied"));
}

absl::Status WriteHealth::on_failure(const rocksdb::Status& failed, std::string_view context) {
  const State state = classify(failed);
  if (state == State::kHealthy) return to_status(failed, context);
  std::lock_guard lock(mutex_);
  ++failures_;
  // A full disk can turn into a failure; a failure stays until the store is reopened.
  if (state_ == State::kHealthy || (state_ == State::kDiskFull && state == State::kFailed)) {
    state_ = state;
    cause_ = text(failed);
    since_ = std::chrono::system_clock::now();
    spdlog::error("the store in {} {}: {}", directory_,
                  state == State::kDiskFull
                      ? "is out of disk space; writes are refused until space is freed"
                      : "failed; it takes no writes until it is reopened",
                  cause_);
  }
  if (state == State::kDiskFull) {
    return absl::ResourceExhaustedError(absl::StrCat(
        std::string(context), ": the disk holding ", directory_, " is full (", text(failed),
        "): not applied; writes resume within seconds of space being "
        "freed"));
  }
  return absl::UnavailableError(absl::StrCat(
      std::string(context), ": the store could not write (", text(failed),
      "): the outcome is unknown until the store is reopened (restart arbord), then read the tree "
      "or retry with the same idempotency key"));
}

void WriteHealth::on_success() {
  std::lock_guard lock(mutex_);
  if (state_ != State::kDiskFull) return;
  state_ = State::kHealthy;
  spdlog::info("the store in {} takes writes again (out of disk space since {})", directory_,
               utc_text(since_));
}

void WriteHealth::on_background_failure(const rocksdb::Status& failed, std::string_view context) {
  (void)on_failure(failed, context);  // no caller to answer; the state change is logged
}

absl::Status WriteHealth::status() const {
  {
    std::lock_guard lock(mutex_);
    if (state_ == State::kHealthy) return absl::OkStatus();
    if (state_ == State::kDiskFull) {
      return absl::ResourceExhaustedError(absl::StrCat("the disk holding ", directory_,
                                                       " is full since ", utc_text(since_), " (",
                                                       cause_, "): writes are refused"));
    }
  }
  return check_before_write();
}

uint64_t WriteHealth::failures() const {
  std::lock_guard lock(mutex_);
  return failures_;
}

}  // namespace arbor::storage
