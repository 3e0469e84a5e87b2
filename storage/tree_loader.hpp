// Bulk load: a new tree whose first version holds a whole state, written as SST files and
// ingested in one step, instead of commits through the WAL, the memtables and compaction.
//
// A scheme's builder (host/smt/smt_bulk_load.hpp) adds each space's records in strictly
// increasing key order; the loader frames them as store records of the tree's first version and
// cuts them into files of about kLoadFileBytes, which do not overlap, so RocksDB can place them
// in its bottom level. finish() ingests them together with the version record and the registry
// record in one RocksDB IngestExternalFiles call, which is atomic across column families: after
// a crash the tree is there whole or not at all, and the files are durable when it returns, in
// every sync mode.
//
// The first version is the tree's oldest (TreeSpec::base_version): it has no journal and a
// record count of 0, since its records arrived by ingestion and no version below it can be
// rolled back to. Later commits, rollbacks to it and retention work as for any tree.
//
// The files go to DIR/bulk-load/ (also the builder's scratch space: scratch_directory()), which
// the loader removes when it ends, finished or not, and a writable open removes when a crash left
// it behind. One load at a time per store; other trees take commits meanwhile.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "storage/store.hpp"

namespace rocksdb {
class SstFileWriter;
}

namespace arbor::storage {

inline constexpr uint64_t kLoadFileBytes = 64ull << 20;
inline constexpr std::string_view kLoadDirectoryName = "bulk-load";

class StoreCore;

class TreeLoader {
 public:
  struct FirstVersion {
    std::string root;
    std::string root_node_key;  // as CommitRequest's: empty when the tree has no root node
    std::string label;
    uint64_t entry_count = 0;  // the tree's number of keys
  };

  ~TreeLoader();
  TreeLoader(const TreeLoader&) = delete;
  TreeLoader& operator=(const TreeLoader&) = delete;

  // A record of the first version. INVALID_ARGUMENT for a key of the wrong length, one not above
  // the space's previous key, or an oversized value; the load can go on after it.
  absl::Status add(Space space, std::string_view key, std::string_view value);

  // Ingests everything added. ALREADY_EXISTS when a tree of that name appeared meanwhile; after
  // any error nothing of the load is in the store. The loader is spent afterwards.
  absl::StatusOr<TreeInfo> finish(const FirstVersion& version);

  // Where a builder may keep its own temporary files; removed with the loader's.
  const std::filesystem::path& scratch_directory() const { return directory_; }
  uint64_t file_bytes() const { return file_bytes_; }  // of the finished files so far

 private:
  friend class Store;
  struct SpaceFiles;
  TreeLoader(std::shared_ptr<StoreCore> core, TreeSpec spec, std::string ns);
  absl::Status finish_file(SpaceFiles& files);
  absl::StatusOr<std::string> write_single_record_file(int family, std::string_view name,
                                                       std::string_view key,
                                                       std::string_view value);

  std::shared_ptr<StoreCore> core_;
  const TreeSpec spec_;
  const std::string ns_;
  const std::filesystem::path directory_;
  std::unique_ptr<SpaceFiles> files_[2];
  uint64_t file_bytes_ = 0;
  bool spent_ = false;
};

}  // namespace arbor::storage
