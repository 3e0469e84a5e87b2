// `arbor hash poseidon` as a user runs it: arguments, stdin, --batch, output forms, bad input.
#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "tests/support/test_support.hpp"

namespace arbor {
namespace {

const std::string kArbor = std::string(ARBOR_BIN_DIR) + "/arbor";
constexpr const char* kHash12Hex =
    "0x115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a";
constexpr const char* kHash12Dec =
    "7853200120776062878684798364095072458815029376092732009249414926327459813530";
constexpr const char* kHash1Dec =
    "18586133768512220936620570745912940619677854269274689475585506675881198879027";
constexpr const char* kP =
    "21888242871839275222246405745257275088548364400416034343698204186575808495617";

testing::CommandResult arbor(const std::string& args, const std::string& input = "") {
  return testing::run_command(kArbor + " " + args, input);
}

TEST(CliHash, NumbersAsArguments) {
  auto r = arbor("hash poseidon 1 2");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, std::string(kHash12Hex) + "\n");
  r = arbor("hash poseidon --dec 0x1 0x2");
  EXPECT_EQ(r.out, std::string(kHash12Dec) + "\n");
  r = arbor("hash poseidon 1,2 --dec");
  EXPECT_EQ(r.out, std::string(kHash12Dec) + "\n");
}

TEST(CliHash, OneInputSetPerLineFromStdinAndFile) {
  const std::string input = "1 2\n1\n1,2\n  0x1 ,  2 \r\n";
  const std::string expected =
      std::string(kHash12Dec) + "\n" + kHash1Dec + "\n" + kHash12Dec + "\n" + kHash12Dec + "\n";
  auto r = arbor("hash poseidon --dec", input);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, expected);

  const auto path = std::filesystem::temp_directory_path() / "arbor_cli_hash_batch.txt";
  std::ofstream(path) << input;
  r = arbor("hash poseidon --dec --batch " + path.string());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, expected);
  r = arbor("hash poseidon --dec --batch -", input);
  EXPECT_EQ(r.out, expected);
  std::filesystem::remove(path);
}

TEST(CliHash, BadLinesAreNamedAndNothingIsPrinted) {
  const std::string input = std::string("1 2\n\n3 x\n") + kP + "\n1,,2\n1,2,\n" +
                            "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n4 5\n";
  auto r = arbor("hash poseidon", input);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  for (const char* expected :
       {"line 2: empty input set", "line 3: value 2: 'x' is not a number",
        "line 4: value 1: value 2188824287", "not below the BN254 scalar field modulus",
        "line 5: empty value before the comma", "line 6: trailing comma",
        "line 7: Poseidon takes 1 to 16 inputs, got 17"}) {
    EXPECT_NE(r.err.find(expected), std::string::npos) << "missing '" << expected << "' in:\n"
                                                       << r.err;
  }
  EXPECT_EQ(r.err.find("line 1:"), std::string::npos);
  EXPECT_EQ(r.err.find("line 8:"), std::string::npos);
}

TEST(CliHash, BadArgumentsAndUsage) {
  auto r = arbor("hash poseidon 1 0x");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("has no hex digits"), std::string::npos) << r.err;
  r = arbor(std::string("hash poseidon ") + kP);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("modulus"), std::string::npos) << r.err;
  r = arbor("hash poseidon", "");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no input"), std::string::npos) << r.err;
  r = arbor("hash poseidon --batch /nonexistent/file");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("/nonexistent/file"), std::string::npos) << r.err;
  r = arbor("hash poseidon --batch " + std::filesystem::temp_directory_path().string());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("cannot read"), std::string::npos) << r.err;
  r = arbor("hash poseidon 1 --batch -", "1\n");
  EXPECT_EQ(r.exit_code, 1);
  r = arbor("hash poseidon --backend quantum 1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown backend 'quantum'"), std::string::npos) << r.err;
  r = arbor("hash poseidon --backend cpu 1 2");
  EXPECT_EQ(r.out, std::string(kHash12Hex) + "\n");
}

TEST(CliHash, ManyLinesOfMixedWidthsKeepTheirOrder) {
  std::string input, expected_first;
  for (int i = 1; i <= 3000; ++i) {
    input += (i % 2 ? "1 2\n" : "1\n");
  }
  auto r = arbor("hash poseidon --dec", input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::size_t line = 0, pos = 0;
  while (pos < r.out.size()) {
    const std::size_t end = r.out.find('\n', pos);
    const std::string got = r.out.substr(pos, end - pos);
    ++line;
    ASSERT_EQ(got, line % 2 ? kHash12Dec : kHash1Dec) << "line " << line;
    pos = end + 1;
  }
  EXPECT_EQ(line, 3000u);
}

}  // namespace
}  // namespace arbor
