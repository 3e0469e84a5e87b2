// arbord end to end: a real server process on loopback, driven by a gRPC client and the CLI.
// Every RPC, concurrent writers (coalescing; each reply's proofs verify against its own root),
// transactions, optimistic conflicts, overload, health, metrics, auth, malformed requests of every
// kind, and a restart with the data intact.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "host/smt/smt_proof.hpp"
#include "host/smt/smt_proof_codec.hpp"
#include "host/smt/smt_tree.hpp"
#include "kernels/field/bn254_fr_text.hpp"
#include "rpc/server/wire.hpp"
#include "storage/store.hpp"
#include "tests/support/arbord_process.hpp"
#include "tests/support/test_support.hpp"

namespace arbor {
namespace {

using field::Fr;
using testing::ArbordProcess;
using testing::TempDir;

std::string wire(std::uint64_t small) {
  std::string bytes(32, '\0');
  for (int i = 0; i < 8; ++i) bytes[31 - i] = static_cast<char>((small >> (8 * i)) & 0xff);
  return bytes;
}

Fr fr(std::uint64_t small) { return *field::parse_fr(std::to_string(small)); }

v1::Op put(std::uint64_t key, std::uint64_t value) {
  v1::Op op;
  op.set_kind(v1::OP_KIND_PUT);
  op.set_key(wire(key));
  op.set_value(wire(value));
  return op;
}

v1::Op del(std::uint64_t key) {
  v1::Op op;
  op.set_kind(v1::OP_KIND_DELETE);
  op.set_key(wire(key));
  return op;
}

Fr root_of(const std::string& bytes) { return *rpc::field_from_wire(bytes, "root"); }

// The root of a set of entries, computed by a fresh tree in its own store (no server involved).
Fr offline_root(const std::map<std::uint64_t, std::uint64_t>& entries) {
  TempDir dir("offline-root");
  auto store = *storage::Store::open(dir / "db");
  auto backend = host::make_cpu_backend(1);
  auto tree = *smt::SmtTree::create(*store, "t", {}, *backend);
  std::vector<smt::SmtOp> ops;
  for (const auto& [key, value] : entries) ops.push_back(smt::SmtOp::put(fr(key), fr(value)));
  Fr root = (*tree->apply(ops)).root;
  tree.reset();
  store.reset();
  return root;
}

class ArbordTest : public ::testing::Test {
 protected:
  void SetUp() override { start(); }

  void start(std::vector<std::string> extra = {}) {
    auto started = ArbordProcess::start(dir_ / "data", std::move(extra));
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = std::move(*started);
    client_ = server_->client();
  }

  void create_tree(const std::string& name, std::uint32_t max_depth = 0, std::uint64_t keep = 0) {
    v1::CreateTreeRequest request;
    request.set_name(name);
    request.set_max_depth(max_depth);
    request.set_keep_versions(keep);
    v1::TreeInfo info;
    grpc::ClientContext context;
    client_->prepare(context);
    grpc::Status status = client_->stub().CreateTree(&context, request, &info);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  grpc::Status write(const std::string& tree, const std::vector<v1::Op>& ops,
                     v1::WriteResponse& response, bool proofs = false,
                     std::optional<std::uint64_t> expected = std::nullopt,
                     const std::string& label = "", rpc::ArborClient* client = nullptr) {
    rpc::ArborClient& c = client ? *client : *client_;
    v1::WriteRequest request;
    request.set_tree(tree);
    for (const v1::Op& op : ops) *request.add_ops() = op;
    request.set_with_proofs(proofs);
    if (expected) request.set_expected_version(*expected);
    request.set_label(label);
    grpc::ClientContext context;
    c.prepare(context);
    return c.stub().Write(&context, request, &response);
  }

  v1::TreeInfo info(const std::string& tree) {
    v1::GetTreeRequest request;
    request.set_tree(tree);
    v1::TreeInfo info;
    grpc::ClientContext context;
    client_->prepare(context);
    grpc::Status status = client_->stub().GetTree(&context, request, &info);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return info;
  }

  grpc::Status get(const std::string& tree, std::uint64_t key, v1::GetResponse& response,
                   bool proof = false) {
    v1::GetRequest request;
    request.set_tree(tree);
    request.set_key(wire(key));
    request.set_with_proof(proof);
    grpc::ClientContext context;
    client_->prepare(context);
    return client_->stub().Get(&context, request, &response);
  }

  TempDir dir_{"arbord-e2e"};
  std::unique_ptr<ArbordProcess> server_;
  std::unique_ptr<rpc::ArborClient> client_;
};

TEST_F(ArbordTest, EveryRpcRoundTrips) {
  create_tree("t", 0, 0);
  v1::ListTreesResponse list;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(client_->stub().ListTrees(&context, {}, &list).ok());
  }
  ASSERT_EQ(list.trees_size(), 1);
  EXPECT_EQ(list.trees(0).name(), "t");
  EXPECT_EQ(list.trees(0).scheme(), "smt");
  EXPECT_EQ(list.trees(0).params_json(), R"({"max_depth":64,"page_levels":4})");

  v1::WriteResponse written;
  ASSERT_TRUE(write("t", {put(1, 11), put(2, 22), put(3, 33)}, written, true, 0, "block-1").ok());
  EXPECT_EQ(written.version(), 1u);
  EXPECT_EQ(written.size(), 3u);
  EXPECT_EQ(root_of(written.root()), offline_root({{1, 11}, {2, 22}, {3, 33}}));
  ASSERT_EQ(written.proofs_size(), 3);
  for (const v1::KeyProof& key_proof : written.proofs()) {
    auto proof = smt::decode_proof_binary(key_proof.proof());
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_TRUE(smt::verify_proof(root_of(written.root()), *proof).ok());
    EXPECT_TRUE(key_proof.exists());
  }
  ASSERT_TRUE(write("t", {del(2), put(4, 44)}, written, false, std::nullopt, "block-2").ok());
  EXPECT_EQ(written.version(), 2u);
  EXPECT_EQ(written.size(), 3u);

  v1::TreeInfo head = info("t");
  EXPECT_EQ(head.version(), 2u);
  EXPECT_EQ(head.size(), 3u);
  EXPECT_EQ(head.label(), "block-2");
  EXPECT_EQ(root_of(head.root()), offline_root({{1, 11}, {3, 33}, {4, 44}}));

