// `arbor` on a data directory and through a running arbord print the same: the same sequence of
// commands (create, apply, root, get, prove in every format, verify, scan, info, rollback, prune,
// refused writes, a streamed bulk load) runs once with --data on one directory and once with
// --server against arbord on another, for both schemes, and stdout and exit codes must be equal.
// Also: the Verkle tree through the server, `arbor watch` and `arbor scan` paging, and argument
// errors (exit 2 with CLI11's message).
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/arbord_process.hpp"
#include "tests/support/test_support.hpp"

namespace arbor {
namespace {

const std::string kArbor = std::string(ARBOR_BIN_DIR) + "/arbor";
// rust-verkle simple_insert: key = value = kKey.
const std::string kKey = "0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20";
const std::string kKeyRoot = "0x6f5e7cfc3a158a64e5718b0d2f18f564171342380f5808f3d2a82f7e7f3c2778";
// circomlibjs: the root after put 1 11, put 2 22, put 3 33, put 4 44.
const std::string kSmtRoot1234 =
    "0x1df9a6c242f8655d9d0bc819504c0de4cee13f4275a53ee48130f9e232fb2d64";

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  return path.string();
}

// A Verkle key: 31 bytes of stem (byte `stem` repeated) and a suffix.
std::string verkle_key(int stem, int suffix) {
  std::string hex = "0x";
  for (int i = 0; i < 31; ++i)
    hex += testing::hex_of(std::vector<std::uint8_t>{std::uint8_t(stem)});
  return hex + testing::hex_of(std::vector<std::uint8_t>{std::uint8_t(suffix)});
}

std::string verkle_value(int n) {
  return "0x" + std::string(62, '0') +
         testing::hex_of(std::vector<std::uint8_t>{static_cast<std::uint8_t>(n)});
}

class CliService : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = testing::ArbordProcess::start(dir_ / "served", {"--backend", "cpu"});
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = std::move(*started);
  }

  testing::CommandResult run(const std::string& args, const std::string& input = "") {
    return testing::run_command(kArbor + " " + args, input);
  }
  std::string data() const { return (dir_ / "local").string(); }
  std::string server() const { return server_->address(); }

  // `arbor COMMAND --data DIR REST` and `arbor COMMAND --server ADDR REST`: equal exit codes and
  // stdout, when they fail equal messages too. Two things differ on purpose: where the tree is
  // (`create` says "in DIR" or "on ADDR") and when a version was committed (the two stores were
  // written at different times). Returns the local run.
  testing::CommandResult same(const std::string& command, const std::string& rest,
                              const std::string& input = "") {
    testing::CommandResult local = run(command + " --data " + data() + " " + rest, input);
    testing::CommandResult remote = run(command + " --server " + server() + " " + rest, input);
    const std::string what = command + " " + rest;
    EXPECT_EQ(local.exit_code, remote.exit_code) << what << "\n" << local.err << remote.err;
    EXPECT_EQ(normal(local.out, "in " + data()), normal(remote.out, "on " + server())) << what;
    if (local.exit_code != 0) {
      EXPECT_EQ(local.err, remote.err) << what;
    }
    EXPECT_TRUE(local.exit_code != 0 || !local.out.empty()) << what;
    return local;
  }
  // `verify` with no store at all and through the server.
  testing::CommandResult same_verify(const std::string& command, const std::string& rest) {
    testing::CommandResult stateless = run(command + " " + rest);
    testing::CommandResult remote = run(command + " --server " + server() + " " + rest);
    EXPECT_EQ(stateless.exit_code, remote.exit_code) << rest << "\n" << stateless.err << remote.err;
    EXPECT_EQ(stateless.out, remote.out) << rest;
    EXPECT_EQ(stateless.err, remote.err) << rest;
    return stateless;
  }
  static std::string normal(std::string out, const std::string& location) {
    for (std::size_t at; (at = out.find(location)) != std::string::npos;) {
      out.replace(at, location.size(), "at WHERE");
    }
    static const std::regex kTime("\"committed_unix_ms\":[0-9]+");
    return std::regex_replace(out, kTime, "\"committed_unix_ms\":T");
  }
  // Proves with `args` on both sides (same bytes), keeps the proof in a file and verifies it
  // without and with the server against `root` (valid) and `wrong_root` (invalid).
  void prove_and_verify(const std::string& scheme, const std::string& tree_args,
                        const std::string& args, const std::string& root,
                        const std::string& wrong_root, const std::string& name) {
    SCOPED_TRACE(name);
    const testing::CommandResult proved = same(scheme + " prove", tree_args + " " + args);
    ASSERT_EQ(proved.exit_code, 0) << proved.err;
    const std::string file = write_file(dir_ / name, proved.out);
    const testing::CommandResult valid =
        same_verify(scheme + " verify", "--root " + root + " --proof " + file);
    EXPECT_EQ(valid.exit_code, 0) << valid.out << valid.err;
    EXPECT_TRUE(valid.out.starts_with("valid")) << valid.out;
    EXPECT_EQ(
        same_verify(scheme + " verify", "--json --root " + root + " --proof " + file).exit_code, 0);
    EXPECT_EQ(
        same_verify(scheme + " verify", "--root " + wrong_root + " --proof " + file).exit_code, 1);
  }

  testing::TempDir dir_{"cli-service"};
  std::unique_ptr<testing::ArbordProcess> server_;
};

