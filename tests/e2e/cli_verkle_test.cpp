// `arbor verkle` as a user runs it: create, apply, root/get, rollback, prune, tree-key, prove and
// verify, with the known answers of ../shared/vectors/verkle (trees, the single-key witness, the
// execution witnesses of blocks), random trees proved and verified through the CLI in both formats,
// tampered witnesses, and the exit codes and messages of bad input.
#include <algorithm>
#include <array>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <span>
#include <string>
#include <utility>
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

// ---- prove / verify -----------------------------------------------------------------------------

std::string hex32(std::span<const std::uint8_t> bytes) { return "0x" + testing::hex_of(bytes); }

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  return path.string();
}

std::string random_bytes(std::mt19937_64& rng, std::size_t n) {
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

// Another hex digit in place of text[at].
void change_hex_digit(std::string& text, std::size_t at, std::mt19937_64& rng) {
  static const std::string kDigits = "0123456789abcdef";
  const std::size_t was = kDigits.find(static_cast<char>(std::tolower(text[at])));
  ASSERT_NE(was, std::string::npos) << text;
  text[at] = kDigits[(was + 1 + rng() % 15) % 16];
}

// A witness verify refused: exit 1 with the reason, or at worst 2 (could not run); never 0, and
// never a signal (run_command reports those as -1).
void expect_refused(const testing::CommandResult& r, const std::string& what) {
  EXPECT_NE(r.exit_code, 0) << what << ": accepted: " << r.out;
  EXPECT_TRUE(r.exit_code == 1 || r.exit_code == 2)
      << what << ": exit " << r.exit_code << " " << r.err;
  if (r.exit_code == 1) {
    EXPECT_TRUE(contains(r.err, "arbor: invalid: ")) << what << ": " << r.err;
  }
}

constexpr std::size_t kMultiproofSize = 576;  // D | L[8] | R[8] | a, the witness's last bytes

std::string valid_line(std::size_t keys, std::size_t present, std::size_t stems,
                       std::size_t openings) {
  return "valid: " + std::to_string(keys) + " keys (" + std::to_string(present) + " present) in " +
         std::to_string(stems) + " stems, " + std::to_string(openings) + " openings\n";
}

TEST_F(CliVerkleTest, ProvesTheSingleKeyVectorAndVerifiesIt) {
  const auto v = testing::read_json(testing::vectors_dir() /
                                    "verkle/derived_vectors.json")["single_key_proof"];
  ASSERT_EQ(v["pre_state_root"], kKeyRoot.substr(2));
  create();
  const auto applied = arbor("apply " + tree_args(), "put " + kKey + " " + kKey + "\n");
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  EXPECT_EQ(applied.out, "root " + kKeyRoot + "\nversion 1\n");

  const auto proved = arbor("prove " + tree_args() + " " + kKey);
  ASSERT_EQ(proved.exit_code, 0) << proved.err;
  ASSERT_FALSE(proved.out.empty());
  EXPECT_EQ(proved.out.back(), '\n');
  EXPECT_EQ(nlohmann::json::parse(proved.out), v["execution_witness_json_like_go_verkle"]);
  const std::string proof = write_file(dir_ / "single.json", proved.out);
  const std::size_t openings = v["openings_in_order"].size();

  const auto checked = arbor("verify --root " + kKeyRoot + " --proof " + proof);
  ASSERT_EQ(checked.exit_code, 0) << checked.err;
  EXPECT_EQ(checked.out, valid_line(1, 1, 1, openings));
  const auto as_json = arbor("verify --json --root " + kKeyRoot + " --proof " + proof);
  ASSERT_EQ(as_json.exit_code, 0) << as_json.err;
  const auto fields = nlohmann::json::parse(as_json.out);
  EXPECT_EQ(fields["valid"], true);
  EXPECT_EQ(fields["format"], "json");
  EXPECT_EQ(fields["stems"], 1);
  EXPECT_EQ(fields["keys"], 1);
  EXPECT_EQ(fields["present"], 1);
  EXPECT_EQ(fields["openings"], openings);
  EXPECT_FALSE(fields.contains("post_root"));

  // The same witness in binary form.
  const auto binary = arbor("prove --format binary " + tree_args() + " " + kKey);
  ASSERT_EQ(binary.exit_code, 0) << binary.err;
  EXPECT_EQ(binary.out.substr(0, 4), "AVW1");
  const auto from_stdin = arbor("verify --root " + kKeyRoot + " --proof -", binary.out);
  ASSERT_EQ(from_stdin.exit_code, 0) << from_stdin.err;
  EXPECT_EQ(from_stdin.out, checked.out);

  // Wrong roots: another valid point (the leaf's commitment), the identity, a non-point.
  const std::string leaf =
      v["execution_witness_json_like_go_verkle"]["verkleProof"]["commitmentsByPath"][0];
  for (const std::string& wrong : {leaf, kZero, kKeyRoot.substr(0, 65) + "7"}) {
    const auto refused = arbor("verify --root " + wrong + " --proof " + proof);
    EXPECT_EQ(refused.exit_code, 1) << wrong;
    EXPECT_EQ(refused.out, "") << wrong;
    EXPECT_TRUE(contains(refused.err, "arbor: invalid: ")) << refused.err;
    const auto refused_json = arbor("verify --json --root " + wrong + " --proof " + proof);
    EXPECT_EQ(refused_json.exit_code, 1) << wrong;
    const auto reason = nlohmann::json::parse(refused_json.out);
    EXPECT_EQ(reason["valid"], false);
    EXPECT_FALSE(reason["reason"].get<std::string>().empty());
    EXPECT_TRUE(contains(refused_json.err, reason["reason"].get<std::string>()));
  }
}

// A random tree of about 300 keys applied through the CLI in three labelled versions (new keys,
// updates, stems sharing long prefixes, deletes, one stem deleted entirely), with the state and
// root after each version.
class CliVerkleRandomTreeTest : public CliVerkleTest {
 protected:
  using State = std::map<std::string, std::string>;  // hex key -> hex value, lowercase

  void SetUp() override {
    create();
    if (HasFatalFailure()) return;
    for (int i = 0; i < 40; ++i) {
      std::array<std::uint8_t, 31> stem;
      for (auto& b : stem) b = static_cast<std::uint8_t>(rng_());
      if (i >= 8 && i % 4 == 0) {  // a long common prefix with an earlier stem
        stem = stems_[rng_() % stems_.size()];
        stem[1 + rng_() % 30] ^= static_cast<std::uint8_t>(1 + rng_() % 255);
      }
      stems_.push_back(stem);
    }
    states_.push_back({});
    roots_.push_back(kZero);
    apply_batch("block-1", 150, 0, 0, 30, false);
    apply_batch("block-2", 90, 30, 10, 40, false);
    apply_batch("block-3", 50, 20, 15, 40, true);
    if (HasFatalFailure()) return;
    ASSERT_GE(states_.back().size(), 200u);
    ASSERT_EQ(std::set<std::string>(roots_.begin(), roots_.end()).size(), 4u);
  }

  static std::string stem_of(const std::string& key) { return key.substr(0, 64); }

  std::string key_at(std::size_t stem, std::uint8_t suffix) const {
    std::array<std::uint8_t, 32> key;
    std::copy(stems_[stem].begin(), stems_[stem].end(), key.begin());
    key[31] = suffix;
    return hex32(key);
  }

  std::string random_key_of(const State& state) {
    auto it = state.begin();
    std::advance(it, rng_() % state.size());
    return it->first;
  }

  // `puts` new values at random suffixes of the first `stems` stems, `updates` of present keys,
  // `deletes` of present keys; with `drop_first_stem` every value of stems_[0] is deleted too.
  void apply_batch(const std::string& label, int puts, int updates, int deletes, std::size_t stems,
                   bool drop_first_stem) {
    const State before = states_.back();
    State after = before;
    std::set<std::string> deleted;
    std::string lines = "# " + label + "\n";
    auto del = [&](const std::string& key) {
      if (!deleted.insert(key).second) return;
      lines += "del " + key + "\n";
      after.erase(key);
    };
    for (int i = 0; i < deletes && !before.empty(); ++i) del(random_key_of(before));
    if (drop_first_stem) {
      for (const auto& [key, value] : before) {
        if (stem_of(key) == stem_of(key_at(0, 0))) del(key);
      }
    }
    auto put = [&](const std::string& key) {
      if (deleted.count(key) != 0) return;  // deletes go before puts: keep them apart
      std::array<std::uint8_t, 32> value;
      for (auto& b : value) b = static_cast<std::uint8_t>(rng_());
      lines += "put " + key + " " + hex32(value) + "\n";
      after[key] = hex32(value);
    };
    for (int i = 0; i < puts; ++i) {
      const std::size_t stem =
          (drop_first_stem ? 1 : 0) + rng_() % (stems - (drop_first_stem ? 1 : 0));
      put(key_at(stem, static_cast<std::uint8_t>(rng_())));
    }
    for (int i = 0; i < updates && !before.empty(); ++i) put(random_key_of(before));
    const auto applied = arbor("apply --json --label " + label + " " + tree_args(), lines);
    ASSERT_EQ(applied.exit_code, 0) << applied.err;
    const auto out = nlohmann::json::parse(applied.out);
    ASSERT_EQ(out["version"], states_.size());
    ASSERT_EQ(out["entries"], after.size());
    states_.push_back(after);
    roots_.push_back(out["root"]);
  }

  // Present keys of `version`, absent suffixes of its stems, absent stems (random, sharing 30
  // bytes with a present stem, and of the stem deleted in version 3).
  std::vector<std::string> keys_to_prove(std::size_t version, int present, int absent_suffix,
                                         int absent_stem) {
    const State& state = states_[version];
    std::set<std::string> stems;
    for (const auto& [key, value] : state) stems.insert(stem_of(key));
    std::vector<std::string> keys;
    for (int i = 0; i < present; ++i) keys.push_back(random_key_of(state));
    for (int i = 0; i < absent_suffix;) {
      std::string key = random_key_of(state);
      key.replace(64, 2,
                  testing::hex_of(std::array<std::uint8_t, 1>{static_cast<std::uint8_t>(rng_())}));
      if (state.count(key) == 0) keys.push_back(key), ++i;
    }
    for (int i = 0; i < absent_stem;) {
      std::array<std::uint8_t, 32> bytes;
      for (auto& b : bytes) b = static_cast<std::uint8_t>(rng_());
      std::string key = hex32(bytes);
      if (i % 2 == 1) key = random_key_of(state).substr(0, 62) + key.substr(62);
      if (stems.count(stem_of(key)) == 0) keys.push_back(key), ++i;
    }
    if (version == 3) keys.push_back(key_at(0, 7));
    return keys;
  }

  // Checks a JSON witness's state diff against `keys` at `version`: every key once, stems and
  // suffixes in order, currentValue the value (null when absent), newValue null. Returns how many
  // keys, stems and present keys the verifier should report.
  struct Counts {
    std::size_t keys = 0, stems = 0, present = 0;
  };
  Counts check_state_diff(const std::string& witness, const std::vector<std::string>& keys,
                          std::size_t version) {
    const State& state = states_[version];
    const std::set<std::string> wanted(keys.begin(), keys.end());
    Counts counts;
    std::set<std::string> stems;
    for (const std::string& key : wanted) {
      stems.insert(stem_of(key));
      counts.present += state.count(key);
    }
    counts.keys = wanted.size();
    counts.stems = stems.size();
    const auto json = nlohmann::json::parse(witness);
    std::vector<std::string> seen;
    std::string last_stem;
    for (const auto& stem_diff : json["stateDiff"]) {
      const std::string stem = stem_diff["stem"];
      EXPECT_LT(last_stem, stem);
      last_stem = stem;
      int last_suffix = -1;
      for (const auto& d : stem_diff["suffixDiffs"]) {
        const int suffix = d["suffix"];
        EXPECT_LT(last_suffix, suffix);
        last_suffix = suffix;
        const std::string key =
            stem + testing::hex_of(std::array<std::uint8_t, 1>{static_cast<std::uint8_t>(suffix)});
        seen.push_back(key);
        const auto value = state.find(key);
        if (value == state.end()) {
          EXPECT_TRUE(d["currentValue"].is_null()) << key;
        } else {
          EXPECT_EQ(d["currentValue"], value->second) << key;
        }
        EXPECT_TRUE(d["newValue"].is_null()) << key;
      }
    }
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), wanted);
    EXPECT_EQ(seen.size(), wanted.size());
    return counts;
  }

  // verify --json of a valid witness, checked against `counts`; returns the openings.
  std::size_t expect_valid(const std::string& proof, const std::string& root, const Counts& counts,
                           const std::string& format) {
    const auto checked = arbor("verify --json --root " + root + " --proof " + proof);
    EXPECT_EQ(checked.exit_code, 0) << checked.err;
    if (checked.exit_code != 0) return 0;
    const auto fields = nlohmann::json::parse(checked.out);
    EXPECT_EQ(fields["valid"], true);
    EXPECT_EQ(fields["format"], format);
    EXPECT_EQ(fields["stems"], counts.stems);
    EXPECT_EQ(fields["keys"], counts.keys);
    EXPECT_EQ(fields["present"], counts.present);
    EXPECT_GE(fields["openings"].get<std::size_t>(), counts.stems);
    EXPECT_TRUE(fields["commitments"].is_number_unsigned());  // 0 for an empty slot of the root
    EXPECT_FALSE(fields.contains("post_root"));
    return fields["openings"];
  }

  static std::string joined(const std::vector<std::string>& keys) {
    std::string out;
    for (const std::string& key : keys) out += " " + key;
    return out;
  }

  std::mt19937_64 rng_ = testing::seeded_rng("CliVerkleRandomTree");
  std::vector<std::array<std::uint8_t, 31>> stems_;
  std::vector<State> states_;  // by version
  std::vector<std::string> roots_;
};