  // Get: present and absent, with proofs, at the head and at an older version by label.
  v1::GetResponse got;
  ASSERT_TRUE(get("t", 4, got, true).ok());
  EXPECT_TRUE(got.found());
  EXPECT_EQ(got.value(), wire(44));
  auto proof = smt::decode_proof_binary(got.proof());
  ASSERT_TRUE(proof.ok());
  EXPECT_TRUE(smt::verify_proof(root_of(got.root()), *proof).ok());
  ASSERT_TRUE(get("t", 2, got, true).ok());
  EXPECT_FALSE(got.found());
  proof = smt::decode_proof_binary(got.proof());
  ASSERT_TRUE(proof.ok());
  EXPECT_FALSE(proof->existence);
  EXPECT_TRUE(smt::verify_proof(root_of(got.root()), *proof).ok());
  {
    v1::GetRequest request;
    request.set_tree("t");
    request.set_key(wire(2));
    request.mutable_at()->set_label("block-1");
    grpc::ClientContext context;
    ASSERT_TRUE(client_->stub().Get(&context, request, &got).ok());
    EXPECT_TRUE(got.found());
    EXPECT_EQ(got.version(), 1u);
    EXPECT_EQ(got.value(), wire(22));
  }

  // Prove: several keys, one multi-proof.
  v1::ProveRequest prove;
  prove.set_tree("t");
  for (std::uint64_t key : {1, 2, 3, 4, 5}) prove.add_keys(wire(key));
  v1::ProveResponse proved;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(client_->stub().Prove(&context, prove, &proved).ok());
  }
  auto multi = smt::decode_multi_proof_binary(proved.proof());
  ASSERT_TRUE(multi.ok()) << multi.status();
  EXPECT_EQ(multi->entries.size(), 5u);
  EXPECT_TRUE(smt::verify_multi_proof(root_of(proved.root()), *multi).ok());

  // Verify: stateless, right and wrong root, JSON form naming its own root.
  v1::VerifyRequest verify;
  verify.set_proof(proved.proof());
  verify.set_root(proved.root());
  v1::VerifyResponse verdict;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(client_->stub().Verify(&context, verify, &verdict).ok());
    EXPECT_TRUE(verdict.valid()) << verdict.reason();
    EXPECT_EQ(verdict.format(), "smt-binary");
  }
  verify.set_root(wire(12345));
  {
    grpc::ClientContext context;
    ASSERT_TRUE(client_->stub().Verify(&context, verify, &verdict).ok());
    EXPECT_FALSE(verdict.valid());
    EXPECT_FALSE(verdict.reason().empty());
  }
  verify.clear_root();
  verify.set_proof(smt::proof_to_json(*proof, root_of(got.root())).dump());
  {
    grpc::ClientContext context;
    ASSERT_TRUE(client_->stub().Verify(&context, verify, &verdict).ok());
    EXPECT_FALSE(verdict.valid()) << "a proof of version 1 against the root it names";
  }

  // Rollback by label, then prune, checkpoint and stats.
  v1::RollbackRequest rollback;
  rollback.set_tree("t");
  rollback.mutable_to()->set_label("block-1");
  v1::TreeInfo rolled;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(client_->stub().Rollback(&context, rollback, &rolled).ok());
  }
  EXPECT_EQ(rolled.version(), 1u);
  EXPECT_EQ(root_of(rolled.root()), offline_root({{1, 11}, {2, 22}, {3, 33}}));
  ASSERT_TRUE(write("t", {put(9, 99)}, written).ok());
  EXPECT_EQ(written.version(), 2u) << "writes go on from the rolled-back head";

  v1::PruneRequest prune;
  prune.set_tree("t");
  prune.set_oldest_version(2);
  v1::PruneResponse pruned;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(client_->stub().Prune(&context, prune, &pruned).ok());
  }
  EXPECT_EQ(pruned.oldest_version(), 2u);
  EXPECT_GE(pruned.versions_dropped(), 2u);

  v1::CheckpointRequest checkpoint;
  checkpoint.set_name("cp1");
  v1::CheckpointResponse made;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(client_->stub().Checkpoint(&context, checkpoint, &made).ok());
  }
  auto copy = storage::Store::open_read_only(made.path());
  ASSERT_TRUE(copy.ok()) << copy.status();
  auto copied = (*copy)->tree_info("t");
  ASSERT_TRUE(copied.ok());
  EXPECT_EQ(copied->head_version, 2u);
  EXPECT_EQ(copied->head_root, written.root());

  v1::StatsResponse stats;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(client_->stub().Stats(&context, {}, &stats).ok());
  }
  EXPECT_NE(stats.backend().find("cpu"), std::string::npos);
  ASSERT_EQ(stats.trees_size(), 1);
  EXPECT_EQ(stats.trees(0).version(), 2u);
  EXPECT_GE(stats.store_commits(), 3u);
}

