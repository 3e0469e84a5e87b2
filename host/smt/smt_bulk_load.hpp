// Bulk load of an SMT: a new tree whose first version is a whole state, its pages built bottom-up
// and ingested as SST files (storage/tree_loader.hpp) instead of applied as batches.
//
// The state is sorted twice: by key, which is the order of the value records, and by path (bit 0
// first), in which every subtree's keys are contiguous. A key's leaf sits one below the longest
// run of low bits it shares with its neighbours in path order. The tree is then hashed level by
// level from the deepest leaf up, each level's leaves and internal nodes in backend jobs of up to
// 2^20 hashes; every node goes to its page row as it is made (internal nodes' records to a
// scratch file per row). Each row is then sorted into store order (the pages' root paths as
// big-endian integers) and written as page records, shallowest row first. The result is the
// tree SmtTree::apply would build from the same keys in one batch, record for record.
//
// Memory: the state (64 bytes per key), 12 bytes per node placed (~2.4 nodes a key) and the level
// being built; the internal records wait in scratch files on the store's disk. A 10^8-key load
// peaked at 15 GB resident here (bench/RESULTS.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "host/backend/compute_backend.hpp"
#include "host/smt/smt_tree.hpp"
#include "host/tree/bulk_load.hpp"
#include "storage/store.hpp"

namespace arbor::smt {

struct SmtLoadEntry {
  KeyBits key{};  // the key as its canonical limbs (key_bits)
  Fr value = Fr::zero();
};
inline SmtLoadEntry load_entry(const Fr& key, const Fr& value) { return {key_bits(key), value}; }

struct SmtLoadOptions {
  SmtCreateOptions create;  // the new tree's depth, page levels, retention and base version
  std::string label;        // the first version's label
  // Called as the load advances: stage "values" (0..1), "hashing" (levels done of all),
  // "pages" (page rows written of all), "ingesting" (0..1).
  tree::LoadProgress progress;
};

struct SmtLoadReport {
  storage::TreeInfo tree;
  Fr root = Fr::zero();
  std::uint64_t keys = 0;
  std::uint64_t leaf_hashes = 0;
  std::uint64_t node_hashes = 0;
  std::uint64_t pages = 0;
  std::uint64_t file_bytes = 0;  // SST bytes ingested
  double sort_ms = 0;            // both sorts and the value records
  double hash_ms = 0;            // the backend's share of the build
  double build_ms = 0;           // the level-by-level build, hashing included
  double pages_ms = 0;           // sorting the rows and writing the page records
  double ingest_ms = 0;
};

// Creates tree `name` holding `entries` as its first version (options.create.base_version).
// INVALID_ARGUMENT when a key appears twice; OUT_OF_RANGE when two keys share their lowest
// max_depth bits; ALREADY_EXISTS when the name is taken. On any error no tree is created.
absl::StatusOr<SmtLoadReport> load_smt(storage::Store& store, const std::string& name,
                                       std::vector<SmtLoadEntry> entries,
                                       host::ComputeBackend& backend,
                                       const SmtLoadOptions& options = {});

}  // namespace arbor::smt
