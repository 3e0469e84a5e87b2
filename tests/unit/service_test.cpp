// The service's host side without gRPC: configuration parsing and validation, the write batcher's
// group commit (coalescing, expected versions, failure isolation, overload, drain on stop) and
// the engine's transactions.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <set>
#include <thread>

#include "host/service/engine.hpp"
#include "host/service/service_config.hpp"
#include "host/service/write_batcher.hpp"
#include "host/smt/smt_proof_codec.hpp"
#include "host/smt/smt_tree.hpp"
#include "kernels/field/bn254_fr_text.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::service {
namespace {

using field::Fr;
using testing::TempDir;

Fr fr(std::uint64_t small) { return *field::parse_fr(std::to_string(small)); }
std::string wire(std::uint64_t small) { return smt::fr_bytes(fr(small)); }
tree::Op put(std::uint64_t key, std::uint64_t value) {
  return tree::Op::put(wire(key), wire(value));
}
tree::Op erase(std::uint64_t key) { return tree::Op::erase(wire(key)); }

TEST(ServiceConfigTest, DefaultsListenOnLocalhostAndKeepDataInDotData) {
  ServiceConfig config = default_service_config();
  EXPECT_EQ(config.listen, "127.0.0.1:50051");
  EXPECT_EQ(config.metrics_listen, "127.0.0.1:9464");
  EXPECT_EQ(config.engine.data_dir, "data");
  EXPECT_EQ(config.engine.checkpoint_dir, std::filesystem::path("data") / "checkpoints");
  EXPECT_EQ(config.engine.store.sync, storage::SyncMode::kFull);
  EXPECT_FALSE(config.auth.enabled());
  EXPECT_FALSE(config.tls.enabled());
  EXPECT_TRUE(validate_service_config(config).ok());
}

TEST(ServiceConfigTest, ReadsEveryTable) {
  auto config = parse_service_config(R"(
data = "/srv/arbor"
listen = "0.0.0.0:6000"
metrics_listen = ""
backend = "cpu"
log_level = "debug"
max_message_mb = 16
[store]
sync = "async"
async_sync_interval_ms = 50
compression = "zstd"
block_cache_mb = 512
[trees]
node_cache_mb = 8
[batcher]
max_batch_ops = 5000
max_delay_us = 100
max_queue_ops = 90000
max_queue_writes = 77
[transactions]
default_timeout_ms = 1000
max_ops_per_tx = 9000
[auth]
write_tokens = ["a", "b"]
read_tokens = ["c"]
)",
                                     "inline");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->engine.data_dir, "/srv/arbor");
  EXPECT_EQ(config->engine.checkpoint_dir, std::filesystem::path("/srv/arbor/checkpoints"));
  EXPECT_EQ(config->listen, "0.0.0.0:6000");
  EXPECT_TRUE(config->metrics_listen.empty());
  EXPECT_EQ(config->engine.backend, host::BackendChoice::kCpu);
  EXPECT_EQ(config->max_message_bytes, 16u << 20);
  EXPECT_EQ(config->engine.store.sync, storage::SyncMode::kAsync);
  EXPECT_EQ(config->engine.store.async_sync_interval_ms, 50u);
  EXPECT_EQ(config->engine.store.compression, storage::Compression::kZstd);
  EXPECT_EQ(config->engine.store.block_cache_bytes, 512ull << 20);
  EXPECT_EQ(config->engine.tree.node_cache_bytes, 8ull << 20);
  EXPECT_EQ(config->engine.batcher.max_batch_ops, 5000u);
  EXPECT_EQ(config->engine.batcher.max_delay.count(), 100);
  EXPECT_EQ(config->engine.batcher.max_queue_writes, 77u);
  EXPECT_EQ(config->engine.tx.default_timeout_ms, 1000u);
  EXPECT_EQ(config->auth.write_tokens, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(validate_service_config(*config).ok());
  // The description is TOML that reads back to the same settings, tokens aside.
  auto again = parse_service_config(describe_service_config(*config), "described");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->engine.batcher.max_queue_ops, 90000u);
  EXPECT_EQ(again->engine.store.sync, storage::SyncMode::kAsync);
  EXPECT_TRUE(again->auth.write_tokens.empty());
  EXPECT_EQ(describe_service_config(*config).find("\"a\""), std::string::npos);
}