TEST_F(CliVerkleRandomTreeTest, ProvesPresentAndAbsentKeysInBothFormats) {
  const std::size_t head = 3;
  const std::vector<std::string> keys = keys_to_prove(head, 40, 15, 15);
  const std::string args = joined(keys) + " " + keys.front();  // and a duplicate
  const auto from_args = arbor("prove " + tree_args() + args);
  ASSERT_EQ(from_args.exit_code, 0) << from_args.err;
  ASSERT_FALSE(from_args.out.empty());
  EXPECT_EQ(from_args.out.back(), '\n');
  const Counts counts = check_state_diff(from_args.out, keys, head);
  EXPECT_GT(counts.present, 0u);
  EXPECT_LT(counts.present, counts.keys);

  // The same keys from a file, shuffled, with blank lines, # comments, CRLF, spaces and tabs,
  // upper-case digits, a duplicate and no newline at the end; from stdin; half and half.
  std::vector<std::string> shuffled = keys;
  std::shuffle(shuffled.begin(), shuffled.end(), rng_);
  std::string file = "# keys to prove\r\n\r\n";
  for (std::size_t i = 0; i < shuffled.size(); ++i) {
    std::string upper = shuffled[i];
    std::transform(upper.begin() + 2, upper.end(), upper.begin() + 2,
                   [](char c) { return static_cast<char>(std::toupper(c)); });
    switch (i % 4) {
      case 0:
        file += "  " + shuffled[i] + "  # key " + std::to_string(i) + "\r\n";
        break;
      case 1:
        file += shuffled[i] + "\n\n";
        break;
      case 2:
        file += "\t" + upper + "\r\n";
        break;
      default:
        file += "#" + shuffled[i] + " is commented out, then given\n" + shuffled[i] + "\n";
    }
  }
  file += keys.back();
  const std::string keys_file = write_file(dir_ / "keys.txt", file);
  const auto from_file = arbor("prove " + tree_args() + " --keys-file " + keys_file);
  ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
  EXPECT_EQ(from_file.out, from_args.out);
  const auto from_stdin = arbor("prove " + tree_args() + " --keys-file -", file);
  ASSERT_EQ(from_stdin.exit_code, 0) << from_stdin.err;
  EXPECT_EQ(from_stdin.out, from_args.out);
  const std::size_t half = keys.size() / 2;
  std::string second_half;
  for (std::size_t i = half; i < keys.size(); ++i) second_half += keys[i] + "\r\n";
  const auto mixed =
      arbor("prove " + tree_args() +
            joined({keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(half)}) +
            " --keys-file " + write_file(dir_ / "half.txt", second_half));
  ASSERT_EQ(mixed.exit_code, 0) << mixed.err;
  EXPECT_EQ(mixed.out, from_args.out);

  // Binary on stdout and to --out; JSON to --out.
  const auto binary = arbor("prove --format binary " + tree_args() + args);
  ASSERT_EQ(binary.exit_code, 0) << binary.err;
  EXPECT_EQ(binary.out.substr(0, 4), "AVW1");
  EXPECT_LT(binary.out.size(), from_args.out.size());
  const std::string bin_path = (dir_ / "w.bin").string(), json_path = (dir_ / "w.json").string();
  const auto bin_out = arbor("prove --format binary --out " + bin_path + " " + tree_args() + args);
  ASSERT_EQ(bin_out.exit_code, 0) << bin_out.err;
  EXPECT_EQ(bin_out.out, "");
  EXPECT_EQ(slurp(bin_path), binary.out);
  const auto json_out = arbor("prove --format json --out " + json_path + " " + tree_args() + args);
  ASSERT_EQ(json_out.exit_code, 0) << json_out.err;
  EXPECT_EQ(json_out.out, "");
  EXPECT_EQ(slurp(json_path), from_args.out);

  // Both verify, with the same counts, from files and from stdin.
  const std::string& root = roots_[head];
  const std::size_t openings = expect_valid(json_path, root, counts, "json");
  EXPECT_EQ(expect_valid(bin_path, root, counts, "binary"), openings);
  const std::string line = valid_line(counts.keys, counts.present, counts.stems, openings);
  for (const auto& [path, bytes] : {std::pair{json_path, from_args.out}, {bin_path, binary.out}}) {
    const auto text = arbor("verify --backend cpu --root " + root + " --proof " + path);
    ASSERT_EQ(text.exit_code, 0) << text.err;
    EXPECT_EQ(text.out, line);
    const auto piped = arbor("verify --root " + root + " --proof -", bytes);
    ASSERT_EQ(piped.exit_code, 0) << piped.err;
    EXPECT_EQ(piped.out, line);
    // Not against the previous version's root.
    const auto stale = arbor("verify --root " + roots_[head - 1] + " --proof " + path);
    EXPECT_EQ(stale.exit_code, 1) << path;
    EXPECT_TRUE(contains(stale.err, "arbor: invalid: ")) << stale.err;
  }

  // Each kind of key on its own: present, absent suffix, absent stem, a deleted stem.
  const std::vector<std::string> one_each = keys_to_prove(head, 1, 1, 1);
  for (const std::string& key : one_each) {
    for (const std::string format : {"json", "binary"}) {
      const std::string path = write_file(dir_ / ("one." + format), "");
      const auto proved =
          arbor("prove --format " + format + " --out " + path + " " + tree_args() + " " + key);
      ASSERT_EQ(proved.exit_code, 0) << proved.err;
      if (format == "json") check_state_diff(slurp(path), {key}, head);
      expect_valid(path, root, {1, 1, states_[head].count(key)}, format);
    }
  }
}

