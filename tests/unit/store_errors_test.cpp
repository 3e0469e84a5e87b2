// Bad directories, foreign or damaged databases and bad arguments: each is a clear status, never a
// crash, and nothing stored changes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "rocksdb/db.h"
#include "storage/record_codec.hpp"
#include "storage/store.hpp"
#include "storage/write_health.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::storage {
namespace {

using arbor::testing::TempDir;

std::string key_of(uint64_t index) {
  std::string key(32, '\x11');
  for (int i = 0; i < 8; ++i) key[i] = static_cast<char>(index >> (56 - 8 * i));
  return key;
}

StoreOptions quick_options() {
  StoreOptions options;
  options.sync = SyncMode::kAsync;
  options.block_cache_bytes = 8 << 20;
  options.write_buffer_bytes = 4 << 20;
  return options;
}

bool mentions(const absl::Status& status, std::string_view words) {
  return status.message().find(std::string(words)) != absl::string_view::npos;
}

// A store with tree "t" at version 3; version v writes key_of(0..9) = "v<v>" and node key_of(100).
void populate(const std::filesystem::path& dir) {
  auto store = Store::open(dir, quick_options());
  ASSERT_TRUE(store.ok()) << store.status();
  TreeSpec spec;
  spec.name = "t";
  spec.scheme = "smt";
  spec.empty_root = "empty";
  ASSERT_TRUE((*store)->create_tree(spec).ok());
  for (uint64_t v = 1; v <= 3; ++v) {
    CommitRequest request;
    request.parent_version = v - 1;
    request.root = "root-" + std::to_string(v);
    request.root_node_key = key_of(100);
    request.writes.put(Space::kNodes, key_of(100), "root node " + std::to_string(v));
    for (int k = 0; k < 10; ++k) {
      request.writes.put(Space::kValues, key_of(k), "v" + std::to_string(v));
    }
    ASSERT_TRUE((*store)->commit("t", request).ok());
  }
}

// Raw access to an Arbor database, to damage it the way a disk, a bug or a person could.
class RawDb {
 public:
  explicit RawDb(const std::filesystem::path& dir) {
    std::vector<std::string> names;
    EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir.string(), &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const auto& name : names) descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
    rocksdb::DB* raw = nullptr;
    rocksdb::Status opened =
        rocksdb::DB::Open(rocksdb::DBOptions(), dir.string(), descriptors, &handles_, &raw);
    EXPECT_TRUE(opened.ok()) << opened.ToString();
    db_.reset(raw);
    for (size_t i = 0; i < names.size(); ++i) by_name_[names[i]] = handles_[i];
  }
  ~RawDb() {
    for (auto* handle : handles_) db_->DestroyColumnFamilyHandle(handle);
  }
  void put(const std::string& family, const std::string& key, const std::string& value) {
    EXPECT_TRUE(db_->Put(rocksdb::WriteOptions(), by_name_.at(family), key, value).ok());
  }
  void erase(const std::string& family, const std::string& key) {
    EXPECT_TRUE(db_->Delete(rocksdb::WriteOptions(), by_name_.at(family), key).ok());
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::map<std::string, rocksdb::ColumnFamilyHandle*> by_name_;
};

TEST(StoreOpenErrors, MissingDirectory) {
  TempDir dir("store");
  auto missing = dir / "absent";
  auto read_only = Store::open_read_only(missing);
  EXPECT_EQ(read_only.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(mentions(read_only.status(), missing.string()));
  StoreOptions no_create = quick_options();
  no_create.create_if_missing = false;
  EXPECT_EQ(Store::open(missing, no_create).status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(missing));
  // An empty directory holds no store either.
  std::filesystem::create_directory(missing);
  EXPECT_EQ(Store::open_read_only(missing).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Store::open(missing, no_create).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Store::open("").status().code(), absl::StatusCode::kInvalidArgument);
  // With creation on, nested directories are made.
  auto nested = Store::open(dir / "a" / "b" / "c", quick_options());
  EXPECT_TRUE(nested.ok()) << nested.status();
}

TEST(StoreOpenErrors, NotADirectoryOrNotWritable) {
  TempDir dir("store");
  auto file = dir / "plain-file";
  std::ofstream(file) << "not a database";
  auto on_file = Store::open(file, quick_options());
  EXPECT_EQ(on_file.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(mentions(on_file.status(), "not a directory"));
  auto under_file = Store::open(file / "data", quick_options());
  EXPECT_FALSE(under_file.ok());
  EXPECT_TRUE(mentions(under_file.status(), "cannot create data directory"));
  auto in_proc = Store::open("/proc/arbor-store-test/data", quick_options());
  EXPECT_FALSE(in_proc.ok());
  EXPECT_TRUE(mentions(in_proc.status(), "/proc/arbor-store-test/data"));

  auto locked_out = dir / "read-only";
  std::filesystem::create_directory(locked_out);
  std::filesystem::permissions(
      locked_out, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  if (geteuid() == 0) {
    std::printf(
        "running as root: permission bits do not stop root, so the unwritable-directory "
        "case is covered only by the /proc and file cases above\n");
  } else {
    auto denied = Store::open(locked_out, quick_options());
    EXPECT_FALSE(denied.ok());
    EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied) << denied.status();
  }
}

TEST(StoreOpenErrors, AlreadyOpen) {
  TempDir dir("store");
  auto first = Store::open(dir.path(), quick_options());
  ASSERT_TRUE(first.ok());
  auto second = Store::open(dir.path(), quick_options());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition) << second.status();
  EXPECT_TRUE(mentions(second.status(), "already open"));
  // Read-only opens take no lock.
  EXPECT_TRUE(Store::open_read_only(dir.path(), quick_options()).ok());
}

TEST(StoreOpenErrors, ForeignDatabase) {
  TempDir dir("store");
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir.path().string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "someone", "else's data").ok());
  }
  auto opened = Store::open(dir.path(), quick_options());
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(mentions(opened.status(), "not an Arbor store")) << opened.status();
  // It was left as it was.
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::OpenForReadOnly(rocksdb::Options(), dir.path().string(), &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string value;
  EXPECT_TRUE(db->Get(rocksdb::ReadOptions(), "someone", &value).ok());
  std::vector<std::string> families;
  ASSERT_TRUE(
      rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir.path().string(), &families).ok());
  EXPECT_EQ(families.size(), 1u);
}

