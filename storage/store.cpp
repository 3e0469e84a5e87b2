#include "storage/store.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <numeric>
#include <set>
#include <shared_mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "rocksdb/cache.h"
#include "rocksdb/convenience.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/utilities/table_properties_collectors.h"
#include "rocksdb/write_batch.h"
#include "spdlog/spdlog.h"
#include "storage/latency_histogram.hpp"
#include "storage/record_codec.hpp"
#include "storage/rocks_logger.hpp"
#include "storage/rocks_status.hpp"
#include "storage/store_core.hpp"
#include "storage/tree_loader.hpp"
#include "storage/write_health.hpp"

namespace arbor::storage {
namespace {

// Record keys are ns | key | version(8): the prefix without the version lets bloom filters answer
// "is there any version of this key" and keeps each Seek inside one key's versions.
class StripVersionTransform final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "arbor.StripVersion8"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), key.size() - codec::kVersionBytes);
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return key.size() > codec::kNamespaceBytes + codec::kVersionBytes;
  }
};

// OUT_OF_RANGE unless `version` is between the tree's oldest retained version and its head.
absl::Status check_retained(std::string_view name, const TreeInfo& info, uint64_t version) {
  if (version > info.head_version) {
    return absl::OutOfRangeError(absl::StrCat("tree ", in_quotes(name), " has no version ", version,
                                              "; its head is ", info.head_version));
  }
  if (version < info.oldest_version) {
    return absl::OutOfRangeError(absl::StrCat("version ", version, " of tree ", in_quotes(name),
                                              " was pruned; the oldest retained is ",
                                              info.oldest_version));
  }
  return absl::OkStatus();
}

bool valid_tree_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxTreeNameBytes) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

