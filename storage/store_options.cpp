#include "storage/store_options.hpp"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace arbor::storage {

std::string_view to_string(SyncMode mode) {
  switch (mode) {
    case SyncMode::kNone:
      return "none";
    case SyncMode::kAsync:
      return "async";
    case SyncMode::kFull:
      return "full";
  }
  return "?";
}

std::string_view to_string(Compression compression) {
  switch (compression) {
    case Compression::kLz4Zstd:
      return "lz4+zstd";
    case Compression::kLz4:
      return "lz4";
    case Compression::kZstd:
      return "zstd";
    case Compression::kNone:
      return "none";
  }
  return "?";
}

absl::StatusOr<SyncMode> parse_sync_mode(std::string_view text) {
  for (SyncMode mode : {SyncMode::kNone, SyncMode::kAsync, SyncMode::kFull}) {
    if (text == to_string(mode)) return mode;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("sync mode '", std::string(text), "' is not one of none, async, full"));
}

absl::StatusOr<Compression> parse_compression(std::string_view text) {
  for (Compression compression :
       {Compression::kLz4Zstd, Compression::kLz4, Compression::kZstd, Compression::kNone}) {
    if (text == to_string(compression)) return compression;
  }
  return absl::InvalidArgumentError(absl::StrCat("compression '", std::string(text),
                                                 "' is not one of lz4+zstd, lz4, zstd, none"));
}

}  // namespace arbor::storage
