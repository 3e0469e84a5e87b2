// Bulk load of a Verkle tree: a new tree whose first version is a whole state, its nodes built
// bottom-up and ingested as SST files (storage/tree_loader.hpp) instead of applied as batches.
//
// The state is sorted by key, which groups each stem's values in suffix order and is also the
// order of the value records and of the node records of each depth. A stem's leaf sits one below
// the longest prefix (in bytes) it shares with either neighbour. Leaf commitments are computed
// in chunks of stems (C1/C2 from the values, one batched map-to-field, C, another map), then the
// internal nodes depth by depth from the deepest: each groups the nodes one level below that share
// its path. Every record goes to a scratch file of its depth and kind, already in key order; the
// files are then merged into the store shallowest depth first. The result is the tree
// VerkleTree::apply builds from the same keys in one batch, record for record.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "host/backend/compute_backend.hpp"
#include "host/tree/bulk_load.hpp"
#include "host/verkle/verkle_tree.hpp"
#include "storage/store.hpp"

namespace arbor::verkle {

struct VerkleLoadEntry {
  Key32 key{};
  Value32 value{};
};

struct VerkleLoadOptions {
  VerkleCreateOptions create;  // retention and base version of the new tree
  std::string label;           // the first version's label
  // Called as the load advances: stage "values" (0..1), "leaves" (stems done of all),
  // "internal" (depths done of all), "nodes" (depths written of all), "ingesting" (0..1).
  tree::LoadProgress progress;
};

struct VerkleLoadReport {
  storage::TreeInfo tree;
  RootCommitment root{};
  std::uint64_t keys = 0;
  std::uint64_t stems = 0;
  std::uint64_t internal_nodes = 0;
  std::uint64_t commitment_deltas = 0;  // fixed-base multiplications
  std::uint64_t file_bytes = 0;         // SST bytes ingested
  double sort_ms = 0;                   // the sort and the value records
  double math_ms = 0;                   // the backend's share of the build
  double build_ms = 0;                  // leaves and internal nodes, math included
  double nodes_ms = 0;                  // merging the scratch files into the store's files
  double ingest_ms = 0;
};

// Creates tree `name` holding `entries` as its first version (options.create.base_version).
// INVALID_ARGUMENT when a key appears twice; ALREADY_EXISTS when the name is taken. On any error
// no tree is created.
absl::StatusOr<VerkleLoadReport> load_verkle(storage::Store& store, const std::string& name,
                                             std::vector<VerkleLoadEntry> entries,
                                             host::ComputeBackend& backend,
                                             const VerkleLoadOptions& options = {});

}  // namespace arbor::verkle
