// SIGKILL arbord under concurrent write load (sync full), restart it, and check that every
// acknowledged write is there and that the root equals a recomputation from the stored values.
// Once for an SMT tree and once for a Verkle tree; the kill-and-restart plumbing is shared.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "host/verkle/verkle_tree.hpp"
#include "rpc/server/wire.hpp"
#include "storage/store.hpp"
#include "tests/crash/offline_check.hpp"
#include "tests/crash/write_ledger.hpp"
#include "tests/support/arbord_process.hpp"
#include "tests/support/test_support.hpp"
#include "tests/support/verkle_keys.hpp"

namespace arbor {
namespace {

using crash::Mutation;
using crash::WriteLedger;
using testing::ArbordProcess;
using testing::TempDir;

constexpr int kCycles = 3;
constexpr int kWriters = 8;

// Every write so far is readable through `client` with an allowed value.
void expect_all_acknowledged(rpc::ArborClient& client, const std::string& tree,
                             const WriteLedger& ledger, const std::string& when) {
  const absl::Status checked = crash::check_every_key(client, tree, ledger);
  ASSERT_TRUE(checked.ok()) << when << ": " << checked;
}

// One scheme's side of the test.
struct Workload {
  std::string tree;
  std::string scheme;  // CreateTree's; empty: smt
  // The operations of one write: (key, value) pairs in wire form. `mine` holds this writer's
  // earlier keys (writers never share keys, so "later" is well defined per key).
  std::function<std::vector<std::pair<std::string, std::string>>(std::mt19937_64& rng,
                                                                 std::vector<std::string>& mine)>
      write_ops;
  // How long cycle `cycle` runs before the kill: from the start of the load, or with
  // `from_first_ack` from its first acknowledged write (a start-up cost of unknown length, such as
  // the first Verkle write's, then never leaves a cycle without acknowledged writes).
  std::function<std::chrono::milliseconds(int cycle, std::mt19937_64& rng)> kill_after;
  bool from_first_ack = false;
};

// kCycles times: start arbord on `data`, check every acknowledged write, run kWriters writers,
// SIGKILL mid-load. Then a last start, check, and a clean stop, so the store can be reopened.
void run_kill_cycles(const std::filesystem::path& data, const Workload& workload,
                     std::mt19937_64& rng, WriteLedger& ledger) {
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    auto server = ArbordProcess::start(data, {"--sync", "full"});
    ASSERT_TRUE(server.ok()) << server.status();
    auto client = (*server)->client();
    if (cycle == 0) {
      v1::CreateTreeRequest create;
      create.set_name(workload.tree);
      create.set_scheme(workload.scheme);
      v1::TreeInfo info;
      grpc::ClientContext context;
      ASSERT_TRUE(client->stub().CreateTree(&context, create, &info).ok());
    }
    // Everything acknowledged before this start must be readable now.
    expect_all_acknowledged(*client, workload.tree, ledger, absl::StrCat("cycle ", cycle));
    if (::testing::Test::HasFatalFailure()) return;

    std::atomic<bool> stop{false};
    std::atomic<int> acked_this_cycle{0};
    std::vector<std::thread> writers;
    const std::uint64_t seed = rng();
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&, w] {
        std::mt19937_64 local(seed + w);
        std::vector<std::string> mine;
        auto own = (*server)->client();
        while (!stop) {
          v1::WriteRequest request;
          request.set_tree(workload.tree);
          std::vector<Mutation> ops;
          for (auto& [key, value] : workload.write_ops(local, mine)) {
            v1::Op* op = request.add_ops();
            op->set_kind(v1::OP_KIND_PUT);
            op->set_key(key);
            op->set_value(value);
            ops.push_back(Mutation{std::move(key), std::move(value)});
          }
          v1::WriteResponse response;
          grpc::ClientContext context;
          context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
          ledger.sent(ops);
          if (own->stub().Write(&context, request, &response).ok()) {
            ledger.acknowledged(ops);
            ++acked_this_cycle;
          } else {
            ledger.unknown(ops);
          }
        }
      });
    }
    // Kill at a different moment each cycle, always with writes in flight.
    if (workload.from_first_ack) {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (acked_this_cycle == 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
    std::this_thread::sleep_for(workload.kill_after(cycle, rng));
    (*server)->kill_now();
    stop = true;
    for (std::thread& writer : writers) writer.join();
    EXPECT_GT(acked_this_cycle.load(), 0) << "cycle " << cycle << " acknowledged nothing";
  }

  // Last restart: every acknowledged write, then a clean stop for the offline check.
  auto server = ArbordProcess::start(data);
  ASSERT_TRUE(server.ok()) << server.status();
  auto client = (*server)->client();
  expect_all_acknowledged(*client, workload.tree, ledger, "after the last kill");
  if (::testing::Test::HasFatalFailure()) return;
  ASSERT_EQ((*server)->terminate(), 0) << (*server)->log();
}