bool valid_scheme(std::string_view scheme) {
  if (scheme.empty() || scheme.size() > 32) return false;
  return std::all_of(scheme.begin(), scheme.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

rocksdb::CompressionType rocks_compression(Compression compression, bool bottom) {
  switch (compression) {
    case Compression::kLz4Zstd:
      return bottom ? rocksdb::kZSTD : rocksdb::kLZ4Compression;
    case Compression::kLz4:
      return rocksdb::kLZ4Compression;
    case Compression::kZstd:
      return rocksdb::kZSTD;
    case Compression::kNone:
      return rocksdb::kNoCompression;
  }
  return rocksdb::kNoCompression;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// WriteSet

std::string_view to_string(Space space) { return space == Space::kNodes ? "node" : "value"; }

size_t WriteSet::bytes() const {
  size_t total = 0;
  for (const Mutation& mutation : mutations_) total += mutation.key.size() + mutation.value.size();
  return total;
}

void WriteSet::put(Space space, std::string_view key, std::string_view value) {
  mutations_.push_back({space, false, std::string(key), std::string(value)});
}

void WriteSet::erase(Space space, std::string_view key) {
  mutations_.push_back({space, true, std::string(key), {}});
}

// ---------------------------------------------------------------------------------------------
// Opening

namespace {

rocksdb::ColumnFamilyOptions family_options(const StoreOptions& options,
                                            const std::shared_ptr<rocksdb::Cache>& cache,
                                            Family family) {
  rocksdb::ColumnFamilyOptions cf;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.format_version = 5;
  if (family == kNodesFamily || family == kValuesFamily) {
    // Reads Seek to "key at or below version": filter on the key without its version.
    table.whole_key_filtering = false;
    cf.prefix_extractor = std::make_shared<StripVersionTransform>();
    cf.memtable_prefix_bloom_size_ratio = 0.05;
  }
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf.write_buffer_size = options.write_buffer_bytes;
  cf.level_compaction_dynamic_level_bytes = true;
  cf.compression = rocks_compression(options.compression, false);
  cf.bottommost_compression = rocks_compression(options.compression, true);
  // Pruning deletes in runs; compact files that fill up with tombstones instead of waiting.
  cf.table_properties_collector_factories.push_back(
      rocksdb::NewCompactOnDeletionCollectorFactory(64 * 1024, 16 * 1024, 0.5));
  return cf;
}

absl::Status check_compression_supported(Compression compression) {
  auto supported = rocksdb::GetSupportedCompressions();
  for (bool bottom : {false, true}) {
    auto wanted = rocks_compression(compression, bottom);
    if (wanted != rocksdb::kNoCompression &&
        std::find(supported.begin(), supported.end(), wanted) == supported.end()) {
      return absl::InvalidArgumentError(absl::StrCat("compression ",
                                                     std::string(to_string(compression)),
                                                     " is not supported by this RocksDB build"));
    }
  }
  return absl::OkStatus();
}

// Checks that the head version is whole: its version record, its root node, every record its
// commit wrote, and nothing recorded above it.
absl::Status verify_head(const StoreCore& core, const codec::TreeRecord& tree) {
  const TreeInfo& info = tree.info;
  const std::string& ns = tree.ns;
  auto head = core.read_version_record(info.name, ns, info.head_version, nullptr);
  if (!head.ok()) return head.status();
  if (head->root != info.head_root) {
    return absl::DataLossError(
        absl::StrCat("tree ", in_quotes(info.name), ": the root in the record of head version ",
                     info.head_version, " differs from the tree's head root"));
  }
  if (!head->root_node_key.empty()) {
    auto root_node = read_latest(core, Space::kNodes, ns, head->root_node_key, info.head_version);
    if (!root_node.ok()) return root_node.status();
    if (!root_node->has_value()) {
      return absl::DataLossError(absl::StrCat("tree ", in_quotes(info.name),
                                              ": the root node of head version ", info.head_version,
                                              " is missing"));
    }
  }
  uint64_t count = 0;
  std::string value;
  absl::Status walked = core.walk_journal(
      info, ns, info.head_version, info.head_version + 1, nullptr,
      [&](const StoreCore::JournalChunk& chunk) -> absl::StatusOr<bool> {
        for (const auto& entry : chunk.entries) {
          rocksdb::Status got =
              core.db->Get(rocksdb::ReadOptions(), core.family(family_of(entry.space)),
                           slice(codec::record_key(ns, entry.key, info.head_version)), &value);
          if (got.IsNotFound()) {
            return absl::DataLossError(absl::StrCat(
                "tree ", in_quotes(info.name), ": a ", std::string(to_string(entry.space)),
                " record of head version ", info.head_version, " is missing"));
          }
          if (!got.ok()) {
            return to_status(got, absl::StrCat("verifying tree ", in_quotes(info.name)));
          }
          ++count;
        }
        return true;
      });
  if (!walked.ok()) return walked;
  if (info.head_version > 0 && count != head->record_count) {
    return absl::DataLossError(absl::StrCat("tree ", in_quotes(info.name), ": head version ",
                                            info.head_version, " should have ", head->record_count,
                                            " records, found ", count));
  }
  // A version above the head would be a half-applied rollback or a foreign write.
  std::string above = codec::root_key(ns, info.head_version + 1);
  std::string tree_end = codec::prefix_successor(ns);
  rocksdb::Slice above_slice(above), end_slice(tree_end);
  for (Family family : {kRootsFamily, kChangesFamily}) {
    rocksdb::ReadOptions bounded;
    bounded.iterate_upper_bound = &end_slice;
    std::unique_ptr<rocksdb::Iterator> it(core.db->NewIterator(bounded, core.family(family)));
    it->Seek(above_slice);
    if (it->Valid()) {
      return absl::DataLossError(absl::StrCat(
          "tree ", in_quotes(info.name), ": records exist above head version ", info.head_version));
    }
    if (!it->status().ok()) return to_status(it->status(), "verifying the head");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<StoreCore>> open_core(const std::filesystem::path& dir,
                                                     const StoreOptions& options, bool read_only) {
  if (auto supported = check_compression_supported(options.compression); !supported.ok()) {
    return supported;
  }
  if (options.sync == SyncMode::kAsync && options.async_sync_interval_ms == 0) {
    return absl::InvalidArgumentError("async sync interval must be at least 1 ms");
  }
  std::error_code error;
  const std::string where = dir.string();
  if (where.empty()) return absl::InvalidArgumentError("the data directory path is empty");
  bool exists = std::filesystem::exists(dir, error);
  if (error) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot examine data directory ", where, ": ", error.message()));
  }
  if (exists && !std::filesystem::is_directory(dir, error)) {
    return absl::FailedPreconditionError(
        absl::StrCat("data directory ", where, " exists and is not a directory"));
  }
  if (!exists) {
    if (read_only || !options.create_if_missing) {
      return absl::NotFoundError(absl::StrCat("data directory ", where, " does not exist"));
    }
    std::filesystem::create_directories(dir, error);
    if (error) {
      std::string message =
          absl::StrCat("cannot create data directory ", where, ": ", error.message());
      bool denied = error == std::errc::permission_denied ||
                    error == std::errc::operation_not_permitted ||
                    error == std::errc::read_only_file_system;
      return denied ? absl::PermissionDeniedError(message) : absl::FailedPreconditionError(message);
    }
  }
  bool fresh = !std::filesystem::exists(dir / "CURRENT", error);
  if (fresh && (read_only || !options.create_if_missing)) {
    return absl::NotFoundError(absl::StrCat("no Arbor store in ", where));
  }

  auto core = std::make_shared<StoreCore>();
  core->dir = dir;
  core->options = options;
  core->read_only = read_only;
  core->health = std::make_unique<WriteHealth>(where);
  core->cache = rocksdb::NewLRUCache(options.block_cache_bytes);

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = fresh;
  db_options.create_missing_column_families = fresh;
  db_options.paranoid_checks = true;
  // Without a WAL (sync none), only flushing every family together keeps a commit whole.
  db_options.atomic_flush = true;
  db_options.max_open_files = options.max_open_files;
  db_options.info_log = make_spdlog_rocks_logger();  // no LOG file: see rocks_logger.hpp
  db_options.bytes_per_sync = 1 << 20;
  // No preallocation: on a full disk a preallocated WAL takes writes for a while and then fails
  // part-way through a record, and Debian's librocksdb 7.8 (built with assertions) then aborts in
  // its recovery (WritableFileWriter::AssertFalseAndGetStatusForPrevError; seen with SMT pages'
  // ~10 KB commits on a full tmpfs). Without it every write meets ENOSPC at once, and RocksDB
  // resumes by itself once space returns (tests/crash/disk_fault_test.cpp).
  db_options.allow_fallocate = false;
  db_options.IncreaseParallelism(
      static_cast<int>(std::max(2u, std::thread::hardware_concurrency())));

  std::vector<std::string> existing;
  if (!fresh) {
    rocksdb::Status listed =
        rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), where, &existing);
    if (!listed.ok()) return to_status(listed, absl::StrCat("opening ", where));
    std::vector<std::string> missing;
    for (const char* name : kFamilyNames) {
      if (std::find(existing.begin(), existing.end(), name) == existing.end()) {
        missing.push_back(name);
      }
    }
    if (!missing.empty()) {
      std::string list;
      for (const auto& name : missing) absl::StrAppend(&list, list.empty() ? "" : ", ", name);
      return absl::FailedPreconditionError(absl::StrCat(
          where, " holds a RocksDB database that is not an Arbor store (missing column families: ",
          list, ")"));
    }
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (int family = 0; family < kFamilyCount; ++family) {
    descriptors.emplace_back(kFamilyNames[family],
                             family_options(options, core->cache, static_cast<Family>(family)));
  }
  // The default family holds nothing, but its memtable size is what RocksDB's recovery from a full
  // disk waits to have free (the largest of all families'): keep it at ours.
  rocksdb::ColumnFamilyOptions unused_family;
  unused_family.write_buffer_size = options.write_buffer_bytes;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, unused_family);
  for (const auto& name : existing) {
    bool known = name == rocksdb::kDefaultColumnFamilyName ||
                 std::find_if(kFamilyNames.begin(), kFamilyNames.end(),
                              [&](const char* ours) { return name == ours; }) != kFamilyNames.end();
    if (!known) descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  }

  rocksdb::DB* raw = nullptr;
  rocksdb::Status opened =
      read_only ? rocksdb::DB::OpenForReadOnly(db_options, where, descriptors, &core->handles, &raw)
                : rocksdb::DB::Open(db_options, where, descriptors, &core->handles, &raw);
  if (!opened.ok()) return to_status(opened, absl::StrCat("opening ", where));
  core->db.reset(raw);

  switch (options.sync) {
    case SyncMode::kNone:
      core->write_options.disableWAL = true;
      break;
    case SyncMode::kAsync:
      core->write_options.sync = false;
      break;
    case SyncMode::kFull:
      core->write_options.sync = true;
      break;
  }

  // The format record marks the directory as ours; a database without one that is otherwise
  // empty is a creation that crashed before writing it.
  std::string format_bytes;
  rocksdb::Status got = core->db->Get(rocksdb::ReadOptions(), core->family(kMetaFamily),
                                      slice(codec::kFormatKey), &format_bytes);
  if (got.IsNotFound()) {
    std::unique_ptr<rocksdb::Iterator> any(
        core->db->NewIterator(rocksdb::ReadOptions(), core->family(kMetaFamily)));
    any->SeekToFirst();
    if (any->Valid() || read_only) {
      return absl::FailedPreconditionError(
          absl::StrCat(where, " is not an Arbor store (it has no format record)"));
    }
    rocksdb::WriteBatch batch;
    batch.Put(core->family(kMetaFamily), slice(codec::kFormatKey),
              codec::encode_format_record(kFormatVersion));
    rocksdb::WriteOptions durable;
    durable.sync = true;
    rocksdb::Status written = core->db->Write(durable, &batch);
    if (!written.ok()) return to_status(written, absl::StrCat("initialising ", where));
  } else if (!got.ok()) {
    return to_status(got, absl::StrCat("opening ", where));
  } else {
    auto format = codec::decode_format_record(format_bytes);
    if (!format.ok()) {
      return absl::DataLossError(absl::StrCat(where, ": ", std::string(format.status().message())));
    }
    const bool migrating = options.migration_source && read_only;
    if (migrating && *format == kFormatVersion) {
      return absl::FailedPreconditionError(absl::StrCat(where, " is already in store format ",
                                                        kFormatVersion, "; it needs no migration"));
    }
    if (*format == kPreviousFormatVersion && !migrating) {
      return absl::FailedPreconditionError(absl::StrCat(
          where, " was written in store format ", *format, "; this build reads format ",
          kFormatVersion, ". Rewrite it with `arbor migrate ", where,
          " NEW_DIR` (the directory is left as it is) and open NEW_DIR"));
    }
    if (*format != kFormatVersion && *format != kPreviousFormatVersion) {
      return absl::FailedPreconditionError(absl::StrCat(
          where, " was written in store format ", *format, "; this build reads format ",
          kFormatVersion, *format < kPreviousFormatVersion ? "" : " (a newer build wrote it)",
          migrating ? absl::StrCat(" and migrates format ", kPreviousFormatVersion) : ""));
    }
  }

  // The registry.
  std::unique_ptr<rocksdb::Iterator> it(
      core->db->NewIterator(rocksdb::ReadOptions(), core->family(kMetaFamily)));
  std::string prefix(codec::kTreeKeyPrefix);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    std::string name(view_of(it->key()).substr(prefix.size()));
    auto record = codec::decode_tree_record(view_of(it->value()));
    if (!record.ok()) {
      return absl::DataLossError(absl::StrCat(where, ": tree ", in_quotes(name), ": ",
                                              std::string(record.status().message())));
    }
    if (record->info.name != name || record->ns != codec::tree_namespace(name)) {
      return absl::DataLossError(absl::StrCat(where, ": the registry entry of tree ",
                                              in_quotes(name), " names another tree"));
    }
    if (options.verify_heads_on_open) {
      if (auto verified = verify_head(*core, *record); !verified.ok()) {
        return absl::Status(verified.code(),
                            absl::StrCat(where, ": ", std::string(verified.message())));
      }
    }
    auto state = std::make_shared<TreeState>();
    state->ns = record->ns;
    state->info = std::move(record->info);
    core->trees.emplace(name, std::move(state));
  }
  if (!it->status().ok())
    return to_status(it->status(), absl::StrCat("reading the registry of ", where));
  return core;
}

}  // namespace

Store::Store(std::shared_ptr<StoreCore> core) : core_(std::move(core)) {
  StoreCore* core_ptr = core_.get();
  if (core_->read_only) return;
  core_->worker = std::thread([core_ptr] { core_ptr->run_worker(); });
  if (core_->options.sync == SyncMode::kAsync) {
    core_->wal_syncer = std::thread([core_ptr] {
      std::unique_lock lock(core_ptr->worker_mutex);
      auto interval = std::chrono::milliseconds(core_ptr->options.async_sync_interval_ms);
      while (!core_ptr->syncer_wake.wait_for(lock, interval,
                                             [&] { return core_ptr->stopping.load(); })) {
        lock.unlock();
        rocksdb::Status synced = core_ptr->db->SyncWAL();
        if (!synced.ok()) {
          spdlog::error("syncing the write-ahead log: {}", text(synced));
          core_ptr->health->on_background_failure(synced, "syncing the write-ahead log");
        }
        lock.lock();
      }
    });
  }
  // Resume cleanup that a previous run left unfinished.
  for (const auto& [name, state] : core_->trees) {
    if (state->info.oldest_version > 0) core_->schedule_cleanup(name);
  }
}

Store::~Store() {
  {
    std::lock_guard lock(core_->worker_mutex);
    core_->stopping = true;
  }
  core_->worker_wake.notify_all();
  core_->syncer_wake.notify_all();
  core_->worker_idle.notify_all();
  if (core_->worker.joinable()) core_->worker.join();
  if (core_->wal_syncer.joinable()) core_->wal_syncer.join();
  if (core_->read_only) return;
  if (core_->options.sync == SyncMode::kNone) {
    // Without a WAL, what is still in memtables would be lost at close.
    std::vector<rocksdb::ColumnFamilyHandle*> ours(core_->handles.begin(),
                                                   core_->handles.begin() + kFamilyCount);
    rocksdb::Status flushed = core_->db->Flush(rocksdb::FlushOptions(), ours);
    if (!flushed.ok()) spdlog::error("flushing the store: {}", text(flushed));
  } else if (core_->options.sync == SyncMode::kAsync) {
    rocksdb::Status synced = core_->db->SyncWAL();
    if (!synced.ok()) spdlog::error("syncing the write-ahead log: {}", text(synced));
  }
}

absl::StatusOr<std::unique_ptr<Store>> Store::open(const std::filesystem::path& dir,
                                                   const StoreOptions& options) {
  auto core = open_core(dir, options, false);
  if (!core.ok()) return core.status();
  // What a bulk load that crashed left (storage/tree_loader.hpp): never ingested, so never read.
  std::error_code error;
  std::filesystem::remove_all(dir / kLoadDirectoryName, error);
  if (error) {
    spdlog::warn("removing the unfinished bulk load in {}: {}", dir.string(), error.message());
  }
  return std::unique_ptr<Store>(new Store(std::move(*core)));
}

absl::StatusOr<std::unique_ptr<Store>> Store::open_read_only(const std::filesystem::path& dir,
                                                             const StoreOptions& options) {
  auto core = open_core(dir, options, true);
  if (!core.ok()) return core.status();
  return std::unique_ptr<Store>(new Store(std::move(*core)));
}

const std::filesystem::path& Store::directory() const { return core_->dir; }
bool Store::read_only() const { return core_->read_only; }
absl::Status Store::write_health() const { return core_->health->status(); }

// ---------------------------------------------------------------------------------------------
// Registry

absl::Status check_tree_spec(const TreeSpec& spec, bool check_empty_root) {
  if (!valid_tree_name(spec.name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("tree name ", in_quotes(spec.name),
                     " is invalid: use 1 to 128 characters from A-Z a-z 0-9 . _ -"));
  }
  if (!valid_scheme(spec.scheme)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "scheme ", in_quotes(spec.scheme), " is invalid: use 1 to 32 characters from a-z 0-9 _ -"));
  }
  for (auto [what, bytes] :
       {std::pair{"node", spec.node_key_bytes}, std::pair{"value", spec.value_key_bytes}}) {
    if (bytes == 0 || bytes > kMaxKeyBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " key length ", bytes, " is out of range 1..", kMaxKeyBytes));
    }
  }
  if (spec.params.size() > kMaxParamsBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("tree parameters of ", spec.params.size(), " bytes exceed ", kMaxParamsBytes));
  }
  if (check_empty_root && spec.empty_root.size() > kMaxRootBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("a root of ", spec.empty_root.size(), " bytes exceeds ", kMaxRootBytes));
  }
  if (codec::prefix_successor(codec::tree_namespace(spec.name)).empty()) {
    return absl::InvalidArgumentError(absl::StrCat("tree name ", in_quotes(spec.name),
                                                   " maps to a reserved namespace; pick another"));
  }
  return absl::OkStatus();
}