TEST_F(CliVerkleRandomTreeTest, OlderVersionsVerifyAgainstTheirOwnRoots) {
  // Keys of version 1 (some updated or deleted since), keys added later, absent ones.
  std::vector<std::string> keys = keys_to_prove(1, 30, 8, 8);
  for (int i = 0; i < 10; ++i) {
    const std::string key = random_key_of(states_[3]);
    if (states_[1].count(key) == 0) keys.push_back(key);
  }
  const std::string args = joined(keys);
  const auto v1 = arbor("prove --version 1 " + tree_args() + args);
  ASSERT_EQ(v1.exit_code, 0) << v1.err;
  const Counts counts1 = check_state_diff(v1.out, keys, 1);
  const std::string v1_path = write_file(dir_ / "v1.json", v1.out);
  expect_valid(v1_path, roots_[1], counts1, "json");
  for (const std::size_t other : {2u, 3u}) {
    const auto refused = arbor("verify --root " + roots_[other] + " --proof " + v1_path);
    EXPECT_EQ(refused.exit_code, 1) << other;
    EXPECT_TRUE(contains(refused.err, "arbor: invalid: ")) << refused.err;
  }

  const auto v2 = arbor("prove --at-label block-2 --format binary " + tree_args() + args);
  ASSERT_EQ(v2.exit_code, 0) << v2.err;
  const auto v2_json = arbor("prove --version 2 " + tree_args() + args);
  ASSERT_EQ(v2_json.exit_code, 0) << v2_json.err;
  const Counts counts2 = check_state_diff(v2_json.out, keys, 2);
  const std::string v2_path = write_file(dir_ / "v2.bin", v2.out);
  expect_valid(v2_path, roots_[2], counts2, "binary");
  expect_valid(write_file(dir_ / "v2.json", v2_json.out), roots_[2], counts2, "json");
  for (const std::size_t other : {1u, 3u}) {
    const auto refused = arbor("verify --root " + roots_[other] + " --proof " + v2_path);
    EXPECT_EQ(refused.exit_code, 1) << other;
  }

  // The head, by default, by number and by label.
  const auto head = arbor("prove " + tree_args() + args);
  ASSERT_EQ(head.exit_code, 0) << head.err;
  EXPECT_EQ(arbor("prove --version 3 " + tree_args() + args).out, head.out);
  EXPECT_EQ(arbor("prove --at-label block-3 " + tree_args() + args).out, head.out);
  EXPECT_NE(head.out, v1.out);
  expect_valid(write_file(dir_ / "v3.json", head.out), roots_[3],
               check_state_diff(head.out, keys, 3), "json");

  const auto no_version = arbor("prove --version 9 " + tree_args() + args);
  EXPECT_EQ(no_version.exit_code, 1);
  EXPECT_EQ(no_version.out, "");
  const auto no_label = arbor("prove --at-label block-9 " + tree_args() + args);
  EXPECT_EQ(no_label.exit_code, 1);
  EXPECT_TRUE(contains(no_label.err, "no retained version labelled \"block-9\"")) << no_label.err;
}

