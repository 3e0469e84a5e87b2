// `arbor smt` as a user runs it: create, apply, root/get, prove/verify, rollback, prune, and the
// exit codes and messages of bad input, missing trees and missing data directories.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/test_support.hpp"

namespace arbor {
namespace {

const std::string kArbor = std::string(ARBOR_BIN_DIR) + "/arbor";
// circomlibjs: the root after put 1 11, put 2 22, put 3 33, put 4 44 (in any order).
constexpr const char* kRoot1234Dec =
    "13558168455220559042747853958949063046226645447188878859760119761585093422436";
// circomlibjs: the root after put 1 2 alone.
constexpr const char* kRoot12Dec =
    "13578938674299138072471463694055224830892726234048532520316387704878000008795";
constexpr const char* kP =
    "21888242871839275222246405745257275088548364400416034343698204186575808495617";
const std::string kZero64 = "0x" + std::string(64, '0');
constexpr const char* kPut1234 = "put 1 11\nput 2 22\nput 3 33\nput 4 44\n";

// A decimal number as the CLI prints field elements: 0x and 64 lowercase hex digits. Done here,
// independently of the product's own conversion.
std::string dec_to_hex(const std::string& dec) {
  std::vector<std::uint32_t> bytes(32, 0);  // big-endian, one byte per element
  for (char c : dec) {
    std::uint32_t carry = static_cast<std::uint32_t>(c - '0');
    for (int i = 31; i >= 0; --i) {
      const std::uint32_t v = bytes[i] * 10 + carry;
      bytes[i] = v & 0xff;
      carry = v >> 8;
    }
    EXPECT_EQ(carry, 0u) << dec << " does not fit in 256 bits";
  }
  static const char* kDigits = "0123456789abcdef";
  std::string out = "0x";
  for (std::uint32_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

std::string root_out(const std::string& root_hex, std::uint64_t version) {
  return "root " + root_hex + "\nversion " + std::to_string(version) + "\n";
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

testing::CommandResult arbor(const std::string& args, const std::string& input = "") {
  return testing::run_command(kArbor + " " + args, input);
}

#define EXPECT_ERR_HAS(result, text) \
  EXPECT_TRUE(contains((result).err, text)) << "missing '" << (text) << "' in:\n" << (result).err
#define EXPECT_OUT_HAS(result, text) \
  EXPECT_TRUE(contains((result).out, text)) << "missing '" << (text) << "' in:\n" << (result).out

class CliSmt : public ::testing::Test {
 protected:
  CliSmt() : dir_("arbor_cli_smt"), data_((dir_ / "data").string()) {}

  // `arbor smt SUB --data DATA --tree TREE REST`.
  testing::CommandResult smt(const std::string& sub, const std::string& rest = "",
                             const std::string& input = "", const std::string& tree = "t") {
    return arbor("smt " + sub + " --data " + data_ + " --tree " + tree + " " + rest, input);
  }
  testing::CommandResult verify(const std::string& root, const std::filesystem::path& proof) {
    return arbor("smt verify --root " + root + " --proof " + proof.string());
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  void create(const std::string& tree = "t", const std::string& rest = "") {
    auto r = smt("create", rest, "", tree);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  // Applies `ops` and returns the new root (0x-hex), checking the printed version.
  std::string apply(const std::string& ops, std::uint64_t expected_version,
                    const std::string& tree = "t") {
    auto r = smt("apply", "", ops, tree);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    const std::string prefix = "root ";
    if (r.out.size() != prefix.size() + 66 + 1 + 8 + std::to_string(expected_version).size() + 1 ||
        r.out.compare(0, prefix.size(), prefix) != 0) {
      ADD_FAILURE() << "unexpected apply output:\n" << r.out;
      return "";
    }
    const std::string root = r.out.substr(prefix.size(), 66);
    EXPECT_EQ(r.out, root_out(root, expected_version));
    return root;
  }
  // `smt root` must print exactly this root and version.
  void expect_head(const std::string& root_hex, std::uint64_t version,
                   const std::string& tree = "t") {
    auto r = smt("root", "", "", tree);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, root_out(root_hex, version));
  }

  testing::TempDir dir_;
  std::string data_;
};

TEST(CliSmtHex, ConversionIsRight) {
  EXPECT_EQ(dec_to_hex("0"), kZero64);
  EXPECT_EQ(dec_to_hex("255"), "0x" + std::string(62, '0') + "ff");
  EXPECT_EQ(dec_to_hex(kP), "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001");
}

TEST_F(CliSmt, KnownRootsFromStdin) {
  create("four");
  auto r = smt("apply", "", kPut1234, "four");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, root_out(dec_to_hex(kRoot1234Dec), 1));
  expect_head(dec_to_hex(kRoot1234Dec), 1, "four");

  create("one");
  r = smt("apply", "", "put 1 2\n", "one");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, root_out(dec_to_hex(kRoot12Dec), 1));
  expect_head(dec_to_hex(kRoot12Dec), 1, "one");
}

TEST_F(CliSmt, KnownRootsFromFileWithCrlfCommentsAndMixedBases) {
  const std::string input =
      "# the four-key known answer\r\n"
      "put 0x1 0xb\r\n"
      "\r\n"
      "   \t\r\n"
      "  put 2 22   # trailing comment\r\n"
      "# put 9 9 is commented out\r\n"
      "put 0X3\t33\r\n"
      "\tput 4 0x2C";  // no final newline
  const std::string file = path("ops.txt");
  write_file(file, input);
  create("f");
  auto r = smt("apply", "--file " + file + " --label block-1", "", "f");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, root_out(dec_to_hex(kRoot1234Dec), 1));

  // --file - reads stdin; a different order and the last write of a key winning give the same.
  create("g");
  r = smt("apply", "--file -", "put 4 44\nput 3 1\nput 2 22\nput 1 11\nput 3 33\n", "g");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, root_out(dec_to_hex(kRoot1234Dec), 1));

  create("h");
  write_file(path("one.txt"), "put 0x01 0x02\r\n");
  r = smt("apply", "--file " + path("one.txt"), "", "h");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, root_out(dec_to_hex(kRoot12Dec), 1));

