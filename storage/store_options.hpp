// How a Store is opened: durability, compression, caches. Parsed from config text by the service.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace arbor::storage {

// What a commit waits for before it returns. See storage/README.md for what each can lose.
enum class SyncMode {
  kNone,   // no write-ahead log: commits live in memory until RocksDB flushes a memtable
  kAsync,  // WAL written on every commit, fsynced by a background thread every sync_interval_ms
  kFull,   // WAL fsynced before every commit returns
};

enum class Compression {
  kLz4Zstd,  // LZ4 on the upper levels, ZSTD on the bottom level (where most data lives)
  kLz4,
  kZstd,
  kNone,
};

struct StoreOptions {
  SyncMode sync = SyncMode::kFull;
  // Upper bound on how long an acknowledged commit can stay un-fsynced in kAsync mode.
  uint32_t async_sync_interval_ms = 1000;
  Compression compression = Compression::kLz4Zstd;
  uint64_t block_cache_bytes = 256ull << 20;
  // -1: RocksDB keeps every SST file open.
  int max_open_files = 1024;
  // Per column family; RocksDB flushes a memtable when it reaches this size.
  uint64_t write_buffer_bytes = 64ull << 20;
  bool create_if_missing = true;
  // Check on open that every tree's head version has its root record and all of its records.
  // Costs one read per record of each tree's last commit.
  bool verify_heads_on_open = true;
  // When a commit pushes a tree past its retention (keep_versions), drop the oldest versions'
  // records on a background thread. Off: space is reclaimed only by an explicit prune().
  bool background_cleanup = true;
  // Store::open_read_only only, for `arbor migrate` (host/tree/migrate.hpp): open a store of the
  // previous format (kPreviousFormatVersion) and refuse one of the current format. Its values,
  // version records and journals read as in the current format; its schemes' node records do not.
  bool migration_source = false;
};

std::string_view to_string(SyncMode mode);
std::string_view to_string(Compression compression);
// "none" | "async" | "full"
absl::StatusOr<SyncMode> parse_sync_mode(std::string_view text);
// "lz4+zstd" (default) | "lz4" | "zstd" | "none"
absl::StatusOr<Compression> parse_compression(std::string_view text);

}  // namespace arbor::storage