TEST_F(CliVerkleRandomTreeTest, TamperedAndTruncatedWitnessesAreInvalid) {
  const std::vector<std::string> keys = keys_to_prove(3, 30, 10, 10);
  const std::string& root = roots_[3];
  const std::string bin_path = (dir_ / "w.bin").string(), json_path = (dir_ / "w.json").string();
  ASSERT_EQ(
      arbor("prove --format binary --out " + bin_path + " " + tree_args() + joined(keys)).exit_code,
      0);
  ASSERT_EQ(arbor("prove --out " + json_path + " " + tree_args() + joined(keys)).exit_code, 0);
  const std::string binary = slurp(bin_path), json = slurp(json_path);
  ASSERT_EQ(arbor("verify --root " + root + " --proof " + bin_path).exit_code, 0);
  ASSERT_EQ(arbor("verify --root " + root + " --proof " + json_path).exit_code, 0);

  // A flipped (complemented) byte in the middle of a binary witness, and at a few other places.
  // The witness is of present keys and absent suffixes of present stems, where any such change
  // alters what the proof must show. (Not so for an absent stem: a proof that a slot is empty
  // also proves every stem under that slot absent, so the bytes of such a stem past its depth may
  // change and the witness stays valid.)
  std::set<std::string> present_stems;
  for (const auto& [key, value] : states_[3]) present_stems.insert(stem_of(key));
  std::vector<std::string> bound_keys;
  for (const std::string& key : keys) {
    if (present_stems.count(stem_of(key)) != 0) bound_keys.push_back(key);
  }
  const auto bound = arbor("prove --format binary " + tree_args() + joined(bound_keys));
  ASSERT_EQ(bound.exit_code, 0) << bound.err;
  ASSERT_EQ(arbor("verify --root " + root + " --proof -", bound.out).exit_code, 0);
  std::vector<std::size_t> places = {bound.out.size() / 2, 4, bound.out.size() - 1};
  for (int i = 0; i < 5; ++i) places.push_back(4 + rng_() % (bound.out.size() - 4));
  for (const std::size_t at : places) {
    std::string changed = bound.out;
    changed[at] = static_cast<char>(~changed[at]);
    const std::string path = write_file(dir_ / "flipped.bin", changed);
    expect_refused(arbor("verify --root " + root + " --proof " + path),
                   "byte " + std::to_string(at) + " of " + std::to_string(changed.size()));
  }
  // The multiproof of the witness with absent stems too.
  {
    std::string changed = binary;
    const std::size_t at = binary.size() - 1 - rng_() % kMultiproofSize;
    changed[at] = static_cast<char>(~changed[at]);
    expect_refused(arbor("verify --root " + root + " --proof -", changed),
                   "multiproof byte " + std::to_string(at));
  }

  // A changed hex digit in a commitment (first, middle, last), in D, in an IPA point and in a
  // currentValue of the JSON witness.
  const auto parsed = nlohmann::json::parse(json);
  const std::size_t commitments = parsed["verkleProof"]["commitmentsByPath"].size();
  ASSERT_GT(commitments, 2u);
  std::vector<nlohmann::json::json_pointer> fields;
  for (const std::size_t i : {std::size_t{0}, commitments / 2, commitments - 1}) {
    fields.emplace_back("/verkleProof/commitmentsByPath/" + std::to_string(i));
  }
  fields.emplace_back("/verkleProof/d");
  fields.emplace_back("/verkleProof/ipaProof/cl/3");
  fields.emplace_back("/verkleProof/ipaProof/finalEvaluation");
  for (std::size_t s = 0; s < parsed["stateDiff"].size(); ++s) {
    if (!parsed["stateDiff"][s]["suffixDiffs"][0]["currentValue"].is_null()) {
      fields.emplace_back("/stateDiff/" + std::to_string(s) + "/suffixDiffs/0/currentValue");
      break;
    }
  }
  for (const auto& field : fields) {
    nlohmann::json changed = parsed;
    std::string text = changed[field];
    change_hex_digit(text, 2 + rng_() % 64, rng_);
    changed[field] = text;
    const std::string path = write_file(dir_ / "changed.json", changed.dump());
    const auto refused = arbor("verify --root " + root + " --proof " + path);
    expect_refused(refused, field.to_string());
    EXPECT_EQ(refused.exit_code, 1) << field.to_string() << ": " << refused.err;
    if (field == fields.front()) {
      const auto as_json = arbor("verify --json --root " + root + " --proof " + path);
      ASSERT_EQ(as_json.exit_code, 1) << field.to_string();
      EXPECT_EQ(nlohmann::json::parse(as_json.out)["valid"], false);
    }
  }

  // Truncated, and with a byte more.
  for (const std::size_t length : {json.size() / 2, json.size() - 3, std::size_t{1}}) {
    const auto cut = arbor("verify --root " + root + " --proof " +
                           write_file(dir_ / "cut.json", json.substr(0, length)));
    EXPECT_EQ(cut.exit_code, 1) << length;
    EXPECT_TRUE(contains(cut.err, "arbor: invalid: ")) << cut.err;
  }
  for (const std::string& bad :
       {binary.substr(0, binary.size() / 2), binary.substr(0, binary.size() - 1), binary + '\0'}) {
    const auto cut =
        arbor("verify --root " + root + " --proof " + write_file(dir_ / "cut.bin", bad));
    EXPECT_EQ(cut.exit_code, 1) << bad.size();
    EXPECT_TRUE(contains(cut.err, "arbor: invalid: ")) << cut.err;
  }
}

