// The write contract's two promises that a retry relies on (issue 16, finding 2):
// - a write refused because its answer could not be sent applied nothing (the proofs' size is
//   bounded before the write is queued, and the bound holds for the worst trees);
// - a write or commit retried with its idempotency key is applied once, across a restart, and is
//   forgotten only by a rollback of its version.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <random>
#include <thread>

#include "host/service/engine.hpp"
#include "host/service/idempotency.hpp"
#include "host/smt/smt_proof_codec.hpp"
#include "host/smt/smt_records.hpp"
#include "host/verkle/verkle_witness.hpp"
#include "kernels/field/bn254_fr_text.hpp"
#include "tests/support/test_support.hpp"

namespace arbor::service {
namespace {

using testing::TempDir;

std::string smt_key(std::uint64_t small) {
  return smt::fr_bytes(*field::parse_fr(std::to_string(small)));
}
tree::Op put(std::uint64_t key, std::uint64_t value) {
  return tree::Op::put(smt_key(key), smt_key(value));
}

EngineOptions options_in(const TempDir& dir) {
  EngineOptions options;
  options.data_dir = dir / "data";
  options.checkpoint_dir = dir / "checkpoints";
  options.backend = host::BackendChoice::kCpu;
  options.warm_up_schemes = false;
  return options;
}

absl::StatusOr<WriteOutcome> write_now(Engine& engine, const std::string& tree,
                                       WriteRequest request) {
  absl::StatusOr<WriteFuture> future = engine.write(tree, std::move(request));
  if (!future.ok()) return future.status();
  return future->get();
}

CommitOptions commit_options(
    std::string label, bool with_proofs, std::string key,
    CommitOptions::IdentifyBy by = CommitOptions::IdentifyBy::kTransactionId) {
  CommitOptions options;
  options.label = std::move(label);
  options.with_proofs = with_proofs;
  options.idempotency_key = std::move(key);
  options.identify_by = by;
  return options;
}

WriteRequest keyed(std::vector<tree::Op> ops, std::string key, bool with_proofs = false) {
  WriteRequest request;
  request.ops = std::move(ops);
  request.idempotency_key = std::move(key);
  request.with_proofs = with_proofs;
  return request;
}

std::uint64_t head(Engine& engine, const std::string& tree) {
  return engine.tree(tree)->at.version;
}

TEST(IdempotencyLedgerTest, ClaimsReplaysConflictsAndForgets) {
  IdempotencyLedger ledger(2);
  const std::string a = write_identity("t", "a", {}, std::nullopt, "");
  const std::string a_other = write_identity("t", "a", {}, std::nullopt, "label");
  const std::string b = write_identity("t", "b", {}, std::nullopt, "");
  const std::string c = write_identity("t", "c", {}, std::nullopt, "");
  ASSERT_EQ(a.size(), storage::kWriteIdentityBytes);
  EXPECT_EQ(a.substr(0, 16), a_other.substr(0, 16));  // same key
  EXPECT_NE(a, a_other);                              // other request
  EXPECT_NE(write_identity("u", "a", {}, std::nullopt, "").substr(0, 16), a.substr(0, 16));

  using Claim = IdempotencyLedger::Claim;
  EXPECT_EQ(ledger.claim(a).claim, Claim::kNew);
  EXPECT_EQ(ledger.claim(a).claim, Claim::kInFlight);
  EXPECT_EQ(ledger.claim(a_other).claim, Claim::kConflict);
  ledger.release(a);
  EXPECT_EQ(ledger.peek(a).claim, Claim::kNew);

  auto version = [](std::uint64_t number) {
    storage::VersionRecord record;
    record.version = number;
    return std::make_shared<const storage::VersionRecord>(record);
  };
  ASSERT_EQ(ledger.claim(a).claim, Claim::kNew);
  ledger.applied(std::vector<std::string>{a}, version(1));
  ASSERT_EQ(ledger.claim(b).claim, Claim::kNew);
  ledger.applied(std::vector<std::string>{b}, version(2));
  EXPECT_EQ(ledger.claim(a).claim, Claim::kReplay);
  EXPECT_EQ(ledger.claim(a).version->version, 1u);
  // A third key evicts the oldest (capacity 2).
  ASSERT_EQ(ledger.claim(c).claim, Claim::kNew);
  ledger.applied(std::vector<std::string>{c}, version(3));
  EXPECT_EQ(ledger.peek(a).claim, Claim::kNew);
  EXPECT_EQ(ledger.peek(b).claim, Claim::kReplay);
  // A rollback to version 2 forgets version 3's key only.
  ledger.forget_after(2);
  EXPECT_EQ(ledger.peek(c).claim, Claim::kNew);
  EXPECT_EQ(ledger.peek(b).claim, Claim::kReplay);
  EXPECT_EQ(ledger.size(), 1u);

  EXPECT_EQ(check_idempotency_key(std::string(kMaxIdempotencyKeyBytes + 1, 'k'), "k").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(check_idempotency_key(std::string(kMaxIdempotencyKeyBytes, 'k'), "k").ok());
}

TEST(IdempotencyTest, ARetryIsAnsweredWithTheFirstVersionEvenAfterARestart) {
  TempDir dir("idempotent-write");
  const EngineOptions options = options_in(dir);
  std::string first_proof;
  {
    auto engine = Engine::open(options);
    ASSERT_TRUE(engine.ok()) << engine.status();
    ASSERT_TRUE((*engine)->create_tree("t", "", {}).ok());
    absl::StatusOr<WriteOutcome> first =
        write_now(**engine, "t", keyed({put(1, 10), put(2, 20)}, "block-1", true));
    ASSERT_TRUE(first.ok()) << first.status();
    EXPECT_FALSE(first->replayed);
    ASSERT_EQ(first->proofs.keys.size(), 2u);
    first_proof = first->proofs.keys[0].proof;
    // Other writes follow, so a replay cannot be confused with "the head".
    ASSERT_TRUE(write_now(**engine, "t", keyed({put(1, 11)}, "block-2")).ok());
    ASSERT_TRUE(write_now(**engine, "t", keyed({put(3, 30)}, "")).ok());

    absl::StatusOr<WriteOutcome> retry =
        write_now(**engine, "t", keyed({put(1, 10), put(2, 20)}, "block-1", true));
    ASSERT_TRUE(retry.ok()) << retry.status();
    EXPECT_TRUE(retry->replayed);
    EXPECT_EQ(retry->version.version, first->version.version);
    EXPECT_EQ(retry->version.root, first->version.root);
    ASSERT_EQ(retry->proofs.keys.size(), 2u);
    EXPECT_EQ(retry->proofs.keys[0].proof, first_proof);  // made again at the first version
    EXPECT_EQ(head(**engine, "t"), 3u);

    // The same key with another request is refused and applies nothing.
    absl::StatusOr<WriteOutcome> reused = write_now(**engine, "t", keyed({put(1, 99)}, "block-1"));
    EXPECT_EQ(reused.status().code(), absl::StatusCode::kAlreadyExists) << reused.status();
    EXPECT_NE(std::string(reused.status().message()).find("version 1"), std::string::npos);
    EXPECT_EQ(head(**engine, "t"), 3u);
    // A key is per tree.
    ASSERT_TRUE((*engine)->create_tree("u", "", {}).ok());
    absl::StatusOr<WriteOutcome> elsewhere =
        write_now(**engine, "u", keyed({put(1, 99)}, "block-1"));
    ASSERT_TRUE(elsewhere.ok()) << elsewhere.status();
    EXPECT_FALSE(elsewhere->replayed);
  }
  // The key is stored with the version: a retry after a restart is still recognised.
  auto reopened = Engine::open(options);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  absl::StatusOr<WriteOutcome> after_restart =
      write_now(**reopened, "t", keyed({put(1, 10), put(2, 20)}, "block-1", true));
  ASSERT_TRUE(after_restart.ok()) << after_restart.status();
  EXPECT_TRUE(after_restart->replayed);
  EXPECT_EQ(after_restart->version.version, 1u);
  EXPECT_EQ(after_restart->proofs.keys.at(0).proof, first_proof);
  EXPECT_EQ(head(**reopened, "t"), 3u);

  // A rollback removes version 2 and forgets its key: the retry applies again, as version 2.
  ASSERT_TRUE((*reopened)->rollback("t", {1, std::nullopt}).ok());
  absl::StatusOr<WriteOutcome> again = write_now(**reopened, "t", keyed({put(1, 11)}, "block-2"));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->replayed);
  EXPECT_EQ(again->version.version, 2u);
  // ... while version 1's key is still known.
  EXPECT_TRUE(write_now(**reopened, "t", keyed({put(1, 10), put(2, 20)}, "block-1"))->replayed);
}

TEST(IdempotencyTest, ACommitRetriedAfterItsTransactionClosedGetsItsVersion) {
  TempDir dir("idempotent-commit");
  const EngineOptions options = options_in(dir);
  std::string tx_id;
  {
    auto engine = Engine::open(options);
    ASSERT_TRUE(engine.ok()) << engine.status();
    ASSERT_TRUE((*engine)->create_tree("a", "", {}).ok());
    ASSERT_TRUE((*engine)->create_tree("t", "", {}).ok());
    absl::StatusOr<TxHandle> tx = (*engine)->begin_tx("t", 0);
    ASSERT_TRUE(tx.ok());
    tx_id = tx->id;
    ASSERT_TRUE((*engine)->add_to_tx(tx_id, {put(5, 50)}).ok());
    const CommitOptions commit = commit_options("b7", true, "commit-7");
    absl::StatusOr<WriteFuture> first = (*engine)->commit_tx(tx_id, commit);
    ASSERT_TRUE(first.ok()) << first.status();
    absl::StatusOr<WriteOutcome> outcome = first->get();
    ASSERT_TRUE(outcome.ok()) << outcome.status();
    EXPECT_EQ(outcome->version.version, 1u);

    absl::StatusOr<WriteFuture> retry = (*engine)->commit_tx(tx_id, commit);
    ASSERT_TRUE(retry.ok()) << retry.status();
    absl::StatusOr<WriteOutcome> replayed = retry->get();
    ASSERT_TRUE(replayed.ok()) << replayed.status();
    EXPECT_TRUE(replayed->replayed);
    EXPECT_EQ(replayed->version.version, 1u);
    EXPECT_EQ(replayed->version.label, "b7");
    EXPECT_TRUE(replayed->proofs.keys.empty());  // the transaction's keys are gone
    // Without the key, or with another label, the closed transaction is just not open.
    EXPECT_EQ((*engine)->commit_tx(tx_id, {}).status().code(), absl::StatusCode::kNotFound);
    CommitOptions other = commit;
    other.label = "b8";
    EXPECT_EQ((*engine)->commit_tx(tx_id, other).status().code(), absl::StatusCode::kNotFound);
    // Another transaction committed with the same key is refused and stays open.
    absl::StatusOr<TxHandle> second = (*engine)->begin_tx("t", 0);
    ASSERT_TRUE(second.ok());
    ASSERT_TRUE((*engine)->add_to_tx(second->id, {put(8, 80)}).ok());
    EXPECT_EQ((*engine)->commit_tx(second->id, commit).status().code(),
              absl::StatusCode::kAlreadyExists);
    EXPECT_EQ((*engine)->abort_tx(second->id).value_or(0), 1u);
  }
  auto reopened = Engine::open(options);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  absl::StatusOr<WriteFuture> after_restart =
      (*reopened)->commit_tx(tx_id, commit_options("b7", false, "commit-7"));
  ASSERT_TRUE(after_restart.ok()) << after_restart.status();
  EXPECT_TRUE(after_restart->get()->replayed);
  EXPECT_EQ(head(**reopened, "t"), 1u);

  // A Transaction stream's retry sends its operations again under a new transaction.
  auto stream_commit = [&](std::uint64_t value) -> absl::StatusOr<WriteOutcome> {
    absl::StatusOr<TxHandle> tx = (*reopened)->begin_tx("t", 0);
    if (!tx.ok()) return tx.status();
    if (auto added = (*reopened)->add_to_tx(tx->id, {put(6, value)}); !added.ok()) {
      return added.status();
    }
    absl::StatusOr<WriteFuture> future = (*reopened)->commit_tx(
        tx->id, commit_options("", false, "stream-1", CommitOptions::IdentifyBy::kOperations));
    if (!future.ok()) {
      (void)(*reopened)->abort_tx(tx->id);
      return future.status();
    }
    return future->get();
  };
  absl::StatusOr<WriteOutcome> streamed = stream_commit(60);
  ASSERT_TRUE(streamed.ok()) << streamed.status();
  EXPECT_FALSE(streamed->replayed);
  absl::StatusOr<WriteOutcome> streamed_again = stream_commit(60);
  ASSERT_TRUE(streamed_again.ok()) << streamed_again.status();
  EXPECT_TRUE(streamed_again->replayed);
  EXPECT_EQ(streamed_again->version.version, streamed->version.version);
  EXPECT_EQ(stream_commit(61).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(head(**reopened, "t"), 2u);
}

TEST(IdempotencyTest, ConcurrentRetriesApplyOnce) {
  TempDir dir("idempotent-race");
  auto engine = Engine::open(options_in(dir));
  ASSERT_TRUE(engine.ok()) << engine.status();
  ASSERT_TRUE((*engine)->create_tree("t", "", {}).ok());
  std::vector<std::thread> writers;
  std::atomic<int> applied{0}, replayed{0}, busy{0};
  for (int i = 0; i < 8; ++i) {
    writers.emplace_back([&] {
      for (;;) {
        absl::StatusOr<WriteOutcome> outcome = write_now(**engine, "t", keyed({put(7, 70)}, "k"));
        if (outcome.ok()) {
          ++(outcome->replayed ? replayed : applied);
          return;
        }
        ASSERT_EQ(outcome.status().code(), absl::StatusCode::kUnavailable) << outcome.status();
        ++busy;
        std::this_thread::yield();
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  EXPECT_EQ(applied.load(), 1);
  EXPECT_EQ(replayed.load(), 7);
  EXPECT_EQ(head(**engine, "t"), 1u);
  std::printf("concurrent retries: %d answered UNAVAILABLE while the first was in flight\n",
              busy.load());
}

// The bounds the answer check relies on hold where proofs are largest: a full SMT (every sibling
// non-zero at max depth), and Verkle stems sharing long prefixes.
TEST(AnswerSizeTest, TheProofBoundsHoldForTheLargestProofs) {
  TempDir dir("answer-bounds");
  auto engine = Engine::open(options_in(dir));
  ASSERT_TRUE(engine.ok()) << engine.status();
  constexpr int kDepth = 8;
  tree::CreateOptions shallow;
  shallow.max_depth = kDepth;
  ASSERT_TRUE((*engine)->create_tree("full", "", shallow).ok());
  std::vector<tree::Op> ops;
  for (std::uint64_t key = 0; key < (1u << kDepth); ++key) ops.push_back(put(key, key + 1));
  WriteRequest request;
  request.ops = ops;
  request.with_proofs = true;
  absl::StatusOr<WriteOutcome> full = write_now(**engine, "full", std::move(request));
  ASSERT_TRUE(full.ok()) << full.status();
  std::size_t largest = 0;
  for (const tree::WrittenKey& key : full->proofs.keys) {
    largest = std::max(largest, key.proof.size());
  }
  EXPECT_EQ(largest, 5 + 64 + 1 + 32 * kDepth);  // every sibling present
  EXPECT_LE(largest, smt::max_proof_binary_bytes(kDepth));

  ASSERT_TRUE((*engine)->create_tree("v", "verkle", {}).ok());
  std::mt19937_64 rng(16);
  std::printf("verkle bound seed 16\n");
  std::vector<tree::Op> verkle_ops;
  for (int i = 0; i < 64; ++i) {
    // Stems that agree on their first 29 bytes: the deepest paths a few keys can make.
    std::string key(32, '\x5a');
    key[29] = static_cast<char>(rng());
    key[30] = static_cast<char>(rng());
    key[31] = static_cast<char>(rng());
    verkle_ops.push_back(tree::Op::put(key, std::string(32, static_cast<char>(i + 1))));
  }
  WriteRequest verkle_request;
  verkle_request.ops = verkle_ops;
  verkle_request.with_proofs = true;
  absl::StatusOr<WriteOutcome> deep = write_now(**engine, "v", std::move(verkle_request));
  ASSERT_TRUE(deep.ok()) << deep.status();
  ASSERT_TRUE(deep->proofs.combined.has_value());
  EXPECT_LE(deep->proofs.combined->bytes.size(), verkle::max_binary_witness_bytes(64));
}

TEST(AnswerSizeTest, AWriteWhoseProofsCouldNotBeSentIsRefusedBeforeItIsApplied) {
  TempDir dir("answer-limit");
  EngineOptions options = options_in(dir);
  options.max_answer_bytes = 256 << 10;
  auto engine = Engine::open(options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  ASSERT_TRUE((*engine)->create_tree("t", "", {}).ok());  // max depth 64: ~2.3 KB per key

  std::vector<tree::Op> many;
  for (std::uint64_t key = 1; key <= 1000; ++key) many.push_back(put(key, key));
  WriteRequest request;
  request.ops = many;
  request.with_proofs = true;
  absl::StatusOr<WriteFuture> refused = (*engine)->write("t", std::move(request));
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << refused.status();
  const std::string message(refused.status().message());
  EXPECT_NE(message.find("nothing was applied"), std::string::npos) << message;
  EXPECT_EQ(head(**engine, "t"), 0u);
  // The message names the largest write that fits; that one is applied and its answer fits.
  const std::size_t at = message.find("at most ");
  ASSERT_NE(at, std::string::npos) << message;
  const std::uint64_t fitting = std::stoull(message.substr(at + 8));
  ASSERT_GT(fitting, 50u);
  ASSERT_LT(fitting, 1000u);
  WriteRequest fits;
  fits.ops.assign(many.begin(), many.begin() + static_cast<std::ptrdiff_t>(fitting));
  fits.with_proofs = true;
  absl::StatusOr<WriteOutcome> applied = write_now(**engine, "t", std::move(fits));
  ASSERT_TRUE(applied.ok()) << applied.status();
  std::uint64_t answer = 0;
  for (const tree::WrittenKey& key : applied->proofs.keys) answer += key.proof.size() + 96;
  EXPECT_LE(answer, options.max_answer_bytes);
  WriteRequest one_more;
  one_more.ops.assign(many.begin(), many.begin() + static_cast<std::ptrdiff_t>(fitting + 1));
  one_more.with_proofs = true;
  EXPECT_EQ((*engine)->write("t", std::move(one_more)).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Without proofs the same write is fine.
  WriteRequest plain;
  plain.ops = many;
  ASSERT_TRUE(write_now(**engine, "t", std::move(plain)).ok());
  EXPECT_EQ(head(**engine, "t"), 2u);

  // A commit refused for its answer keeps the transaction open: it can commit without proofs.
  absl::StatusOr<TxHandle> tx = (*engine)->begin_tx("t", 0);
  ASSERT_TRUE(tx.ok());
  ASSERT_TRUE((*engine)->add_to_tx(tx->id, many).ok());
  absl::StatusOr<WriteFuture> commit = (*engine)->commit_tx(tx->id, commit_options("", true, ""));
  ASSERT_EQ(commit.status().code(), absl::StatusCode::kInvalidArgument) << commit.status();
  EXPECT_NE(std::string(commit.status().message()).find("stays open"), std::string::npos);
  EXPECT_EQ(head(**engine, "t"), 2u);
  absl::StatusOr<WriteFuture> plain_commit = (*engine)->commit_tx(tx->id, {});
  ASSERT_TRUE(plain_commit.ok()) << plain_commit.status();
  ASSERT_TRUE(plain_commit->get().ok());
  EXPECT_EQ(head(**engine, "t"), 3u);
}

}  // namespace
}  // namespace arbor::service