codec::TreeRecord new_tree_record(const TreeSpec& spec, std::string ns, std::string root) {
  codec::TreeRecord record;
  record.ns = std::move(ns);
  record.info.name = spec.name;
  record.info.scheme = spec.scheme;
  record.info.params = spec.params;
  record.info.node_key_bytes = spec.node_key_bytes;
  record.info.value_key_bytes = spec.value_key_bytes;
  record.info.keep_versions = spec.keep_versions;
  record.info.head_root = std::move(root);
  record.info.head_version = spec.base_version;
  record.info.oldest_version = spec.base_version;
  record.info.created_unix_ms = spec.created_unix_ms.value_or(now_unix_ms());
  return record;
}

absl::StatusOr<TreeInfo> Store::create_tree(const TreeSpec& spec) {
  if (auto writable = core_->require_writable(); !writable.ok()) return writable;
  if (auto checked = check_tree_spec(spec, true); !checked.ok()) return checked;
  std::string ns = codec::tree_namespace(spec.name);

  std::unique_lock lock(core_->registry_mutex);
  if (auto free = core_->check_name_free(spec.name, ns); !free.ok()) return free;
  const codec::TreeRecord record = new_tree_record(spec, ns, spec.empty_root);
  VersionRecord empty;
  empty.version = spec.base_version;
  empty.root = spec.empty_root;
  empty.committed_unix_ms = record.info.created_unix_ms;

  rocksdb::WriteBatch batch;
  batch.Put(core_->family(kRootsFamily), codec::root_key(ns, spec.base_version),
            codec::encode_version_record(empty));
  batch.Put(core_->family(kMetaFamily), codec::tree_meta_key(spec.name),
            codec::encode_tree_record(record));
  // Durable in every sync mode: it depends on no other write, so the WAL can replay it alone.
  if (auto written = core_->write(batch, absl::StrCat("creating tree ", in_quotes(spec.name)),
                                  StoreCore::Durability::kAlwaysSync);
      !written.ok()) {
    return written;
  }
  auto state = std::make_shared<TreeState>();
  state->ns = ns;
  state->info = record.info;
  core_->trees.emplace(spec.name, std::move(state));
  return record.info;
}

