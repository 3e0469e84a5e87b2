// arbord's metrics: what /metrics shows after given RPCs, batches and proofs, and for given engine
// values at scrape time; the page is well formed; concurrent observers lose nothing.
#include "rpc/server/server_metrics.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"

namespace arbor::rpc {
namespace {

// One scrape: every sample by its series text (name{labels}), and the TYPE of every family.
struct Page {
  std::string text;
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;
  std::vector<std::string> problems;  // malformed lines, repeated families or series

  bool has(const std::string& series) const { return samples.count(series) > 0; }
  // NaN when absent, so a missing series fails any comparison with a number.
  double value(const std::string& series) const {
    auto found = samples.find(series);
    return found == samples.end() ? std::nan("") : found->second;
  }
  bool has_line(const std::string& line) const {
    return absl::StrContains("\n" + text, "\n" + line + "\n");
  }
};

Page scrape(const ServerMetrics& metrics) {
  Page page;
  page.text = metrics.render();
  std::istringstream lines(page.text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream words(line.substr(7));
      std::string name, type;
      words >> name >> type;
      if (!page.types.emplace(name, type).second) page.problems.push_back("family twice: " + line);
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    const std::size_t space = line.rfind(' ');
    if (space == std::string::npos) {
      page.problems.push_back("no value: " + line);
      continue;
    }
    const std::string series = line.substr(0, space);
    char* end = nullptr;
    const double value = std::strtod(line.c_str() + space + 1, &end);
    if (*end != '\0') page.problems.push_back("bad value: " + line);
    if (!page.samples.emplace(series, value).second) {
      page.problems.push_back("series twice: " + line);
    }
    // Every sample belongs to a family declared by a TYPE line (histograms: _bucket/_sum/_count).
    std::string name = series.substr(0, series.find('{'));
    if (!page.types.count(name)) {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        if (absl::EndsWith(name, suffix)) {
          const std::string base = name.substr(0, name.size() - std::strlen(suffix));
          if (page.types.count(base) && page.types.at(base) == "histogram") name = base;
        }
      }
    }
    if (!page.types.count(name)) page.problems.push_back("no TYPE: " + line);
  }
  return page;
}

std::unique_ptr<ServerMetrics> make_metrics() {
  absl::StatusOr<std::unique_ptr<ServerMetrics>> made = ServerMetrics::create();
  EXPECT_TRUE(made.ok()) << made.status();
  return made.ok() ? std::move(*made) : nullptr;
}

// Designated initializers, not assignments: GCC 12 sees a false -Wrestrict in `s = "v"`.
service::BatchReport verkle_batch() {
  return {.tree = "v",
          .scheme = "verkle",
          .writes = 3,
          .ops = 10,
          .queue_wait_ms = 0.25,
          .apply_ms = 8,
          .stats = {.ops = 10,
                    .commitment_deltas = 50,
                    .read_ms = 1,
                    .plan_ms = 0.5,
                    .compute_ms = 4,
                    .commit_ms = 2}};
}

service::BatchReport smt_batch() {
  return {.tree = "s",
          .scheme = "smt",
          .writes = 1,
          .ops = 2,
          .apply_ms = 3,
          .stats = {.leaf_hashes = 2, .node_hashes = 64, .compute_ms = 1.5, .commit_ms = 1}};
}

EngineSnapshot snapshot() {
  EngineSnapshot snap;
  snap.stats.backend = "cpu (16 threads)";
  snap.backend_kind = host::BackendKind::kCpu;
  snap.backend_fallback = "Arbor was built without CUDA";
  snap.stats.trees.push_back(
      {.tree = "v",
       .scheme = "verkle",
       .version = 7,
       .size = 11,
       .batcher = {.queued_writes = 2, .queued_ops = 5, .refused_overload = 3}});
  snap.stats.open_transactions = 4;
  snap.stats.transaction_ops = 40;
  snap.stats.transactions_expired = 1;
  snap.stats.store.families.push_back({"nodes", 100, 4096, 512, 0});
  snap.stats.store.families.push_back({"values", 50, 1024, 256, 0});
  snap.stats.store.pending_compaction_bytes = 2048;
  snap.stats.store.block_cache_capacity = 1 << 20;
  snap.stats.store.commits = 9;
  snap.stats.store.write_failures = 3;
  snap.store_health = absl::ResourceExhaustedError("the disk holding /data is full");
  snap.stats.store.commit_latency.p50_us = 500;
  snap.stats.store.commit_latency.p99_us = 3000;
  return snap;
}

TEST(ServerMetrics, ProcessValuesAndNotReadyBeforeTheEngine) {
  std::unique_ptr<ServerMetrics> metrics = make_metrics();
  ASSERT_NE(metrics, nullptr);
  const Page page = scrape(*metrics);
  EXPECT_TRUE(page.problems.empty()) << page.problems.front();
  EXPECT_TRUE(page.has_line("arbor_ready 0")) << page.text;
  EXPECT_FALSE(page.has("arbor_backend_info")) << "engine values without an engine";
  EXPECT_GT(page.value("arbor_process_resident_memory_bytes"), 1 << 20);
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const double started = page.value("arbor_process_start_time_seconds");
  EXPECT_LE(started, now + 1);
  EXPECT_GT(started, now - 24 * 3600) << "a test process started more than a day ago?";
  EXPECT_EQ(page.types.at("arbor_process_resident_memory_bytes"), "gauge");
}

TEST(ServerMetrics, RpcsByMethodAndCode) {
  std::unique_ptr<ServerMetrics> metrics = make_metrics();
  ASSERT_NE(metrics, nullptr);
  RpcObserver observe = metrics->rpc_observer();
  observe("Write", grpc::StatusCode::OK, 1.5, 2);
  observe("Write", grpc::StatusCode::OK, 2.5, 0);
  observe("Get", grpc::StatusCode::INVALID_ARGUMENT, 0.5, 0);
  observe("Prove", grpc::StatusCode::OK, 4, 3);
  observe("GetMany", grpc::StatusCode::OK, 1, 0);
  const Page page = scrape(*metrics);
  EXPECT_TRUE(page.problems.empty()) << page.problems.front();
  EXPECT_TRUE(page.has_line("arbor_rpc_requests_total{code=\"OK\",method=\"Write\"} 2"))
      << page.text;
  EXPECT_EQ(page.value("arbor_rpc_requests_total{code=\"INVALID_ARGUMENT\",method=\"Get\"}"), 1);
  EXPECT_EQ(page.value("arbor_rpc_errors_total{code=\"INVALID_ARGUMENT\",method=\"Get\"}"), 1);
  EXPECT_FALSE(page.has("arbor_rpc_errors_total{code=\"OK\",method=\"Write\"}"));
  EXPECT_EQ(page.value("arbor_rpc_duration_seconds_count{method=\"Write\"}"), 2);
  EXPECT_DOUBLE_EQ(page.value("arbor_rpc_duration_seconds_sum{method=\"Write\"}"), 0.004);
  EXPECT_EQ(page.value("arbor_rpc_duration_seconds_bucket{method=\"Write\",le=\"+Inf\"}"), 2);
  // Proofs count per RPC; reads only when answered.
  EXPECT_EQ(page.value("arbor_proofs_total{method=\"Write\"}"), 2);
  EXPECT_EQ(page.value("arbor_proofs_total{method=\"Prove\"}"), 3);
  EXPECT_EQ(page.value("arbor_reads_total{method=\"Prove\"}"), 1);
  EXPECT_EQ(page.value("arbor_reads_total{method=\"GetMany\"}"), 1);
  EXPECT_FALSE(page.has("arbor_reads_total{method=\"Get\"}"));
  EXPECT_FALSE(page.has("arbor_reads_total{method=\"Write\"}"));
  EXPECT_EQ(page.types.at("arbor_rpc_requests_total"), "counter");
  EXPECT_EQ(page.types.at("arbor_rpc_duration_seconds"), "histogram");
}

TEST(ServerMetrics, BatchesByTreeAndPhasesByScheme) {
  std::unique_ptr<ServerMetrics> metrics = make_metrics();
  ASSERT_NE(metrics, nullptr);
  service::EngineObserver observer = metrics->engine_observer();
  ASSERT_TRUE(observer.on_batch);
  observer.on_batch(verkle_batch());
  observer.on_batch(smt_batch());
  service::BatchReport failed = smt_batch();
  failed.ok = false;
  failed.stats = {};
  observer.on_batch(failed);
  const Page page = scrape(*metrics);
  EXPECT_TRUE(page.problems.empty()) << page.problems.front();

  EXPECT_TRUE(
      page.has_line("arbor_writes_total{outcome=\"applied\",scheme=\"verkle\",tree=\"v\"} 3"))
      << page.text;
  EXPECT_EQ(page.value("arbor_writes_total{outcome=\"applied\",scheme=\"smt\",tree=\"s\"}"), 1);
  EXPECT_EQ(page.value("arbor_write_ops_total{scheme=\"verkle\",tree=\"v\"}"), 10);
  EXPECT_EQ(page.value("arbor_versions_total{scheme=\"verkle\",tree=\"v\"}"), 1);
  EXPECT_EQ(page.value("arbor_versions_total{scheme=\"smt\",tree=\"s\"}"), 1);
  EXPECT_EQ(page.value("arbor_failed_batches_total{scheme=\"smt\",tree=\"s\"}"), 1);
  EXPECT_FALSE(page.has("arbor_failed_batches_total{scheme=\"verkle\",tree=\"v\"}"));

  // Batch sizes per tree: 3 writes fall in the bucket le=4, not le=1.
  EXPECT_EQ(page.value("arbor_batch_writes_bucket{scheme=\"verkle\",tree=\"v\",le=\"1\"}"), 0);
  EXPECT_EQ(page.value("arbor_batch_writes_bucket{scheme=\"verkle\",tree=\"v\",le=\"4\"}"), 1);
  EXPECT_EQ(page.value("arbor_batch_ops_sum{scheme=\"verkle\",tree=\"v\"}"), 10);
  EXPECT_EQ(page.value("arbor_batch_ops_count{scheme=\"smt\",tree=\"s\"}"), 1);

  // Phases per scheme, in seconds; the failed attempt is not timed.
  EXPECT_DOUBLE_EQ(page.value("arbor_queue_wait_seconds_sum{scheme=\"verkle\"}"), 0.00025);
  EXPECT_DOUBLE_EQ(page.value("arbor_apply_seconds_sum{scheme=\"verkle\"}"), 0.008);
  EXPECT_DOUBLE_EQ(page.value("arbor_read_seconds_sum{scheme=\"verkle\"}"), 0.001);
  EXPECT_DOUBLE_EQ(page.value("arbor_plan_seconds_sum{scheme=\"verkle\"}"), 0.0005);
  EXPECT_DOUBLE_EQ(page.value("arbor_hash_seconds_sum{scheme=\"verkle\"}"), 0.004);
  EXPECT_DOUBLE_EQ(page.value("arbor_hash_seconds_sum{scheme=\"smt\"}"), 0.0015);
  EXPECT_DOUBLE_EQ(page.value("arbor_commit_seconds_sum{scheme=\"verkle\"}"), 0.002);
  EXPECT_EQ(page.value("arbor_commit_seconds_count{scheme=\"smt\"}"), 1);
  EXPECT_EQ(page.value("arbor_apply_seconds_bucket{scheme=\"smt\",le=\"+Inf\"}"), 1);

  // Each scheme's own work, per tree.
  EXPECT_EQ(page.value("arbor_hashes_total{kind=\"leaf\",tree=\"s\"}"), 2);
  EXPECT_EQ(page.value("arbor_hashes_total{kind=\"node\",tree=\"s\"}"), 64);
  EXPECT_FALSE(page.has("arbor_hashes_total{kind=\"leaf\",tree=\"v\"}"));
  EXPECT_EQ(page.value("arbor_commitment_updates_total{tree=\"v\"}"), 50);
  EXPECT_FALSE(page.has("arbor_commitment_updates_total{tree=\"s\"}"));
  for (const char* histogram :
       {"arbor_batch_writes", "arbor_batch_ops", "arbor_queue_wait_seconds", "arbor_apply_seconds",
        "arbor_read_seconds", "arbor_plan_seconds", "arbor_hash_seconds", "arbor_commit_seconds"}) {
    ASSERT_TRUE(page.types.count(histogram)) << histogram;
    EXPECT_EQ(page.types.at(histogram), "histogram") << histogram;
  }
}

TEST(ServerMetrics, ProofsByScheme) {
  std::unique_ptr<ServerMetrics> metrics = make_metrics();
  ASSERT_NE(metrics, nullptr);
  service::EngineObserver observer = metrics->engine_observer();
  ASSERT_TRUE(observer.on_proof);
  observer.on_proof({"v", "verkle", 4, 1000, 12, true});
  observer.on_proof({"v", "verkle", 1, 200, 3, true});
  observer.on_proof({"s", "smt", 1, 0, 0, false});
  const Page page = scrape(*metrics);
  EXPECT_TRUE(page.problems.empty()) << page.problems.front();
  EXPECT_EQ(page.value("arbor_proof_seconds_count{scheme=\"verkle\"}"), 2);
  EXPECT_DOUBLE_EQ(page.value("arbor_proof_seconds_sum{scheme=\"verkle\"}"), 0.015);
  EXPECT_EQ(page.value("arbor_proof_keys_bucket{scheme=\"verkle\",le=\"1\"}"), 1);
  EXPECT_EQ(page.value("arbor_proof_keys_bucket{scheme=\"verkle\",le=\"4\"}"), 2);
  EXPECT_EQ(page.value("arbor_proof_bytes_sum{scheme=\"verkle\"}"), 1200);
  EXPECT_TRUE(page.has_line("arbor_proof_failures_total{scheme=\"smt\"} 1")) << page.text;
  EXPECT_FALSE(page.has("arbor_proof_seconds_count{scheme=\"smt\"}"));
}

TEST(ServerMetrics, EngineValuesAreReadAtScrapeTime) {
  std::unique_ptr<ServerMetrics> metrics = make_metrics();
  ASSERT_NE(metrics, nullptr);
  EngineSnapshot current = snapshot();
  int reads = 0;
  metrics->set_snapshot_source([&]() -> std::optional<EngineSnapshot> {
    ++reads;
    return current;
  });
  Page page = scrape(*metrics);
  EXPECT_EQ(reads, 1);
  EXPECT_TRUE(page.problems.empty()) << page.problems.front();
  EXPECT_TRUE(page.has_line("arbor_ready 1"));
  EXPECT_TRUE(page.has_line("arbor_backend_info{description=\"cpu (16 threads)\",kind=\"cpu\"} 1"))
      << page.text;
  EXPECT_TRUE(page.has_line("arbor_backend_cpu_fallback 1"));
  EXPECT_FALSE(page.has("arbor_gpu_memory_used_bytes"));
  EXPECT_EQ(page.value("arbor_tree_version{scheme=\"verkle\",tree=\"v\"}"), 7);
  EXPECT_EQ(page.value("arbor_tree_size{scheme=\"verkle\",tree=\"v\"}"), 11);
  EXPECT_EQ(page.value("arbor_queue_writes{scheme=\"verkle\",tree=\"v\"}"), 2);
  EXPECT_EQ(page.value("arbor_queue_ops{scheme=\"verkle\",tree=\"v\"}"), 5);
  EXPECT_EQ(page.value("arbor_overload_refusals_total{scheme=\"verkle\",tree=\"v\"}"), 3);
  EXPECT_EQ(page.types.at("arbor_overload_refusals_total"), "counter");
  EXPECT_EQ(page.value("arbor_open_transactions"), 4);
  EXPECT_EQ(page.value("arbor_transaction_ops"), 40);
  EXPECT_EQ(page.value("arbor_transactions_expired_total"), 1);
  EXPECT_EQ(page.value("arbor_rocksdb_sst_bytes{family=\"nodes\"}"), 4096);
  EXPECT_EQ(page.value("arbor_rocksdb_memtable_bytes{family=\"values\"}"), 256);
  EXPECT_EQ(page.value("arbor_rocksdb_estimated_keys{family=\"values\"}"), 50);
  EXPECT_TRUE(page.has_line("arbor_rocksdb_size_bytes 5120")) << "SST bytes of both families";
  EXPECT_EQ(page.value("arbor_rocksdb_pending_compaction_bytes"), 2048);
  EXPECT_EQ(page.value("arbor_rocksdb_block_cache_capacity_bytes"), 1 << 20);
  EXPECT_EQ(page.value("arbor_store_commits_total"), 9);
  EXPECT_EQ(page.types.at("arbor_store_commits_total"), "counter");
  EXPECT_EQ(page.value("arbor_store_write_state"), 1) << "the disk is full";
  EXPECT_EQ(page.value("arbor_store_write_failures_total"), 3);
  EXPECT_EQ(page.types.at("arbor_store_write_failures_total"), "counter");
  EXPECT_DOUBLE_EQ(page.value("arbor_store_commit_p50_seconds"), 0.0005);
  EXPECT_DOUBLE_EQ(page.value("arbor_store_commit_p99_seconds"), 0.003);

  // The next scrape shows the present: a GPU now, the queue drained, tree "v" gone, "w" new.
  current.backend_kind = host::BackendKind::kCuda;
  current.stats.backend = "cuda (H200)";
  current.backend_fallback.clear();
  current.device_memory = host::DeviceMemory{1000, 4000};
  current.stats.trees[0].tree = "w";
  current.stats.trees[0].batcher.queued_writes = 0;
  page = scrape(*metrics);
  EXPECT_EQ(reads, 2);
  EXPECT_TRUE(page.problems.empty()) << page.problems.front();
  EXPECT_TRUE(page.has_line("arbor_backend_info{description=\"cuda (H200)\",kind=\"cuda\"} 1"));
  EXPECT_FALSE(page.has("arbor_backend_info{description=\"cpu (16 threads)\",kind=\"cpu\"}"));
  EXPECT_TRUE(page.has_line("arbor_backend_cpu_fallback 0"));
  EXPECT_EQ(page.value("arbor_gpu_memory_used_bytes"), 1000);
  EXPECT_EQ(page.value("arbor_gpu_memory_total_bytes"), 4000);
  EXPECT_EQ(page.value("arbor_queue_writes{scheme=\"verkle\",tree=\"w\"}"), 0);
  EXPECT_FALSE(page.has("arbor_queue_writes{scheme=\"verkle\",tree=\"v\"}"));

  // Detached (shutdown): not ready, no engine values, and the source is not called.
  metrics->set_snapshot_source({});
  page = scrape(*metrics);
  EXPECT_EQ(reads, 2);
  EXPECT_TRUE(page.has_line("arbor_ready 0"));
  EXPECT_FALSE(page.has("arbor_rocksdb_size_bytes"));
  metrics->set_engine(nullptr);
  EXPECT_TRUE(scrape(*metrics).has_line("arbor_ready 0"));
}

TEST(ServerMetrics, EveryFamilyOnceWithEventsAndEngineValues) {
  std::unique_ptr<ServerMetrics> metrics = make_metrics();
  ASSERT_NE(metrics, nullptr);
  // A series appears once it has a value: one event of each kind.
  metrics->rpc_observer()("Get", grpc::StatusCode::NOT_FOUND, 1, 0);
  metrics->rpc_observer()("Get", grpc::StatusCode::OK, 1, 1);
  service::EngineObserver observer = metrics->engine_observer();
  observer.on_batch(verkle_batch());
  observer.on_batch(smt_batch());
  service::BatchReport failed = smt_batch();
  failed.ok = false;
  observer.on_batch(failed);
  observer.on_proof({"v", "verkle", 1, 100, 1, true});
  observer.on_proof({"v", "verkle", 1, 100, 1, false});
  EngineSnapshot snap = snapshot();
  snap.device_memory = host::DeviceMemory{1, 2};
  metrics->set_snapshot_source([snap] { return std::optional<EngineSnapshot>(snap); });
  const Page page = scrape(*metrics);
  EXPECT_TRUE(page.problems.empty()) << page.problems.front();
  // The families host/service/README.md lists, each declared once.
  const std::set<std::string> expected = {
      "arbor_rpc_requests_total",
      "arbor_rpc_errors_total",
      "arbor_rpc_duration_seconds",
      "arbor_reads_total",
      "arbor_proofs_total",
      "arbor_writes_total",
      "arbor_write_ops_total",
      "arbor_versions_total",
      "arbor_failed_batches_total",
      "arbor_batch_writes",
      "arbor_batch_ops",
      "arbor_queue_wait_seconds",
      "arbor_apply_seconds",
      "arbor_read_seconds",
      "arbor_plan_seconds",
      "arbor_hash_seconds",
      "arbor_commit_seconds",
      "arbor_hashes_total",
      "arbor_commitment_updates_total",
      "arbor_proof_seconds",
      "arbor_proof_keys",
      "arbor_proof_bytes",
      "arbor_proof_failures_total",
      "arbor_queue_writes",
      "arbor_queue_ops",
      "arbor_overload_refusals_total",
      "arbor_queue_delay_refusals_total",
      "arbor_apply_ms_per_op",
      "arbor_tree_version",
      "arbor_tree_size",
      "arbor_open_transactions",
      "arbor_transaction_ops",
      "arbor_transactions_expired_total",
      "arbor_ready",
      "arbor_backend_info",
      "arbor_backend_cpu_fallback",
      "arbor_gpu_memory_used_bytes",
      "arbor_gpu_memory_total_bytes",
      "arbor_rocksdb_estimated_keys",
      "arbor_rocksdb_sst_bytes",
      "arbor_rocksdb_memtable_bytes",
      "arbor_rocksdb_size_bytes",
      "arbor_rocksdb_pending_compaction_bytes",
      "arbor_rocksdb_block_cache_usage_bytes",
      "arbor_rocksdb_block_cache_capacity_bytes",
      "arbor_store_commits_total",
      "arbor_store_records_committed_total",
      "arbor_store_rollbacks_total",
      "arbor_store_records_pruned_total",
      "arbor_store_commit_p50_seconds",
      "arbor_store_commit_p99_seconds",
      "arbor_store_write_state",
      "arbor_store_write_failures_total",
      "arbor_process_resident_memory_bytes",
      "arbor_process_start_time_seconds",
  };
  std::set<std::string> shown;
  for (const auto& [name, type] : page.types) shown.insert(name);
  EXPECT_EQ(shown, expected);
  for (const auto& [name, type] : page.types) {
    if (absl::EndsWith(name, "_total")) {
      EXPECT_EQ(type, "counter") << name;
    }
  }
}

TEST(ServerMetrics, ConcurrentObserversAndScrapesLoseNothing) {
  std::unique_ptr<ServerMetrics> metrics = make_metrics();
  ASSERT_NE(metrics, nullptr);
  RpcObserver rpc = metrics->rpc_observer();
  service::EngineObserver engine = metrics->engine_observer();
  metrics->set_snapshot_source([] { return std::optional<EngineSnapshot>(snapshot()); });
  constexpr int kThreads = 8;
  constexpr int kEach = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      service::BatchReport batch = verkle_batch();
      batch.tree = "t" + std::to_string(t % 2);
      for (int i = 0; i < kEach; ++i) {
        rpc("Get", grpc::StatusCode::OK, 0.1, 0);
        engine.on_batch(batch);
        engine.on_proof({batch.tree, "verkle", 1, 10, 0.1, true});
      }
    });
  }
  std::thread scraper([&] {
    for (int i = 0; i < 50; ++i)
      EXPECT_NE(metrics->render().find("arbor_ready 1"), std::string::npos);
  });
  for (std::thread& thread : threads) thread.join();
  scraper.join();
  const Page page = scrape(*metrics);
  EXPECT_TRUE(page.problems.empty()) << page.problems.front();
  EXPECT_EQ(page.value("arbor_rpc_requests_total{code=\"OK\",method=\"Get\"}"), kThreads * kEach);
  EXPECT_EQ(page.value("arbor_rpc_duration_seconds_count{method=\"Get\"}"), kThreads * kEach);
  const double per_tree = kThreads / 2 * kEach;
  EXPECT_EQ(page.value("arbor_versions_total{scheme=\"verkle\",tree=\"t0\"}"), per_tree);
  EXPECT_EQ(page.value("arbor_writes_total{outcome=\"applied\",scheme=\"verkle\",tree=\"t1\"}"),
            3 * per_tree);
  EXPECT_EQ(page.value("arbor_batch_ops_count{scheme=\"verkle\",tree=\"t1\"}"), per_tree);
  EXPECT_EQ(page.value("arbor_commit_seconds_count{scheme=\"verkle\"}"), kThreads * kEach);
  EXPECT_EQ(page.value("arbor_proof_keys_count{scheme=\"verkle\"}"), kThreads * kEach);
}

}  // namespace
}  // namespace arbor::rpc
