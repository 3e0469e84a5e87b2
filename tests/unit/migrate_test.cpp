// `arbor migrate` (host/tree/migrate.hpp) on a data directory that the format-2 build wrote
// (tests/data/store-format2, made by tests/data/make_store_format2.cpp at commit 0c43781): the
// old directory is refused with the command's name, the migrated one holds every retained
// version as it was (roots, labels, times, sizes, idempotent writes, values, the log position),
// its trees prove and take new writes like trees that never moved, and misuse is refused.
#include "host/tree/migrate.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "absl/strings/escaping.h"
#include "host/smt/smt_tree.hpp"
#include "host/tree/schemes.hpp"
#include "nlohmann/json.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::tree {
namespace {

using arbor::testing::TempDir;

const std::filesystem::path kData = ARBOR_TEST_DATA_DIR;
const std::string kArbor = std::string(ARBOR_BIN_DIR) + "/arbor";

nlohmann::json expected() {
  std::ifstream in(kData / "store-format2.expected.json");
  return nlohmann::json::parse(in);
}

std::string hex(std::string_view bytes) { return absl::BytesToHexString(std::string(bytes)); }

class MigrateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The migration only reads its source, but the checked-in copy stays untouched either way.
    std::filesystem::copy(kData / "store-format2", old_dir_,
                          std::filesystem::copy_options::recursive);
  }

  TempDir dir_{"migrate"};
  const std::filesystem::path old_dir_ = dir_.path() / "old";
  const std::filesystem::path new_dir_ = dir_.path() / "new";
  std::unique_ptr<host::ComputeBackend> backend_ = host::make_cpu_backend();
};

TEST_F(MigrateTest, TheOldFormatIsRefusedNamingTheMigration) {
  auto opened = storage::Store::open(old_dir_);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(opened.status().message().find("store format 2"), std::string_view::npos)
      << opened.status();
  EXPECT_NE(opened.status().message().find("arbor migrate"), std::string_view::npos)
      << opened.status();
}

TEST_F(MigrateTest, EveryRetainedVersionComesOverAsItWas) {
  absl::StatusOr<MigrateReport> report = migrate_store(old_dir_, new_dir_, *backend_);
  ASSERT_TRUE(report.ok()) << report.status();
  const nlohmann::json want = expected();
  EXPECT_EQ(report->trees, 4u);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "new.migrating"));

  auto store = storage::Store::open(new_dir_);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(*(*store)->log_position(), want["log_position"].get<std::uint64_t>());
  for (const std::string name : {"accounts", "history", "state", "empty"}) {
    SCOPED_TRACE(name);
    auto versions = (*store)->versions(name);
    ASSERT_TRUE(versions.ok()) << versions.status();
    const nlohmann::json& want_versions = want[name]["versions"];
    ASSERT_EQ(versions->size(), want_versions.size());
    for (std::size_t i = 0; i < versions->size(); ++i) {
      const storage::VersionRecord& got = (*versions)[i];
      const nlohmann::json& w = want_versions[i];
      EXPECT_EQ(got.version, w["version"].get<std::uint64_t>());
      if (!w.contains("root")) continue;
      EXPECT_EQ(hex(got.root), w["root"].get<std::string>()) << "version " << got.version;
      EXPECT_EQ(got.label, w["label"].get<std::string>());
      EXPECT_EQ(got.committed_unix_ms, w["committed_unix_ms"].get<std::int64_t>());
      EXPECT_EQ(got.entry_count, w["entry_count"].get<std::uint64_t>());
      std::vector<std::string> ids;
      for (const std::string& id : got.idempotent_writes) ids.push_back(hex(id));
      EXPECT_EQ(nlohmann::json(ids), w["idempotent_writes"]);
    }
    if (!want[name].contains("head")) continue;
    auto head = (*store)->view(name);
    ASSERT_TRUE(head.ok());
    nlohmann::json values = nlohmann::json::object();
    ASSERT_TRUE(head->scan(storage::Space::kValues, "",
                           [&](std::string_view k, std::string_view v) {
                             values[hex(k)] = hex(v);
                             return true;
                           })
                    .ok());
    EXPECT_EQ(values, want[name]["head"]);
  }
  // "accounts" kept 4 versions: the oldest, 7, is readable, 6 is not.
  EXPECT_EQ((*store)->tree_info("accounts")->oldest_version, 7u);
  EXPECT_FALSE((*store)->view("accounts", 6).ok());

  // Each SMT proves every head key against its root, at the head and at the oldest version.
  for (const std::string name : {"accounts", "history"}) {
    auto tree = smt::SmtTree::open(**store, name, *backend_);
    ASSERT_TRUE(tree.ok()) << tree.status();
    for (const auto& [key_hex, value_hex] : want[name]["head"].items()) {
      const std::string key = absl::HexStringToBytes(key_hex);
      auto fr_key = smt::wire_fr(key, "key");
      ASSERT_TRUE(fr_key.ok());
      auto proof = (*tree)->prove(*fr_key);
      ASSERT_TRUE(proof.ok()) << proof.status();
      EXPECT_TRUE(proof->existence);
      EXPECT_EQ(hex(smt::fr_bytes(proof->value)), value_hex.get<std::string>());
      EXPECT_TRUE(smt::verify_proof(*(*tree)->root(), *proof).ok());
    }
  }
}