TEST_F(CliService, SmtPrintsTheSameOnADataDirectoryAndThroughTheServer) {
  const std::string t = "--tree t";
  EXPECT_EQ(same("smt create", t + " --max-depth 32").exit_code, 0);
  EXPECT_EQ(same("smt create", t).exit_code, 1);  // exists
  EXPECT_EQ(same("smt create", "--tree d --max-depth 0").exit_code, 1);
  const auto v1 = same("smt apply", t + " --label b1", "put 1 11\nput 2 22\nput 3 33\nput 4 44\n");
  EXPECT_EQ(v1.out, "root " + kSmtRoot1234 + "\nversion 1\n");
  EXPECT_EQ(same("smt apply", t + " --label b2", "put 5 55\ndel 2\n").exit_code, 0);
  EXPECT_EQ(same("smt apply", t + " --expected-version 1", "put 6 6\n").exit_code, 1);
  EXPECT_EQ(same("smt apply", t, "put 6 six\n").exit_code, 1);
  same("smt root", t);
  same("smt root", t + " --version 1");
  same("smt root", t + " --at-label b1");
  same("smt root", t + " --version 9");
  EXPECT_EQ(same("smt get", t + " 1").out, "0x" + std::string(62, '0') + "0b\n");
  EXPECT_EQ(same("smt get", t + " 2").exit_code, 1);  // deleted in version 2
  same("smt get", t + " 2 --version 1");
  same("smt get", "--tree nope 1");
  same("smt prove", t + " 1 --format circom --levels 2");  // too few levels: exit 1
  const std::string head = same("smt root", t).out.substr(5, 66);
  for (const auto& [args, name] : std::vector<std::pair<std::string, std::string>>{
           {"1 --format binary", "one.bin"},
           {"1 --format json", "one.json"},
           {"1 --format circom --levels 10", "one.circom"},
           {"2 --format binary", "absent.bin"},
           {"1 2 7 100 --format binary", "multi.bin"},
           {"1 2 7 100 --format json", "multi.json"}}) {
    prove_and_verify("smt", t, args, head, kSmtRoot1234, name);
  }
  prove_and_verify("smt", t, "2 --version 1", kSmtRoot1234, head, "old.json");
  same("scan", t);
  same("scan", t + " --limit 2 --version 1");
  same("scan", t + " --json --at-label b1");
  same("info", t);
  same("info", t + " --version 1");
  same("trees", "");
  // A bulk load streamed as one transaction.
  std::string bulk;
  for (int i = 0; i < 700; ++i)
    bulk += "put " + std::to_string(1000 + i) + " " + std::to_string(i) + "\n";
  EXPECT_EQ(same("smt apply", t + " --chunk-ops 100", bulk).exit_code, 0);
  same("scan", t + " --limit 333");
  EXPECT_EQ(same("smt rollback", t + " --to-label b1").out, v1.out);
  EXPECT_EQ(same("smt rollback", t + " 7").exit_code, 1);
  EXPECT_EQ(same("smt prune", t + " 1").exit_code, 0);
  same("smt prune", t + " 0 --json");
  same("smt root", t + " --version 0");  // pruned: exit 1
  same("smt get", t + " 4");
}