TEST(ServiceConfigTest, ReadsReplicationAndRefusesWhatIsWrong) {
  EXPECT_FALSE(default_service_config().replication.enabled());
  auto config = parse_service_config(R"(
[replication]
nats = ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222"]
role = "follower"
stream = "ARBOR_TEST"
replicas = 1
retention_hours = 48
retry_for_ms = 3000
ack = "leader"
max_unreplicated = 500
leader_address = "leader:50051"
advertise_address = "me:50051"
lease_ttl_ms = 3000
)",
                                     "inline");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->replication.enabled());
  EXPECT_EQ(config->replication.nats.size(), 2u);
  EXPECT_EQ(config->replication.role, "follower");
  EXPECT_EQ(config->replication.ack, "leader");
  EXPECT_EQ(config->replication.max_unreplicated, 500u);
  EXPECT_EQ(config->replication.replicas, 1);
  EXPECT_EQ(config->replication.retry_for_ms, 3000u);
  EXPECT_EQ(config->replication.lease_ttl_ms, 3000u);
  EXPECT_EQ(config->replication.advertise_address, "me:50051");
  EXPECT_TRUE(validate_service_config(*config).ok());
  auto again = parse_service_config(describe_service_config(*config), "described");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->replication.nats, config->replication.nats);
  EXPECT_EQ(again->replication.leader_address, "leader:50051");
  EXPECT_EQ(describe_service_config(*again), describe_service_config(*config));
  for (const auto& [setting, message_has] : std::vector<std::pair<std::string, std::string>>{
           {"role = \"boss\"", "replication.role"},
           {"ack = \"all\"", "replication.ack"},
           {"stream = \"a.b\"", "stream name"},
           {"nats = [\"10.0.0.1:4222\"]", "nats://"},
       }) {
    auto bad = parse_service_config("[replication]\n" + setting, "inline");
    ASSERT_TRUE(bad.ok()) << setting << ": " << bad.status();
    absl::Status valid = validate_service_config(*bad);
    EXPECT_NE(std::string(valid.message()).find(message_has), std::string::npos)
        << setting << " -> " << valid;
  }
  EXPECT_FALSE(parse_service_config("[replication]\nreplicas = 9", "inline").ok());
  EXPECT_FALSE(parse_service_config("[replication]\nlease_ttl_ms = 10", "inline").ok());
  EXPECT_FALSE(parse_service_config("[replication]\nmax_unreplicated = 0", "inline").ok());
}

// Found by the service_config fuzzer (tests/fuzz/regressions/service_config/): strings with
// quotes, backslashes or control characters were described unescaped, as TOML that did not parse.
TEST(ServiceConfigTest, DescriptionEscapesStrings) {
  auto config = parse_service_config(
      "listen = 'a\"b:1'\ndata = \"C:\\\\srv\\n\\u0001x\"\n[tls]\ncert_file = 'q\"\\\\'\n",
      "escapes.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen, "a\"b:1");
  EXPECT_EQ(config->engine.data_dir.string(), "C:\\srv\n\x01x");
  const std::string described = describe_service_config(*config);
  auto again = parse_service_config(described, "described");
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << described;
  EXPECT_EQ(again->listen, config->listen);
  EXPECT_EQ(again->engine.data_dir, config->engine.data_dir);
  EXPECT_EQ(again->tls.cert_file, "q\"\\\\");
  EXPECT_EQ(describe_service_config(*again), described);
}