absl::Status Store::drop_tree(std::string_view name) {
  if (auto writable = core_->require_writable(); !writable.ok()) return writable;
  auto state = core_->find(name);
  if (!state.ok()) return state.status();
  std::lock_guard writer((*state)->writer);
  std::lock_guard cleanup_lock(core_->cleanup_mutex);
  if ((*state)->dropped) return no_such_tree(name);
  const std::string& ns = (*state)->ns;
  std::string end = codec::prefix_successor(ns);
  rocksdb::WriteBatch batch;
  for (Family family : {kNodesFamily, kValuesFamily, kRootsFamily, kChangesFamily}) {
    batch.DeleteRange(core_->family(family), ns, end);
  }
  batch.Delete(core_->family(kMetaFamily), codec::tree_meta_key(name));
  if (auto written = core_->write(batch, absl::StrCat("dropping tree ", in_quotes(name)),
                                  StoreCore::Durability::kAlwaysSync);
      !written.ok()) {
    return written;
  }
  (*state)->dropped = true;
  std::unique_lock lock(core_->registry_mutex);
  core_->trees.erase(core_->trees.find(name));
  return absl::OkStatus();
}

absl::StatusOr<TreeInfo> Store::tree_info(std::string_view name) const {
  auto state = core_->find(name);
  if (!state.ok()) return state.status();
  return (*state)->snapshot_info();
}

