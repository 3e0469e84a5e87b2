// Bulk load (host/smt/smt_bulk_load.hpp, host/verkle/verkle_bulk_load.hpp,
// storage/tree_loader.hpp): a loaded tree is the tree one batch would build, record for record;
// it then behaves as any tree; bad input, a taken name and an abandoned load leave the store as it
// was.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "host/smt/smt_bulk_load.hpp"
#include "host/verkle/verkle_bulk_load.hpp"
#include "kernels/field/bn254_fr_text.hpp"
#include "nlohmann/json.hpp"
#include "storage/tree_loader.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::smt {
namespace {

using arbor::testing::TempDir;
using storage::Space;

struct Stored {
  std::vector<std::pair<std::string, std::string>> records;
  bool operator==(const Stored&) const = default;
};

Stored scan(const storage::Store& store, const std::string& tree, Space space) {
  Stored out;
  auto view = store.view(tree);
  EXPECT_TRUE(view.ok()) << view.status();
  if (!view.ok()) return out;
  EXPECT_TRUE(view->scan(space, "",
                         [&](std::string_view key, std::string_view value) {
                           out.records.emplace_back(key, value);
                           return true;
                         })
                  .ok());
  return out;
}

// Random keys; with `clustered`, many share long runs of low bits, which makes chains of
// one-child internal nodes and deep leaves.
std::vector<std::pair<Fr, Fr>> random_state(std::mt19937_64& rng, std::size_t count,
                                            bool clustered) {
  std::set<KeyBits> seen;
  std::vector<std::pair<Fr, Fr>> state;
  while (state.size() < count) {
    Fr key = testing::random_fr(rng);
    if (clustered && rng() % 2 == 0) {
      KeyBits bits = key_bits(key);
      bits[0] = (bits[0] & ~0xFFFFFFULL) | (rng() % 4);  // low 24 bits: one of four patterns
      bits[3] &= 0x0FFFFFFFFFFFFFFFULL;
      const std::uint64_t limbs[4] = {bits[0], bits[1], bits[2], bits[3]};
      key = field::from_canonical_limbs(limbs);
    }
    if (!seen.insert(key_bits(key)).second) continue;
    state.emplace_back(key, testing::random_fr(rng));
  }
  return state;
}

std::vector<SmtLoadEntry> entries_of(const std::vector<std::pair<Fr, Fr>>& state) {
  std::vector<SmtLoadEntry> entries;
  for (const auto& [key, value] : state) entries.push_back(load_entry(key, value));
  return entries;
}

class BulkLoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::StoreOptions options;
    options.sync = storage::SyncMode::kNone;
    auto opened = storage::Store::open(dir_.path(), options);
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = std::move(*opened);
  }

  TempDir dir_{"smt-bulk-load"};
  std::unique_ptr<host::ComputeBackend> backend_ = host::make_cpu_backend();
  std::unique_ptr<storage::Store> store_;
};

TEST_F(BulkLoadTest, LoadedTreeIsTheOneBatchTreeRecordForRecord) {
  auto rng = testing::seeded_rng("LoadedTreeIsTheOneBatchTreeRecordForRecord");
  int case_number = 0;
  for (std::size_t count : {0, 1, 2, 3, 17, 700, 6000}) {
    for (bool clustered : {false, true}) {
      if (clustered && count < 17) continue;
      const auto state = random_state(rng, count, clustered);
      for (int levels : {1, 3, 4, 6}) {
        const std::string name = "case" + std::to_string(case_number++);
        SCOPED_TRACE(::testing::Message() << name << ": " << count << " keys, clustered "
                                          << clustered << ", " << levels << " levels");
        SmtCreateOptions create;
        create.page_levels = levels;
        auto applied = SmtTree::create(*store_, name + "-applied", create, *backend_);
        ASSERT_TRUE(applied.ok()) << applied.status();
        std::vector<SmtOp> ops;
        for (const auto& [key, value] : state) ops.push_back(SmtOp::put(key, value));
        auto batch = (*applied)->apply(ops);
        ASSERT_TRUE(batch.ok()) << batch.status();

        SmtLoadOptions options;
        options.create = create;
        options.label = "import";
        auto loaded = load_smt(*store_, name, entries_of(state), *backend_, options);
        ASSERT_TRUE(loaded.ok()) << loaded.status();
        EXPECT_EQ(loaded->root, batch->root);
        EXPECT_EQ(loaded->keys, count);
        EXPECT_EQ(loaded->tree.head_version, 0u);
        EXPECT_EQ(loaded->leaf_hashes, count);
        EXPECT_EQ(scan(*store_, name, Space::kNodes),
                  scan(*store_, name + "-applied", Space::kNodes));
        EXPECT_EQ(scan(*store_, name, Space::kValues),
                  scan(*store_, name + "-applied", Space::kValues));
        auto versions = store_->versions(name);
        ASSERT_TRUE(versions.ok());
        ASSERT_EQ(versions->size(), 1u);
        EXPECT_EQ(versions->front().entry_count, count);
        EXPECT_EQ(versions->front().label, "import");
        auto tree = SmtTree::open(*store_, name, *backend_);
        ASSERT_TRUE(tree.ok()) << tree.status();
        EXPECT_EQ(*(*tree)->root(), batch->root);
        for (int probe = 0; probe < 5 && count > 0; ++probe) {
          const auto& [key, value] = state[rng() % count];
          EXPECT_EQ(*(*tree)->get(key), value);
          auto proof = (*tree)->prove(key);
          ASSERT_TRUE(proof.ok()) << proof.status();
          EXPECT_TRUE(verify_proof(batch->root, *proof).ok());
        }
      }
    }
  }
}

