// RocksDB's info log through spdlog (internal to storage/), instead of a LOG file in the data
// directory. On a full or read-only disk that file fails like every other, and Debian's
// librocksdb (built with assertions) aborts the process on the next log line after a failed one;
// spdlog writes to stderr, so RocksDB's own account of a disk fault reaches the operator too.
// Levels: RocksDB's debug and info lines are spdlog trace and debug, warnings and errors keep
// their level, fatal lines are critical.
#pragma once

#include <memory>

#include "rocksdb/env.h"

namespace arbor::storage {

std::shared_ptr<rocksdb::Logger> make_spdlog_rocks_logger();

}  // namespace arbor::storage