absl::StatusOr<std::vector<TreeInfo>> Store::list_trees() const {
  std::shared_lock lock(core_->registry_mutex);
  std::vector<TreeInfo> trees;
  for (const auto& [name, state] : core_->trees) trees.push_back(state->snapshot_info());
  return trees;
}

namespace {

// Oldest version the retention keeps once `head` exists.
uint64_t retained_oldest(const TreeInfo& info, uint64_t head) {
  if (info.keep_versions == 0 || head + 1 <= info.keep_versions) return info.oldest_version;
  return std::max(info.oldest_version, head + 1 - info.keep_versions);
}

// Deletes the version records of [from, to). Retention drops one version per commit, so point
// deletes are the common case; a range tombstone per commit would pile up in the roots family.
void delete_version_records(StoreCore& core, rocksdb::WriteBatch& batch, const std::string& ns,
                            uint64_t from, uint64_t to) {
  if (to <= from) return;
  if (to - from <= 64) {
    for (uint64_t version = from; version < to; ++version) {
      batch.Delete(core.family(kRootsFamily), codec::root_key(ns, version));
    }
    return;
  }
  batch.DeleteRange(core.family(kRootsFamily), codec::root_key(ns, from), codec::root_key(ns, to));
}

// A replicated change that changes nothing (a rollback to the head, a prune below the oldest)
// still moves the store's log position.
absl::Status write_log_position_alone(StoreCore& core, std::optional<uint64_t> position,
                                      std::string_view context) {
  if (!position) return absl::OkStatus();
  rocksdb::WriteBatch batch;
  core.put_log_position(batch, position);
  return core.write(batch, context);
}

}  // namespace

absl::StatusOr<TreeInfo> Store::set_keep_versions(std::string_view name, uint64_t keep_versions) {
  if (auto writable = core_->require_writable(); !writable.ok()) return writable;
  auto state = core_->find(name);
  if (!state.ok()) return state.status();
  std::unique_lock writer((*state)->writer);
  if ((*state)->dropped) return no_such_tree(name);
  TreeInfo info = (*state)->snapshot_info();
  info.keep_versions = keep_versions;
  uint64_t oldest = retained_oldest(info, info.head_version);
  rocksdb::WriteBatch batch;
  delete_version_records(*core_, batch, (*state)->ns, info.oldest_version, oldest);
  info.oldest_version = oldest;
  if (auto written = core_->write_tree_update(**state, batch, info,
                                              absl::StrCat("updating tree ", in_quotes(name)));
      !written.ok()) {
    return written;
  }
  writer.unlock();
  core_->schedule_cleanup(std::string(name));
  return info;
}

// ---------------------------------------------------------------------------------------------
// Commit, rollback, prune

