// Whether the store can write, after the disk has said no (internal to storage/).
//
// RocksDB stops taking writes after a write, flush or compaction fails (its "background error").
// Two cases differ for a caller:
// - The disk is full (ENOSPC). RocksDB recovers by itself: its SstFileManager checks the free space
//   every 5 s and resumes writes once it exceeds one memtable (StoreOptions::write_buffer_bytes).
//   The failed WAL record was cut short, so the write it carried is not applied.
// - Any other I/O error in a write: a failed fsync (EIO), a read-only file system (EROFS). RocksDB
//   calls it fatal: only reopening the database clears it, and the WAL then decides whether the
//   failed write stays (its record may have reached the file whole before the fsync failed).
// WriteHealth turns each failure into an answer that says which case it is and remembers the state,
// so that every write of a failed store is refused at once and health checks can say why.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "rocksdb/status.h"

namespace arbor::storage {

class WriteHealth {
 public:
  explicit WriteHealth(std::string directory) : directory_(std::move(directory)) {}

  // Before a write: OK, or (once the store has failed) the answer to give without trying.
  absl::Status check_before_write() const;
  // After RocksDB refused a write made for `context` ("committing to tree 'x'"): records the state
  // and returns the caller's answer. RESOURCE_EXHAUSTED for a full disk (not applied), UNAVAILABLE
  // for a failure only a reopen clears (the outcome of this write is decided then).
  absl::Status on_failure(const rocksdb::Status& failed, std::string_view context);
  // After a write went through: a full disk is over.
  void on_success();
  // A failure outside a caller's write (a background WAL sync, a flush): recorded the same way.
  void on_background_failure(const rocksdb::Status& failed, std::string_view context);

  // OK while writes are taken; otherwise what refuses them (the same codes as on_failure).
  absl::Status status() const;
  uint64_t failures() const;

 private:
  enum class State { kHealthy, kDiskFull, kFailed };
  State classify(const rocksdb::Status& failed) const;

  const std::string directory_;
  mutable std::mutex mutex_;
  State state_ ABSL_GUARDED_BY(mutex_) = State::kHealthy;
  std::string cause_ ABSL_GUARDED_BY(mutex_);  // the first failure of the current state
  std::chrono::system_clock::time_point since_ ABSL_GUARDED_BY(mutex_);
  uint64_t failures_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace arbor::storage