  r = smt("apply", "--file " + path("no-such-file.txt"), "", "h");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_ERR_HAS(r, "cannot open");
  EXPECT_ERR_HAS(r, "no-such-file.txt");
  expect_head(dec_to_hex(kRoot12Dec), 1, "h");
}

TEST_F(CliSmt, CreateThenRootIsTheEmptyRootAtVersionZero) {
  auto r = smt("create");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_OUT_HAS(r, "created SMT \"t\" (max depth 64)");
  expect_head(kZero64, 0);
  r = smt("create", "--max-depth 254 --keep-versions 3", "", "deep");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_OUT_HAS(r, "(max depth 254)");
  r = smt("create", "--max-depth 1", "", "shallowest");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(CliSmt, RootAndGetAtHeadAndAtEarlierVersions) {
  create();
  const std::string v1 = apply(kPut1234, 1);
  EXPECT_EQ(v1, dec_to_hex(kRoot1234Dec));
  const std::string v2 = apply("put 5 55\nput 1 111\n", 2);
  const std::string v3 = apply("del 2\n", 3);
  EXPECT_NE(v2, v1);
  EXPECT_NE(v3, v2);

  expect_head(v3, 3);
  for (const auto& [version, root] :
       {std::pair<int, std::string>{0, kZero64}, {1, v1}, {2, v2}, {3, v3}}) {
    auto r = smt("root", "--version " + std::to_string(version));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, root_out(root, version));
  }

  auto r = smt("get", "1");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, dec_to_hex("111") + "\n");
  r = smt("get", "0x1 --version 1");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, dec_to_hex("11") + "\n");
  r = smt("get", "5");
  EXPECT_EQ(r.out, dec_to_hex("55") + "\n");
  r = smt("get", "5 --version 1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_ERR_HAS(r, "is not in the tree");
  r = smt("get", "2 --version 2");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, dec_to_hex("22") + "\n");

  // Deleted at version 3.
  r = smt("get", "2");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_ERR_HAS(r, "key " + dec_to_hex("2") + " is not in the tree");

  // Versions past the head.
  r = smt("root", "--version 4");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_ERR_HAS(r, "has no version 4");
  r = smt("get", "1 --version 9");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_ERR_HAS(r, "has no version 9");

  // A key that is not a number.
  r = smt("get", "banana");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_ERR_HAS(r, "is not a number");
  r = smt("get", kP);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_ERR_HAS(r, "modulus");
}