TEST_F(CliVerkleTest, ExecutionWitnessVectorsThroughTheCli) {
  const auto vectors = testing::read_json(testing::vectors_dir() / "verkle/public_vectors.json");
  int valid = 0, invalid = 0;
  for (const auto& w : vectors["execution_witnesses"]) {
    const std::string file = w["file"];
    const std::string path = (testing::vectors_dir() / "verkle" / file).string();
    const std::string root = "0x" + w["pre_state_root_compressed"].get<std::string>();
    const auto checked = arbor("verify --root " + root + " --proof " + path);
    const auto as_json = arbor("verify --json --root " + root + " --proof " + path);
    if (w["expect"] == "valid") {
      ++valid;
      EXPECT_EQ(checked.exit_code, 0) << file << ": " << checked.err;
      EXPECT_TRUE(checked.out.starts_with("valid: ")) << file << ": " << checked.out;
      ASSERT_EQ(as_json.exit_code, 0) << file;
      EXPECT_EQ(nlohmann::json::parse(as_json.out)["valid"], true) << file;
    } else {
      ++invalid;
      EXPECT_EQ(checked.exit_code, 1) << file << ": " << checked.out;
      EXPECT_TRUE(contains(checked.err, "arbor: invalid: ")) << file << ": " << checked.err;
      ASSERT_EQ(as_json.exit_code, 1) << file;
      EXPECT_EQ(nlohmann::json::parse(as_json.out)["valid"], false) << file;
    }
  }
  EXPECT_GE(valid, 4);
  EXPECT_GE(invalid, 2);

  // Block 73 with its post-state root (the newValues applied to the partial tree).
  const std::string block73 =
      (testing::vectors_dir() / "verkle/rust-verkle-java-resources/valid_block_73.json").string();
  const std::string pre = "0x18d1dfcc6ccc6f34d14af48a865895bf34bde7f3571d9ba24a4b98122841048c";
  const std::string post = "0x05ecc0780ae86e9a22636947ecf190a0286bb3ad0dd2ef66a14a2b1aaf97524c";
  const auto with_post =
      arbor("verify --root " + pre + " --post-root " + post + " --proof " + block73);
  ASSERT_EQ(with_post.exit_code, 0) << with_post.err;
  EXPECT_TRUE(with_post.out.starts_with("valid: ")) << with_post.out;
  EXPECT_TRUE(with_post.out.ends_with("; post-state root " + post + "\n")) << with_post.out;
  const auto post_json =
      arbor("verify --json --root " + pre + " --post-root " + post + " --proof " + block73);
  ASSERT_EQ(post_json.exit_code, 0) << post_json.err;
  EXPECT_EQ(nlohmann::json::parse(post_json.out)["post_root"], post);
  for (const std::string& wrong : {post.substr(0, 65) + "d", kKeyRoot, kZero}) {
    const auto refused =
        arbor("verify --root " + pre + " --post-root " + wrong + " --proof " + block73);
    EXPECT_EQ(refused.exit_code, 1) << wrong;
    EXPECT_TRUE(contains(refused.err, "arbor: invalid: ")) << refused.err;
    EXPECT_TRUE(contains(refused.err, "post-state root")) << refused.err;
  }
  // Block 73's witness is not valid against block 72's pre-state root.
  const auto other_root = arbor(
      "verify --root 0x64e1a647f42e5c2e3c434531ccf529e1b3e93363a40db9fc8eec81f492123510 --proof " +
      block73);
  EXPECT_EQ(other_root.exit_code, 1);
}