// Every write is stored with an allowed value, and the head's root is its values' root.
void expect_stored_head(storage::Store& store, const std::string& tree, const WriteLedger& ledger) {
  auto backend = host::make_cpu_backend();
  absl::StatusOr<crash::StoredHead> head = crash::check_stored_head(store, tree, *backend);
  ASSERT_TRUE(head.ok()) << head.status();
  // Writes sent but not acknowledged before a kill may or may not be there; acknowledged ones are.
  EXPECT_GE(head->values.size(), ledger.present());
  for (const std::string& key : ledger.keys()) {
    auto found = head->values.find(key);
    const absl::Status allowed =
        ledger.check(key, found == head->values.end() ? std::nullopt : crash::Value(found->second));
    ASSERT_TRUE(allowed.ok()) << allowed;
  }
}

TEST(ArbordKillTest, AcknowledgedWritesSurviveSigkillAndTheRootMatchesTheValues) {
  TempDir dir("arbord-kill");
  auto rng = testing::seeded_rng("ArbordKillTest");
  Workload workload;
  workload.tree = "k";
  workload.write_ops = [](std::mt19937_64& local, std::vector<std::string>&) {
    std::vector<std::pair<std::string, std::string>> ops;
    const int count = 1 + static_cast<int>(local() % 20);
    for (int i = 0; i < count; ++i) {
      std::string key = rpc::field_to_wire(testing::random_fr(local));
      ops.emplace_back(std::move(key), rpc::field_to_wire(testing::random_fr(local)));
    }
    return ops;
  };
  workload.kill_after = [](int cycle, std::mt19937_64&) {
    return std::chrono::milliseconds(700 + 400 * cycle);
  };
  WriteLedger ledger;
  run_kill_cycles(dir / "data", workload, rng, ledger);
  if (::testing::Test::HasFatalFailure()) return;

  auto store = storage::Store::open_read_only(dir / "data");
  ASSERT_TRUE(store.ok()) << store.status();
  expect_stored_head(**store, "k", ledger);
}

TEST(ArbordKillTest, VerkleAcknowledgedWritesSurviveSigkillAndTheRootMatchesTheValues) {
  TempDir dir("arbord-kill-verkle");
  auto rng = testing::seeded_rng("ArbordKillTest.Verkle");
  Workload workload;
  workload.tree = "v";
  workload.scheme = "verkle";
  // Keys on a writer's earlier stems or sharing their first bytes (deep leaves, splits), and
  // overwrites of its earlier keys, so a write lost after its acknowledgment would show.
  workload.write_ops = [](std::mt19937_64& local, std::vector<std::string>& mine) {
    std::vector<std::pair<std::string, std::string>> ops;
    const int count = 1 + static_cast<int>(local() % 20);
    for (int i = 0; i < count; ++i) {
      std::string value(32, '\0');
      for (char& c : value) c = static_cast<char>(local());
      if (!mine.empty() && local() % 5 == 0) {
        ops.emplace_back(mine[local() % mine.size()], std::move(value));
        continue;
      }
      std::vector<verkle::Key32> near;
      for (std::size_t j = mine.size() > 16 ? mine.size() - 16 : 0; j < mine.size(); ++j) {
        std::copy(mine[j].begin(), mine[j].end(), near.emplace_back().begin());
      }
      verkle::Key32 key = testing::random_verkle_key(local, near, 2);
      if (!near.empty() && local() % 3 == 0) {
        std::copy_n(near[local() % near.size()].begin(), 31, key.begin());  // same stem
      }
      mine.emplace_back(verkle::as_view(key));
      ops.emplace_back(mine.back(), std::move(value));
    }
    return ops;
  };
  // A random moment in each cycle (from the printed seed), once writes are being acknowledged.
  workload.kill_after = [](int, std::mt19937_64& rng) {
    return std::chrono::milliseconds(rng() % 700);
  };
  workload.from_first_ack = true;
  WriteLedger ledger;
  run_kill_cycles(dir / "data", workload, rng, ledger);
  if (::testing::Test::HasFatalFailure()) return;

  auto store = storage::Store::open_read_only(dir / "data");
  ASSERT_TRUE(store.ok()) << store.status();
  expect_stored_head(**store, "v", ledger);
  auto view = (*store)->view("v");
  ASSERT_TRUE(view.ok()) << view.status();
  auto backend = host::make_cpu_backend();
  // The reopened tree reads the head root and the values as the store holds them.
  auto tree = verkle::VerkleTree::open(**store, "v", *backend);
  ASSERT_TRUE(tree.ok()) << tree.status();
  auto root = (*tree)->root();
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(std::string(verkle::as_view(*root)), view->version().root);
}

}  // namespace
}  // namespace arbor