TEST(StoreOpenErrors, OtherFormatVersion) {
  TempDir dir("store");
  populate(dir.path());
  RawDb(dir.path()).put("meta", std::string(codec::kFormatKey), codec::encode_format_record(99));
  auto opened = Store::open(dir.path(), quick_options());
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(mentions(opened.status(), "format 99")) << opened.status();
  RawDb(dir.path()).put("meta", std::string(codec::kFormatKey), "garbage");
  EXPECT_EQ(Store::open(dir.path(), quick_options()).status().code(), absl::StatusCode::kDataLoss);
  RawDb(dir.path()).erase("meta", std::string(codec::kFormatKey));
  opened = Store::open(dir.path(), quick_options());
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(mentions(opened.status(), "no format record")) << opened.status();
}

TEST(StoreOpenErrors, CorruptRegistryRecord) {
  TempDir dir("store");
  populate(dir.path());
  auto meta_key = codec::tree_meta_key("t");
  for (std::string garbage : {std::string(), std::string("\x01"), std::string(40, '\xff')}) {
    RawDb(dir.path()).put("meta", meta_key, garbage);
    auto opened = Store::open(dir.path(), quick_options());
    EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss) << opened.status();
    EXPECT_TRUE(mentions(opened.status(), "'t'")) << opened.status();
  }
  // A well-formed record filed under another name.
  TempDir other("store");
  populate(other.path());
  {
    auto store = Store::open(other.path(), quick_options());
    ASSERT_TRUE(store.ok());
  }
  codec::TreeRecord record;
  record.info.name = "u";
  record.info.node_key_bytes = record.info.value_key_bytes = 32;
  record.ns = codec::tree_namespace("u");
  RawDb(other.path()).put("meta", meta_key, codec::encode_tree_record(record));
  auto opened = Store::open(other.path(), quick_options());
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(mentions(opened.status(), "names another tree")) << opened.status();
}