TEST_F(CliVerkleTest, ProveRefusesBadArguments) {
  create();
  ASSERT_EQ(arbor("apply " + tree_args(), "put " + kKey + " " + kKey).exit_code, 0);
  const std::string short_key = kKey.substr(0, 64);  // 31 bytes
  const auto short_one = arbor("prove " + tree_args() + " " + kKey + " " + short_key);
  EXPECT_EQ(short_one.exit_code, 1);
  EXPECT_EQ(short_one.out, "");
  EXPECT_TRUE(contains(short_one.err, "\"" + short_key + "\" is not 32 bytes of hex"))
      << short_one.err;

  const auto none = arbor("prove " + tree_args());
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_TRUE(contains(none.err, "at least one KEY")) << none.err;
  const auto empty_file = arbor("prove " + tree_args() + " --keys-file " +
                                write_file(dir_ / "empty.txt", "# none\n\n"));
  EXPECT_EQ(empty_file.exit_code, 1);
  EXPECT_TRUE(contains(empty_file.err, "at least one KEY")) << empty_file.err;

  const std::string keys_file = write_file(
      dir_ / "keys.txt", "# two good keys and a bad one\r\n" + kKey + "\r\n0x1234\n" + kKey);
  const auto bad_line = arbor("prove " + tree_args() + " --keys-file " + keys_file);
  EXPECT_EQ(bad_line.exit_code, 1);
  EXPECT_EQ(bad_line.out, "");
  EXPECT_TRUE(contains(bad_line.err, keys_file + ": line 3: key: \"0x1234\"")) << bad_line.err;

  const auto xml = arbor("prove --format xml " + tree_args() + " " + kKey);
  EXPECT_EQ(xml.exit_code, 1);
  EXPECT_TRUE(contains(xml.err, "xml")) << xml.err;

  const auto no_dir =
      arbor("prove --data " + (dir_.path() / "nowhere").string() + " --tree t " + kKey);
  EXPECT_EQ(no_dir.exit_code, 2);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "nowhere"));
  const auto no_tree = arbor("prove --data " + (dir_.path() / "db").string() + " --tree u " + kKey);
  EXPECT_EQ(no_tree.exit_code, 1);
  EXPECT_TRUE(contains(no_tree.err, "no tree named")) << no_tree.err;
  const auto no_keys_file =
      arbor("prove " + tree_args() + " --keys-file " + (dir_.path() / "missing.txt").string());
  EXPECT_EQ(no_keys_file.exit_code, 2);
  EXPECT_EQ(arbor("prove " + tree_args() + " --keys-file " + dir_.path().string()).exit_code, 2);
}

