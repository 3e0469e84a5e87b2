// host/tree: the scheme-neutral interface, run on every scheme of the registry. Readers stay on
// one snapshot while versions are committed, pruned and rolled back; scans page; bad wire bytes
// are refused naming the field; verify_any tells the schemes apart.
#include "host/tree/tree.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>

#include "host/smt/smt_records.hpp"
#include "host/tree/schemes.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::tree {
namespace {

using testing::TempDir;

// Random wire keys and values valid for `scheme`.
std::string random_bytes(std::mt19937_64& rng, std::string_view scheme) {
  if (scheme == "smt") return smt::fr_bytes(testing::random_fr(rng));
  std::string bytes(32, '\0');
  for (char& byte : bytes) byte = static_cast<char>(rng());
  return bytes;
}

class TreeTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    store_ = *storage::Store::open(dir_ / "db");
    backend_ = host::make_cpu_backend(2);
    const Scheme* scheme = find_scheme(GetParam());
    ASSERT_NE(scheme, nullptr);
    absl::StatusOr<std::unique_ptr<Tree>> made =
        scheme->create(*store_, "t", CreateOptions{}, *backend_, OpenOptions{});
    ASSERT_TRUE(made.ok()) << made.status();
    tree_ = std::move(*made);
  }
  void TearDown() override {
    tree_.reset();
    store_.reset();
  }

  // Applies `count` fresh puts; returns them.
  std::map<std::string, std::string> put_many(std::mt19937_64& rng, int count,
                                              const std::string& label = "") {
    std::map<std::string, std::string> written;
    std::vector<Op> ops;
    for (int i = 0; i < count; ++i) {
      std::string key = random_bytes(rng, GetParam());
      std::string value = random_bytes(rng, GetParam());
      written[key] = value;
      ops.push_back(Op::put(std::move(key), std::move(value)));
    }
    ApplyOptions options;
    options.label = label;
    absl::StatusOr<ApplyResult> applied = tree_->apply(ops, options);
    EXPECT_TRUE(applied.ok()) << applied.status();
    return written;
  }

  TempDir dir_{"tree"};
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<host::ComputeBackend> backend_;
  std::unique_ptr<Tree> tree_;
};

TEST_P(TreeTest, AReaderKeepsItsVersionThroughCommitsPrunesAndRollbacks) {
  std::mt19937_64 rng = testing::seeded_rng("tree reader");
  const std::map<std::string, std::string> first = put_many(rng, 20, "one");
  absl::StatusOr<Reader> reader = tree_->reader();
  ASSERT_TRUE(reader.ok()) << reader.status();
  const storage::VersionRecord pinned = reader->version();
  ASSERT_EQ(pinned.version, 1u);
  std::vector<std::string> keys;
  for (const auto& [key, value] : first) keys.push_back(key);
  absl::StatusOr<Proof> before = reader->prove(keys);
  ASSERT_TRUE(before.ok()) << before.status();

  // Between the reader's calls: new versions, a prune that drops version 1, then a rollback.
  put_many(rng, 20);
  put_many(rng, 20);
  absl::StatusOr<storage::PruneResult> pruned = tree_->prune(3, /*compact=*/true);
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  ASSERT_TRUE(store_->wait_for_cleanup().ok());
  EXPECT_EQ(tree_->reader({1, std::nullopt}).status().code(), absl::StatusCode::kOutOfRange);
  put_many(rng, 5);
  ASSERT_TRUE(tree_->rollback(3).ok());

  // The reader still answers from version 1, whole and unmixed.
  EXPECT_EQ(reader->version().version, 1u);
  EXPECT_EQ(reader->root(), pinned.root);
  for (const auto& [key, value] : first) {
    absl::StatusOr<std::optional<std::string>> got = reader->get(key);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, value);
  }
  absl::StatusOr<std::vector<std::optional<std::string>>> many = reader->get_many(keys);
  ASSERT_TRUE(many.ok()) << many.status();
  for (std::size_t i = 0; i < keys.size(); ++i) EXPECT_EQ((*many)[i], first.at(keys[i]));
  absl::StatusOr<Proof> after = reader->prove(keys);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->bytes, before->bytes);
  absl::StatusOr<VerifyOutcome> verdict = verify_any(after->bytes, pinned.root, *backend_);
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_TRUE(verdict->valid) << verdict->reason;
  absl::StatusOr<ScanPage> all = reader->scan({}, kMaxScanLimit);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->entries.size(), first.size());
  EXPECT_FALSE(all->more);
}