TEST(ServiceConfigTest, RefusesWhatItDoesNotUnderstand) {
  struct Case {
    std::string toml;
    std::string message_has;
  };
  for (const Case& c : std::vector<Case>{
           {"lisen = \"x\"", "lisen (line 1): unknown setting"},
           {"[store]\nsink = \"full\"", "store.sink (line 2): unknown setting"},
           {"[store]\nsync = \"always\"", "store.sync"},
           {"[batcher]\nmax_batch_ops = 0", "max_batch_ops"},
           {"[batcher]\nmax_batch_ops = \"10\"", "expected an integer"},
           {"backend = \"tpu\"", "backend"},
           {"[auth]\nwrite_tokens = \"single\"", "array"},
           {"[auth]\nwrite_tokens = [\"\"]", "non-empty"},
           {"listen = 5", "expected a string"},
           {"store = 1", "expected a table"},
           {"data = ", "inline"},
       }) {
    auto config = parse_service_config(c.toml, "inline");
    ASSERT_FALSE(config.ok()) << c.toml;
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << c.toml;
    EXPECT_NE(std::string(config.status().message()).find(c.message_has), std::string::npos)
        << c.toml << " -> " << config.status().message();
  }
  ServiceConfig config = default_service_config();
  config.listen = "localhost";
  EXPECT_FALSE(validate_service_config(config).ok());
  config = default_service_config();
  config.tls.cert_file = "/nonexistent.pem";
  EXPECT_FALSE(validate_service_config(config).ok());
  config = default_service_config();
  config.engine.tx.max_ops_per_tx = config.engine.batcher.max_queue_ops + 1;
  EXPECT_FALSE(validate_service_config(config).ok());
  EXPECT_EQ(load_service_config("/nonexistent/arbord.toml").status().code(),
            absl::StatusCode::kNotFound);
}

