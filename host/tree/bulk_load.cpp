#include "host/tree/bulk_load.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "host/tree/tree.hpp"

namespace arbor::tree {

absl::Status check_load_size(std::uint64_t keys) {
  if (keys >= (std::uint64_t{1} << 32)) {
    return absl::InvalidArgumentError(
        absl::StrCat("a bulk load takes fewer than 2^32 keys, not ", keys));
  }
  return absl::OkStatus();
}

absl::Status scratch_error(std::string_view what, const std::string& path) {
  return absl::InternalError(
      absl::StrCat(std::string(what), " scratch file ", path, ": ", std::strerror(errno)));
}

absl::StatusOr<Ingested> ingest_load(storage::TreeLoader& loader,
                                     const storage::TreeLoader::FirstVersion& first,
                                     const LoadProgress& progress) {
  if (progress) progress("ingesting", 0, 1);
  const auto started = std::chrono::steady_clock::now();
  absl::StatusOr<storage::TreeInfo> tree = loader.finish(first);
  if (!tree.ok()) return tree.status();
  Ingested ingested{std::move(*tree), ms_since(started), loader.file_bytes()};
  if (progress) progress("ingesting", 1, 1);
  return ingested;
}

}  // namespace arbor::tree
