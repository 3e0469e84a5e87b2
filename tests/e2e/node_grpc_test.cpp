// arbord as a third-party client sees it: tests/oracles/grpc_client.mjs drives a real arbord
// from Node with @grpc/grpc-js and @grpc/proto-loader, knowing only rpc/arbor/v1/arbor.proto, the
// standard health service and reflection. It checks an SMT and a Verkle tree through every read
// and proof RPC, and has the Verkle witnesses checked by rust-verkle (verkle-cryptography-wasm).
// The seed of the script's keys and values is printed; ARBOR_TEST_SEED replays it.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "absl/strings/str_cat.h"
#include "tests/support/arbord_process.hpp"
#include "tests/support/test_support.hpp"

namespace arbor {
namespace {

const std::filesystem::path kOracles = ARBOR_ORACLES_DIR;
const std::filesystem::path kProto = ARBOR_PROTO_FILE;

// Why the client cannot run here, or "" when it can.
std::string missing_prerequisite() {
  if (testing::run_command("command -v node").exit_code != 0) {
    return "node is not installed (scripts/install-deps installs it)";
  }
  for (const char* package :
       {"@grpc/grpc-js", "@grpc/proto-loader", "verkle-cryptography-wasm", "@ethereumjs/util"}) {
    if (!std::filesystem::exists(kOracles / "node_modules" / package)) {
      return absl::StrCat("the npm package ", package, " is missing: run `npm ci` in ",
                          kOracles.string());
    }
  }
  return "";
}

TEST(NodeGrpcClient, DrivesArbordFromTheProtoAlone) {
  if (const std::string missing = missing_prerequisite(); !missing.empty()) {
    GTEST_SKIP() << missing;
  }
  std::mt19937_64 rng = testing::seeded_rng("NodeGrpcClient");
  const std::uint64_t seed = rng();
  std::cout << "[seed] grpc_client.mjs --seed " << seed << "\n";

  testing::TempDir dir("node-grpc");
  auto server = testing::ArbordProcess::start(dir / "data");
  ASSERT_TRUE(server.ok()) << server.status();

  // `timeout` so that a stream that never ends fails the test instead of hanging ctest.
  const std::string command =
      absl::StrCat("cd '", kOracles.string(), "' && timeout 600 node grpc_client.mjs --address ",
                   (*server)->address(), " --proto '", kProto.string(), "' --seed ", seed);
  const testing::CommandResult result = testing::run_command(command);
  const auto tail = [](const std::string& text) {
    return text.size() > 6000 ? "..." + text.substr(text.size() - 6000) : text;
  };
  EXPECT_EQ(result.exit_code, 0) << command << "\n--- stdout\n"
                                 << tail(result.out) << "\n--- stderr\n"
                                 << tail(result.err) << "\n--- arbord log\n"
                                 << tail((*server)->log());
  if (result.exit_code == 0) {
    EXPECT_TRUE(std::regex_search(result.out, std::regex("(^|\n)ok [0-9]+ checks\n")))
        << tail(result.out);
  }
  EXPECT_EQ((*server)->terminate(), 0) << tail((*server)->log());
}

}  // namespace
}  // namespace arbor