TEST_P(TreeTest, ScanPagesInKeyOrderAndEachPageCostsWhatItReturns) {
  std::mt19937_64 rng = testing::seeded_rng("tree scan");
  std::map<std::string, std::string> written = put_many(rng, 57);
  // A delete and an overwrite: scans see the live value only.
  const std::string gone = written.begin()->first;
  const std::string changed = std::next(written.begin(), 5)->first;
  const std::string new_value = random_bytes(rng, GetParam());
  ASSERT_TRUE(tree_->apply(std::vector<Op>{Op::erase(gone), Op::put(changed, new_value)}, {}).ok());
  written.erase(gone);
  written[changed] = new_value;
  absl::StatusOr<Reader> reader = tree_->reader();
  ASSERT_TRUE(reader.ok());
  std::vector<std::pair<std::string, std::string>> seen;
  std::string after;
  for (int pages = 0;; ++pages) {
    ASSERT_LT(pages, 100);
    absl::StatusOr<ScanPage> page = reader->scan(after, 10);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_LE(page->entries.size(), 10u);
    seen.insert(seen.end(), page->entries.begin(), page->entries.end());
    if (!page->more) break;
    after = page->entries.back().first;
  }
  const std::vector<std::pair<std::string, std::string>> expected(written.begin(), written.end());
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(reader->scan({}, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(reader->scan({}, kMaxScanLimit + 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(reader->scan("short", 10).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(TreeTest, BadWireBytesAreRefusedNamingTheFieldAndChangeNothing) {
  std::mt19937_64 rng = testing::seeded_rng("tree bad input");
  put_many(rng, 3);
  const storage::VersionRecord head = *tree_->version_record();
  const std::string good = random_bytes(rng, GetParam());
  struct Case {
    std::vector<Op> ops;
    std::string field;
  };
  std::vector<Case> cases = {
      {{Op::put(good, good), Op::put(std::string(31, 'k'), good)}, "ops[1].key"},
      {{Op::put(std::string(33, 'k'), good)}, "ops[0].key"},
      {{Op::put(good, std::string(31, 'v'))}, "ops[0].value"},
      {{Op::put(good, "")}, "ops[0].value"},
      {{Op::put(good, good), Op::put(good, good), Op{Op::Kind::kDelete, good, good}},
       "ops[2].value"},
  };
  if (GetParam() == "smt")
    cases.push_back({{Op::put(std::string(32, '\xff'), good)}, "ops[0].key"});
  for (const Case& c : cases) {
    const absl::Status checked = tree_->check_ops(c.ops, "ops");
    EXPECT_EQ(checked.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_NE(std::string(checked.message()).find(c.field), std::string::npos)
        << c.field << ": " << checked.message();
    if (c.field.ends_with(".key") || c.ops.back().kind == Op::Kind::kPut) {
      EXPECT_EQ(tree_->apply(c.ops, {}).status().code(), absl::StatusCode::kInvalidArgument)
          << c.field;
    }
  }
  EXPECT_EQ(tree_->version_record()->version, head.version);
  EXPECT_EQ(tree_->version_record()->root, head.root);
  absl::StatusOr<Reader> reader = tree_->reader();
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(reader->get("x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(reader->get_many({}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(reader->prove(std::vector<std::string>(kMaxKeysPerRead + 1, good)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(reader->prove(std::vector<std::string>{good}, "keys", "xml").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(tree_->reader({head.version + 1, std::nullopt}).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(tree_->reader({std::nullopt, "no such label"}).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(TreeTest, ProofsOfEveryEncodingVerifyAndNameTheirScheme) {
  std::mt19937_64 rng = testing::seeded_rng("tree proofs");
  const std::map<std::string, std::string> written = put_many(rng, 30, "block 7");
  absl::StatusOr<Reader> reader = tree_->reader({std::nullopt, "block 7"});
  ASSERT_TRUE(reader.ok()) << reader.status();
  std::vector<std::string> keys = {written.begin()->first, random_bytes(rng, GetParam())};
  for (std::string_view encoding : {"binary", "json"}) {
    absl::StatusOr<Proof> proof = reader->prove(keys, "keys", encoding);
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_TRUE(proof->format.starts_with(GetParam())) << proof->format;
    absl::StatusOr<VerifyOutcome> verdict = verify_any(proof->bytes, reader->root(), *backend_);
    ASSERT_TRUE(verdict.ok()) << verdict.status();
    EXPECT_TRUE(verdict->valid) << verdict->reason;
    EXPECT_EQ(verdict->format, proof->format);
    // Against another version's root it does not hold.
    absl::StatusOr<VerifyOutcome> wrong =
        verify_any(proof->bytes, tree_->version_record(0)->root, *backend_);
    if (wrong.ok()) {
      EXPECT_FALSE(wrong->valid);
    }
  }
  absl::StatusOr<WriteProofs> written_proofs = reader->prove_written(keys);
  ASSERT_TRUE(written_proofs.ok()) << written_proofs.status();
  ASSERT_EQ(written_proofs->keys.size(), 2u);
  EXPECT_EQ(written_proofs->keys[0].value, written.begin()->second);
  EXPECT_FALSE(written_proofs->keys[1].value.has_value());
  if (GetParam() == "verkle") {
    ASSERT_TRUE(written_proofs->combined.has_value());
    EXPECT_TRUE(written_proofs->keys[0].proof.empty());
  } else {
    EXPECT_FALSE(written_proofs->combined.has_value());
    EXPECT_FALSE(written_proofs->keys[0].proof.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(Schemes, TreeTest, ::testing::Values("smt", "verkle"),
                         [](const auto& info) { return info.param; });

TEST(SchemesTest, RegistryAndDetection) {
  EXPECT_EQ(scheme_names(), "smt, verkle");
  for (const Scheme& scheme : schemes()) {
    EXPECT_TRUE(scheme.create && scheme.open && scheme.recognizes && scheme.verify &&
                scheme.warm_up)
        << scheme.name << ": every entry point is needed";
  }
  EXPECT_EQ(find_scheme("patricia"), nullptr);
  auto backend = host::make_cpu_backend(1);
  EXPECT_EQ(verify_any("", std::nullopt, *backend).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(verify_any("garbage", std::nullopt, *backend).status().code(),
            absl::StatusCode::kInvalidArgument);
  const Scheme& smt = *find_scheme("smt");
  const Scheme& verkle = *find_scheme("verkle");
  EXPECT_TRUE(smt.recognizes("AS\x01"));
  EXPECT_TRUE(smt.recognizes(R"({"root":"0x0"})"));
  EXPECT_FALSE(smt.recognizes(R"({"stateDiff":[],"verkleProof":{}})"));
  EXPECT_TRUE(verkle.recognizes(R"({"stateDiff":[],"verkleProof":{}})"));
  EXPECT_TRUE(verkle.recognizes("AVW1..."));
  // Detection reads only the top-level keys: a key nested deeper, or inside a string, does not
  // make a Verkle witness, and 32 MiB of hostile JSON is refused by the SMT decoder's bounds
  // without a whole-text parse (INVALID_ARGUMENT, not minutes and gigabytes).
  EXPECT_FALSE(verkle.recognizes(R"({"a":{"stateDiff":[]},"b":"\"verkleProof\":"})"));
  EXPECT_TRUE(verkle.recognizes(R"({"a":"x\\","executionWitness" : {}})"));
  std::string hostile = R"({"entries":[)";
  for (int i = 0; i < (16 << 20); ++i) hostile += "0,";
  hostile += "0]}";
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(verify_any(hostile, std::nullopt, *backend).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::printf("32 MiB hostile JSON refused in %.2f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  // A Verkle witness needs its root; a root that is not a point is refused as the root.
  EXPECT_NE(std::string(verify_any("AVW1", std::nullopt, *backend).status().message()).find("root"),
            std::string::npos);
  const absl::Status not_a_point = verify_any("AVW1", std::string(32, '\xff'), *backend).status();
  EXPECT_NE(std::string(not_a_point.message()).find("root"), std::string::npos) << not_a_point;
  // max_depth belongs to the SMT only.
  TempDir dir("schemes");
  auto store = *storage::Store::open(dir / "db");
  EXPECT_EQ(verkle.create(*store, "v", {0, 8}, *backend, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(smt.create(*store, "s", {0, 255}, *backend, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(smt.create(*store, "s", {0, 16}, *backend, {}).ok());
  EXPECT_EQ(verkle.open(*store, "s", *backend, {}).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace arbor::tree
