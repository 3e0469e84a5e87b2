// What the schemes' bulk loads share (host/smt/smt_bulk_load.hpp,
// host/verkle/verkle_bulk_load.hpp): their progress callback, the size limit, scratch-file errors
// and the last stage, ingestion through storage::TreeLoader.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "storage/store.hpp"
#include "storage/tree_loader.hpp"

namespace arbor::tree {

// Called as a load advances: a stage's name, its steps done and its steps in all.
using LoadProgress =
    std::function<void(std::string_view stage, std::uint64_t done, std::uint64_t total)>;

// The loads index their keys in 32 bits: INVALID_ARGUMENT from 2^32 keys on.
absl::Status check_load_size(std::uint64_t keys);

// INTERNAL naming a scratch file and errno's reason.
absl::Status scratch_error(std::string_view what, const std::string& path);

struct Ingested {
  storage::TreeInfo tree;
  double ingest_ms = 0;
  std::uint64_t file_bytes = 0;  // of all the files ingested
};
// The last stage: ingests everything added with the first version, as stage "ingesting" (0..1).
absl::StatusOr<Ingested> ingest_load(storage::TreeLoader& loader,
                                     const storage::TreeLoader::FirstVersion& first,
                                     const LoadProgress& progress);

}  // namespace arbor::tree