TEST_F(ArbordTest, ConcurrentWritersCoalesceAndEveryProofVerifiesAgainstItsRoot) {
  create_tree("c");
  constexpr int kWriters = 16;
  constexpr int kWritesEach = 12;
  std::atomic<int> failures{0};
  std::atomic<std::uint32_t> max_coalesced{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      auto client = server_->client();
      for (int i = 0; i < kWritesEach; ++i) {
        const std::uint64_t key = 1000 + w * 100 + i;
        v1::WriteResponse response;
        grpc::Status status = write("c", {put(key, key * 7), put(key + 50, 1)}, response, true,
                                    std::nullopt, "", client.get());
        if (!status.ok() || response.proofs_size() != 2) {
          ++failures;
          continue;
        }
        std::uint32_t seen = max_coalesced.load();
        while (response.coalesced_writes() > seen &&
               !max_coalesced.compare_exchange_weak(seen, response.coalesced_writes())) {
        }
        for (const v1::KeyProof& key_proof : response.proofs()) {
          auto proof = smt::decode_proof_binary(key_proof.proof());
          if (!proof.ok() || !proof->existence ||
              !smt::verify_proof(root_of(response.root()), *proof).ok()) {
            ++failures;
          }
        }
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(max_coalesced.load(), 1u) << "16 concurrent writers never shared a version";
  std::map<std::uint64_t, std::uint64_t> expected;
  for (int w = 0; w < kWriters; ++w) {
    for (int i = 0; i < kWritesEach; ++i) {
      const std::uint64_t key = 1000 + w * 100 + i;
      expected[key] = key * 7;
      expected[key + 50] = 1;
    }
  }
  v1::TreeInfo head = info("c");
  EXPECT_EQ(head.size(), expected.size());
  EXPECT_LT(head.version(), static_cast<std::uint64_t>(kWriters * kWritesEach));
  EXPECT_EQ(root_of(head.root()), offline_root(expected));
}

TEST_F(ArbordTest, TransactionsAreInvisibleUntilCommitAndDiscardedOnAbortTimeoutOrDisconnect) {
  create_tree("x");
  v1::BeginTxRequest begin;
  begin.set_tree("x");
  v1::BeginTxResponse tx;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(client_->stub().BeginTx(&context, begin, &tx).ok());
  }
  for (std::uint64_t part = 0; part < 3; ++part) {
    v1::AddToTxRequest add;
    add.set_tx_id(tx.tx_id());
    *add.add_ops() = put(10 + part, 100 + part);
    v1::AddToTxResponse added;
    grpc::ClientContext context;
    ASSERT_TRUE(client_->stub().AddToTx(&context, add, &added).ok());
    EXPECT_EQ(added.pending_ops(), part + 1);
  }
  v1::GetResponse got;
  ASSERT_TRUE(get("x", 10, got).ok());
  EXPECT_FALSE(got.found()) << "visible before commit";
  EXPECT_EQ(info("x").version(), 0u);
  v1::CommitTxRequest commit;
  commit.set_tx_id(tx.tx_id());
  commit.set_label("blk");
  v1::WriteResponse committed;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(client_->stub().CommitTx(&context, commit, &committed).ok());
  }
  EXPECT_EQ(committed.version(), 1u);
  EXPECT_EQ(committed.size(), 3u);
  {
    grpc::ClientContext context;
    grpc::Status again = client_->stub().CommitTx(&context, commit, &committed);
    EXPECT_EQ(again.error_code(), grpc::StatusCode::NOT_FOUND);
  }

  // Abort.
  {
    grpc::ClientContext context;
    ASSERT_TRUE(client_->stub().BeginTx(&context, begin, &tx).ok());
  }
  {
    v1::AddToTxRequest add;
    add.set_tx_id(tx.tx_id());
    *add.add_ops() = put(77, 7);
    v1::AddToTxResponse added;
    grpc::ClientContext context;
    ASSERT_TRUE(client_->stub().AddToTx(&context, add, &added).ok());
    v1::AbortTxRequest abort;
    abort.set_tx_id(tx.tx_id());
    v1::AbortTxResponse aborted;
    grpc::ClientContext abort_context;
    ASSERT_TRUE(client_->stub().AbortTx(&abort_context, abort, &aborted).ok());
    EXPECT_EQ(aborted.discarded_ops(), 1u);
  }

  // Timeout.
  begin.set_timeout_ms(150);
  {
    grpc::ClientContext context;
    ASSERT_TRUE(client_->stub().BeginTx(&context, begin, &tx).ok());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  {
    v1::AddToTxRequest add;
    add.set_tx_id(tx.tx_id());
    *add.add_ops() = put(78, 7);
    v1::AddToTxResponse added;
    grpc::ClientContext context;
    grpc::Status expired = client_->stub().AddToTx(&context, add, &added);
    EXPECT_EQ(expired.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_NE(expired.error_message().find("timeout"), std::string::npos);
  }

  // The streaming form: committed, ended without commit, and cancelled mid-way.
  {
    grpc::ClientContext context;
    v1::WriteResponse response;
    auto stream = client_->stub().Transaction(&context, &response);
    v1::TransactionRequest first;
    first.set_tree("x");
    *first.add_ops() = put(200, 2);
    ASSERT_TRUE(stream->Write(first));
    v1::TransactionRequest last;
    *last.add_ops() = put(201, 2);
    last.set_commit(true);
    ASSERT_TRUE(stream->Write(last));
    stream->WritesDone();
    ASSERT_TRUE(stream->Finish().ok());
    EXPECT_EQ(response.version(), 2u);
    EXPECT_EQ(response.size(), 5u);
  }
  {
    grpc::ClientContext context;
    v1::WriteResponse response;
    auto stream = client_->stub().Transaction(&context, &response);
    v1::TransactionRequest only;
    only.set_tree("x");
    *only.add_ops() = put(300, 3);
    ASSERT_TRUE(stream->Write(only));
    stream->WritesDone();
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::ABORTED);
  }
  {
    grpc::ClientContext context;
    v1::WriteResponse response;
    auto stream = client_->stub().Transaction(&context, &response);
    v1::TransactionRequest only;
    only.set_tree("x");
    *only.add_ops() = put(301, 3);
    ASSERT_TRUE(stream->Write(only));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    context.TryCancel();
    (void)stream->Finish();
  }
  // Abandoned streams leave no open transaction behind.
  bool none_open = false;
  for (int attempt = 0; attempt < 100 && !none_open; ++attempt) {
    v1::StatsResponse stats;
    grpc::ClientContext context;
    ASSERT_TRUE(client_->stub().Stats(&context, {}, &stats).ok());
    none_open = stats.trees(0).open_transactions() == 0;
    if (!none_open) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(none_open);
  for (std::uint64_t key : {77, 78, 300, 301}) {
    ASSERT_TRUE(get("x", key, got).ok());
    EXPECT_FALSE(got.found()) << key;
  }
  EXPECT_EQ(info("x").version(), 2u);
}

// Accepted writes are answered in the order sent; a refusal is answered at once, so it may come
// ahead of earlier writes that are still queued (issue 16, finding 5).
TEST_F(ArbordTest, StreamWriteAnswersEveryRequestAndRefusalsDoNotWaitBehindTheQueue) {
  create_tree("s");
  grpc::ClientContext context;
  auto stream = client_->stub().StreamWrite(&context);
  constexpr int kRequests = 200;
  for (int i = 0; i < kRequests; ++i) {
    v1::StreamWriteRequest request;
    request.set_request_id(i);
    request.mutable_write()->set_tree("s");
    *request.mutable_write()->add_ops() = put(5000 + i, i);
    if (i == 50) request.mutable_write()->mutable_ops(0)->set_key(std::string(31, '\1'));
    ASSERT_TRUE(stream->Write(request));
  }
  stream->WritesDone();
  v1::StreamWriteResponse response;
  std::set<std::uint64_t> answered, versions;
  std::int64_t last_accepted = -1;
  while (stream->Read(&response)) {
    EXPECT_TRUE(answered.insert(response.request_id()).second) << response.request_id();
    if (response.request_id() == 50) {
      EXPECT_EQ(response.code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
      EXPECT_NE(response.message().find("write.ops[0].key"), std::string::npos)
          << response.message();
    } else {
      EXPECT_EQ(response.code(), 0) << response.message();
      EXPECT_GT(static_cast<std::int64_t>(response.request_id()), last_accepted);
      last_accepted = static_cast<std::int64_t>(response.request_id());
      versions.insert(response.result().version());
    }
  }
  ASSERT_TRUE(stream->Finish().ok());
  EXPECT_EQ(answered.size(), static_cast<size_t>(kRequests));
  EXPECT_EQ(info("s").size(), static_cast<std::uint64_t>(kRequests - 1));
  EXPECT_LT(versions.size(), static_cast<size_t>(kRequests - 1)) << "stream writes never coalesced";

  // A refusal overtakes the queue: with the worker held up by a big write, a bad request sent
  // after it is answered first.
  grpc::ClientContext second_context;
  auto second = client_->stub().StreamWrite(&second_context);
  v1::StreamWriteRequest big;
  big.set_request_id(1);
  big.mutable_write()->set_tree("s");
  for (int i = 0; i < 50'000; ++i) *big.mutable_write()->add_ops() = put(100'000 + i, i);
  ASSERT_TRUE(second->Write(big));
  v1::StreamWriteRequest bad;
  bad.set_request_id(2);
  bad.mutable_write()->set_tree("no-such-tree");
  ASSERT_TRUE(second->Write(bad));
  second->WritesDone();
  std::vector<std::uint64_t> order;
  while (second->Read(&response)) order.push_back(response.request_id());
  ASSERT_TRUE(second->Finish().ok());
  EXPECT_EQ(order, (std::vector<std::uint64_t>{2, 1}));
}

TEST_F(ArbordTest, ExpectedVersionConflictAppliesNothing) {
  create_tree("o");
  v1::WriteResponse written;
  ASSERT_TRUE(write("o", {put(1, 1)}, written, false, 0).ok());
  ASSERT_TRUE(write("o", {put(2, 2)}, written, false, 1).ok());
  grpc::Status stale = write("o", {put(3, 3)}, written, false, 1);
  EXPECT_EQ(stale.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_NE(stale.error_message().find("expected"), std::string::npos) << stale.error_message();
  v1::GetResponse got;
  ASSERT_TRUE(get("o", 3, got).ok());
  EXPECT_FALSE(got.found());
  EXPECT_EQ(info("o").version(), 2u);

  // Racing writers that all expect the same version: exactly one wins.
  std::atomic<int> won{0}, aborted{0};
  std::vector<std::thread> racers;
  for (int i = 0; i < 8; ++i) {
    racers.emplace_back([&, i] {
      auto client = server_->client();
      v1::WriteResponse response;
      grpc::Status status = write("o", {put(100 + i, 1)}, response, false, 2, "", client.get());
      if (status.ok()) ++won;
      if (status.error_code() == grpc::StatusCode::ABORTED) ++aborted;
    });
  }
  for (std::thread& racer : racers) racer.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(aborted.load(), 7);
  EXPECT_EQ(info("o").version(), 3u);
  EXPECT_EQ(info("o").size(), 3u);
}

TEST_F(ArbordTest, AFailingWriteInACoalescedGroupRefusesOnlyItself) {
  create_tree("d", 2);  // max depth 2: keys 0, 4, 8 (same low 2 bits) cannot all fit
  std::atomic<int> ok{0}, out_of_range{0};
  std::vector<std::thread> writers;
  for (int i = 0; i < 12; ++i) {
    writers.emplace_back([&, i] {
      auto client = server_->client();
      v1::WriteResponse response;
      // Writer 0 sends three keys that collide below depth 2; the others send harmless keys.
      std::vector<v1::Op> ops =
          i == 0 ? std::vector<v1::Op>{put(0, 1), put(4, 1), put(8, 1)}
                 : std::vector<v1::Op>{put(static_cast<std::uint64_t>(i % 3) + 1, i)};
      grpc::Status status = write("d", ops, response, false, std::nullopt, "", client.get());
      if (status.ok()) ++ok;
      if (status.error_code() == grpc::StatusCode::OUT_OF_RANGE) ++out_of_range;
    });
  }
  for (std::thread& writer : writers) writer.join();
  EXPECT_EQ(out_of_range.load(), 1);
  EXPECT_EQ(ok.load(), 11);
  v1::GetResponse got;
  ASSERT_TRUE(get("d", 4, got).ok());
  EXPECT_FALSE(got.found());
}

TEST_F(ArbordTest, OverloadAnswersResourceExhaustedAndKeepsEveryAcceptedWrite) {
  server_->terminate();
  {
    std::ofstream config(dir_ / "small-queue.toml");
    config << "[batcher]\nmax_queue_writes = 2\nmax_batch_ops = 1\n";
  }
  start({"--config", (dir_ / "small-queue.toml").string()});
  create_tree("q");
  std::mutex mutex;
  std::vector<std::uint64_t> accepted, refused;
  std::vector<std::thread> writers;
  for (int w = 0; w < 12; ++w) {
    writers.emplace_back([&, w] {
      auto client = server_->client();
      for (int i = 0; i < 15; ++i) {
        const std::uint64_t key = 10'000 + w * 100 + i;
        v1::WriteResponse response;
        grpc::Status status =
            write("q", {put(key, 1)}, response, false, std::nullopt, "", client.get());
        std::lock_guard lock(mutex);
        if (status.ok()) {
          accepted.push_back(key);
        } else {
          EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
              << status.error_message();
          EXPECT_NE(status.error_message().find("overloaded"), std::string::npos);
          refused.push_back(key);
        }
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  EXPECT_GT(refused.size(), 0u) << "a 2-write queue under 12 writers never overflowed";
  EXPECT_GT(accepted.size(), 0u);
  v1::GetResponse got;
  for (std::uint64_t key : accepted) {
    ASSERT_TRUE(get("q", key, got).ok());
    EXPECT_TRUE(got.found()) << "acknowledged write lost: " << key;
  }
  for (std::uint64_t key : refused) {
    ASSERT_TRUE(get("q", key, got).ok());
    EXPECT_FALSE(got.found()) << "refused write applied: " << key;
  }
  EXPECT_EQ(info("q").size(), accepted.size());
  auto metrics = testing::http_get(server_->metrics_port(), "/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(metrics->body.find("arbor_overload_refusals_total{scheme=\"smt\",tree=\"q\"} " +
                               std::to_string(refused.size()) + "\n"),
            std::string::npos)
      << metrics->body;
}

// SIGTERM under load: health says NOT_SERVING while RPCs are still served for the drain, the
// process ends within the grace (plus the one version being applied), writes still queued when the
// grace runs out are answered UNAVAILABLE and not applied, and every acknowledged write survives.
TEST_F(ArbordTest, ShutdownUnderLoadDrainsThenEndsWithinTheGraceLosingNoAcknowledgedWrite) {
  server_->terminate();
  {
    std::ofstream config(dir_ / "shutdown.toml");
    config << "shutdown_grace_ms = 3000\nshutdown_drain_ms = 1000\n"
           << "[batcher]\nmax_batch_ops = 4000\nmax_queue_writes = 10000\n";
  }
  start({"--config", (dir_ / "shutdown.toml").string()});
  create_tree("s");
  // 32 writes of 4000 keys queued are several seconds of applying here (paged nodes apply a
  // 4000-key version in well under one), more than the 2 s the grace leaves after the drain.
  constexpr int kWriters = 32;
  constexpr std::uint64_t kKeysPerWrite = 4000;
  std::mutex mutex;
  std::vector<std::uint64_t> acknowledged, refused;  // first key of each write
  std::atomic<bool> stop{false};
  std::atomic<int> answered{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      auto client = server_->client();
      for (std::uint64_t n = 0; !stop; ++n) {
        const std::uint64_t first = (static_cast<std::uint64_t>(w) << 40) + n * kKeysPerWrite + 1;
        std::vector<v1::Op> ops;
        for (std::uint64_t k = 0; k < kKeysPerWrite; ++k) ops.push_back(put(first + k, 7));
        v1::WriteResponse response;
        const grpc::Status status =
            write("s", ops, response, false, std::nullopt, "", client.get());
        ++answered;
        std::lock_guard lock(mutex);
        if (status.ok()) {
          acknowledged.push_back(first);
        } else if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
                   status.error_message().find("not applied") != std::string::npos) {
          // The server's own refusal. A transport's UNAVAILABLE (connection closed at exit) is
          // an unknown outcome, like any RPC cut off in flight.
          refused.push_back(first);
        }
        if (!status.ok()) return;  // the server is going away
      }
    });
  }
  // Every writer has a write queued (more work than the grace allows) once versions flow.
  while (answered < 2) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const auto signalled = std::chrono::steady_clock::now();
  ASSERT_EQ(::kill(server_->pid(), SIGTERM), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(*testing::health_check(*client_), "NOT_SERVING");
  v1::TreeInfo during_drain = info("s");  // still answered
  EXPECT_GT(during_drain.version(), 0u);
  const int code = server_->terminate(std::chrono::seconds(60));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - signalled).count();
  stop = true;
  for (std::thread& writer : writers) writer.join();
  EXPECT_EQ(code, 0) << server_->log();
  // The grace, plus the version being applied when it ran out (4000 keys).
  EXPECT_LT(seconds, 3.0 + 5.0) << server_->log();
  std::printf("SIGTERM to exit: %.2f s (grace 3 s); %zu writes acknowledged, %zu refused\n",
              seconds, acknowledged.size(), refused.size());
  EXPECT_GT(refused.size(), 0u) << "no write was refused: the test did not overload the server";
  std::smatch late;
  const std::string log = server_->log();
  ASSERT_TRUE(std::regex_search(log, late, std::regex("(\\d+) queued writes answered UNAVAILABLE")))
      << log;
  EXPECT_GT(std::stoi(late[1]), 0) << log;

  start({"--config", (dir_ / "shutdown.toml").string()});
  v1::GetResponse got;
  for (std::uint64_t first : acknowledged) {
    ASSERT_TRUE(get("s", first + kKeysPerWrite - 1, got).ok());
    EXPECT_TRUE(got.found()) << "acknowledged write lost: " << first;
  }
  for (std::uint64_t first : refused) {
    ASSERT_TRUE(get("s", first, got).ok());
    EXPECT_FALSE(got.found()) << "a write answered UNAVAILABLE was applied: " << first;
  }
}

TEST_F(ArbordTest, HealthMetricsAndHealthz) {
  EXPECT_EQ(*testing::health_check(*client_), "SERVING");
  EXPECT_EQ(*testing::health_check(*client_, "arbor.v1.Arbor"), "SERVING");
  EXPECT_EQ(testing::health_check(*client_, "no.such.Service").status().code(),
            absl::StatusCode::kNotFound);
  auto healthz = testing::http_get(server_->metrics_port(), "/healthz");
  ASSERT_TRUE(healthz.ok());
  EXPECT_EQ(healthz->status, 200);

  create_tree("m");
  v1::WriteResponse written;
  ASSERT_TRUE(write("m", {put(1, 1), put(2, 2)}, written, true).ok());
  v1::GetResponse got;
  ASSERT_TRUE(get("m", 1, got, true).ok());
  ASSERT_FALSE(get("", 1, got).ok());
  auto metrics = testing::http_get(server_->metrics_port(), "/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_EQ(metrics->status, 200);
  const std::string& text = metrics->body;
  for (const char* expected : {
           "arbor_ready 1",
           "arbor_rpc_requests_total{code=\"OK\",method=\"Write\"} 1",
           "arbor_rpc_errors_total{code=\"INVALID_ARGUMENT\",method=\"Get\"} 1",
           "arbor_reads_total{method=\"Get\"} 1",
           "arbor_proofs_total{method=\"Write\"} 2",
           "arbor_proofs_total{method=\"Get\"} 1",
           "arbor_writes_total{outcome=\"applied\",scheme=\"smt\",tree=\"m\"} 1",
           "arbor_write_ops_total{scheme=\"smt\",tree=\"m\"} 2",
           "arbor_batch_ops_count{scheme=\"smt\",tree=\"m\"} 1",
           "arbor_commit_seconds_bucket{scheme=\"smt\",le=\"+Inf\"} 1",
           "arbor_hash_seconds_count{scheme=\"smt\"} 1",
           "arbor_queue_writes{scheme=\"smt\",tree=\"m\"} 0",
           "arbor_tree_size{scheme=\"smt\",tree=\"m\"} 2",
           "arbor_backend_info{description=\"cpu",
           ",kind=\"cpu\"} 1",
           "arbor_backend_cpu_fallback ",
           "arbor_rocksdb_size_bytes ",
           "arbor_process_resident_memory_bytes ",
           "arbor_rocksdb_estimated_keys{family=\"nodes\"}",
           "arbor_rocksdb_block_cache_capacity_bytes",
           "arbor_store_commits_total 1",
           "# TYPE arbor_rpc_duration_seconds histogram",
       }) {
    EXPECT_NE(text.find(expected), std::string::npos) << "missing: " << expected;
  }
}

// gRPC and cpp-httplib both set SO_REUSEPORT by default: a second arbord on another data directory
// would bind the same ports and the kernel would split clients between two stores. It must refuse
// to start instead, naming the port, and the first server must keep every client.
TEST_F(ArbordTest, ASecondServerOnATakenPortRefusesToStart) {
  create_tree("t");
  const std::string arbord = ARBOR_BIN_DIR "/arbord --data " + (dir_ / "second").string();
  const std::string metrics_address = "127.0.0.1:" + std::to_string(server_->metrics_port());
  for (const std::string& ports : {" --listen " + server_->address() + " --no-metrics",
                                   " --listen 127.0.0.1:0 --metrics-listen " + metrics_address}) {
    testing::CommandResult second = testing::run_command("timeout 20 " + arbord + ports);
    EXPECT_EQ(second.exit_code, 2) << ports << "\n" << second.out << second.err;
    EXPECT_NE(second.err.find("the port is in use"), std::string::npos) << ports << second.err;
    EXPECT_EQ(second.out.find("listening"), std::string::npos) << second.out;
  }
  // Every connection still reaches the first server's store.
  for (int i = 0; i < 20; ++i) {
    std::unique_ptr<rpc::ArborClient> fresh = server_->client();
    v1::GetTreeRequest request;
    request.set_tree("t");
    v1::TreeInfo got;
    grpc::ClientContext context;
    fresh->prepare(context);
    ASSERT_TRUE(fresh->stub().GetTree(&context, request, &got).ok());
  }
  EXPECT_FALSE(std::filesystem::exists(dir_ / "second" / "CURRENT"));
}

TEST_F(ArbordTest, RestartKeepsEveryVersionAndValue) {
  create_tree("r", 0, 0);
  v1::WriteResponse written;
  for (std::uint64_t block = 1; block <= 5; ++block) {
    ASSERT_TRUE(
        write("r", {put(block, block * 10)}, written, false, std::nullopt, absl::StrCat("b", block))
            .ok());
  }
  const std::string root = written.root();
  EXPECT_EQ(server_->terminate(), 0) << server_->log();
  EXPECT_NE(server_->log().find("the store is closed"), std::string::npos);
  start();
  v1::TreeInfo head = info("r");
  EXPECT_EQ(head.version(), 5u);
  EXPECT_EQ(head.root(), root);
  EXPECT_EQ(head.size(), 5u);
  v1::GetResponse got;
  ASSERT_TRUE(get("r", 3, got).ok());
  EXPECT_EQ(got.value(), wire(30));
  v1::GetTreeRequest request;
  request.set_tree("r");
  request.mutable_at()->set_label("b2");
  v1::TreeInfo at_b2;
  grpc::ClientContext context;
  ASSERT_TRUE(client_->stub().GetTree(&context, request, &at_b2).ok());
  EXPECT_EQ(at_b2.version(), 2u);
  EXPECT_EQ(at_b2.size(), 2u);
}

// Issue 16, finding 2: the 150 000-key write with proofs used to be committed and then refused
// ("Sent message larger than max"). It is now refused before anything is applied, and a keyed
// write whose answer was lost to a SIGKILL is answered, after the restart, with its version.
TEST_F(ArbordTest, AWriteIsRefusedBeforeItsAnswerCouldBeTooLargeAndAKeyedRetryAppliesOnce) {
  create_tree("big");
  std::vector<v1::Op> ops;
  for (std::uint64_t key = 1; key <= 150'000; ++key) ops.push_back(put(key, key));
  v1::WriteResponse response;
  grpc::Status refused = write("big", ops, response, true);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << refused.error_message();
  EXPECT_NE(refused.error_message().find("nothing was applied"), std::string::npos)
      << refused.error_message();
  EXPECT_EQ(info("big").version(), 0u);
  ASSERT_TRUE(write("big", ops, response).ok());  // the same write without proofs
  EXPECT_EQ(info("big").version(), 1u);

  auto keyed_write = [&](std::uint64_t value, v1::WriteResponse& answer) {
    v1::WriteRequest request;
    request.set_tree("big");
    *request.add_ops() = put(7, value);
    request.set_label("block 9");
    request.set_idempotency_key("indexer-block-9");
    grpc::ClientContext context;
    client_->prepare(context);
    return client_->stub().Write(&context, request, &answer);
  };
  v1::WriteResponse first;
  ASSERT_TRUE(keyed_write(70, first).ok());
  EXPECT_FALSE(first.replayed());
  EXPECT_EQ(first.version(), 2u);
  // The answer is "lost": the server dies right after, and comes back.
  server_->kill_now();
  start();
  v1::WriteResponse retry;
  grpc::Status retried = keyed_write(70, retry);
  ASSERT_TRUE(retried.ok()) << retried.error_message();
  EXPECT_TRUE(retry.replayed());
  EXPECT_EQ(retry.version(), 2u);
  EXPECT_EQ(retry.root(), first.root());
  EXPECT_EQ(retry.label(), "block 9");
  EXPECT_EQ(info("big").version(), 2u);
  v1::WriteResponse other;
  EXPECT_EQ(keyed_write(71, other).error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(info("big").version(), 2u);
}

TEST_F(ArbordTest, TokensGateWritesAndReads) {
  server_->terminate();
  {
    std::ofstream config(dir_ / "auth.toml");
    config << "[auth]\nwrite_tokens = [\"w-secret\"]\nread_tokens = [\"r-secret\"]\n";
  }
  start({"--config", (dir_ / "auth.toml").string()});
  auto anonymous = server_->client();
  auto reader = server_->client("r-secret");
  auto writer = server_->client("w-secret");
  auto wrong = server_->client("nope");
  v1::CreateTreeRequest create;
  create.set_name("a");
  v1::TreeInfo info;
  {
    grpc::ClientContext context;
    anonymous->prepare(context);
    EXPECT_EQ(anonymous->stub().CreateTree(&context, create, &info).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    grpc::ClientContext context;
    reader->prepare(context);
    EXPECT_EQ(reader->stub().CreateTree(&context, create, &info).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    grpc::ClientContext context;
    wrong->prepare(context);
    EXPECT_EQ(wrong->stub().CreateTree(&context, create, &info).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    grpc::ClientContext context;
    writer->prepare(context);
    EXPECT_TRUE(writer->stub().CreateTree(&context, create, &info).ok());
  }
  v1::WriteResponse written;
  EXPECT_EQ(write("a", {put(1, 1)}, written, false, std::nullopt, "", reader.get()).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(write("a", {put(1, 1)}, written, false, std::nullopt, "", writer.get()).ok());
  v1::GetRequest get_request;
  get_request.set_tree("a");
  get_request.set_key(wire(1));
  v1::GetResponse got;
  {
    grpc::ClientContext context;
    reader->prepare(context);
    EXPECT_TRUE(reader->stub().Get(&context, get_request, &got).ok());
    EXPECT_TRUE(got.found());
  }
  {
    grpc::ClientContext context;
    anonymous->prepare(context);
    EXPECT_EQ(anonymous->stub().Get(&context, get_request, &got).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  // The health service stays open to probes.
  EXPECT_EQ(*testing::health_check(*anonymous), "SERVING");
}

// Every malformed request gets the right code and a message naming the field; nothing stored
// changes and the server keeps serving.
TEST_F(ArbordTest, MalformedRequestsAreRefusedClearlyAndChangeNothing) {
  create_tree("t");
  v1::WriteResponse written;
  ASSERT_TRUE(write("t", {put(1, 1)}, written).ok());
  const std::string root = written.root();
  // p itself, big-endian.
  std::string modulus;
  for (int i = 0; i < 32; ++i) {
    static const char* const kHex =
        "30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001";
    modulus.push_back(static_cast<char>(std::stoi(std::string(kHex + 2 * i, 2), nullptr, 16)));
  }

  struct Case {
    std::string what;
    std::function<grpc::Status()> call;
    grpc::StatusCode code;
    std::string message_has;
  };
  auto write_ops = [&](std::vector<v1::Op> ops) {
    return [this, ops] {
      v1::WriteResponse response;
      return write("t", ops, response);
    };
  };
  v1::Op short_key = put(2, 2);
  short_key.set_key(std::string(31, '\0'));
  v1::Op long_value = put(2, 2);
  long_value.set_value(std::string(33, '\0'));
  v1::Op key_p = put(2, 2);
  key_p.set_key(modulus);
  v1::Op value_max = put(2, 2);
  value_max.set_value(std::string(32, '\xff'));
  v1::Op no_kind = put(2, 2);
  no_kind.set_kind(v1::OP_KIND_UNSPECIFIED);
  v1::Op odd_kind = put(2, 2);
  odd_kind.set_kind(static_cast<v1::OpKind>(7));
  v1::Op delete_with_value = del(1);
  delete_with_value.set_value(wire(1));
  std::vector<Case> cases = {
      {"short key", write_ops({put(3, 3), short_key}), grpc::StatusCode::INVALID_ARGUMENT,
       "ops[1].key: 31 bytes"},
      {"long value", write_ops({long_value}), grpc::StatusCode::INVALID_ARGUMENT,
       "ops[0].value: 33 bytes"},
      {"key = p", write_ops({key_p}), grpc::StatusCode::INVALID_ARGUMENT, "ops[0].key"},
      {"value 2^256-1", write_ops({value_max}), grpc::StatusCode::INVALID_ARGUMENT, "ops[0].value"},
      {"no kind", write_ops({no_kind}), grpc::StatusCode::INVALID_ARGUMENT, "ops[0].kind"},
      {"unknown kind", write_ops({odd_kind}), grpc::StatusCode::INVALID_ARGUMENT, "ops[0].kind"},
      {"delete with value", write_ops({delete_with_value}), grpc::StatusCode::INVALID_ARGUMENT,
       "ops[0].value"},
      {"no tree",
       [&] {
         v1::WriteResponse response;
         return write("", {put(5, 5)}, response);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "tree"},
      {"unknown tree",
       [&] {
         v1::WriteResponse response;
         return write("nope", {put(5, 5)}, response);
       },
       grpc::StatusCode::NOT_FOUND, "nope"},
      {"label too long",
       [&] {
         v1::WriteResponse response;
         return write("t", {put(5, 5)}, response, false, std::nullopt, std::string(2000, 'x'));
       },
       grpc::StatusCode::INVALID_ARGUMENT, "label"},
      {"version not retained",
       [&] {
         v1::GetRequest request;
         request.set_tree("t");
         request.set_key(wire(1));
         request.mutable_at()->set_version(99);
         v1::GetResponse response;
         grpc::ClientContext context;
         return client_->stub().Get(&context, request, &response);
       },
       grpc::StatusCode::OUT_OF_RANGE, "99"},
      {"unknown label",
       [&] {
         v1::GetRequest request;
         request.set_tree("t");
         request.set_key(wire(1));
         request.mutable_at()->set_label("nowhere");
         v1::GetResponse response;
         grpc::ClientContext context;
         return client_->stub().Get(&context, request, &response);
       },
       grpc::StatusCode::NOT_FOUND, "nowhere"},
      {"get key empty",
       [&] {
         v1::GetRequest request;
         request.set_tree("t");
         v1::GetResponse response;
         grpc::ClientContext context;
         return client_->stub().Get(&context, request, &response);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "key: 0 bytes"},
      {"prove no keys",
       [&] {
         v1::ProveRequest request;
         request.set_tree("t");
         v1::ProveResponse response;
         grpc::ClientContext context;
         return client_->stub().Prove(&context, request, &response);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "keys"},
      {"prove bad key",
       [&] {
         v1::ProveRequest request;
         request.set_tree("t");
         request.add_keys(wire(1));
         request.add_keys(modulus);
         v1::ProveResponse response;
         grpc::ClientContext context;
         return client_->stub().Prove(&context, request, &response);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "keys[1]"},
      {"verify garbage",
       [&] {
         v1::VerifyRequest request;
         request.set_proof("\x41\x53\x01garbage");
         request.set_root(root);
         v1::VerifyResponse response;
         grpc::ClientContext context;
         return client_->stub().Verify(&context, request, &response);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "proof"},
      {"verify bad root",
       [&] {
         v1::VerifyRequest request;
         request.set_proof("AS\x01garbage");  // an smt binary proof: its root is read first
         request.set_root(modulus);
         v1::VerifyResponse response;
         grpc::ClientContext context;
         return client_->stub().Verify(&context, request, &response);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "root"},
      {"rollback without target",
       [&] {
         v1::RollbackRequest request;
         request.set_tree("t");
         v1::TreeInfo response;
         grpc::ClientContext context;
         return client_->stub().Rollback(&context, request, &response);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "to"},
      {"rollback to the future",
       [&] {
         v1::RollbackRequest request;
         request.set_tree("t");
         request.mutable_to()->set_version(50);
         v1::TreeInfo response;
         grpc::ClientContext context;
         return client_->stub().Rollback(&context, request, &response);
       },
       grpc::StatusCode::OUT_OF_RANGE, "50"},
      {"checkpoint escaping",
       [&] {
         v1::CheckpointRequest request;
         request.set_name("../outside");
         v1::CheckpointResponse response;
         grpc::ClientContext context;
         return client_->stub().Checkpoint(&context, request, &response);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "name"},
      {"max depth too deep",
       [&] {
         v1::CreateTreeRequest request;
         request.set_name("deep");
         request.set_max_depth(300);
         v1::TreeInfo response;
         grpc::ClientContext context;
         return client_->stub().CreateTree(&context, request, &response);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "max_depth"},
      {"unknown scheme",
       [&] {
         v1::CreateTreeRequest request;
         request.set_name("s");
         request.set_scheme("patricia");
         v1::TreeInfo response;
         grpc::ClientContext context;
         return client_->stub().CreateTree(&context, request, &response);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "scheme"},
      {"verkle has no max depth",
       [&] {
         v1::CreateTreeRequest request;
         request.set_name("v");
         request.set_scheme("verkle");
         request.set_max_depth(8);
         v1::TreeInfo response;
         grpc::ClientContext context;
         return client_->stub().CreateTree(&context, request, &response);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "max_depth"},
      {"duplicate tree",
       [&] {
         v1::CreateTreeRequest request;
         request.set_name("t");
         v1::TreeInfo response;
         grpc::ClientContext context;
         return client_->stub().CreateTree(&context, request, &response);
       },
       grpc::StatusCode::ALREADY_EXISTS, ""},
      {"bad tree name",
       [&] {
         v1::CreateTreeRequest request;
         request.set_name("a/b");
         v1::TreeInfo response;
         grpc::ClientContext context;
         return client_->stub().CreateTree(&context, request, &response);
       },
       grpc::StatusCode::INVALID_ARGUMENT, ""},
      {"unknown transaction",
       [&] {
         v1::AddToTxRequest request;
         request.set_tx_id("deadbeef");
         *request.add_ops() = put(5, 5);
         v1::AddToTxResponse response;
         grpc::ClientContext context;
         return client_->stub().AddToTx(&context, request, &response);
       },
       grpc::StatusCode::NOT_FOUND, "deadbeef"},
      {"tx timeout above limit",
       [&] {
         v1::BeginTxRequest request;
         request.set_tree("t");
         request.set_timeout_ms(4'000'000'000u);
         v1::BeginTxResponse response;
         grpc::ClientContext context;
         return client_->stub().BeginTx(&context, request, &response);
       },
       grpc::StatusCode::INVALID_ARGUMENT, "timeout_ms"},
  };
  for (const Case& c : cases) {
    grpc::Status status = c.call();
    EXPECT_EQ(status.error_code(), c.code) << c.what << ": " << status.error_message();
    EXPECT_NE(status.error_message().find(c.message_has), std::string::npos)
        << c.what << ": " << status.error_message();
  }
  // Raw bytes that are not a protobuf message at all, and a tree name (field 1) that is not
  // UTF-8: INVALID_ARGUMENT with a message, however often they come, and the log stays short.
  const std::string not_protobuf("\xff\xff\xff\xff\x0f garbage", 14);
  const std::string bad_utf8_name("\x0a\x02\xff\xfe", 4);
  for (int i = 0; i < 100; ++i) {
    for (const auto& [method, body] : {std::pair{"/arbor.v1.Arbor/Write", not_protobuf},
                                       std::pair{"/arbor.v1.Arbor/GetTree", bad_utf8_name},
                                       std::pair{"/arbor.v1.Arbor/Write", bad_utf8_name}}) {
      absl::StatusOr<std::string> answer = testing::raw_unary_call(*client_, method, body);
      ASSERT_EQ(answer.status().code(), absl::StatusCode::kInvalidArgument)
          << method << ": " << answer.status();
      EXPECT_NE(answer.status().message().find("not a valid message"), std::string::npos)
          << answer.status();
    }
  }
  const std::string log = server_->log();
  size_t protobuf_lines = 0;
  for (size_t at = log.find("protobuf "); at != std::string::npos;
       at = log.find("protobuf ", at + 1)) {
    ++protobuf_lines;
  }
  EXPECT_LE(protobuf_lines, 40u) << "protobuf's per-request log lines are not rate-limited";
  v1::TreeInfo head = info("t");
  EXPECT_EQ(head.version(), 1u);
  EXPECT_EQ(head.root(), root);
  EXPECT_EQ(head.size(), 1u);
  EXPECT_EQ(*testing::health_check(*client_), "SERVING");
}

TEST_F(ArbordTest, CliThroughTheServerPrintsWhatItPrintsOffline) {
  const std::string cli = ARBOR_BIN_DIR "/arbor";
  const std::string server = " --server " + server_->address() + " --tree t ";
  const std::string offline = " --data " + (dir_ / "offline").string() + " --tree t ";
  const std::string ops = "put 1 11\nput 0x2 22\ndel 1\nput 3 33\n";
  for (const std::string& where : {server, offline}) {
    ASSERT_EQ(testing::run_command(cli + " smt create" + where).exit_code, 0);
  }
  auto same = [&](const std::string& command, const std::string& input = "") {
    testing::CommandResult remote = testing::run_command(cli + " smt " + command + server, input);
    testing::CommandResult local = testing::run_command(cli + " smt " + command + offline, input);
    EXPECT_EQ(remote.exit_code, local.exit_code) << command << "\n" << remote.err << local.err;
    // Two stores commit at different moments; everything else must match byte for byte.
    const std::regex time("\"committed_unix_ms\":[0-9]+");
    EXPECT_EQ(std::regex_replace(remote.out, time, ""), std::regex_replace(local.out, time, ""))
        << command;
    EXPECT_FALSE(remote.out.empty() && remote.exit_code == 0) << command;
    return remote;
  };
  same("apply --label b1", ops);
  same("apply --json --label b2", "put 4 44\n");
  same("root");
  same("root --json --at-label b1");
  same("get 3");
  same("get 1");
  same("get --json 4");
  same("prove 3 --format json");
  same("prove 1 2 3 4 --format json");
  same("prove 3 --format circom --levels 8");
  same("apply --expected-version 1", "put 5 5\n");
  same("rollback --to-label b1");
  same("prune 1 --json");
  // A bulk load streamed as one transaction with a progress bar.
  std::string bulk;
  for (int i = 0; i < 3000; ++i) bulk += absl::StrCat("put ", 100 + i, " ", i, "\n");
  testing::CommandResult streamed = same("apply --chunk-ops 500", bulk);
  EXPECT_EQ(streamed.exit_code, 0);
  testing::CommandResult progress =
      testing::run_command(cli + " smt apply --progress --chunk-ops 1000" + server, "put 9 9\n");
  EXPECT_EQ(progress.exit_code, 0) << progress.err;
  EXPECT_NE(progress.err.find("ops/s"), std::string::npos) << progress.err;

  // Server-only commands.
  testing::CommandResult trees =
      testing::run_command(cli + " trees --json --server " + server_->address());
  EXPECT_EQ(trees.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(trees.out).at(0).at("name"), "t");
  testing::CommandResult health =
      testing::run_command(cli + " health --server " + server_->address());
  EXPECT_EQ(health.out, "SERVING\n");
  testing::CommandResult begun =
      testing::run_command(cli + " tx begin --tree t --server " + server_->address());
  ASSERT_EQ(begun.exit_code, 0) << begun.err;
  const std::string tx = begun.out.substr(0, begun.out.find('\n'));
  EXPECT_EQ(
      testing::run_command(cli + " tx add " + tx + " --server " + server_->address(), "put 77 7\n")
          .out,
      "pending ops 1\n");
  testing::CommandResult committed =
      testing::run_command(cli + " tx commit " + tx + " --server " + server_->address());
  EXPECT_EQ(committed.exit_code, 0) << committed.err;
  EXPECT_NE(committed.out.find("root 0x"), std::string::npos);
  testing::CommandResult unreachable =
      testing::run_command(cli + " smt root --tree t --timeout-ms 2000 --server 127.0.0.1:1");
  EXPECT_EQ(unreachable.exit_code, 2) << unreachable.err;
}

}  // namespace
}  // namespace arbor