TEST(StoreOpenErrors, IncompleteHeadVersion) {
  const std::string ns = codec::tree_namespace("t");
  struct Damage {
    const char* what;
    std::function<void(RawDb&)> apply;
    const char* message;
  };
  std::vector<Damage> damages = {
      {"head version record deleted", [&](RawDb& db) { db.erase("roots", codec::root_key(ns, 3)); },
       "record of version 3"},
      {"head version record garbled",
       [&](RawDb& db) { db.put("roots", codec::root_key(ns, 3), "x"); }, "corrupt"},
      {"a value record of the head deleted",
       [&](RawDb& db) { db.erase("values", codec::record_key(ns, key_of(4), 3)); },
       "value record of head version 3 is missing"},
      {"a node record of the head deleted",
       [&](RawDb& db) { db.erase("nodes", codec::record_key(ns, key_of(100), 3)); },
       "node record of head version 3 is missing"},
      {"every version of the head's root node deleted",
       [&](RawDb& db) {
         for (uint64_t v = 1; v <= 3; ++v) db.erase("nodes", codec::record_key(ns, key_of(100), v));
       },
       "root node of head version 3"},
      {"a record count that does not match",
       [&](RawDb& db) {
         std::string chunk;
         codec::append_journal_entry(chunk, Space::kValues, key_of(55));
         db.put("changes", codec::journal_key(ns, 3, 1), chunk);
         db.put("values", codec::record_key(ns, key_of(55), 3), std::string(1, codec::kLiveTag));
       },
       "should have 11 records, found 12"},
      {"a garbled journal chunk",
       [&](RawDb& db) { db.put("changes", codec::journal_key(ns, 3, 0), "\x01short"); },
       "journal chunk ends inside an entry"},
      {"a version above the head",
       [&](RawDb& db) {
         VersionRecord extra;
         extra.version = 4;
         db.put("roots", codec::root_key(ns, 4), codec::encode_version_record(extra));
       },
       "above head version 3"},
  };
  for (const auto& damage : damages) {
    SCOPED_TRACE(damage.what);
    TempDir dir("store");
    populate(dir.path());
    {
      RawDb db(dir.path());
      damage.apply(db);
    }
    auto opened = Store::open(dir.path(), quick_options());
    EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss) << opened.status();
    EXPECT_TRUE(mentions(opened.status(), damage.message)) << opened.status();
    EXPECT_TRUE(mentions(opened.status(), "'t'")) << opened.status();
    // Skipping the check opens it, for salvage.
    StoreOptions unchecked = quick_options();
    unchecked.verify_heads_on_open = false;
    EXPECT_TRUE(Store::open_read_only(dir.path(), unchecked).ok());
  }
}

// Flips bytes inside every SST file's data blocks: block checksums must turn reads into DATA_LOSS.
TEST(StoreOpenErrors, CorruptedFileIsReportedNotReturned) {
  TempDir dir("store");
  populate(dir.path());
  {
    StoreOptions options = quick_options();
    options.compression = Compression::kNone;
    auto store = Store::open(dir.path(), options);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->compact().ok());
  }
  int damaged = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    if (entry.path().extension() != ".sst") continue;
    std::fstream file(entry.path(), std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(40);  // inside the first data block
    file.write("\xde\xad\xbe\xef\xde\xad\xbe\xef", 8);
    ++damaged;
  }
  ASSERT_GT(damaged, 0);
  auto store = Store::open(dir.path(), quick_options());
  if (!store.ok()) {
    EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss) << store.status();
    return;
  }
  // If opening did not touch a damaged block, reading does.
  auto view = (*store)->view("t");
  bool reported = !view.ok() && view.status().code() == absl::StatusCode::kDataLoss;
  if (view.ok()) {
    for (int k = 0; k < 10 && !reported; ++k) {
      auto value = view->get(Space::kValues, key_of(k));
      if (!value.ok()) {
        EXPECT_EQ(value.status().code(), absl::StatusCode::kDataLoss) << value.status();
        reported = true;
      } else {
        EXPECT_EQ(*value, "v3");
      }
    }
  }
  EXPECT_TRUE(reported);
}