// Bytes toml11 (Debian 3.7.1) must never see: invalid UTF-8 in a literal string (it reads past
// its buffer), nesting and dotted keys deep enough to overflow its recursion, control characters,
// and files past the size limit. Each is refused before parsing, with the line; legitimate uses of
// the same characters (strings holding brackets, dots and '#', nested arrays of two levels) pass.
TEST(ServiceConfigTest, RefusesHostileBytesBeforeParsing) {
  auto refused = [](const std::string& toml, const std::string& message_has) {
    auto config = parse_service_config(toml, "hostile.toml");
    ASSERT_FALSE(config.ok()) << message_has;
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(std::string(config.status().message()).find(message_has), std::string::npos)
        << config.status().message();
  };
  refused("log_level = 'inf\xc3'\n", "invalid UTF-8");
  refused("log_level = 'info'\nlisten = '\xed\xa0\x80'\n", "(line 2): invalid UTF-8");
  refused("data = '\xc0\xaf'", "invalid UTF-8");          // overlong '/'
  refused("data = '\xf4\x90\x80\x80'", "invalid UTF-8");  // above U+10FFFF
  refused("data = \"a\x01z\"", "control character");
  refused(std::string("data = \"a\0b\"", 11), "control character");
  refused("x = " + std::string(100'000, '[') + std::string(100'000, ']'), "larger than");
  refused("x = " + std::string(5'000, '[') + std::string(5'000, ']'), "nested more than 16");
  std::string tables = "x = ";
  for (int i = 0; i < 2'000; ++i) tables += "{a=";
  refused(tables + "1" + std::string(2'000, '}'), "nested more than 16");
  std::string dotted = "a";
  for (int i = 0; i < 10'000; ++i) dotted += ".a";
  refused(dotted + " = 1", "dots on one line");
  refused("[" + dotted + "]\nx = 1", "dots on one line");
  refused("data = 'unterminated\nlisten = 'x'", "unterminated string");

  // The same characters where TOML allows them still reach toml11 and the key checks.
  auto config = parse_service_config(
      "# [[[[[[[[[[[[[[[[[[[[ . . . . . . . . \xc3\xa9\n"
      "data = \"/tmp/d[1]{2}.x.y#z\"\n"
      "log_level = '''warn'''\n"
      "[auth]\nwrite_tokens = [\"a.b.c\", 'd]e']\n",
      "fine.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->engine.data_dir, "/tmp/d[1]{2}.x.y#z");
  EXPECT_EQ(config->log_level, "warn");
  EXPECT_EQ(config->auth.write_tokens, (std::vector<std::string>{"a.b.c", "d]e"}));

  // A file is read only up to the limit (no reading /dev/zero forever).
  EXPECT_EQ(load_service_config("/dev/zero").status().code(), absl::StatusCode::kInvalidArgument);
}

class BatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = *storage::Store::open(dir_ / "db");
    backend_ = host::make_cpu_backend(1);
  }
  void TearDown() override {
    tree_.reset();
    store_.reset();
  }
  smt::SmtTree& make_tree(int max_depth = smt::kDefaultMaxDepth) {
    tree_ = *smt::SmtTree::create(*store_, "t", {max_depth, 0}, *backend_);
    return *tree_;
  }

  TempDir dir_{"batcher"};
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<host::ComputeBackend> backend_;
  std::unique_ptr<smt::SmtTree> tree_;
};

class BatcherProofsTest : public BatcherTest, public ::testing::WithParamInterface<bool> {};

// Proved one after another, and (param true) in parallel from the first version on.
TEST_P(BatcherProofsTest, QueuedWritesShareAVersionAndEachGetsItsOwnProofs) {
  smt::SmtTree& tree = make_tree();
  std::vector<BatchReport> reports;
  std::mutex reports_mutex;
  BatcherOptions options;
  if (GetParam()) options.parallel_proofs_above_ms = 0;
  EngineObserver observer;
  observer.on_batch = [&](const BatchReport& report) {
    std::lock_guard lock(reports_mutex);
    reports.push_back(report);
  };
  WriteBatcher batcher(tree, options, observer);
  // Hold the batcher between versions so everything below queues up.
  std::vector<WriteFuture> futures;
  batcher.exclusive([&] {
    for (std::uint64_t i = 0; i < 20; ++i) {
      WriteRequest request;
      request.ops = {put(i, i + 100), put(i + 1000, 1)};
      request.with_proofs = i % 2 == 0;
      futures.push_back(*batcher.submit(std::move(request)));
    }
    return 0;
  });
  std::set<std::uint64_t> versions;
  for (std::uint64_t i = 0; i < futures.size(); ++i) {
    absl::StatusOr<WriteOutcome> outcome = futures[i].get();
    ASSERT_TRUE(outcome.ok()) << outcome.status();
    versions.insert(outcome->version.version);
    EXPECT_EQ(outcome->coalesced_writes, 20u);
    EXPECT_EQ(outcome->proofs.keys.size(), i % 2 == 0 ? 2u : 0u);
    const Fr root = *smt::wire_fr(outcome->version.root, "root");
    for (const tree::WrittenKey& key : outcome->proofs.keys) {
      absl::StatusOr<smt::SmtProof> proof = smt::decode_proof_binary(key.proof);
      ASSERT_TRUE(proof.ok()) << proof.status();
      EXPECT_TRUE(smt::verify_proof(root, *proof).ok());
      EXPECT_TRUE(proof->existence);
      EXPECT_EQ(key.value, smt::fr_bytes(proof->value));
    }
  }
  EXPECT_EQ(versions, (std::set<std::uint64_t>{1}));
  EXPECT_EQ(tree.version_record()->entry_count, 40u);
  batcher.stop();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].writes, 20u);
  EXPECT_EQ(reports[0].ops, 40u);
}

INSTANTIATE_TEST_SUITE_P(SerialAndParallel, BatcherProofsTest, ::testing::Bool());

// Proofs are made after the apply lock is released, from a snapshot of their version: a rollback
// does not wait for them, and they still prove the version they answer for.
TEST_F(BatcherTest, ProofsAreMadeOutsideTheApplyLockFromTheirVersion) {
  smt::SmtTree& tree = make_tree();
  std::promise<void> proving, release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> first = true;
  EngineObserver observer;
  observer.on_proof = [&](const ProofReport&) {
    if (first.exchange(false)) {
      proving.set_value();
      released.wait();
    }
  };
  WriteBatcher batcher(tree, {}, observer);
  WriteRequest request;
  request.ops = {put(1, 2), put(3, 4)};
  request.with_proofs = true;
  WriteFuture written = *batcher.submit(std::move(request));
  proving.get_future().wait();  // the version is committed and its proof is being answered
  // A rollback of that very version runs meanwhile.
  std::future<absl::StatusOr<storage::TreeInfo>> rolled_back = std::async(
      std::launch::async, [&] { return batcher.exclusive([&] { return tree.rollback(0); }); });
  const bool waited = rolled_back.wait_for(std::chrono::seconds(20)) != std::future_status::ready;
  release.set_value();
  ASSERT_FALSE(waited) << "the rollback waited for the proofs";
  ASSERT_TRUE(rolled_back.get().ok());
  absl::StatusOr<WriteOutcome> outcome = written.get();
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->version.version, 1u);
  const Fr root = *smt::wire_fr(outcome->version.root, "root");
  ASSERT_EQ(outcome->proofs.keys.size(), 2u);
  for (const tree::WrittenKey& key : outcome->proofs.keys) {
    absl::StatusOr<smt::SmtProof> proof = smt::decode_proof_binary(key.proof);
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_TRUE(proof->existence);
    EXPECT_TRUE(smt::verify_proof(root, *proof).ok());
  }
  EXPECT_EQ(tree.version_record()->version, 0u);
}

TEST_F(BatcherTest, ExpectedVersionStartsAGroupAndOnlyOneOfTwoRivalsWins) {
  smt::SmtTree& tree = make_tree();
  WriteBatcher batcher(tree, {});
  std::vector<WriteFuture> futures;
  batcher.exclusive([&] {
    for (int i = 0; i < 4; ++i) {
      WriteRequest request;
      request.ops = {put(10 + i, 1)};
      if (i == 1 || i == 2) request.expected_version = 0;  // rivals: both think the tree is new
      futures.push_back(*batcher.submit(std::move(request)));
    }
    return 0;
  });
  std::vector<absl::StatusOr<WriteOutcome>> outcomes;
  for (WriteFuture& future : futures) outcomes.push_back(future.get());
  ASSERT_TRUE(outcomes[0].ok());
  EXPECT_EQ(outcomes[0]->version.version, 1u);
  EXPECT_EQ(outcomes[1].status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(outcomes[2].status().code(), absl::StatusCode::kAborted);
  ASSERT_TRUE(outcomes[3].ok());
  EXPECT_FALSE(tree.get(fr(11))->has_value());
  EXPECT_FALSE(tree.get(fr(12))->has_value());
  EXPECT_TRUE(tree.get(fr(13))->has_value());

  // With the head at the expected version, the expecting write leads its group and wins.
  const std::uint64_t head = tree.version_record()->version;
  batcher.exclusive([&] {
    futures.clear();
    for (int i = 0; i < 3; ++i) {
      WriteRequest request;
      request.ops = {put(20 + i, 1)};
      request.expected_version = head;
      futures.push_back(*batcher.submit(std::move(request)));
    }
    return 0;
  });
  EXPECT_TRUE(futures[0].get().ok());
  EXPECT_EQ(futures[1].get().status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(futures[2].get().status().code(), absl::StatusCode::kAborted);
}

TEST_F(BatcherTest, OneBadWriteInAGroupIsRefusedAloneAndTheRestApply) {
  smt::SmtTree& tree = make_tree(2);
  WriteBatcher batcher(tree, {});
  std::vector<WriteFuture> futures;
  batcher.exclusive([&] {
    for (int i = 0; i < 5; ++i) {
      WriteRequest request;
      if (i == 2) {
        // Three keys sharing their low 2 bits need depth 3: past this tree's max depth.
        request.ops = {put(0, 1), put(4, 1), put(8, 1)};
      } else {
        request.ops = {put(1 + (i % 3), i)};
      }
      futures.push_back(*batcher.submit(std::move(request)));
    }
    return 0;
  });
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<WriteOutcome> outcome = futures[i].get();
    if (i == 2) {
      EXPECT_EQ(outcome.status().code(), absl::StatusCode::kOutOfRange);
    } else {
      EXPECT_TRUE(outcome.ok()) << outcome.status();
    }
  }
  EXPECT_FALSE(tree.get(fr(4))->has_value());
  EXPECT_EQ(tree.version_record()->entry_count, 2u);  // keys 1 and 2
}

TEST_F(BatcherTest, AFullQueueRefusesAndStopDrainsEverythingAccepted) {
  smt::SmtTree& tree = make_tree();
  BatcherOptions options;
  options.max_queue_writes = 3;
  options.max_queue_ops = 10;
  options.max_batch_ops = 10;
  WriteBatcher batcher(tree, options);
  std::vector<WriteFuture> accepted;
  batcher.exclusive([&] {
    for (int i = 0; i < 5; ++i) {
      WriteRequest request;
      request.ops = {put(i + 1, 1)};
      absl::StatusOr<WriteFuture> submitted = batcher.submit(std::move(request));
      if (i < 3) {
        ASSERT_TRUE(submitted.ok());
        accepted.push_back(std::move(*submitted));
      } else {
        EXPECT_EQ(submitted.status().code(), absl::StatusCode::kResourceExhausted);
        // A refused request keeps its operations (a transaction is committed again later).
        EXPECT_EQ(request.ops.size(), 1u);
      }
    }
    WriteRequest too_big;
    too_big.ops.assign(11, put(1, 1));
    EXPECT_EQ(batcher.submit(std::move(too_big)).status().code(),
              absl::StatusCode::kInvalidArgument);
  });
  batcher.stop();
  for (WriteFuture& future : accepted) EXPECT_TRUE(future.get().ok());
  EXPECT_EQ(tree.version_record()->entry_count, 3u);
  WriteRequest late;
  late.ops = {put(9, 9)};
  EXPECT_EQ(batcher.submit(std::move(late)).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(batcher.counters().refused_overload, 2u);
}

TEST_F(BatcherTest, TheQueueIsBoundedByTheMeasuredApplyTime) {
  smt::SmtTree& tree = make_tree();
  BatcherOptions options;
  options.max_batch_ops = 1000;
  options.max_queue_delay = std::chrono::milliseconds(20);
  WriteBatcher batcher(tree, options);
  auto write_of = [](std::uint64_t first) {
    WriteRequest request;
    for (std::uint64_t key = first; key < first + 1000; ++key) request.ops.push_back(put(key, 1));
    return request;
  };
  EXPECT_EQ(batcher.counters().apply_ms_per_op, 0);  // nothing measured yet
  for (std::uint64_t i = 0; i < 3; ++i) {
    absl::StatusOr<WriteFuture> measured = batcher.submit(write_of(1 + i * 1000));
    ASSERT_TRUE(measured.ok()) << measured.status();
    ASSERT_TRUE(measured->get().ok());
  }
  const double ms_per_op = batcher.counters().apply_ms_per_op;
  ASSERT_GT(ms_per_op, 0);
  std::printf("measured %.4f ms per operation\n", ms_per_op);
  // With the worker held, writes queue until the queue holds 20 ms of work at that rate.
  std::vector<WriteFuture> accepted;
  absl::Status refusal;
  batcher.exclusive([&] {
    for (std::uint64_t i = 0; i < 100'000; ++i) {
      absl::StatusOr<WriteFuture> submitted = batcher.submit(write_of(10'000 + i * 1000));
      if (!submitted.ok()) {
        refusal = submitted.status();
        return;
      }
      accepted.push_back(std::move(*submitted));
    }
  });
  EXPECT_EQ(refusal.code(), absl::StatusCode::kResourceExhausted) << refusal;
  EXPECT_NE(std::string(refusal.message()).find("max_queue_delay_ms"), std::string::npos)
      << refusal;
  ASSERT_FALSE(accepted.empty());  // an empty queue always takes a write
  if (accepted.size() > 1) {
    EXPECT_LE(static_cast<double>(accepted.size()) * 1000 * ms_per_op, 20.0);
  }
  EXPECT_GT(static_cast<double>(accepted.size() + 1) * 1000 * ms_per_op, 20.0);
  EXPECT_EQ(batcher.counters().refused_queue_delay, 1u);
  EXPECT_EQ(batcher.counters().refused_overload, 1u);
  for (WriteFuture& future : accepted) EXPECT_TRUE(future.get().ok());
  EXPECT_EQ(tree.version_record()->entry_count, 3000 + accepted.size() * 1000);
}

TEST(EngineTest, TransactionsLimitsAndRestart) {
  TempDir dir("engine");
  EngineOptions options;
  options.data_dir = dir / "data";
  options.checkpoint_dir = dir / "checkpoints";
  options.backend = host::BackendChoice::kCpu;
  options.tx.max_ops_per_tx = 3;
  options.tx.max_open = 2;
  auto engine = Engine::open(options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  ASSERT_TRUE((*engine)->create_tree("t", "", {}).ok());
  EXPECT_EQ((*engine)->create_tree("x", "sparse", {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto tx = (*engine)->begin_tx("t", 0);
  ASSERT_TRUE(tx.ok());
  EXPECT_EQ(*(*engine)->add_to_tx(tx->id, {put(1, 1)}), 1u);
  EXPECT_EQ((*engine)->add_to_tx(tx->id, std::vector<tree::Op>(3, erase(2))).status().code(),
            absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE((*engine)->begin_tx("t", 0).ok());
  EXPECT_EQ((*engine)->begin_tx("t", 0).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ((*engine)->begin_tx("missing", 0).status().code(), absl::StatusCode::kNotFound);
  CommitOptions commit;
  commit.label = "L";
  commit.with_proofs = true;
  auto committed = (*engine)->commit_tx(tx->id, commit);
  ASSERT_TRUE(committed.ok());
  absl::StatusOr<WriteOutcome> outcome = committed->get();
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->proofs.keys.size(), 1u);
  EXPECT_EQ((*engine)->tree("t", {std::nullopt, "L"})->at.version, 1u);
  EXPECT_EQ((*engine)->stats().open_transactions, 1u);
  auto checkpoint = (*engine)->checkpoint("c1");
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_EQ((*engine)->checkpoint("c1").status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ((*engine)->checkpoint("..").status().code(), absl::StatusCode::kInvalidArgument);
  (*engine)->shutdown();
  EXPECT_EQ((*engine)->tree("t").status().code(), absl::StatusCode::kUnavailable);
  engine->reset();

  auto reopened = Engine::open(options);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  auto summary = (*reopened)->tree("t");
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->at.version, 1u);
  EXPECT_EQ(summary->at.entry_count, 1u);
  EXPECT_EQ(summary->at.label, "L");
}

TEST(EngineTest, ServesVerkleTreesWithWitnessesPerWriteAndFeedsWatchers) {
  TempDir dir("engine-verkle");
  EngineOptions options;
  options.data_dir = dir / "data";
  options.backend = host::BackendChoice::kCpu;
  auto engine = Engine::open(options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  ASSERT_TRUE((*engine)->create_tree("v", "verkle", {}).ok());
  EXPECT_EQ((*engine)->create_tree("w", "verkle", {0, 8}).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<FeedState> start =
      (*engine)->wait_for_versions("v", {~0ULL, ~0ULL, ~0ULL}, std::chrono::milliseconds(0));
  ASSERT_TRUE(start.ok());
  EXPECT_EQ(start->head, 0u);

  const std::string key_a(32, 'a'), key_b = std::string(31, 'a') + "b", value(32, 'v');
  WriteRequest bad;
  bad.ops = {tree::Op::put(key_a, value), tree::Op::put(std::string(31, 'k'), value)};
  absl::StatusOr<WriteFuture> refused = (*engine)->write("v", std::move(bad));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(refused.status().message()).find("ops[1].key"), std::string::npos);

  WriteRequest request;
  request.ops = {tree::Op::put(key_a, value), tree::Op::put(key_b, value), tree::Op::erase(key_b)};
  request.with_proofs = true;
  request.label = "block 1";
  absl::StatusOr<WriteFuture> future = (*engine)->write("v", std::move(request));
  ASSERT_TRUE(future.ok()) << future.status();
  absl::StatusOr<WriteOutcome> outcome = future->get();
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->version.version, 1u);
  EXPECT_GT(outcome->version.committed_unix_ms, 0);
  ASSERT_EQ(outcome->proofs.keys.size(), 2u);  // distinct keys, in the order first written
  EXPECT_EQ(outcome->proofs.keys[0].value, value);
  EXPECT_FALSE(outcome->proofs.keys[1].value.has_value());  // deleted in the same write
  ASSERT_TRUE(outcome->proofs.combined.has_value());
  absl::StatusOr<tree::VerifyOutcome> verdict =
      (*engine)->verify(outcome->proofs.combined->bytes, outcome->version.root);
  ASSERT_TRUE(verdict.ok()) << verdict.status();
  EXPECT_TRUE(verdict->valid) << verdict->reason;
  EXPECT_EQ(verdict->format, "verkle-witness-binary");

  absl::StatusOr<FeedState> moved =
      (*engine)->wait_for_versions("v", *start, std::chrono::milliseconds(1000));
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(moved->head, 1u);
  absl::StatusOr<GetManyOutcome> many =
      (*engine)->get_many("v", {key_b, key_a}, {std::nullopt, "block 1"}, true);
  ASSERT_TRUE(many.ok()) << many.status();
  EXPECT_EQ(many->values, (std::vector<std::optional<std::string>>{std::nullopt, value}));
  ASSERT_TRUE(many->proof.has_value());
  EXPECT_TRUE((*engine)->verify(many->proof->bytes, many->version.root)->valid);

  // A transaction's operations are checked against the tree's scheme when added.
  auto tx = (*engine)->begin_tx("v", 0);
  ASSERT_TRUE(tx.ok());
  absl::StatusOr<std::uint64_t> added =
      (*engine)->add_to_tx(tx->id, {tree::Op::put(key_a, "short")});
  EXPECT_EQ(added.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(added.status().message()).find("ops[0].value"), std::string::npos);

  ASSERT_TRUE((*engine)->rollback("v", {0, std::nullopt}).ok());
  moved = (*engine)->wait_for_versions("v", *moved, std::chrono::milliseconds(1000));
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(moved->rollbacks, 1u);
  EXPECT_EQ(moved->last_rollback_to, 0u);
  EXPECT_EQ((*engine)->stats().trees.at(0).scheme, "verkle");
}

TEST(EngineTest, AStatelessEngineOnlyVerifies) {
  EngineOptions options;
  options.data_dir.clear();
  options.backend = host::BackendChoice::kCpu;
  auto engine = Engine::open(options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  EXPECT_EQ((*engine)->create_tree("t", "smt", {}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*engine)->tree("t").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*engine)->verify("AS", std::nullopt).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE((*engine)->list_trees()->empty());
}

}  // namespace
}  // namespace arbor::service