absl::StatusOr<VersionRecord> Store::commit(std::string_view name, const CommitRequest& request) {
  auto started = std::chrono::steady_clock::now();
  if (auto writable = core_->require_writable(); !writable.ok()) return writable;
  auto state_or = core_->find(name);
  if (!state_or.ok()) return state_or.status();
  TreeState& state = **state_or;
  const std::string& ns = state.ns;
  TreeInfo info = state.snapshot_info();

  if (request.root.size() > kMaxRootBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("a root of ", request.root.size(), " bytes exceeds ", kMaxRootBytes));
  }
  if (request.label.size() > kMaxLabelBytes) {
    return absl::InvalidArgumentError(absl::StrCat("a version label of ", request.label.size(),
                                                   " bytes exceeds ", kMaxLabelBytes));
  }
  if (!request.root_node_key.empty() && request.root_node_key.size() != info.node_key_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("the root node key has ",
                                                   request.root_node_key.size(),
                                                   " bytes, expected ", info.node_key_bytes));
  }
  for (const std::string& identity : request.idempotent_writes) {
    if (identity.size() != kWriteIdentityBytes) {
      return absl::InvalidArgumentError(absl::StrCat("an idempotent write's identity has ",
                                                     identity.size(), " bytes, expected ",
                                                     kWriteIdentityBytes));
    }
  }
  const auto& mutations = request.writes.mutations();
  for (size_t i = 0; i < mutations.size(); ++i) {
    const auto& mutation = mutations[i];
    uint32_t expected =
        mutation.space == Space::kNodes ? info.node_key_bytes : info.value_key_bytes;
    if (mutation.key.size() != expected) {
      return absl::InvalidArgumentError(
          absl::StrCat("write ", i, ": a ", std::string(to_string(mutation.space)), " key has ",
                       mutation.key.size(), " bytes, tree ", in_quotes(name), " uses ", expected));
    }
    if (mutation.value.size() > kMaxRecordBytes) {
      return absl::InvalidArgumentError(absl::StrCat("write ", i, ": a record of ",
                                                     mutation.value.size(), " bytes exceeds ",
                                                     kMaxRecordBytes));
    }
  }
  // Last write of each key wins.
  std::vector<uint32_t> order(mutations.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    if (mutations[a].space != mutations[b].space) return mutations[a].space < mutations[b].space;
    return mutations[a].key < mutations[b].key;
  });

  std::unique_lock writer(state.writer);
  if (state.dropped) return no_such_tree(name);
  info = state.snapshot_info();
  if (request.parent_version != info.head_version) {
    return absl::FailedPreconditionError(
        absl::StrCat("tree ", in_quotes(name), " is at version ", info.head_version,
                     "; the commit was prepared on version ", request.parent_version));
  }
  const uint64_t version = info.head_version + 1;

  rocksdb::WriteBatch batch;
  uint64_t records = 0;
  std::string tagged;
  std::optional<bool> root_node_written;  // set when this commit writes the root node key
  std::string journal_chunk;
  uint32_t journal_chunks = 0;
  auto flush_journal_chunk = [&] {
    batch.Put(core_->family(kChangesFamily), codec::journal_key(ns, version, journal_chunks++),
              journal_chunk);
    journal_chunk.clear();
  };
  for (size_t i = 0; i < order.size(); ++i) {
    const auto& mutation = mutations[order[i]];
    if (i + 1 < order.size()) {
      const auto& next = mutations[order[i + 1]];
      if (next.space == mutation.space && next.key == mutation.key) continue;
    }
    if (mutation.space == Space::kNodes && mutation.key == request.root_node_key) {
      root_node_written = !mutation.erase;
    }
    tagged.clear();
    tagged.push_back(mutation.erase ? codec::kTombstoneTag : codec::kLiveTag);
    tagged.append(mutation.value);
    batch.Put(core_->family(family_of(mutation.space)),
              codec::record_key(ns, mutation.key, version), tagged);
    codec::append_journal_entry(journal_chunk, mutation.space, mutation.key);
    if (++records % codec::kJournalChunkEntries == 0) flush_journal_chunk();
  }
  if (!journal_chunk.empty()) flush_journal_chunk();
  // A version whose root node does not resolve could never be read; refuse it now.
  if (!request.root_node_key.empty() && !root_node_written.value_or(false)) {
    bool present = false;
    if (!root_node_written.has_value()) {
      auto found = read_latest(*core_, Space::kNodes, ns, request.root_node_key, info.head_version);
      if (!found.ok()) return found.status();
      present = found->has_value();
    }
    if (!present) {
      return absl::InvalidArgumentError(absl::StrCat("the root node key names a node that version ",
                                                     version, " of tree ", in_quotes(name),
                                                     " would not have"));
    }
  }
  VersionRecord record;
  record.version = version;
  record.root = request.root;
  record.root_node_key = request.root_node_key;
  record.label = request.label;
  record.committed_unix_ms = request.committed_unix_ms.value_or(now_unix_ms());
  record.record_count = records;
  record.entry_count = request.entry_count;
  record.idempotent_writes = request.idempotent_writes;
  batch.Put(core_->family(kRootsFamily), codec::root_key(ns, version),
            codec::encode_version_record(record));
  core_->put_log_position(batch, request.log_position);
  if (request.unreplicated) {
    batch.Put(core_->family(kMetaFamily), slice(codec::unreplicated_key(request.unreplicated->id)),
              slice(request.unreplicated->bytes));
  }

  TreeInfo updated = info;
  updated.head_version = version;
  updated.head_root = request.root;
  updated.oldest_version = retained_oldest(info, version);
  if (request.keep_from) {
    updated.oldest_version =
        std::max(info.oldest_version, std::min(updated.oldest_version, *request.keep_from));
  }
  delete_version_records(*core_, batch, ns, info.oldest_version, updated.oldest_version);
  if (auto written = core_->write_tree_update(state, batch, updated,
                                              absl::StrCat("committing to tree ", in_quotes(name)));
      !written.ok()) {
    return written;
  }
  writer.unlock();

  core_->commits.fetch_add(1, std::memory_order_relaxed);
  core_->records_committed.fetch_add(records, std::memory_order_relaxed);
  core_->commit_latency.record(
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - started)
          .count());
  if (updated.oldest_version != info.oldest_version) core_->schedule_cleanup(std::string(name));
  return record;
}

absl::StatusOr<uint64_t> Store::log_position() const {
  std::string bytes;
  rocksdb::Status got = core_->db->Get(rocksdb::ReadOptions(), core_->family(kMetaFamily),
                                       slice(codec::kLogPositionKey), &bytes);
  if (got.IsNotFound()) return 0;
  if (!got.ok()) return to_status(got, "reading the replication log position");
  return codec::decode_log_position(bytes);
}

absl::Status Store::record_log_position(uint64_t position) {
  if (auto writable = core_->require_writable(); !writable.ok()) return writable;
  return write_log_position_alone(*core_, position, "recording the replication log position");
}

absl::StatusOr<std::vector<UnreplicatedEntry>> Store::unreplicated_entries() const {
  std::vector<UnreplicatedEntry> entries;
  std::unique_ptr<rocksdb::Iterator> it(
      core_->db->NewIterator(rocksdb::ReadOptions(), core_->family(kMetaFamily)));
  const std::string_view prefix = codec::kUnreplicatedKeyPrefix;
  for (it->Seek(slice(prefix)); it->Valid() && view_of(it->key()).starts_with(prefix); it->Next()) {
    const std::string_view id = view_of(it->key()).substr(prefix.size());
    if (id.size() != 8) {
      return absl::DataLossError(
          absl::StrCat("an unreplicated entry's key has an id of ", id.size(), " bytes, not 8"));
    }
    entries.push_back({codec::read_u64(id), std::string(view_of(it->value()))});
  }
  if (!it->status().ok()) return to_status(it->status(), "reading the unreplicated entries");
  return entries;
}