TEST(StoreArguments, UnknownTreeEverywhere) {
  TempDir dir("store");
  populate(dir.path());
  auto store = Store::open(dir.path(), quick_options());
  ASSERT_TRUE(store.ok());
  auto& s = **store;
  std::vector<absl::Status> results = {s.tree_info("nope").status(),
                                       s.view("nope").status(),
                                       s.versions("nope").status(),
                                       s.commit("nope", CommitRequest()).status(),
                                       s.rollback("nope", 0).status(),
                                       s.prune("nope", 0).status(),
                                       s.drop_tree("nope"),
                                       s.set_keep_versions("nope", 1).status(),
                                       s.compact("nope")};
  for (const auto& status : results) {
    EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
    EXPECT_TRUE(mentions(status, "no tree named 'nope'")) << status;
  }
  EXPECT_EQ(s.tree_info("t")->head_version, 3u);
}

TEST(StoreArguments, BadOptions) {
  TempDir dir("store");
  StoreOptions options = quick_options();
  options.async_sync_interval_ms = 0;
  EXPECT_EQ(Store::open(dir.path(), options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(StoreCodec, RejectsTruncatedAndPaddedRecords) {
  codec::TreeRecord tree;
  tree.ns = codec::tree_namespace("x");
  tree.info.name = "x";
  tree.info.scheme = "smt";
  tree.info.node_key_bytes = 33;
  tree.info.value_key_bytes = 32;
  tree.info.head_version = 9;
  tree.info.oldest_version = 4;
  std::string bytes = codec::encode_tree_record(tree);
  auto decoded = codec::decode_tree_record(bytes);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->info.node_key_bytes, 33u);
  EXPECT_EQ(decoded->info.oldest_version, 4u);
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    EXPECT_EQ(codec::decode_tree_record(bytes.substr(0, cut)).status().code(),
              absl::StatusCode::kDataLoss);
  }
  EXPECT_FALSE(codec::decode_tree_record(bytes + "x").ok());
  auto inverted = tree;
  inverted.info.oldest_version = 10;
  EXPECT_FALSE(codec::decode_tree_record(codec::encode_tree_record(inverted)).ok());
  auto zero_keys = tree;
  zero_keys.info.value_key_bytes = 0;
  EXPECT_FALSE(codec::decode_tree_record(codec::encode_tree_record(zero_keys)).ok());
  // A length field that claims more than the record holds.
  std::string lying = bytes;
  lying[1] = '\x7f';
  EXPECT_FALSE(codec::decode_tree_record(lying).ok());

  VersionRecord version;
  version.version = 5;
  version.root = "root";
  version.label = "label";
  std::string encoded = codec::encode_version_record(version);
  ASSERT_TRUE(codec::decode_version_record(encoded).ok());
  for (size_t cut = 0; cut < encoded.size(); ++cut) {
    EXPECT_FALSE(codec::decode_version_record(encoded.substr(0, cut)).ok());
  }
  EXPECT_FALSE(codec::decode_version_record(encoded + std::string(1, '\0')).ok());
  // Layout 3: the idempotent writes follow; every cut, a zero count and a count the bytes cannot
  // hold are corrupt, and nothing is allocated for a count before it is checked.
  version.idempotent_writes = {std::string(kWriteIdentityBytes, 'a'),
                               std::string(kWriteIdentityBytes, 'b')};
  std::string with_writes = codec::encode_version_record(version);
  EXPECT_EQ(with_writes[0], 3);
  absl::StatusOr<VersionRecord> keyed = codec::decode_version_record(with_writes);
  ASSERT_TRUE(keyed.ok()) << keyed.status();
  EXPECT_EQ(keyed->idempotent_writes, version.idempotent_writes);
  EXPECT_EQ(keyed->label, "label");
  for (size_t cut = 0; cut < with_writes.size(); ++cut) {
    EXPECT_FALSE(codec::decode_version_record(with_writes.substr(0, cut)).ok()) << cut;
  }
  const size_t count_at = encoded.size();  // layout 2's fields, then the count
  std::string huge = with_writes.substr(0, count_at) + std::string("\xff\xff\xff\xff", 4) +
                     with_writes.substr(count_at + 4);
  EXPECT_EQ(codec::decode_version_record(huge).status().code(), absl::StatusCode::kDataLoss);
  std::string zero = encoded;
  zero[0] = 3;
  zero += std::string(4, '\0');
  EXPECT_FALSE(codec::decode_version_record(zero).ok());
  EXPECT_FALSE(codec::decode_format_record("arbor-store").ok());
  EXPECT_EQ(*codec::decode_format_record(codec::encode_format_record(kFormatVersion)),
            kFormatVersion);
}

TEST(StoreCodec, KeysOrderNewestFirstAndSuccessorsWork) {
  std::string ns = codec::tree_namespace("x");
  EXPECT_EQ(ns.size(), 8u);
  EXPECT_NE(ns, codec::tree_namespace("y"));
  EXPECT_LT(codec::record_key(ns, "k", 9), codec::record_key(ns, "k", 8));
  EXPECT_EQ(codec::record_key_version(codec::record_key(ns, "key", 12345)), 12345u);
  EXPECT_LT(codec::journal_key(ns, 2, 0xffffffff), codec::journal_prefix(ns, 3));
  EXPECT_EQ(codec::journal_key_version(ns, codec::journal_key(ns, 7, 3)), 7u);
  EXPECT_FALSE(codec::journal_key_version(ns, ns + "short").has_value());
  EXPECT_FALSE(codec::journal_key_version(codec::tree_namespace("y"), codec::journal_key(ns, 7, 3))
                   .has_value());
  std::string chunk;
  codec::append_journal_entry(chunk, Space::kNodes, "abc");
  codec::append_journal_entry(chunk, Space::kValues, "de");
  auto entries = codec::parse_journal_chunk(chunk, 3, 2);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].space, Space::kNodes);
  EXPECT_EQ((*entries)[0].key, "abc");
  EXPECT_EQ((*entries)[1].space, Space::kValues);
  EXPECT_EQ((*entries)[1].key, "de");
  EXPECT_EQ(codec::parse_journal_chunk(chunk, 3, 3).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(codec::parse_journal_chunk(chunk, 2, 2).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(codec::parse_journal_chunk("\x07"
                                       "abc",
                                       3, 3)
                .status()
                .code(),
            absl::StatusCode::kDataLoss);
  EXPECT_TRUE(codec::parse_journal_chunk("", 3, 3)->empty());
  EXPECT_EQ(codec::prefix_successor("ab"), "ac");
  EXPECT_EQ(codec::prefix_successor(std::string("a\xff\xff", 3)), "b");
  EXPECT_EQ(codec::prefix_successor(std::string("\xff\xff", 2)), "");
}

}  // namespace
}  // namespace arbor::storage