TEST_F(BulkLoadTest, LoadedTreeTakesCommitsRollbackRetentionAndReopening) {
  auto rng = testing::seeded_rng("LoadedTreeTakesCommitsRollbackRetentionAndReopening");
  const auto state = random_state(rng, 3000, false);
  std::vector<SmtOp> initial;
  for (const auto& [key, value] : state) initial.push_back(SmtOp::put(key, value));
  for (std::uint64_t keep : {0, 2}) {
    SCOPED_TRACE(::testing::Message() << "keep_versions " << keep);
    const std::string name = "kept" + std::to_string(keep);
    SmtLoadOptions options;
    options.create.keep_versions = keep;
    auto loaded = load_smt(*store_, name, entries_of(state), *backend_, options);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    auto tree = SmtTree::open(*store_, name, *backend_);
    ASSERT_TRUE(tree.ok());
    auto reference = SmtTree::create(*store_, name + "-ref", SmtCreateOptions{}, *backend_);
    ASSERT_TRUE(reference.ok());
    ASSERT_TRUE((*reference)->apply(initial).ok());
    std::vector<Fr> roots = {loaded->root};
    for (int v = 1; v <= 5; ++v) {
      std::vector<SmtOp> ops;
      for (int i = 0; i < 300; ++i) {
        const Fr key = rng() % 2 ? state[rng() % state.size()].first : testing::random_fr(rng);
        ops.push_back(rng() % 3 == 0 ? SmtOp::erase(key)
                                     : SmtOp::put(key, testing::random_fr(rng)));
      }
      auto mine = (*tree)->apply(ops);
      auto theirs = (*reference)->apply(ops);
      ASSERT_TRUE(mine.ok() && theirs.ok());
      ASSERT_EQ(mine->version, static_cast<std::uint64_t>(v));
      ASSERT_EQ(mine->root, theirs->root) << "version " << v;
      EXPECT_EQ(mine->entry_count, theirs->entry_count);
      roots.push_back(mine->root);
    }
    if (keep == 0) {
      // Back to the loaded version: every later record goes, the loaded ones stay.
      ASSERT_TRUE((*tree)->rollback(0).ok());
      EXPECT_EQ(*(*tree)->root(), loaded->root);
      for (int probe = 0; probe < 20; ++probe) {
        const auto& [key, value] = state[rng() % state.size()];
        EXPECT_EQ(*(*tree)->get(key), value);
      }
      EXPECT_EQ(scan(*store_, name, Space::kValues).records.size(), state.size());
    } else {
      // The loaded version was dropped by retention; cleanup leaves the kept versions whole.
      ASSERT_TRUE(store_->wait_for_cleanup().ok());
      auto info = store_->tree_info(name);
      ASSERT_TRUE(info.ok());
      EXPECT_EQ(info->oldest_version, 4u);
      EXPECT_EQ(*(*tree)->root(4), roots[4]);
      EXPECT_EQ(scan(*store_, name, Space::kNodes), scan(*store_, name + "-ref", Space::kNodes));
      for (int probe = 0; probe < 20; ++probe) {
        const Fr key = state[rng() % state.size()].first;
        EXPECT_EQ(*(*tree)->get(key, 4), *(*reference)->get(key, 5));
      }
    }
  }
  // Reopened with every head verified, the trees read back.
  store_.reset();
  auto reopened = storage::Store::open(dir_.path());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  auto tree = SmtTree::open(**reopened, "kept0", *backend_);
  ASSERT_TRUE(tree.ok());
  auto proof = (*tree)->prove(state[7].first);
  ASSERT_TRUE(proof.ok());
  EXPECT_TRUE(verify_proof(*(*tree)->root(), *proof).ok());
}