absl::Status Store::mark_replicated(uint64_t id, uint64_t position) {
  if (auto writable = core_->require_writable(); !writable.ok()) return writable;
  rocksdb::WriteBatch batch;
  batch.Delete(core_->family(kMetaFamily), slice(codec::unreplicated_key(id)));
  core_->put_log_position(batch, position);
  // Not synced: a crash may lose it (with what followed it in the WAL), and the entry, still kept,
  // is found in the log and marked again.
  return core_->write(batch, "recording a replicated entry", StoreCore::Durability::kBackground);
}

absl::Status Store::forget_unreplicated(std::span<const uint64_t> ids) {
  if (auto writable = core_->require_writable(); !writable.ok()) return writable;
  rocksdb::WriteBatch batch;
  for (uint64_t id : ids) {
    batch.Delete(core_->family(kMetaFamily), slice(codec::unreplicated_key(id)));
  }
  return core_->write(batch, "forgetting unreplicated entries");
}

absl::StatusOr<TreeInfo> Store::rollback(std::string_view name, uint64_t version,
                                         std::optional<uint64_t> log_position) {
  if (auto writable = core_->require_writable(); !writable.ok()) return writable;
  auto state_or = core_->find(name);
  if (!state_or.ok()) return state_or.status();
  TreeState& state = **state_or;
  const std::string& ns = state.ns;
  std::unique_lock writer(state.writer);
  if (state.dropped) return no_such_tree(name);
  TreeInfo info = state.snapshot_info();
  if (auto retained = check_retained(name, info, version); !retained.ok()) return retained;
  if (version == info.head_version) {
    if (auto recorded = write_log_position_alone(*core_, log_position, "rolling back tree");
        !recorded.ok()) {
      return recorded;
    }
    return info;
  }
  auto target = core_->read_version_record(name, ns, version, nullptr);
  if (!target.ok()) return target.status();

  // Every record of the discarded versions is found through their journal entries.
  rocksdb::WriteBatch batch;
  absl::Status walked =
      core_->walk_journal(info, ns, version + 1, info.head_version + 1, nullptr,
                          [&](const StoreCore::JournalChunk& chunk) -> absl::StatusOr<bool> {
                            for (const auto& entry : chunk.entries) {
                              batch.Delete(core_->family(family_of(entry.space)),
                                           codec::record_key(ns, entry.key, chunk.version));
                            }
                            batch.Delete(core_->family(kChangesFamily), slice(chunk.key));
                            return true;
                          });
  if (!walked.ok()) return walked;
  delete_version_records(*core_, batch, ns, version + 1, info.head_version + 1);
  core_->put_log_position(batch, log_position);
  TreeInfo updated = info;
  updated.head_version = version;
  updated.head_root = target->root;
  if (auto written = core_->write_tree_update(state, batch, updated,
                                              absl::StrCat("rolling back tree ", in_quotes(name)));
      !written.ok()) {
    return written;
  }
  core_->rollbacks.fetch_add(1, std::memory_order_relaxed);
  return updated;
}