TEST_F(CliService, VerklePrintsTheSameOnADataDirectoryAndThroughTheServer) {
  const std::string t = "--tree v";
  EXPECT_EQ(same("verkle create", t + " --keep-versions 0").exit_code, 0);
  const auto v1 = same("verkle apply", t + " --label b1 --hash", "put " + kKey + " " + kKey + "\n");
  EXPECT_TRUE(v1.out.starts_with("root " + kKeyRoot + "\nroot_hash 0x")) << v1.out;
  std::string lines;
  for (int stem = 1; stem <= 4; ++stem) {
    for (int suffix : {0, 1, 200}) {
      lines += "put " + verkle_key(stem, suffix) + " " + verkle_value(stem * 3 + suffix) + "\n";
    }
  }
  EXPECT_EQ(same("verkle apply", t + " --label b2", lines).exit_code, 0);
  EXPECT_EQ(same("verkle apply", t, "del " + verkle_key(2, 1) + "\n").exit_code, 0);
  EXPECT_EQ(same("verkle apply", t, "put 0x12 " + kKey + "\n").exit_code, 1);
  same("verkle root", t + " --hash");
  same("verkle root", t + " --version 1");
  EXPECT_EQ(same("verkle get", t + " " + kKey).out, kKey + "\n");
  EXPECT_EQ(same("verkle get", t + " " + verkle_key(2, 1)).exit_code, 1);
  same("verkle get", t + " --json --at-label b2 " + verkle_key(2, 1) + "");
  same("smt get", t + " 1");  // not an SMT
  const std::string head = same("verkle root", t).out.substr(5, 66);
  const std::string keys =
      kKey + " " + verkle_key(1, 0) + " " + verkle_key(2, 1) + " " + verkle_key(9, 9);
  prove_and_verify("verkle", t, keys, head, kKeyRoot, "w.json");
  prove_and_verify("verkle", t, keys + " --format binary", head, kKeyRoot, "w.bin");
  prove_and_verify("verkle", t, kKey + " --version 1", kKeyRoot, head, "v1.json");
  same("scan", t + " --limit 5");
  same("scan", t + " --version 1 --json");
  same("info", t);
  EXPECT_EQ(same("verkle rollback", t + " --to-label b2").exit_code, 0);
  EXPECT_EQ(same("verkle prune", t + " 2").exit_code, 0);
  same("verkle root", t + " --version 1");  // pruned
}

TEST_F(CliService, VerkleThroughTheServer) {
  const std::string s = " --server " + server() + " --tree v ";
  ASSERT_EQ(run("verkle create" + s).exit_code, 0);
  const auto applied = run("verkle apply" + s, "put " + kKey + " " + kKey + "\n");
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  EXPECT_EQ(applied.out, "root " + kKeyRoot + "\nversion 1\n");
  EXPECT_EQ(run("verkle get" + s + kKey).out, kKey + "\n");
  const auto proved = run("verkle prove" + s + kKey);
  ASSERT_EQ(proved.exit_code, 0) << proved.err;
  const std::string proof = write_file(dir_ / "w.json", proved.out);
  const auto verified =
      run("verkle verify --server " + server() + " --root " + kKeyRoot + " --proof " + proof);
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
  EXPECT_EQ(verified.out, "valid: 1 keys (1 present) in 1 stems, 6 openings\n");
  const auto wrong = run("verkle verify --server " + server() + " --root " + verkle_value(0) +
                         " --proof " + proof);
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_TRUE(contains(wrong.err, "arbor: invalid: ")) << wrong.err;
  // What only this process can do is refused with --server, as an argument error.
  const auto post = run("verkle verify --server " + server() + " --root " + kKeyRoot +
                        " --post-root " + kKeyRoot + " --proof " + proof);
  EXPECT_EQ(post.exit_code, 2);
  EXPECT_TRUE(contains(post.err, "excludes --post-root")) << post.err;
  const auto stats = run("verkle apply --stats" + s, "del " + kKey + "\n");
  EXPECT_EQ(stats.exit_code, 2);
  EXPECT_TRUE(contains(stats.err, "excludes --stats")) << stats.err;
  EXPECT_EQ(run("verkle root" + s).out, "root " + kKeyRoot + "\nversion 1\n");  // nothing applied
}