TEST_F(CliSmt, ProveAndVerifyInEveryFormat) {
  create();
  const std::string root = apply(kPut1234, 1);
  ASSERT_EQ(root, dec_to_hex(kRoot1234Dec));
  const std::string wrong_root = dec_to_hex(kRoot12Dec);
  const std::string key1 = dec_to_hex("1");

  struct Case {
    std::string name, args, valid_prefix;
  };
  const std::vector<Case> cases = {
      {"present.bin", "1 --format binary",
       "valid (binary): key " + key1 + " = " + dec_to_hex("11")},
      {"present.json", "1 --format json", "valid (json): key " + key1 + " = " + dec_to_hex("11")},
      {"present.circom", "1 --format circom --levels 10", "valid (circom): key " + key1 + " = "},
      {"absent.bin", "7 --format binary", "valid (binary): key " + dec_to_hex("7") + " absent"},
      {"absent.json", "0x7 --format json", "valid (json): key " + dec_to_hex("7") + " absent"},
      {"absent.circom", "7 --format circom --levels 10", "valid (circom): key "},
      {"absent-empty.json", "8 --format json", "valid (json): key " + dec_to_hex("8") + " absent"},
      {"multi.bin", "1 2 7 100 --format binary", "valid (binary): 4 keys"},
      {"multi.json", "1 2 7 100 --format json", "valid (json): 4 keys"},
      {"default.json", "3", "valid (json): key " + dec_to_hex("3") + " = " + dec_to_hex("33")},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string file = path(c.name);
    auto r = smt("prove", c.args + " --out " + file);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "");
    ASSERT_TRUE(std::filesystem::exists(file));
    ASSERT_GT(std::filesystem::file_size(file), 0u);

    r = verify(root, file);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(r.out.rfind("valid", 0), 0u) << r.out;
    EXPECT_EQ(r.out.rfind(c.valid_prefix, 0), 0u) << r.out;
    // The same root in decimal.
    r = verify(kRoot1234Dec, file);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;

    r = verify(wrong_root, file);
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_EQ(r.out.rfind("invalid", 0), 0u) << r.out;

    // Without --out the same bytes go to stdout; '-' reads the proof from stdin.
    r = smt("prove", c.args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, read_file(file));
    r = arbor("smt verify --root " + root + " --proof -", read_file(file));
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(r.out.rfind("valid", 0), 0u) << r.out;
  }

  // The JSON and circom files say what they are.
  const nlohmann::json present = nlohmann::json::parse(read_file(path("present.json")));
  EXPECT_EQ(present.at("root"), root);
  EXPECT_GE(present.at("siblings").size(), 1u);
  const nlohmann::json circom = nlohmann::json::parse(read_file(path("present.circom")));
  EXPECT_EQ(circom.at("root"), kRoot1234Dec);
  EXPECT_EQ(circom.at("fnc"), "0");
  EXPECT_EQ(circom.at("key"), "1");
  EXPECT_EQ(circom.at("value"), "11");
  EXPECT_EQ(circom.at("siblings").size(), 10u);
  const nlohmann::json absent_circom = nlohmann::json::parse(read_file(path("absent.circom")));
  EXPECT_EQ(absent_circom.at("fnc"), "1");
  EXPECT_EQ(absent_circom.at("key"), "7");
  const nlohmann::json multi = nlohmann::json::parse(read_file(path("multi.json")));
  EXPECT_EQ(multi.at("entries").size(), 4u);
}