TEST_F(CliVerkleTest, VerifyRefusesBadInput) {
  create();
  ASSERT_EQ(arbor("apply " + tree_args(), "put " + kKey + " " + kKey).exit_code, 0);
  const std::string proof = (dir_ / "p.json").string();
  ASSERT_EQ(arbor("prove --out " + proof + " " + tree_args() + " " + kKey).exit_code, 0);
  ASSERT_EQ(arbor("verify --root " + kKeyRoot + " --proof " + proof).exit_code, 0);

  // Could not run: a malformed root, an unreadable proof.
  const auto short_root = arbor("verify --root " + kKeyRoot.substr(0, 64) + " --proof " + proof);
  EXPECT_EQ(short_root.exit_code, 2);
  EXPECT_TRUE(contains(short_root.err, "--root")) << short_root.err;
  const auto bad_post = arbor("verify --root " + kKeyRoot + " --post-root 0x12 --proof " + proof);
  EXPECT_EQ(bad_post.exit_code, 2);
  const auto missing =
      arbor("verify --root " + kKeyRoot + " --proof " + (dir_.path() / "missing").string());
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_TRUE(contains(missing.err, "cannot open")) << missing.err;
  const auto directory = arbor("verify --root " + kKeyRoot + " --proof " + dir_.path().string());
  EXPECT_EQ(directory.exit_code, 2);
  EXPECT_TRUE(contains(directory.err, "directory")) << directory.err;

  // Invalid: empty, random bytes (also behind the binary magic), 10 MB of them.
  auto rng = testing::seeded_rng("CliVerkleVerifyGarbage");
  const std::vector<std::pair<std::string, std::string>> garbage = {
      {"empty", ""},
      {"600 random bytes", random_bytes(rng, 600)},
      {"AVW1 and 600 random bytes", "AVW1" + random_bytes(rng, 600)},
      {"10 MB of random bytes", random_bytes(rng, 10 << 20)},
      {"AVW1 and 10 MB of random bytes", "AVW1" + random_bytes(rng, 10 << 20)},
      {"a JSON number", "42\n"},
      {"an empty JSON object", "{}"},
  };
  for (const auto& [what, bytes] : garbage) {
    const std::string path = write_file(dir_ / "garbage", bytes);
    const auto refused = arbor("verify --root " + kKeyRoot + " --proof " + path);
    EXPECT_EQ(refused.exit_code, 1) << what << ": " << refused.err;
    EXPECT_TRUE(contains(refused.err, "arbor: invalid: ")) << what << ": " << refused.err;
    const auto as_json = arbor("verify --json --root " + kKeyRoot + " --proof -", bytes);
    EXPECT_EQ(as_json.exit_code, 1) << what;
    const auto reason = nlohmann::json::parse(as_json.out);
    EXPECT_EQ(reason["valid"], false) << what;
    EXPECT_TRUE(reason["reason"].is_string()) << what;
  }
}

}  // namespace
}  // namespace arbor
