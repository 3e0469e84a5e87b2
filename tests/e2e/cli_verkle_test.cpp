// `arbor verkle` as a user runs it: create, apply, root/get, rollback, prune, tree-key, with the
// known answers of ../shared/vectors/verkle and the exit codes and messages of bad input.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/test_support.hpp"

namespace arbor {
namespace {

const std::string kArbor = std::string(ARBOR_BIN_DIR) + "/arbor";
const std::string kKey = "0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";
// rust-verkle simple_insert: key = value = kKey.
const std::string kKeyRoot = "0x6f5e7cfc3a158a64e5718b0d2f18f564171342380f5808f3d2a82f7e7f3c2778";
const std::string kKeyRootHash =
    "0x029b6c4c8af9001f0ac76472766c6579f41eec84a73898da06eb97ebdab80a09";
const std::string kZero = "0x" + std::string(64, '0');

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class CliVerkleTest : public ::testing::Test {
 protected:
  testing::CommandResult arbor(const std::string& args, const std::string& input = "") {
    return testing::run_command(kArbor + " verkle " + args, input);
  }
  std::string tree_args() const { return "--data " + (dir_.path() / "db").string() + " --tree t"; }
  void create() {
    const auto created = arbor("create " + tree_args());
    ASSERT_EQ(created.exit_code, 0) << created.err;
  }
  testing::TempDir dir_{"cli-verkle"};
};

TEST_F(CliVerkleTest, ApplyPrintsTheKnownRootAndReadsBack) {
  create();
  const auto applied = arbor("apply --hash " + tree_args(), "put " + kKey + " " + kKey + "\n");
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  EXPECT_EQ(applied.out, "root " + kKeyRoot + "\nroot_hash " + kKeyRootHash + "\nversion 1\n");
  const auto got = arbor("get " + tree_args() + " " + kKey);
  EXPECT_EQ(got.exit_code, 0);
  EXPECT_EQ(got.out, kKey + "\n");
  const auto root = arbor("root --json " + tree_args());
  ASSERT_EQ(root.exit_code, 0);
  const auto json = nlohmann::json::parse(root.out);
  EXPECT_EQ(json["root"], kKeyRoot);
  EXPECT_EQ(json["version"], 1);
  EXPECT_EQ(json["entries"], 1);
}

TEST_F(CliVerkleTest, PublicVectorsThroughTheCli) {
  const auto vectors = testing::read_json(testing::vectors_dir() / "verkle/public_vectors.json");
  int n = 0;
  for (const auto& v : vectors["tree_vectors"]) {
    if (!v.contains("insert") || !v.contains("root_commitment") || v["insert"].empty()) continue;
    const std::string args =
        "--data " + (dir_.path() / "db").string() + " --tree v" + std::to_string(n++);
    ASSERT_EQ(arbor("create " + args).exit_code, 0);
    std::string lines = "# from " + v["src"].get<std::string>() + "\n";
    for (const auto& kv : v["insert"]) {
      lines += "put 0x" + kv[0].get<std::string>() + " " + kv[1].get<std::string>() + "\r\n";
    }
    const auto applied = arbor("apply --json " + args, lines);
    ASSERT_EQ(applied.exit_code, 0) << applied.err;
    EXPECT_EQ(nlohmann::json::parse(applied.out)["root"],
              "0x" + v["root_commitment"].get<std::string>());
  }
  EXPECT_GE(n, 2);
}

TEST_F(CliVerkleTest, DeleteRollbackLabelsAndPrune) {
  create();
  ASSERT_EQ(arbor("apply --label block-1 " + tree_args(), "put " + kKey + " " + kKey).exit_code, 0);
  const auto deleted = arbor("apply --label block-2 " + tree_args(), "del " + kKey);
  ASSERT_EQ(deleted.exit_code, 0);
  EXPECT_EQ(deleted.out, "root " + kZero + "\nversion 2\n");
  const auto absent = arbor("get " + tree_args() + " " + kKey);
  EXPECT_EQ(absent.exit_code, 1);
  EXPECT_TRUE(contains(absent.err, "is not in the tree"));
  EXPECT_EQ(arbor("get --at-label block-1 " + tree_args() + " " + kKey).out, kKey + "\n");
  const auto stale = arbor("apply --expected-version 1 " + tree_args(), "del " + kKey);
  EXPECT_EQ(stale.exit_code, 1);
  EXPECT_TRUE(contains(stale.err, "not the expected 1")) << stale.err;
  const auto back = arbor("rollback --to-label block-1 " + tree_args());
  ASSERT_EQ(back.exit_code, 0) << back.err;
  EXPECT_EQ(back.out, "root " + kKeyRoot + "\nversion 1\n");
  EXPECT_EQ(arbor("root --version 2 " + tree_args()).exit_code, 1);  // gone
  const auto pruned = arbor("prune --json " + tree_args() + " 1");
  ASSERT_EQ(pruned.exit_code, 0) << pruned.err;
  EXPECT_EQ(nlohmann::json::parse(pruned.out)["oldest_version"], 1);
  EXPECT_EQ(arbor("root --version 0 " + tree_args()).exit_code, 1);
  EXPECT_EQ(arbor("rollback " + tree_args()).exit_code, 1);
}

TEST_F(CliVerkleTest, BadLinesApplyNothingAndNameTheirLines) {
  create();
  const auto bad = arbor("apply " + tree_args(), "put " + kKey + " " + kKey + "\nput 0x12 " + kKey +
                                                     "\ndel\nmove " + kKey + "\nput " + kKey +
                                                     " 0x" + std::string(64, 'g'));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(contains(bad.err, "line 2: key: \"0x12\" is not 32 bytes of hex")) << bad.err;
  EXPECT_TRUE(contains(bad.err, "line 3: expected `del KEY`")) << bad.err;
  EXPECT_TRUE(contains(bad.err, "line 4: unknown operation \"move\"")) << bad.err;
  EXPECT_TRUE(contains(bad.err, "line 5: value:")) << bad.err;
  EXPECT_TRUE(contains(bad.err, "nothing was applied"));
  const auto root = arbor("root " + tree_args());
  EXPECT_EQ(root.out, "root " + kZero + "\nversion 0\n");
}

TEST_F(CliVerkleTest, MissingTreesAndDirectories) {
  const auto no_dir = arbor("root --data " + (dir_.path() / "nowhere").string() + " --tree t");
  EXPECT_EQ(no_dir.exit_code, 2);
  create();
  const auto no_tree = arbor("root --data " + (dir_.path() / "db").string() + " --tree other");
  EXPECT_EQ(no_tree.exit_code, 1);
  EXPECT_TRUE(contains(no_tree.err, "no tree named")) << no_tree.err;
  EXPECT_EQ(arbor("create " + tree_args()).exit_code, 1);  // exists
  // An SMT of the same store is not a Verkle tree.
  ASSERT_EQ(testing::run_command(kArbor + " smt create --data " + (dir_.path() / "db").string() +
                                 " --tree s")
                .exit_code,
            0);
  const auto wrong = arbor("root --data " + (dir_.path() / "db").string() + " --tree s");
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_TRUE(contains(wrong.err, "not a Verkle tree")) << wrong.err;
}

TEST_F(CliVerkleTest, TreeKeyVectors) {
  const auto vectors = testing::read_json(testing::vectors_dir() / "verkle/derived_vectors.json");
  int checked = 0;
  for (const auto& v : vectors["tree_keys"]) {
    const std::string address = "0x" + v["address20"].get<std::string>();
    const std::string address32 = "0x" + v["address32"].get<std::string>();
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"0 0", "basic_data_key(tree_index=0,sub=0)"},
        {"0 1", "code_hash_key(sub=1)"},
        {"0 64", "storage_slot_0_key(pos=64)"},
        {"0x0 128", "code_chunk_0_key(pos=128)"},
        // pos = 256^31 + 64: tree index 256^30, sub-index 64.
        {"0x1" + std::string(60, '0') + " 64", "storage_slot_64_key(pos=256**31+64)"},
        {"1766847064778384329583297500742918515827483896875618958121606201292619776 64",
         "storage_slot_64_key(pos=256**31+64)"},
    };
    for (const auto& [args, field] : cases) {
      for (const std::string& a : {address, address32}) {
        const auto key = arbor("tree-key " + a + " " + args);
        ASSERT_EQ(key.exit_code, 0) << key.err;
        EXPECT_EQ(key.out, "0x" + v[field].get<std::string>() + "\n") << a << " " << args;
        ++checked;
      }
    }
  }
  EXPECT_GE(checked, 24);
  for (const std::string& bad :
       {std::string("0x00 0 0"), "0x" + std::string(40, '0') + " -1 0",
        "0x" + std::string(40, '0') + " 0 256",
        "0x" + std::string(40, '0') + " 0x" + std::string(65, '1') + " 0",
        "0x" + std::string(40, '0') + " 1" + std::string(78, '0') + " 0"}) {
    const auto refused = arbor("tree-key " + bad);
    EXPECT_EQ(refused.exit_code, 1) << bad;
    EXPECT_FALSE(refused.err.empty()) << bad;
  }
}

}  // namespace
}  // namespace arbor