absl::StatusOr<PruneResult> Store::prune(std::string_view name, uint64_t version, bool compact,
                                         std::optional<uint64_t> log_position) {
  if (auto writable = core_->require_writable(); !writable.ok()) return writable;
  auto state_or = core_->find(name);
  if (!state_or.ok()) return state_or.status();
  TreeState& state = **state_or;
  const std::string ns = state.ns;
  PruneResult result;
  {
    std::lock_guard writer(state.writer);
    if (state.dropped) return no_such_tree(name);
    TreeInfo info = state.snapshot_info();
    if (version > info.head_version) {
      return absl::OutOfRangeError(absl::StrCat("cannot prune tree ", in_quotes(name),
                                                " up to version ", version, ": its head is ",
                                                info.head_version));
    }
    result.oldest_version = std::max(version, info.oldest_version);
    if (version > info.oldest_version) {
      result.versions_dropped = version - info.oldest_version;
      rocksdb::WriteBatch batch;
      delete_version_records(*core_, batch, ns, info.oldest_version, version);
      core_->put_log_position(batch, log_position);
      TreeInfo updated = info;
      updated.oldest_version = version;
      if (auto written = core_->write_tree_update(state, batch, updated,
                                                  absl::StrCat("pruning tree ", in_quotes(name)));
          !written.ok()) {
        return written;
      }
    } else if (auto recorded = write_log_position_alone(*core_, log_position, "pruning tree");
               !recorded.ok()) {
      return recorded;
    }
  }
  auto deleted = core_->clean_below(state);
  if (!deleted.ok()) return deleted.status();
  result.records_deleted = *deleted;
  if (compact) {
    if (auto compacted = this->compact(name); !compacted.ok()) return compacted;
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Reading (TreeView itself is in tree_view.cpp)

absl::StatusOr<TreeView> Store::view(std::string_view name, std::optional<uint64_t> version) const {
  auto snapshot = std::make_shared<TreeView::SnapshotHolder>(core_);
  auto tree = core_->read_tree_record(name, snapshot->snapshot);
  if (!tree.ok()) return tree.status();
  const TreeInfo& info = tree->info;
  uint64_t wanted = version.value_or(info.head_version);
  if (auto retained = check_retained(name, info, wanted); !retained.ok()) return retained;
  auto record = core_->read_version_record(name, tree->ns, wanted, snapshot->snapshot);
  if (!record.ok()) return record.status();
  return TreeView(core_, std::move(snapshot), tree->ns, info, std::move(*record));
}

absl::StatusOr<std::vector<VersionRecord>> Store::versions(std::string_view name) const {
  TreeView::SnapshotHolder snapshot(core_);
  auto tree = core_->read_tree_record(name, snapshot.snapshot);
  if (!tree.ok()) return tree.status();
  std::string lower = codec::root_key(tree->ns, tree->info.oldest_version);
  std::string upper = codec::root_key(tree->ns, tree->info.head_version + 1);
  rocksdb::Slice lower_slice(lower), upper_slice(upper);
  rocksdb::ReadOptions read;
  read.snapshot = snapshot.snapshot;
  read.iterate_lower_bound = &lower_slice;
  read.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(core_->db->NewIterator(read, core_->family(kRootsFamily)));
  std::vector<VersionRecord> records;
  for (it->Seek(lower_slice); it->Valid(); it->Next()) {
    auto record = codec::decode_version_record(view_of(it->value()));
    if (!record.ok()) {
      return absl::DataLossError(
          absl::StrCat("tree ", in_quotes(name), ": ", std::string(record.status().message())));
    }
    records.push_back(std::move(*record));
  }
  if (!it->status().ok()) return to_status(it->status(), "reading version records");
  return records;
}

absl::StatusOr<std::vector<std::string>> Store::written_keys(std::string_view name,
                                                             uint64_t version, Space space) const {
  TreeView::SnapshotHolder snapshot(core_);
  auto tree = core_->read_tree_record(name, snapshot.snapshot);
  if (!tree.ok()) return tree.status();
  const TreeInfo& info = tree->info;
  if (version < info.oldest_version || version > info.head_version) {
    return absl::NotFoundError(absl::StrCat("tree ", in_quotes(name), " has no version ", version,
                                            " (retained: ", info.oldest_version, "..",
                                            info.head_version, ")"));
  }
  std::vector<std::string> keys;
  absl::Status walked =
      core_->walk_journal(info, tree->ns, version, version + 1, snapshot.snapshot,
                          [&](const StoreCore::JournalChunk& chunk) -> absl::StatusOr<bool> {
                            for (const auto& entry : chunk.entries) {
                              if (entry.space == space) keys.emplace_back(entry.key);
                            }
                            return true;
                          });
  if (!walked.ok()) return walked;
  return keys;
}

// ---------------------------------------------------------------------------------------------
// Maintenance

absl::Status Store::checkpoint(const std::filesystem::path& dir) const {
  std::error_code error;
  if (std::filesystem::exists(dir, error)) {
    return absl::AlreadyExistsError(
        absl::StrCat("checkpoint directory ", dir.string(), " already exists"));
  }
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status created = rocksdb::Checkpoint::Create(core_->db.get(), &raw);
  if (!created.ok()) return to_status(created, "starting a checkpoint");
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // log_size_for_flush 0: flush first, so a store without a WAL is captured too.
  rocksdb::Status made = checkpoint->CreateCheckpoint(dir.string(), 0);
  if (!made.ok()) return to_status(made, absl::StrCat("writing checkpoint ", dir.string()));
  return absl::OkStatus();
}

absl::Status Store::compact(std::string_view name) {
  if (auto writable = core_->require_writable(); !writable.ok()) return writable;
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
  if (name.empty()) {
    for (int family = 0; family < kFamilyCount; ++family) {
      rocksdb::Status compacted = core_->db->CompactRange(
          options, core_->family(static_cast<Family>(family)), nullptr, nullptr);
      if (!compacted.ok()) return to_status(compacted, "compacting the store");
    }
    return absl::OkStatus();
  }
  auto state = core_->find(name);
  if (!state.ok()) return state.status();
  std::string begin = (*state)->ns;
  std::string end = codec::prefix_successor(begin);
  rocksdb::Slice begin_slice(begin), end_slice(end);
  for (Family family : {kNodesFamily, kValuesFamily, kRootsFamily, kChangesFamily}) {
    rocksdb::Status compacted =
        core_->db->CompactRange(options, core_->family(family), &begin_slice, &end_slice);
    if (!compacted.ok()) {
      return to_status(compacted, absl::StrCat("compacting tree ", in_quotes(name)));
    }
  }
  return absl::OkStatus();
}

absl::Status Store::wait_for_cleanup() {
  std::unique_lock lock(core_->worker_mutex);
  core_->worker_idle.wait(lock, [&] {
    return core_->stopping.load() || (core_->pending_cleanup.empty() && !core_->worker_busy);
  });
  absl::Status error = core_->last_cleanup_error;
  core_->last_cleanup_error = absl::OkStatus();
  return error;
}

absl::StatusOr<StoreStats> Store::stats() const {
  StoreStats stats;
  for (int family = 0; family < kFamilyCount; ++family) {
    FamilyStats entry;
    entry.name = kFamilyNames[family];
    auto* handle = core_->family(static_cast<Family>(family));
    core_->db->GetIntProperty(handle, "rocksdb.estimate-num-keys", &entry.estimated_keys);
    core_->db->GetIntProperty(handle, "rocksdb.total-sst-files-size", &entry.sst_bytes);
    core_->db->GetIntProperty(handle, "rocksdb.cur-size-all-mem-tables", &entry.memtable_bytes);
    core_->db->GetIntProperty(handle, "rocksdb.estimate-pending-compaction-bytes",
                              &entry.pending_compaction_bytes);
    stats.pending_compaction_bytes += entry.pending_compaction_bytes;
    stats.families.push_back(std::move(entry));
  }
  stats.block_cache_capacity = core_->cache->GetCapacity();
  stats.block_cache_usage = core_->cache->GetUsage();
  stats.block_cache_pinned = core_->cache->GetPinnedUsage();
  stats.commits = core_->commits.load(std::memory_order_relaxed);
  stats.records_committed = core_->records_committed.load(std::memory_order_relaxed);
  stats.rollbacks = core_->rollbacks.load(std::memory_order_relaxed);
  stats.records_pruned = core_->records_pruned.load(std::memory_order_relaxed);
  stats.write_failures = core_->health->failures();
  stats.commit_latency = core_->commit_latency.summary();
  return stats;
}

}  // namespace arbor::storage