TEST_F(CliSmt, TamperedProofsAreInvalid) {
  create();
  const std::string root = apply(kPut1234, 1);

  // Binary: flip one bit of every byte in turn; none may verify.
  ASSERT_EQ(smt("prove", "1 --format binary --out " + path("p.bin")).exit_code, 0);
  const std::string good = read_file(path("p.bin"));
  ASSERT_FALSE(good.empty());
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    write_file(path("bad.bin"), bad);
    auto r = verify(root, path("bad.bin"));
    EXPECT_EQ(r.exit_code, 1) << "byte " << i << ": " << r.out << r.err;
    EXPECT_EQ(r.out.rfind("invalid", 0), 0u) << "byte " << i << ": " << r.out;
  }
  // Truncated and padded.
  write_file(path("bad.bin"), good.substr(0, good.size() - 1));
  auto r = verify(root, path("bad.bin"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out.rfind("invalid", 0), 0u) << r.out;
  write_file(path("bad.bin"), good + '\0');
  r = verify(root, path("bad.bin"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out.rfind("invalid", 0), 0u) << r.out;

  // Multi-proof binary: flip the last byte (a sibling's lowest bit).
  ASSERT_EQ(smt("prove", "1 2 3 --format binary --out " + path("m.bin")).exit_code, 0);
  std::string multi = read_file(path("m.bin"));
  multi.back() = static_cast<char>(multi.back() ^ 0x01);
  write_file(path("m.bin"), multi);
  r = verify(root, path("m.bin"));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(r.out.rfind("invalid", 0), 0u) << r.out;

  // JSON: another sibling; the value; the stated root.
  ASSERT_EQ(smt("prove", "1 --format json --out " + path("p.json")).exit_code, 0);
  nlohmann::json proof = nlohmann::json::parse(read_file(path("p.json")));
  ASSERT_GE(proof.at("siblings").size(), 1u);
  nlohmann::json bad = proof;
  bad["siblings"][0] = dec_to_hex("12345");
  write_file(path("bad.json"), bad.dump(2));
  r = verify(root, path("bad.json"));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(r.out.rfind("invalid", 0), 0u) << r.out;
  bad = proof;
  bad["value"] = dec_to_hex("12");
  write_file(path("bad.json"), bad.dump(2));
  r = verify(root, path("bad.json"));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  bad = proof;
  bad["root"] = dec_to_hex(kRoot12Dec);
  write_file(path("bad.json"), bad.dump(2));
  r = verify(root, path("bad.json"));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_OUT_HAS(r, "invalid");

  // Multi-proof JSON: a sibling changed.
  ASSERT_EQ(smt("prove", "1 2 3 --format json --out " + path("m.json")).exit_code, 0);
  nlohmann::json mproof = nlohmann::json::parse(read_file(path("m.json")));
  ASSERT_GE(mproof.at("siblings").size(), 1u);
  mproof["siblings"][0] = dec_to_hex("999");
  write_file(path("m.json"), mproof.dump());
  r = verify(root, path("m.json"));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;

  // Circom: a sibling changed.
  ASSERT_EQ(smt("prove", "1 --format circom --levels 8 --out " + path("p.circom")).exit_code, 0);
  nlohmann::json circom = nlohmann::json::parse(read_file(path("p.circom")));
  circom["siblings"][0] = "5";
  write_file(path("p.circom"), circom.dump());
  r = verify(root, path("p.circom"));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(r.out.rfind("invalid", 0), 0u) << r.out;

  // Neither binary nor JSON.
  write_file(path("junk"), "this is not a proof\n");
  r = verify(root, path("junk"));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(r.out.rfind("invalid", 0), 0u) << r.out;
}

// An empty proof file is readable: like empty stdin it is a malformed proof (exit 1, "invalid"),
// not a file that could not be read (exit 2).
TEST_F(CliSmt, AnEmptyProofFileIsInvalidNotUnreadable) {
  auto r = arbor("smt verify --root 0 --proof -", "");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(r.out.rfind("invalid", 0), 0u) << r.out;

  write_file(path("empty"), "");
  r = verify("0", path("empty"));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(r.out.rfind("invalid", 0), 0u) << r.out;
  EXPECT_FALSE(contains(r.err, "cannot read")) << r.err;
}

TEST_F(CliSmt, VerifyErrorsExitTwo) {
  create();
  const std::string root = apply(kPut1234, 1);
  ASSERT_EQ(smt("prove", "1 --format binary --out " + path("p.bin")).exit_code, 0);

  auto r = verify(root, path("missing.bin"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_ERR_HAS(r, "cannot open");
  EXPECT_ERR_HAS(r, "missing.bin");

  for (const std::string& bad_root : {std::string("xyz"), std::string("0x"), std::string(kP),
                                      std::string("0xg1"), std::string("12abc")}) {
    SCOPED_TRACE(bad_root);
    r = verify(bad_root, path("p.bin"));
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_ERR_HAS(r, "--root");
  }

  // A directory is not a readable proof file.
  r = verify(root, dir_.path());
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(CliSmt, ProveOptionErrors) {
  create();
  apply(kPut1234, 1);

  // Key 1 sits at depth 2 (keys 1 and 3 share their lowest bit): circom needs nLevels >= 3.
  auto r = smt("prove", "1 --format circom --levels 2");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_ERR_HAS(r, "nLevels >= 3");
  r = smt("prove", "1 --format circom --levels 3 --out " + path("ok.circom"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(verify(dec_to_hex(kRoot1234Dec), path("ok.circom")).exit_code, 0);

  r = smt("prove", "1 --format circom");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_ERR_HAS(r, "the circom format needs --levels N");

  r = smt("prove", "1 --format json --levels 5");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_ERR_HAS(r, "--levels applies to the circom format only");
  r = smt("prove", "1 --levels 5");  // json by default
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_ERR_HAS(r, "--levels applies to the circom format only");

  r = smt("prove", "1 2 --format circom --levels 10");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_ERR_HAS(r, "the circom format proves one key");

  r = smt("prove", "1 --format circom --levels 300");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_ERR_HAS(r, "circom levels must be 1..255");

  r = smt("prove", "1 --format yaml");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_ERR_HAS(r, "yaml");

  r = smt("prove", "notakey");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_ERR_HAS(r, "is not a number");

  // --out naming an unwritable place.
  r = smt("prove", "1 --out " + path("no/such/dir/p.json"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_ERR_HAS(r, "cannot write");

  // A proof of an old version verifies against that version's root only.
  apply("put 9 99\n", 2);
  r = smt("prove", "9 --version 1 --format binary --out " + path("old.bin"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = verify(dec_to_hex(kRoot1234Dec), path("old.bin"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_OUT_HAS(r, "absent");
  r = smt("prove", "1 --version 7");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_ERR_HAS(r, "has no version 7");
}

TEST_F(CliSmt, ABadLineAnywhereAppliesNothing) {
  create();
  const std::string root = apply(kPut1234, 1);
  struct Case {
    std::string input, line, message;
  };
  const std::vector<Case> cases = {
      {"frob 5 5\nput 6 6\n", "line 1", "unknown operation \"frob\" (put or del)"},
      {"put 5 55\nput 6\nput 7 77\n", "line 2", "expected `put KEY VALUE`"},
      {"put 5 55\nput 6 66 77\n", "line 2", "expected `put KEY VALUE`"},
      {"put 5 55\n\n# c\nput 6 " + std::string(kP) + "\n", "line 4",
       "not below the BN254 scalar field modulus"},
      {"put 5 55\nput 6 six\n", "line 2", "value: 'six' is not a number"},
      {"put five 5\n", "line 1", "key: 'five' is not a number"},
      {"put 5 55\ndel\n", "line 2", "expected `del KEY`"},
      {"put 5 55\ndel 1 2\n", "line 2", "expected `del KEY`"},
      {"put 5 55\nput 6 0xzz\n", "line 2", "is not a hexadecimal number"},
      {"put 5 55\r\nput 6 66\r\nPUT 7 77\r\n", "line 3", "unknown operation \"PUT\""},
      {"del 1\ndel 2\ndel 3\ndel 4\nput 1 0x\n", "line 5", "has no hex digits"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.input);
    auto r = smt("apply", "", c.input);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_ERR_HAS(r, "stdin " + c.line + ": ");
    EXPECT_ERR_HAS(r, c.message);
    EXPECT_ERR_HAS(r, "nothing was applied");
    expect_head(root, 1);
  }

  // From a file the file is named; every bad line is reported.
  write_file(path("bad.txt"), "put 5 55\nput 6\nput 7 77\nnope\n");
  auto r = smt("apply", "--file " + path("bad.txt"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_ERR_HAS(r, path("bad.txt") + " line 2: ");
  EXPECT_ERR_HAS(r, path("bad.txt") + " line 4: ");
  EXPECT_ERR_HAS(r, "nothing was applied");
  EXPECT_FALSE(contains(r.err, "line 1:")) << r.err;
  EXPECT_FALSE(contains(r.err, "line 3:")) << r.err;
  expect_head(root, 1);

  // Many bad lines: the first 20 are named, then a count.
  std::string many;
  for (int i = 0; i < 25; ++i) many += "bad\n";
  r = smt("apply", "", many);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_ERR_HAS(r, "stdin line 20: ");
  EXPECT_FALSE(contains(r.err, "stdin line 21: ")) << r.err;
  EXPECT_ERR_HAS(r, "... and 5 more bad lines");
  EXPECT_ERR_HAS(r, "nothing was applied");
  expect_head(root, 1);

  // The data is intact: values still read, and the next good batch is version 2.
  EXPECT_EQ(smt("get", "4").out, dec_to_hex("44") + "\n");
  EXPECT_EQ(smt("get", "5").exit_code, 1);
  apply("put 5 55\n", 2);
}

TEST_F(CliSmt, MaxDepthOverflowIsRejectedAndChangesNothing) {
  create("t", "--max-depth 4");
  // 3 = 0b00011 and 19 = 0b10011 share their lowest 4 bits.
  auto r = smt("apply", "", "put 3 1\nput 19 2\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_ERR_HAS(r, "max depth 4");
  expect_head(kZero64, 0);

  const std::string v1 = apply("put 3 1\n", 1);
  r = smt("apply", "", "put 1 5\nput 19 2\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_ERR_HAS(r, "max depth 4");
  expect_head(v1, 1);
  EXPECT_EQ(smt("get", "1").exit_code, 1);
  EXPECT_EQ(smt("get", "19").exit_code, 1);

  // 11 = 0b01011 shares only 3 bits with 3: it fits at depth 4.
  apply("put 11 7\n", 2);
  EXPECT_EQ(smt("get", "11").out, dec_to_hex("7") + "\n");
}

TEST_F(CliSmt, TreeAndDataDirectoryErrors) {
  create();
  apply(kPut1234, 1);

  // An absent key.
  auto r = smt("get", "77");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_ERR_HAS(r, "is not in the tree");

  // An unknown tree: exit 1 everywhere.
  for (const auto& [sub, rest, input] :
       std::vector<std::tuple<std::string, std::string, std::string>>{{"apply", "", "put 1 1\n"},
                                                                      {"root", "", ""},
                                                                      {"get", "1", ""},
                                                                      {"prove", "1", ""},
                                                                      {"rollback", "0", ""},
                                                                      {"prune", "0", ""}}) {
    SCOPED_TRACE(sub);
    r = smt(sub, rest, input, "nope");
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_EQ(r.out, "");
    // The service's message (the engine quotes names with ", the store with ').
    EXPECT_ERR_HAS(r, "no tree named ");
    EXPECT_ERR_HAS(r, "nope");
  }

  // A missing data directory: exit 2, and nothing creates it.
  const std::string missing = path("missing-data");
  for (const auto& [sub, rest, input] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"apply", "", "put 1 1\n"},
           {"root", "", ""},
           {"root", "--version 0", ""},
           {"get", "1", ""},
           {"prove", "1", ""},
           {"prove", "1 --format binary", ""},
           {"prove", "1 2", ""},
           {"rollback", "0", ""},
           {"prune", "0", ""}}) {
    SCOPED_TRACE(sub + " " + rest);
    r = arbor("smt " + sub + " --data " + missing + " --tree t " + rest, input);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_ERR_HAS(r, "does not exist");
    EXPECT_FALSE(std::filesystem::exists(missing));
  }

  // Creating an existing tree.
  r = smt("create");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_ERR_HAS(r, "already exists");
  expect_head(dec_to_hex(kRoot1234Dec), 1);

  // Max depths out of 1..254.
  for (const char* depth : {"0", "255"}) {
    SCOPED_TRACE(depth);
    r = smt("create", std::string("--max-depth ") + depth, "", "d");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_ERR_HAS(r, std::string("max depth must be 1..254, got ") + depth);
    r = smt("root", "", "", "d");
    EXPECT_EQ(r.exit_code, 1) << "the tree was created anyway";
  }

  // create makes the data directory.
  const std::string fresh = path("fresh/nested");
  r = arbor("smt create --data " + fresh + " --tree x");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::is_directory(fresh));
}

TEST_F(CliSmt, RollbackMakesAnEarlierVersionTheHead) {
  create();
  const std::string v1 = apply(kPut1234, 1);
  const std::string v2 = apply("put 5 55\n", 2);
  apply("del 1\nput 6 66\n", 3);

  auto r = smt("rollback", "1");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, root_out(v1, 1));
  expect_head(v1, 1);
  EXPECT_EQ(smt("get", "1").out, dec_to_hex("11") + "\n");
  EXPECT_EQ(smt("get", "5").exit_code, 1);
  r = smt("root", "--version 2");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_ERR_HAS(r, "has no version 2");

  // Rolling back to the head is a no-op; past the head is refused.
  r = smt("rollback", "1");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, root_out(v1, 1));
  r = smt("rollback", "5");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_ERR_HAS(r, "has no version 5");
  expect_head(v1, 1);

  // The next apply is version 2 again, and the same ops give the same root.
  EXPECT_EQ(apply("put 5 55\n", 2), v2);
  EXPECT_EQ(apply("put 7 77\n", 3).size(), 66u);

  r = smt("rollback", "0");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, root_out(kZero64, 0));
  EXPECT_EQ(apply("put 1 2\n", 1), dec_to_hex(kRoot12Dec));
}

TEST_F(CliSmt, PruneDropsOlderVersions) {
  create();
  const std::string v1 = apply(kPut1234, 1);
  const std::string v2 = apply("put 5 55\n", 2);
  const std::string v3 = apply("del 5\nput 1 1\n", 3);

  auto r = smt("prune", "2");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_OUT_HAS(r, "oldest version 2\nversions dropped 2\n");
  for (const char* old : {"0", "1"}) {
    SCOPED_TRACE(old);
    r = smt("root", std::string("--version ") + old);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_ERR_HAS(r, "was pruned; the oldest retained is 2");
    r = smt("get", std::string("1 --version ") + old);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_ERR_HAS(r, "was pruned");
    r = smt("prove", std::string("1 --version ") + old);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_ERR_HAS(r, "was pruned");
  }
  r = smt("root", "--version 2");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, root_out(v2, 2));
  r = smt("get", "5 --version 2");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, dec_to_hex("55") + "\n");
  r = smt("get", "1 --version 2");
  EXPECT_EQ(r.out, dec_to_hex("11") + "\n");
  r = smt("prove", "5 --version 2 --format binary --out " + path("v2.bin"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(verify(v2, path("v2.bin")).exit_code, 0);
  expect_head(v3, 3);

  // Rolling back below the oldest retained version is refused.
  r = smt("rollback", "1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_ERR_HAS(r, "was pruned");
  expect_head(v3, 3);

  // Pruning past the head is refused; an older prune is a no-op; --compact works.
  r = smt("prune", "4");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_ERR_HAS(r, "its head is 3");
  r = smt("prune", "1");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_OUT_HAS(r, "oldest version 2\nversions dropped 0\n");
  r = smt("prune", "3 --compact");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_OUT_HAS(r, "oldest version 3\nversions dropped 1\n");
  r = smt("root", "--version 2");
  EXPECT_EQ(r.exit_code, 1);
  expect_head(v3, 3);
  EXPECT_EQ(smt("get", "1").out, dec_to_hex("1") + "\n");
  EXPECT_EQ(smt("get", "4").out, dec_to_hex("44") + "\n");
  EXPECT_EQ(smt("get", "5").exit_code, 1);
  (void)v1;
}

TEST_F(CliSmt, KeepVersionsPrunesAutomatically) {
  create("t", "--keep-versions 2");
  std::vector<std::string> roots = {kZero64};
  for (int i = 1; i <= 4; ++i) {
    roots.push_back(apply("put " + std::to_string(i) + " " + std::to_string(i * 11) + "\n", i));
  }
  EXPECT_EQ(roots[4], dec_to_hex(kRoot1234Dec));
  for (int v = 0; v <= 2; ++v) {
    auto r = smt("root", "--version " + std::to_string(v));
    EXPECT_EQ(r.exit_code, 1) << v;
    EXPECT_ERR_HAS(r, "was pruned");
  }
  for (int v = 3; v <= 4; ++v) {
    auto r = smt("root", "--version " + std::to_string(v));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, root_out(roots[v], v));
  }
}

TEST_F(CliSmt, DeletingEveryKeyGivesTheEmptyRoot) {
  create();
  apply(kPut1234, 1);
  apply("put 100 1\nput 0x10000000000000000 2\n", 2);
  EXPECT_EQ(apply("del 1\ndel 2\n", 3).size(), 66u);
  EXPECT_EQ(apply("del 3\ndel 4\ndel 100\ndel 0x10000000000000000\n", 4), kZero64);
  expect_head(kZero64, 4);
  for (const char* key : {"1", "2", "3", "4", "100"}) {
    EXPECT_EQ(smt("get", key).exit_code, 1) << key;
  }
  // Deleting an absent key and putting then deleting in one batch leave it empty.
  EXPECT_EQ(apply("del 9\n", 5), kZero64);
  EXPECT_EQ(apply("put 9 9\ndel 9\n", 6), kZero64);
  // An absence proof in the empty tree verifies against the zero root.
  auto r = smt("prove", "1 --format binary --out " + path("empty.bin"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = verify(kZero64, path("empty.bin"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_OUT_HAS(r, "absent");
  r = verify("0", path("empty.bin"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  // And the known answer comes back from empty.
  EXPECT_EQ(apply(kPut1234, 7), dec_to_hex(kRoot1234Dec));
}

}  // namespace
}  // namespace arbor
