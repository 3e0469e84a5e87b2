// SIGKILL arbord under concurrent write load (sync full), restart it, and check that every
// acknowledged write is there and that the root equals a recomputation from the stored values.
// Once for an SMT tree and once for a Verkle tree; the kill-and-restart plumbing is shared.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "host/smt/smt_records.hpp"
#include "host/smt/smt_tree.hpp"
#include "host/verkle/verkle_tree.hpp"
#include "kernels/field/bn254_fr_text.hpp"
#include "rpc/server/wire.hpp"
#include "storage/store.hpp"
#include "tests/support/arbord_process.hpp"
#include "tests/support/test_support.hpp"
#include "tests/support/verkle_keys.hpp"

namespace arbor {
namespace {

using field::Fr;
using testing::ArbordProcess;
using testing::TempDir;

constexpr int kCycles = 3;
constexpr int kWriters = 8;

using Entries = std::map<std::string, std::string>;  // key -> value, wire form

// The root of `entries` computed by a fresh tree in a scratch store.
Fr recomputed_smt_root(const Entries& entries) {
  TempDir dir("recompute");
  auto store = *storage::Store::open(dir / "db");
  auto backend = host::make_cpu_backend();
  auto tree = *smt::SmtTree::create(*store, "t", {}, *backend);
  std::vector<smt::SmtOp> ops;
  for (const auto& [key, value] : entries) {
    ops.push_back(
        smt::SmtOp::put(*rpc::field_from_wire(key, "key"), *rpc::field_from_wire(value, "value")));
  }
  return (*tree->apply(ops)).root;
}

// The same for Verkle: the writes were puts only, so a from-scratch build has the same shape.
std::string recomputed_verkle_root(const Entries& entries, host::ComputeBackend& backend) {
  TempDir dir("recompute-verkle");
  auto store = *storage::Store::open(dir / "db");
  auto tree = *verkle::VerkleTree::create(*store, "t", {}, backend);
  std::vector<verkle::VerkleOp> ops;
  for (const auto& [key, value] : entries) {
    verkle::Key32 k;
    verkle::Value32 v;
    std::copy(key.begin(), key.end(), k.begin());
    std::copy(value.begin(), value.end(), v.begin());
    ops.push_back(verkle::VerkleOp::put(k, v));
  }
  auto applied = tree->apply(ops);
  EXPECT_TRUE(applied.ok()) << applied.status();
  return applied.ok() ? std::string(verkle::as_view(applied->root)) : std::string();
}

// What the writers were told, and what they could not be sure of.
struct Ledger {
  std::mutex mutex;
  Entries acknowledged;
  // Values of writes that failed (killed in flight) after the key's last acknowledged write:
  // each may or may not have been applied.
  std::map<std::string, std::set<std::string>> maybe;
};

// Each acknowledged key holds its acknowledged value, or one of a later unacknowledged write.
bool value_allowed(const Ledger& ledger, const std::string& key, const std::string& value) {
  if (ledger.acknowledged.at(key) == value) return true;
  auto maybe = ledger.maybe.find(key);
  return maybe != ledger.maybe.end() && maybe->second.count(value) > 0;
}

// Every acknowledged write is readable through `client`.
void expect_all_acknowledged(rpc::ArborClient& client, const std::string& tree,
                             const Ledger& ledger, const std::string& when) {
  for (const auto& [key, value] : ledger.acknowledged) {
    v1::GetRequest request;
    request.set_tree(tree);
    request.set_key(key);
    v1::GetResponse got;
    grpc::ClientContext context;
    ASSERT_TRUE(client.stub().Get(&context, request, &got).ok());
    ASSERT_TRUE(got.found()) << when << ": an acknowledged write was lost";
    ASSERT_TRUE(value_allowed(ledger, key, got.value())) << when << ": a value went back";
  }
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
                     std::mt19937_64& rng, Ledger& ledger) {
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
          const std::vector<std::pair<std::string, std::string>> ops =
              workload.write_ops(local, mine);
          for (const auto& [key, value] : ops) {
            v1::Op* op = request.add_ops();
            op->set_kind(v1::OP_KIND_PUT);
            op->set_key(key);
            op->set_value(value);
          }
          v1::WriteResponse response;
          grpc::ClientContext context;
          context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
          const bool acked = own->stub().Write(&context, request, &response).ok();
          std::lock_guard lock(ledger.mutex);
          for (const auto& [key, value] : ops) {
            if (acked) {
              ledger.acknowledged[key] = value;
              ledger.maybe.erase(key);
            } else {
              ledger.maybe[key].insert(value);
            }
          }
          if (acked) ++acked_this_cycle;
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

// The head's values, read straight from the store.
Entries stored_values(const storage::TreeView& view) {
  Entries stored;
  EXPECT_TRUE(view.scan(storage::Space::kValues, "",
                        [&](std::string_view key, std::string_view value) {
                          stored.emplace(std::string(key), std::string(value));
                          return true;
                        })
                  .ok());
  return stored;
}

// Every acknowledged key is stored with an allowed value.
void expect_stored_acknowledged(const Entries& stored, const Ledger& ledger) {
  // Writes sent but not acknowledged before a kill may or may not be there; acknowledged ones are.
  EXPECT_GE(stored.size(), ledger.acknowledged.size());
  for (const auto& [key, value] : ledger.acknowledged) {
    auto found = stored.find(key);
    ASSERT_NE(found, stored.end()) << "an acknowledged write is not in the store";
    EXPECT_TRUE(value_allowed(ledger, key, found->second));
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
  Ledger ledger;
  run_kill_cycles(dir / "data", workload, rng, ledger);
  if (::testing::Test::HasFatalFailure()) return;

  auto store = storage::Store::open_read_only(dir / "data");
  ASSERT_TRUE(store.ok()) << store.status();
  auto view = (*store)->view("k");
  ASSERT_TRUE(view.ok()) << view.status();
  const Entries stored = stored_values(*view);
  expect_stored_acknowledged(stored, ledger);
  EXPECT_EQ(view->version().entry_count, stored.size());
  EXPECT_EQ(view->version().root, rpc::field_to_wire(recomputed_smt_root(stored)));
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
  Ledger ledger;
  run_kill_cycles(dir / "data", workload, rng, ledger);
  if (::testing::Test::HasFatalFailure()) return;

  auto store = storage::Store::open_read_only(dir / "data");
  ASSERT_TRUE(store.ok()) << store.status();
  auto view = (*store)->view("v");
  ASSERT_TRUE(view.ok()) << view.status();
  const Entries stored = stored_values(*view);
  expect_stored_acknowledged(stored, ledger);
  EXPECT_EQ(view->version().entry_count, stored.size());
  auto backend = host::make_cpu_backend();
  // The reopened tree reads the head root and the values as the store holds them.
  auto tree = verkle::VerkleTree::open(**store, "v", *backend);
  ASSERT_TRUE(tree.ok()) << tree.status();
  auto root = (*tree)->root();
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(std::string(verkle::as_view(*root)), view->version().root);
  EXPECT_EQ(view->version().root, recomputed_verkle_root(stored, *backend));
}

}  // namespace
}  // namespace arbor
