#include "rpc/server/server_metrics.hpp"

#include <set>

#include "absl/strings/str_cat.h"

namespace arbor::rpc {
namespace {

const std::set<std::string_view> kReadMethods = {"Get", "Prove", "GetTree", "ListTrees", "Verify"};

std::string code_name(grpc::StatusCode code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  const int index = static_cast<int>(code);
  if (index >= 0 && index < static_cast<int>(std::size(kNames))) return kNames[index];
  return absl::StrCat(index);
}

template <typename T>
absl::Status take(absl::StatusOr<T*> made, T*& into) {
  if (!made.ok()) return made.status();
  into = *made;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServerMetrics>> ServerMetrics::create() {
  auto made = std::make_unique<ServerMetrics>();
  if (absl::Status registered = made->register_all(); !registered.ok()) return registered;
  return made;
}

absl::Status ServerMetrics::register_all() {
  metrics::Registry& r = registry_;
  // Seconds from 50 µs to ~100 s: single writes on a GPU node to bulk loads.
  const std::vector<double> seconds = metrics::exponential_buckets(50e-6, 2.5, 17);
  const std::vector<double> counts = metrics::exponential_buckets(1, 4, 12);
  for (absl::Status status : {
           take(r.counter_family("arbor_rpc_requests_total", "RPCs answered, by method and code",
                                 {"method", "code"}),
                rpcs_),
           take(r.counter_family("arbor_rpc_errors_total", "RPCs answered with an error",
                                 {"method", "code"}),
                rpc_errors_),
           take(r.histogram_family("arbor_rpc_duration_seconds", "RPC latency, by method",
                                   {"method"}, seconds),
                rpc_seconds_),
           take(r.counter_family("arbor_reads_total", "Reads answered, by method", {"method"}),
                reads_),
           take(r.counter_family("arbor_proofs_total", "Proofs returned, by method", {"method"}),
                proofs_),
           take(r.counter_family("arbor_writes_total",
                                 "Writes (atomic requests) applied, by tree and outcome",
                                 {"tree", "outcome"}),
                writes_),
           take(r.counter_family("arbor_write_ops_total", "Operations applied, by tree", {"tree"}),
                write_ops_),
           take(r.counter_family("arbor_versions_total", "Tree versions committed, by tree",
                                 {"tree"}),
                versions_),
           take(r.counter_family("arbor_failed_batches_total",
                                 "Version attempts that failed (their writes were refused or "
                                 "retried one by one)",
                                 {"tree"}),
                failed_batches_),
           take(r.histogram_family("arbor_batch_writes", "Writes coalesced into one version", {},
                                   counts),
                batch_writes_),
           take(r.histogram_family("arbor_batch_ops", "Operations in one version", {}, counts),
                batch_ops_),
           take(r.histogram_family("arbor_queue_wait_seconds",
                                   "Time the first write of a version waited in the queue", {},
                                   seconds),
                queue_wait_seconds_),
           take(r.histogram_family("arbor_apply_seconds",
                                   "Time to apply one version: read, plan, hash, commit", {},
                                   seconds),
                apply_seconds_),
           take(r.histogram_family("arbor_commit_seconds",
                                   "Store commit of one version (durable per the sync mode)", {},
                                   seconds),
                commit_seconds_),
           take(r.histogram_family("arbor_hash_seconds",
                                   "Backend hashing of one version (all levels)", {}, seconds),
                hash_seconds_),
           take(r.counter_family("arbor_hashes_total", "Poseidon hashes computed, by kind",
                                 {"kind"}),
                hashes_),
       }) {
    if (!status.ok()) return status;
  }
  registry_.add_collector([this](metrics::CollectorSink& sink) { collect(sink); });
  return absl::OkStatus();
}

RpcObserver ServerMetrics::rpc_observer() {
  return [this](std::string_view method, grpc::StatusCode code, double elapsed_ms,
                std::uint64_t proofs) {
    const std::string code_text = code_name(code);
    rpcs_->with({method, code_text}).inc();
    if (code != grpc::StatusCode::OK) rpc_errors_->with({method, code_text}).inc();
    rpc_seconds_->with({method}).observe(elapsed_ms / 1000.0);
    if (proofs > 0) proofs_->with({method}).inc(proofs);
    if (code == grpc::StatusCode::OK && kReadMethods.count(method)) reads_->with({method}).inc();
  };
}

service::BatchObserver ServerMetrics::batch_observer() {
  return [this](const service::BatchReport& report) {
    if (!report.ok) {
      failed_batches_->with({report.tree}).inc();
      return;
    }
    writes_->with({report.tree, "applied"}).inc(report.writes);
    write_ops_->with({report.tree}).inc(report.ops);
    versions_->with({report.tree}).inc();
    batch_writes_->with({}).observe(report.writes);
    batch_ops_->with({}).observe(static_cast<double>(report.ops));
    queue_wait_seconds_->with({}).observe(report.queue_wait_ms / 1000.0);
    apply_seconds_->with({}).observe(report.apply_ms / 1000.0);
    commit_seconds_->with({}).observe(report.stats.commit_ms / 1000.0);
    hash_seconds_->with({}).observe(report.stats.hash_ms / 1000.0);
    hashes_->with({"leaf"}).inc(report.stats.leaf_hashes);
    hashes_->with({"node"}).inc(report.stats.node_hashes);
  };
}

void ServerMetrics::collect(metrics::CollectorSink& sink) const {
  service::Engine* engine = engine_.load();
  sink.gauge("arbor_ready", "1 once the store is open and the backend is up",
             engine != nullptr ? 1 : 0);
  if (engine == nullptr) return;
  const service::EngineStats stats = engine->stats();
  const host::ComputeBackend& backend = engine->backend();
  sink.gauge("arbor_backend_info", "The compute backend in use (value 1)", 1,
             {{"kind", backend.kind() == host::BackendKind::kCuda ? "cuda" : "cpu"},
              {"description", stats.backend}});
  if (std::optional<host::DeviceMemory> memory = backend.device_memory()) {
    sink.gauge("arbor_gpu_memory_used_bytes", "GPU memory in use (whole device)",
               static_cast<double>(memory->used_bytes));
    sink.gauge("arbor_gpu_memory_total_bytes", "GPU memory (whole device)",
               static_cast<double>(memory->total_bytes));
  }
  for (const service::TreeCounters& tree : stats.trees) {
    const metrics::Labels labels = {{"tree", tree.tree}};
    sink.gauge("arbor_tree_version", "Head version", static_cast<double>(tree.version), labels);
    sink.gauge("arbor_tree_size", "Keys in the tree at the head", static_cast<double>(tree.size),
               labels);
    sink.gauge("arbor_queue_writes", "Writes waiting in the tree's queue",
               static_cast<double>(tree.batcher.queued_writes), labels);
    sink.gauge("arbor_queue_ops", "Operations waiting in the tree's queue",
               static_cast<double>(tree.batcher.queued_ops), labels);
    sink.counter("arbor_overload_refusals_total",
                 "Writes refused with RESOURCE_EXHAUSTED because the queue was full",
                 static_cast<double>(tree.batcher.refused_overload), labels);
  }
  sink.gauge("arbor_open_transactions", "Transactions begun and not yet committed or aborted",
             static_cast<double>(stats.open_transactions));
  sink.gauge("arbor_transaction_ops", "Operations buffered in open transactions",
             static_cast<double>(stats.transaction_ops));
  sink.counter("arbor_transactions_expired_total", "Transactions discarded after their timeout",
               static_cast<double>(stats.transactions_expired));

  const storage::StoreStats& store = stats.store;
  for (const storage::FamilyStats& family : store.families) {
    const metrics::Labels labels = {{"family", family.name}};
    sink.gauge("arbor_rocksdb_estimated_keys", "RocksDB estimate of keys, by column family",
               static_cast<double>(family.estimated_keys), labels);
    sink.gauge("arbor_rocksdb_sst_bytes", "Size of SST files, by column family",
               static_cast<double>(family.sst_bytes), labels);
    sink.gauge("arbor_rocksdb_memtable_bytes", "Size of memtables, by column family",
               static_cast<double>(family.memtable_bytes), labels);
  }
  sink.gauge("arbor_rocksdb_pending_compaction_bytes", "Bytes RocksDB estimates it must compact",
             static_cast<double>(store.pending_compaction_bytes));
  sink.gauge("arbor_rocksdb_block_cache_usage_bytes", "Block cache in use",
             static_cast<double>(store.block_cache_usage));
  sink.gauge("arbor_rocksdb_block_cache_capacity_bytes", "Block cache capacity",
             static_cast<double>(store.block_cache_capacity));
  sink.counter("arbor_store_commits_total", "Store commits (one per version)",
               static_cast<double>(store.commits));
  sink.counter("arbor_store_records_committed_total", "Records written by store commits",
               static_cast<double>(store.records_committed));
  sink.counter("arbor_store_rollbacks_total", "Rollbacks", static_cast<double>(store.rollbacks));
  sink.counter("arbor_store_records_pruned_total", "Records deleted by pruning and retention",
               static_cast<double>(store.records_pruned));
  sink.gauge("arbor_store_commit_p50_seconds", "Median store commit latency (recent commits)",
             store.commit_latency.p50_us / 1e6);
  sink.gauge("arbor_store_commit_p99_seconds", "99th percentile store commit latency",
             store.commit_latency.p99_us / 1e6);
}

}  // namespace arbor::rpc
