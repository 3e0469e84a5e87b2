// RocksDB statuses as absl::Status for the store's callers (internal to storage/).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "rocksdb/status.h"

namespace arbor::storage {

inline std::string text(const rocksdb::Status& status) { return status.ToString(); }

// "<context>: <RocksDB's text>" with the code a caller can act on: NOT_FOUND, DATA_LOSS
// (corruption), INVALID_ARGUMENT, RESOURCE_EXHAUSTED (no space), FAILED_PRECONDITION (the
// database is locked by another process), PERMISSION_DENIED, UNAVAILABLE (other I/O errors, busy),
// UNIMPLEMENTED, INTERNAL.
absl::Status to_status(const rocksdb::Status& status, std::string_view context);

}  // namespace arbor::storage