// The events of `watch`, one line each: "version V root R size S ...".
std::vector<std::string> lines_of(const std::string& out) {
  std::vector<std::string> lines;
  for (std::size_t at = 0; at < out.size();) {
    const std::size_t end = out.find('\n', at);
    lines.push_back(out.substr(at, end - at));
    at = end == std::string::npos ? out.size() : end + 1;
  }
  return lines;
}

// A tree of each scheme with three labelled versions of three new keys each, written through
// the server and, the same, on a data directory.
class CliFeed : public CliService, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    CliService::SetUp();
    if (HasFatalFailure()) return;
    const std::string tree = "--tree w" + scheme();
    s_ = " --server " + server() + " " + tree + " ";
    d_ = " --data " + data() + " " + tree + " ";
    for (const std::string& where : {s_, d_}) {
      ASSERT_EQ(run(scheme() + " create" + where).exit_code, 0);
      for (int v = 1; v <= 3; ++v) {
        std::string ops;
        for (int n = v * 3; n < v * 3 + 3; ++n) ops += put(n, n * 7);
        const auto applied =
            run(scheme() + " apply --label block-" + std::to_string(v) + where, ops);
        ASSERT_EQ(applied.exit_code, 0) << applied.err;
        if (where == s_) roots_.push_back(applied.out.substr(5, 66));
      }
    }
  }
  const std::string& scheme() const { return GetParam(); }
  std::string put(int key, int value) const {
    return scheme() == "smt"
               ? "put " + std::to_string(key) + " " + std::to_string(value) + "\n"
               : "put " + verkle_key(key, key) + " " + verkle_value(value % 256) + "\n";
  }

  std::string s_, d_;               // --server / --data and --tree
  std::vector<std::string> roots_;  // of versions 1..3
};

TEST_P(CliFeed, WatchReportsRetainedVersions) {
  // --count of them, in order.
  const auto watched = run("watch --from-version 1 --count 3" + s_);
  ASSERT_EQ(watched.exit_code, 0) << watched.err;
  const std::vector<std::string> events = lines_of(watched.out);
  ASSERT_EQ(events.size(), 3u) << watched.out;
  for (int v = 1; v <= 3; ++v) {
    EXPECT_TRUE(events[v - 1].starts_with("version " + std::to_string(v) + " root " +
                                          roots_[v - 1] + " size " + std::to_string(3 * v) +
                                          " committed_unix_ms "))
        << events[v - 1];
    EXPECT_TRUE(events[v - 1].ends_with(" rolled_back false label block-" + std::to_string(v)))
        << events[v - 1];
  }
  // --data reads a store no one else writes to: it ends at the head by itself.
  const auto local = run("watch --from-version 2" + d_);
  ASSERT_EQ(local.exit_code, 0) << local.err;
  EXPECT_EQ(lines_of(local.out).size(), 2u) << local.out;
  EXPECT_EQ(run("watch" + d_).out, "");  // nothing new can come
  const auto json = run("watch --json --from-version 3 --count 1" + s_);
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto event = nlohmann::json::parse(json.out);
  EXPECT_EQ(event["version"], 3);
  EXPECT_EQ(event["root"], roots_[2]);
  EXPECT_EQ(event["label"], "block-3");
  EXPECT_EQ(event["size"], 9);
  EXPECT_EQ(event["rolled_back"], false);
  EXPECT_GT(event["committed_unix_ms"].get<std::int64_t>(), 0);
  EXPECT_EQ(run("watch --tree nope --count 1 --server " + server()).exit_code, 1);
}

