// `arbor migrate`: rewrites a data directory of the previous store format (2) into the current
// one (3) in a new directory.
//
// Format 3 stores SMT nodes as pages (host/smt/node_pages.hpp), so format-2 node records cannot
// be read in place. The migration replays each tree instead, through the tree's own apply:
// - the state at the tree's oldest retained version is written as that version (the new tree is
//   created one version below it), then every later retained version is applied from the values
//   its journal names, with the label, commit time and idempotent-write identities it had;
// - every replayed version must come out with the source's root (tree::ApplyOptions::expected_root)
//   and key count, or the migration stops with DATA_LOSS and commits nothing of that version;
// - the replication log position is carried over; a store holding changes the log does not have
//   yet (replication.ack = "leader") is refused, because their entries would be lost.
// The source is opened read-only and never changed. The new directory is built beside the target
// as `<to>.migrating` and renamed to `to` only once complete and reopened with every head
// verified, so an interrupted migration leaves no half-written `to`; running it again starts over.
// Its cost is rebuilding every retained version: the hashing of the whole state once, plus each
// later version's writes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string_view>

#include "absl/status/statusor.h"
#include "host/backend/compute_backend.hpp"
#include "storage/store_options.hpp"

namespace arbor::tree {

struct MigrateOptions {
  storage::StoreOptions store;  // how the new directory is written and opened
  // Called after each version of a tree is written: how many of its retained versions are done.
  std::function<void(std::string_view tree, std::uint64_t done, std::uint64_t total)> progress;
};

struct MigrateReport {
  std::uint64_t trees = 0;
  std::uint64_t versions = 0;  // versions written, over all trees
  std::uint64_t keys = 0;      // keys at the heads, over all trees
};

// FAILED_PRECONDITION when `from` is not a store of the previous format (one of the current
// format needs no migration) or `to` exists.
absl::StatusOr<MigrateReport> migrate_store(const std::filesystem::path& from,
                                            const std::filesystem::path& to,
                                            host::ComputeBackend& backend,
                                            const MigrateOptions& options = {});

}  // namespace arbor::tree