// A migrated tree takes new writes exactly as a tree built in this format from its head state.
TEST_F(MigrateTest, MigratedTreesTakeWritesLikeFreshOnes) {
  ASSERT_TRUE(migrate_store(old_dir_, new_dir_, *backend_).ok());
  auto store = storage::Store::open(new_dir_);
  ASSERT_TRUE(store.ok()) << store.status();
  TempDir fresh_dir("migrate-fresh");
  auto fresh_store = storage::Store::open(fresh_dir.path());
  ASSERT_TRUE(fresh_store.ok());
  const nlohmann::json want = expected();
  auto rng = testing::seeded_rng("MigratedTreesTakeWritesLikeFreshOnes");
  for (const std::string name : {"accounts", "state"}) {
    SCOPED_TRACE(name);
    const Scheme* scheme = find_scheme(name == "state" ? "verkle" : "smt");
    auto migrated = scheme->open(**store, name, *backend_, {});
    ASSERT_TRUE(migrated.ok()) << migrated.status();
    auto fresh = scheme->create(**fresh_store, name, {}, *backend_, {});
    ASSERT_TRUE(fresh.ok()) << fresh.status();
    std::vector<Op> state;
    std::vector<std::string> keys;
    for (const auto& [k, v] : want[name]["head"].items()) {
      keys.push_back(absl::HexStringToBytes(k));
      state.push_back(Op::put(keys.back(), absl::HexStringToBytes(v.get<std::string>())));
    }
    auto built = (*fresh)->apply(state, {});
    ASSERT_TRUE(built.ok()) << built.status();
    ASSERT_EQ(built->version.root, (*migrated)->version_record()->root);
    for (int round = 0; round < 3; ++round) {
      std::vector<Op> ops;
      for (int i = 0; i < 30; ++i) {
        std::string key = smt::fr_bytes(testing::random_fr(rng));
        if (i % 3 == 0) key = keys[rng() % keys.size()];
        if (i % 7 == 0) {
          ops.push_back(Op::erase(key));
        } else {
          ops.push_back(Op::put(key, smt::fr_bytes(testing::random_fr(rng))));
        }
      }
      auto a = (*migrated)->apply(ops, {});
      auto b = (*fresh)->apply(ops, {});
      ASSERT_TRUE(a.ok() && b.ok()) << a.status() << " " << b.status();
      EXPECT_EQ(a->version.root, b->version.root) << "round " << round;
      EXPECT_EQ(a->version.entry_count, b->version.entry_count);
    }
  }
}

TEST_F(MigrateTest, MisuseIsRefusedAndTouchesNothing) {
  ASSERT_TRUE(migrate_store(old_dir_, new_dir_, *backend_).ok());
  // Into a directory that exists.
  auto again = migrate_store(old_dir_, new_dir_, *backend_);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition) << again.status();
  // A store of this format needs none.
  auto current = migrate_store(new_dir_, dir_.path() / "newer", *backend_);
  EXPECT_EQ(current.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(current.status().message().find("needs no migration"), std::string_view::npos)
      << current.status();
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "newer"));
  // Nothing there at all.
  auto missing = migrate_store(dir_.path() / "nothing", dir_.path() / "out", *backend_);
  EXPECT_FALSE(missing.ok());
  // The source is still the format-2 store it was.
  auto old = storage::Store::open(old_dir_);
  EXPECT_NE(old.status().message().find("store format 2"), std::string_view::npos);
}

TEST_F(MigrateTest, TheCommandLineMigrates) {
  // A trailing slash names the same directory.
  const testing::CommandResult run = testing::run_command(kArbor + " migrate " + old_dir_.string() +
                                                          " " + new_dir_.string() + "/");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("migrated 4 trees"), std::string::npos) << run.out;
  const testing::CommandResult root = testing::run_command(
      kArbor + " smt root --data " + new_dir_.string() + " --tree accounts --json");
  ASSERT_EQ(root.exit_code, 0) << root.err;
  EXPECT_NE(root.out.find(expected()["accounts"]["versions"].back()["root"].get<std::string>()),
            std::string::npos)
      << root.out;
  // Opening the old directory names the command.
  const testing::CommandResult refused =
      testing::run_command(kArbor + " smt root --data " + old_dir_.string() + " --tree accounts");
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("arbor migrate"), std::string::npos) << refused.err;
  const testing::CommandResult twice =
      testing::run_command(kArbor + " migrate " + old_dir_.string() + " " + new_dir_.string());
  EXPECT_EQ(twice.exit_code, 2);
  EXPECT_NE(twice.err.find("already exists"), std::string::npos) << twice.err;
}

}  // namespace
}  // namespace arbor::tree