TEST_P(CliFeed, WatchFollowsNewVersionsAndRollbacks) {
  // It asks from version 4 on, so it reports 4 whether it subscribed before the apply or after;
  // the rollback waits until it has.
  const std::string out = (dir_ / "w.out").string();
  const std::string one = write_file(dir_ / "one.txt", put(100, 1));
  const std::string script = "timeout 60 " + kArbor + " watch --from-version 4 --count 2" + s_ +
                             " > " + out + " & W=$!; sleep 0.3; " + kArbor + " " + scheme() +
                             " apply --file " + one + s_ +
                             " > /dev/null && for i in $(seq 300); do grep -q 'version 4' " + out +
                             " && break; sleep 0.1; done; " + kArbor + " " + scheme() +
                             " rollback 3" + s_ + " > /dev/null && wait $W";
  const auto followed = testing::run_command(script);
  ASSERT_EQ(followed.exit_code, 0) << followed.err;
  std::ifstream in(out);
  const std::vector<std::string> live =
      lines_of(std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
  ASSERT_EQ(live.size(), 2u);
  EXPECT_TRUE(live[0].starts_with("version 4 ")) << live[0];
  EXPECT_TRUE(live[1].starts_with("version 3 root " + roots_[2])) << live[1];
  EXPECT_TRUE(contains(live[1], " rolled_back true")) << live[1];
}

TEST_P(CliFeed, ScanPagesThroughOneVersion) {
  // Small pages give what one page gives, in key order, on both sides.
  const auto all = run("scan" + s_);
  ASSERT_EQ(all.exit_code, 0) << all.err;
  const std::vector<std::string> entries = lines_of(all.out);
  ASSERT_EQ(entries.size(), 9u) << all.out;
  EXPECT_TRUE(std::is_sorted(entries.begin(), entries.end())) << all.out;
  EXPECT_EQ(run("scan --limit 2" + s_).out, all.out);
  EXPECT_EQ(run("scan --limit 1" + d_).out, all.out);
  EXPECT_EQ(run("scan --limit 4 --at-label block-1" + s_).out, run("scan --version 1" + d_).out);
  EXPECT_EQ(lines_of(run("scan --version 1 --limit 2" + s_).out).size(), 3u);
  const auto json = run("scan --json --limit 2 --version 2" + s_);
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const std::vector<std::string> objects = lines_of(json.out);
  ASSERT_EQ(objects.size(), 6u) << json.out;
  EXPECT_EQ(nlohmann::json::parse(objects[0])["key"].get<std::string>() + " " +
                nlohmann::json::parse(objects[0])["value"].get<std::string>(),
            entries[0]);
  const auto none = run("scan --version 0" + s_);
  EXPECT_EQ(none.exit_code, 0) << none.err;
  EXPECT_EQ(none.out, "");
  EXPECT_EQ(run("scan --limit 20000" + s_).exit_code, 1);  // more than a page may hold
  EXPECT_EQ(run("scan --version 9" + d_).exit_code, 1);
}

INSTANTIATE_TEST_SUITE_P(Schemes, CliFeed, ::testing::Values("smt", "verkle"),
                         [](const auto& info) { return info.param; });

TEST(CliArguments, ArgumentErrorsExitTwoWithCli11sMessage) {
  struct Case {
    std::string args, message;
  };
  const std::vector<Case> cases = {
      {"smt get --data /nonexistent 1", "--tree is required"},
      {"verkle root --server 127.0.0.1:1", "--tree is required"},
      {"verkle get --data /nonexistent --tree t", "key is required"},
      {"smt root --tree t", "--data DIR or --server HOST:PORT is required"},
      {"scan --tree t", "--data DIR or --server HOST:PORT is required"},
      {"smt root --tree t --data d --server 127.0.0.1:1", "--data excludes --server"},
      {"smt apply --tree t --server 127.0.0.1:1 --backend cpu", "--server excludes --backend"},
      {"smt apply --tree t --data d --backend gpu", "--backend"},
      {"smt verify --proof p", "--root is required"},
      {"tx begin --tree t", "--server is required"},
      {"smt frobnicate", "A subcommand is required"},
      {"", "A subcommand is required"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.args);
    const auto r = testing::run_command(kArbor + " " + c.args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_TRUE(contains(r.err, c.message)) << r.err;
  }
  const auto help = testing::run_command(kArbor + " verkle prove --help");
  EXPECT_EQ(help.exit_code, 0) << help.err;
  EXPECT_TRUE(contains(help.out, "--keys-file")) << help.out;
}

}  // namespace
}  // namespace arbor
