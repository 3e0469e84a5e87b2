// SIGKILL arbord under concurrent write load (sync full), restart it, and check that every
// acknowledged write is there and that the root equals a recomputation from the stored values.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "host/smt/smt_records.hpp"
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

constexpr int kCycles = 3;
constexpr int kWriters = 8;

// The root of `entries` computed by a fresh tree in a scratch store.
Fr recomputed_root(const std::map<std::string, std::string>& entries) {
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

// Every acknowledged write is readable through `client`.
void expect_all_acknowledged(rpc::ArborClient& client,
                             const std::map<std::string, std::string>& acknowledged,
                             const std::string& when) {
  for (const auto& [key, value] : acknowledged) {
    v1::GetRequest request;
    request.set_tree("k");
    request.set_key(key);
    v1::GetResponse got;
    grpc::ClientContext context;
    ASSERT_TRUE(client.stub().Get(&context, request, &got).ok());
    ASSERT_TRUE(got.found()) << when << ": an acknowledged write was lost";
    ASSERT_EQ(got.value(), value);
  }
}

TEST(ArbordKillTest, AcknowledgedWritesSurviveSigkillAndTheRootMatchesTheValues) {
  TempDir dir("arbord-kill");
  auto rng = testing::seeded_rng("ArbordKillTest");
  std::map<std::string, std::string> acknowledged;  // key -> value, wire form
  std::mutex acknowledged_mutex;
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    auto server = ArbordProcess::start(dir / "data", {"--sync", "full"});
    ASSERT_TRUE(server.ok()) << server.status();
    auto client = (*server)->client();
    if (cycle == 0) {
      v1::CreateTreeRequest create;
      create.set_name("k");
      v1::TreeInfo info;
      grpc::ClientContext context;
      ASSERT_TRUE(client->stub().CreateTree(&context, create, &info).ok());
    }
    // Everything acknowledged before this start must be readable now.
    expect_all_acknowledged(*client, acknowledged, absl::StrCat("cycle ", cycle));
    if (::testing::Test::HasFatalFailure()) return;

    std::atomic<bool> stop{false};
    std::atomic<int> acked_this_cycle{0};
    std::vector<std::thread> writers;
    const std::uint64_t seed = rng();
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&, w] {
        std::mt19937_64 local(seed + w);
        auto own = (*server)->client();
        while (!stop) {
          v1::WriteRequest request;
          request.set_tree("k");
          std::vector<std::pair<std::string, std::string>> ops;
          const int count = 1 + static_cast<int>(local() % 20);
          for (int i = 0; i < count; ++i) {
            const std::string key = rpc::field_to_wire(testing::random_fr(local));
            const std::string value = rpc::field_to_wire(testing::random_fr(local));
            v1::Op* op = request.add_ops();
            op->set_kind(v1::OP_KIND_PUT);
            op->set_key(key);
            op->set_value(value);
            ops.emplace_back(key, value);
          }
          v1::WriteResponse response;
          grpc::ClientContext context;
          context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
          if (!own->stub().Write(&context, request, &response).ok()) continue;
          std::lock_guard lock(acknowledged_mutex);
          for (auto& [key, value] : ops) acknowledged[key] = value;
          ++acked_this_cycle;
        }
      });
    }
    // Kill at a different moment each cycle, always with writes in flight.
    std::this_thread::sleep_for(std::chrono::milliseconds(700 + 400 * cycle));
    (*server)->kill_now();
    stop = true;
    for (std::thread& writer : writers) writer.join();
    EXPECT_GT(acked_this_cycle.load(), 0) << "cycle " << cycle << " acknowledged nothing";
  }

  // Last restart: every acknowledged write, then a clean stop for the offline check.
  {
    auto server = ArbordProcess::start(dir / "data");
    ASSERT_TRUE(server.ok()) << server.status();
    auto client = (*server)->client();
    expect_all_acknowledged(*client, acknowledged, "after the last kill");
    if (::testing::Test::HasFatalFailure()) return;
    ASSERT_EQ((*server)->terminate(), 0) << (*server)->log();
  }
  auto store = storage::Store::open_read_only(dir / "data");
  ASSERT_TRUE(store.ok()) << store.status();
  auto view = (*store)->view("k");
  ASSERT_TRUE(view.ok()) << view.status();
  std::map<std::string, std::string> stored;
  ASSERT_TRUE(view->scan(storage::Space::kValues, "",
                         [&](std::string_view key, std::string_view value) {
                           stored.emplace(std::string(key), std::string(value));
                           return true;
                         })
                  .ok());
  // Writes sent but not acknowledged before a kill may or may not be there; acknowledged ones are.
  EXPECT_GE(stored.size(), acknowledged.size());
  EXPECT_EQ(view->version().entry_count, stored.size());
  EXPECT_EQ(view->version().root, rpc::field_to_wire(recomputed_root(stored)));
}

}  // namespace
}  // namespace arbor