TEST_F(BulkLoadTest, RefusalsLeaveNoTreeAndNoFiles) {
  auto rng = testing::seeded_rng("RefusalsLeaveNoTreeAndNoFiles");
  auto state = random_state(rng, 500, false);
  const auto load_dir = dir_.path() / storage::kLoadDirectoryName;
  auto expect_nothing = [&](const std::string& name) {
    EXPECT_EQ(store_->tree_info(name).status().code(), absl::StatusCode::kNotFound);
    EXPECT_FALSE(std::filesystem::exists(load_dir));
  };

  auto duplicated = entries_of(state);
  duplicated.push_back(duplicated[123]);
  auto twice = load_smt(*store_, "twice", duplicated, *backend_);
  EXPECT_EQ(twice.status().code(), absl::StatusCode::kInvalidArgument) << twice.status();
  EXPECT_NE(twice.status().message().find("more than once"), std::string::npos);
  expect_nothing("twice");

  // Two keys sharing their lowest 8 bits need depth 9.
  SmtLoadOptions shallow;
  shallow.create.max_depth = 8;
  auto deep = entries_of(state);
  KeyBits bits = deep[0].key;
  bits[1] ^= 1;
  deep.push_back(SmtLoadEntry{bits, Fr::one()});
  auto too_deep = load_smt(*store_, "deep", deep, *backend_, shallow);
  EXPECT_EQ(too_deep.status().code(), absl::StatusCode::kOutOfRange) << too_deep.status();
  EXPECT_NE(too_deep.status().message().find("max depth 8"), std::string::npos);
  expect_nothing("deep");

  SmtLoadOptions bad_levels;
  bad_levels.create.page_levels = 7;
  EXPECT_EQ(load_smt(*store_, "levels", entries_of(state), *backend_, bad_levels).status().code(),
            absl::StatusCode::kInvalidArgument);
  expect_nothing("levels");

  ASSERT_TRUE(SmtTree::create(*store_, "taken", SmtCreateOptions{}, *backend_).ok());
  EXPECT_EQ(load_smt(*store_, "taken", entries_of(state), *backend_).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_FALSE(std::filesystem::exists(load_dir));

  // The store-level loader: one at a time, keys in order, nothing left when abandoned.
  auto spec = smt_tree_spec("abandoned", SmtCreateOptions{});
  ASSERT_TRUE(spec.ok());
  {
    auto loader = store_->load_tree(*spec);
    ASSERT_TRUE(loader.ok()) << loader.status();
    EXPECT_EQ(store_->load_tree(*spec).status().code(), absl::StatusCode::kFailedPrecondition);
    const std::string key(kValueKeyBytes, '\x05');
    ASSERT_TRUE((*loader)->add(Space::kValues, key, "v").ok());
    EXPECT_EQ((*loader)->add(Space::kValues, key, "v").code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ((*loader)->add(Space::kValues, std::string(kValueKeyBytes, '\x01'), "v").code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ((*loader)->add(Space::kNodes, "short", "v").code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(std::filesystem::exists(load_dir));
    // The tree is created only at finish: a tree of that name made meanwhile wins.
    ASSERT_TRUE(SmtTree::create(*store_, "abandoned", SmtCreateOptions{}, *backend_).ok());
    EXPECT_EQ((*loader)->finish({}).status().code(), absl::StatusCode::kAlreadyExists);
  }
  EXPECT_FALSE(std::filesystem::exists(load_dir));
  auto empty = SmtTree::open(*store_, "abandoned", *backend_);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE((*empty)->root()->is_zero());

  // A crash's leftovers are removed by the next writable open.
  std::filesystem::create_directories(load_dir);
  std::ofstream(load_dir / "nodes-0.sst") << "half a file";
  store_.reset();
  auto reopened = storage::Store::open(dir_.path());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_FALSE(std::filesystem::exists(load_dir));
  auto listed = (*reopened)->list_trees();
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 2u);  // "taken" and "abandoned"
}

// Verkle: random keys, many stems with several suffixes, and stems that share long prefixes.
std::vector<verkle::VerkleLoadEntry> verkle_state(std::mt19937_64& rng, std::size_t count) {
  std::set<verkle::Key32> seen;
  std::vector<verkle::VerkleLoadEntry> state;
  verkle::Key32 previous{};
  while (state.size() < count) {
    verkle::VerkleLoadEntry entry;
    for (auto& byte : entry.key) byte = static_cast<std::uint8_t>(rng());
    for (auto& byte : entry.value) byte = static_cast<std::uint8_t>(rng());
    const int shape = static_cast<int>(rng() % 4);
    if (shape == 0 && !state.empty()) {  // the previous key's stem, another suffix
      std::copy(previous.begin(), previous.begin() + verkle::kStemBytes, entry.key.begin());
    } else if (shape == 1 && !state.empty()) {  // a stem sharing 1..30 bytes with the previous
      const int shared = 1 + static_cast<int>(rng() % 30);
      std::copy(previous.begin(), previous.begin() + shared, entry.key.begin());
    }
    if (rng() % 16 == 0) entry.value = verkle::Value32{};  // zero is a value too
    if (!seen.insert(entry.key).second) continue;
    previous = entry.key;
    state.push_back(entry);
  }
  return state;
}

TEST_F(BulkLoadTest, VerkleLoadedTreeIsTheOneBatchTreeRecordForRecord) {
  auto rng = testing::seeded_rng("VerkleLoadedTreeIsTheOneBatchTreeRecordForRecord");
  for (std::size_t count : {0, 1, 2, 5, 300, 2500}) {
    SCOPED_TRACE(::testing::Message() << count << " keys");
    const auto state = verkle_state(rng, count);
    const std::string name = "verkle" + std::to_string(count);
    auto applied = verkle::VerkleTree::create(*store_, name + "-applied", {}, *backend_);
    ASSERT_TRUE(applied.ok()) << applied.status();
    std::vector<verkle::VerkleOp> ops;
    for (const auto& entry : state) ops.push_back(verkle::VerkleOp::put(entry.key, entry.value));
    auto batch = (*applied)->apply(ops);
    ASSERT_TRUE(batch.ok()) << batch.status();

    verkle::VerkleLoadOptions options;
    options.label = "import";
    auto loaded = verkle::load_verkle(*store_, name, state, *backend_, options);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_EQ(loaded->root, batch->root);
    EXPECT_EQ(loaded->keys, count);
    EXPECT_EQ(scan(*store_, name, Space::kNodes), scan(*store_, name + "-applied", Space::kNodes));
    EXPECT_EQ(scan(*store_, name, Space::kValues),
              scan(*store_, name + "-applied", Space::kValues));
    auto versions = store_->versions(name);
    ASSERT_TRUE(versions.ok());
    EXPECT_EQ(versions->front().entry_count, count);
    EXPECT_EQ(versions->front().root, std::string(verkle::as_view(batch->root)));
    // The loaded tree takes a batch as the applied one does.
    auto tree = verkle::VerkleTree::open(*store_, name, *backend_);
    ASSERT_TRUE(tree.ok());
    std::vector<verkle::VerkleOp> more;
    for (const auto& entry : verkle_state(rng, 40)) {
      more.push_back(verkle::VerkleOp::put(entry.key, entry.value));
    }
    if (count > 0) more.push_back(verkle::VerkleOp::erase(state[rng() % count].key));
    auto mine = (*tree)->apply(more);
    auto theirs = (*applied)->apply(more);
    ASSERT_TRUE(mine.ok() && theirs.ok());
    EXPECT_EQ(mine->root, theirs->root);
  }
  auto state = verkle_state(rng, 50);
  state.push_back(state[7]);
  EXPECT_EQ(verkle::load_verkle(*store_, "twice", state, *backend_).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->tree_info("twice").status().code(), absl::StatusCode::kNotFound);
}

std::string wire(const Fr& value) { return fr_bytes(value); }

std::string hex_of(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "0x";
  for (std::uint8_t byte : bytes) {
    out.push_back(kDigits[byte >> 4]);
    out.push_back(kDigits[byte & 15]);
  }
  return out;
}

TEST(LoadCommandTest, LinesAndBinaryFilesLoadTheTreeABatchMakes) {
  const std::string arbor = std::string(ARBOR_BIN_DIR) + "/arbor";
  TempDir dir("smt-load-cli");
  auto rng = testing::seeded_rng("LinesAndBinaryFilesLoadTheTreeABatchMakes");
  const auto state = random_state(rng, 2000, false);
  std::ofstream lines(dir.path() / "state.txt");
  std::ofstream binary(dir.path() / "state.bin", std::ios::binary);
  lines << "# key value\n";
  for (const auto& [key, value] : state) {
    lines << "put " << field::to_hex(key) << " " << field::to_hex(value) << "\n";
    binary << wire(key) << wire(value);
  }
  lines.close();
  binary.close();

  std::string roots[2];
  int i = 0;
  for (const char* format : {"lines", "binary"}) {
    const std::string data = (dir.path() / format).string();
    const std::string file = (dir.path() / (i == 0 ? "state.txt" : "state.bin")).string();
    const testing::CommandResult run =
        testing::run_command(arbor + " load " + data + " accounts " + file + " --format " + format +
                             " --backend cpu --page-levels 3 --label genesis");
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_NE(run.out.find("loaded 2000 keys"), std::string::npos) << run.out;
    const testing::CommandResult root =
        testing::run_command(arbor + " smt root --data " + data + " --tree accounts --json");
    ASSERT_EQ(root.exit_code, 0) << root.err;
    roots[i++] = nlohmann::json::parse(root.out).at("root").get<std::string>();
    // Loading the same name again is refused.
    const testing::CommandResult again =
        testing::run_command(arbor + " load " + data + " accounts " + file + " --format " + format);
    EXPECT_EQ(again.exit_code, 1);
    EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
  }
  EXPECT_EQ(roots[0], roots[1]);
  // The root is the one a batch makes.
  storage::StoreOptions options;
  options.sync = storage::SyncMode::kNone;
  auto store = storage::Store::open(dir.path() / "reference", options);
  ASSERT_TRUE(store.ok());
  auto backend = host::make_cpu_backend();
  auto tree = SmtTree::create(**store, "accounts", SmtCreateOptions{}, *backend);
  ASSERT_TRUE(tree.ok());
  std::vector<SmtOp> ops;
  for (const auto& [key, value] : state) ops.push_back(SmtOp::put(key, value));
  auto applied = (*tree)->apply(ops);
  ASSERT_TRUE(applied.ok());
  EXPECT_EQ(roots[0], field::to_hex(applied->root));

  // Bad files: a delete, a value >= p, a torn record. Nothing is created.
  const std::string data = (dir.path() / "refused").string();
  struct BadFile {
    const char* format;
    std::string bytes;
    const char* says;
  };
  const std::string p_bytes = wire(Fr::zero()).replace(0, 32, std::string(32, '\xff'));
  for (const BadFile& bad : {
           BadFile{"lines", "put 1 2\ndel 1\n", "a delete"},
           BadFile{"binary", wire(Fr::one()) + p_bytes, "record 1"},
           BadFile{"binary", std::string(100, '\0'), "not a whole number"},
       }) {
    const auto path = dir.path() / "bad";
    std::ofstream(path, std::ios::binary) << bad.bytes;
    const testing::CommandResult run = testing::run_command(
        arbor + " load " + data + " t " + path.string() + " --format " + bad.format);
    EXPECT_EQ(run.exit_code, 1) << bad.says;
    EXPECT_NE(run.err.find(bad.says), std::string::npos) << run.err;
  }
  // Input is read before the directory is opened, so nothing was created.
  EXPECT_FALSE(std::filesystem::exists(data));

  // Verkle, binary records: the root is the one a batch makes.
  const auto verkle_entries = verkle_state(rng, 500);
  {
    std::ofstream out(dir.path() / "verkle.bin", std::ios::binary);
    for (const auto& entry : verkle_entries) {
      out << verkle::as_view(entry.key) << verkle::as_view(entry.value);
    }
  }
  const std::string verkle_dir = (dir.path() / "verkle").string();
  const testing::CommandResult run = testing::run_command(
      arbor + " load " + verkle_dir + " state " + (dir.path() / "verkle.bin").string() +
      " --scheme verkle --format binary --backend cpu");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("loaded 500 keys"), std::string::npos) << run.out;
  const testing::CommandResult verkle_root =
      testing::run_command(arbor + " verkle root --data " + verkle_dir + " --tree state --json");
  ASSERT_EQ(verkle_root.exit_code, 0) << verkle_root.err;
  auto reference_tree = verkle::VerkleTree::create(**store, "state", {}, *backend);
  ASSERT_TRUE(reference_tree.ok());
  std::vector<verkle::VerkleOp> verkle_ops;
  for (const auto& entry : verkle_entries) {
    verkle_ops.push_back(verkle::VerkleOp::put(entry.key, entry.value));
  }
  auto verkle_applied = (*reference_tree)->apply(verkle_ops);
  ASSERT_TRUE(verkle_applied.ok());
  EXPECT_EQ(nlohmann::json::parse(verkle_root.out).at("root").get<std::string>(),
            hex_of(verkle_applied->root));
}

}  // namespace
}  // namespace arbor::smt