namespace arbor::storage {
namespace {

// How the store reads a failed write (storage/write_health.hpp); the disk itself is failed in
// tests/crash/disk_fault_test.cpp.
TEST(StoreWriteHealth, AFullDiskIsRefusedUntilAWriteGoesThrough) {
  WriteHealth health("/data");
  EXPECT_TRUE(health.status().ok());
  const absl::Status refused = health.on_failure(
      rocksdb::Status::NoSpace("While appending to file: 000008.log"), "committing to tree 't'");
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.message(),
            "committing to tree 't': the disk holding /data is full (IO error: No space left on "
            "device: While "
            "appending to file: 000008.log): not applied; writes resume within seconds of space "
            "being freed");
  EXPECT_EQ(health.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(health.check_before_write().ok());  // RocksDB says when the space is back
  health.on_success();
  EXPECT_TRUE(health.status().ok());
  EXPECT_EQ(health.failures(), 1u);
}

TEST(StoreWriteHealth, AnyOtherIoErrorFailsTheStoreUntilItIsReopened) {
  WriteHealth health("/data");
  (void)health.on_failure(rocksdb::Status::NoSpace(), "committing");
  const absl::Status failed = health.on_failure(
      rocksdb::Status::IOError("While fsync: a file descriptor", "Input/output error"),
      "committing to tree 't'");
  EXPECT_EQ(failed.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(failed.message().find("the outcome is unknown until the store is reopened"),
            std::string::npos)
      << failed;
  health.on_success();  // a write cannot go through any more; were one to, it would not clear this
  for (const absl::Status& refused : {health.check_before_write(), health.status()}) {
    EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable);
    EXPECT_NE(refused.message().find("takes no writes until it is reopened (restart arbord): not "
                                     "applied"),
              std::string::npos)
        << refused;
    EXPECT_NE(refused.message().find("Input/output error"), std::string::npos) << refused;
  }
  // Errors that say nothing of the disk leave it alone.
  WriteHealth other("/data");
  EXPECT_EQ(other.on_failure(rocksdb::Status::InvalidArgument("x"), "c").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(other.status().ok());
}

}  // namespace
}  // namespace arbor::storage
