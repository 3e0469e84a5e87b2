#include "rpc/server/server_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <unistd.h>

#include <chrono>
#include <exception>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string_view>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace arbor::rpc {
namespace {

using prometheus::Labels;

// The RPCs counted in arbor_reads_total when answered.
const std::set<std::string_view> kReadMethods = {"Get",     "GetMany",   "Prove", "Scan",
                                                 "GetTree", "ListTrees", "Verify"};

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

// prometheus-cpp 1.0 has no bucket helpers.
prometheus::Histogram::BucketBoundaries exponential_buckets(double start, double factor,
                                                            int count) {
  prometheus::Histogram::BucketBoundaries bounds;
  for (double bound = start; count-- > 0; bound *= factor) bounds.push_back(bound);
  return bounds;
}

// Seconds from 50 µs to ~100 s: single writes on a GPU node to bulk loads.
const prometheus::Histogram::BucketBoundaries& seconds_buckets() {
  static const auto* const kBounds =
      new prometheus::Histogram::BucketBoundaries(exponential_buckets(50e-6, 2.5, 17));
  return *kBounds;
}
// Writes, operations or keys: 1 to ~4M.
const prometheus::Histogram::BucketBoundaries& count_buckets() {
  static const auto* const kBounds =
      new prometheus::Histogram::BucketBoundaries(exponential_buckets(1, 4, 12));
  return *kBounds;
}
// Proof sizes: 64 B to ~256 MiB.
const prometheus::Histogram::BucketBoundaries& byte_buckets() {
  static const auto* const kBounds =
      new prometheus::Histogram::BucketBoundaries(exponential_buckets(64, 4, 12));
  return *kBounds;
}

std::string slurp(const char* path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Resident set size from /proc/self/statm (pages); nullopt where /proc cannot say.
std::optional<double> resident_memory_bytes() {
  std::istringstream statm(slurp("/proc/self/statm"));
  std::uint64_t size_pages = 0;
  std::uint64_t resident_pages = 0;
  if (!(statm >> size_pages >> resident_pages)) return std::nullopt;
  return static_cast<double>(resident_pages) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

// When this process started, in seconds since the epoch: its start in clock ticks after boot
// (/proc/self/stat field 22) plus the boot time (/proc/stat btime). The time of the call where
// /proc cannot say; called once, at start-up.
double process_start_time_seconds() {
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const std::string stat = slurp("/proc/self/stat");
  const std::size_t comm_end = stat.rfind(')');  // the command name may hold spaces
  if (comm_end == std::string::npos) return now;
  std::istringstream fields(stat.substr(comm_end + 1));
  std::string starttime;
  for (int field = 3; field <= 22; ++field) fields >> starttime;  // fields 3.. follow the name
  std::uint64_t start_ticks = 0;
  if (!fields || !absl::SimpleAtoi(starttime, &start_ticks)) return now;
  std::istringstream proc_stat(slurp("/proc/stat"));
  for (std::string line; std::getline(proc_stat, line);) {
    std::uint64_t boot = 0;
    if (line.rfind("btime ", 0) == 0 && absl::SimpleAtoi(line.substr(6), &boot)) {
      return static_cast<double>(boot) +
             static_cast<double>(start_ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
    }
  }
  return now;
}

// Scrape-time samples, gathered into families by name in order of first use.
class ScrapeFamilies {
 public:
  explicit ScrapeFamilies(std::vector<prometheus::MetricFamily>& out) : out_(out) {}

  void gauge(const std::string& name, const std::string& help, double value,
             const Labels& labels = {}) {
    add(name, help, prometheus::MetricType::Gauge, labels).gauge.value = value;
  }
  void counter(const std::string& name, const std::string& help, double value,
               const Labels& labels = {}) {
    add(name, help, prometheus::MetricType::Counter, labels).counter.value = value;
  }

 private:
  prometheus::ClientMetric& add(const std::string& name, const std::string& help,
                                prometheus::MetricType type, const Labels& labels) {
    prometheus::MetricFamily* family = nullptr;
    for (std::size_t i = first_; i < out_.size(); ++i) {
      if (out_[i].name == name) family = &out_[i];
    }
    if (family == nullptr)
      family = &out_.emplace_back(prometheus::MetricFamily{name, help, type, {}});
    prometheus::ClientMetric& metric = family->metric.emplace_back();
    for (const auto& [label, value] : labels) metric.label.push_back({label, value});  // sorted
    return metric;
  }

  std::vector<prometheus::MetricFamily>& out_;
  const std::size_t first_ = out_.size();  // the registry's families come before ours
};

double to_seconds(double ms) { return ms / 1000.0; }

}  // namespace

EngineSnapshot snapshot_of(const service::Engine& engine) {
  EngineSnapshot snapshot;
  snapshot.stats = engine.stats();
  const host::ComputeBackend& backend = engine.backend();
  snapshot.backend_kind = backend.kind();
  snapshot.backend_fallback = backend.fallback_reason();
  snapshot.backend_faults = backend.faults();
  snapshot.device_memory = backend.device_memory();
  snapshot.store_health = engine.store_health();
  return snapshot;
}

struct ServerMetrics::Families {
  prometheus::Registry registry;
  const double start_time = process_start_time_seconds();

  template <typename T>
  static prometheus::Family<T>& build(prometheus::detail::Builder<T> builder,
                                      prometheus::Registry& registry, const std::string& name,
                                      const std::string& help) {
    return builder.Name(name).Help(help).Register(registry);
  }
  prometheus::Family<prometheus::Counter>& counter(const std::string& name,
                                                   const std::string& help) {
    return build(prometheus::BuildCounter(), registry, name, help);
  }
  prometheus::Family<prometheus::Histogram>& histogram(const std::string& name,
                                                       const std::string& help) {
    return build(prometheus::BuildHistogram(), registry, name, help);
  }

  // RPCs: {method, code} or {method}.
  prometheus::Family<prometheus::Counter>& rpcs =
      counter("arbor_rpc_requests_total", "RPCs answered, by method and code");
  prometheus::Family<prometheus::Counter>& rpc_errors =
      counter("arbor_rpc_errors_total", "RPCs answered with an error, by method and code");
  prometheus::Family<prometheus::Histogram>& rpc_seconds =
      histogram("arbor_rpc_duration_seconds", "RPC latency, by method");
  prometheus::Family<prometheus::Counter>& reads =
      counter("arbor_reads_total", "Reads answered, by method");
  prometheus::Family<prometheus::Counter>& proofs =
      counter("arbor_proofs_total", "Proofs returned by RPCs, by method");

  // Applied versions, per tree: {scheme, tree}.
  prometheus::Family<prometheus::Counter>& writes =
      counter("arbor_writes_total", "Writes (atomic requests) applied, by tree and outcome");
  prometheus::Family<prometheus::Counter>& write_ops =
      counter("arbor_write_ops_total", "Operations applied, by tree");
  prometheus::Family<prometheus::Counter>& versions =
      counter("arbor_versions_total", "Tree versions committed, by tree");
  prometheus::Family<prometheus::Counter>& failed_batches =
      counter("arbor_failed_batches_total",
              "Version attempts that failed (their writes were refused or retried one by one)");
  prometheus::Family<prometheus::Histogram>& batch_writes =
      histogram("arbor_batch_writes", "Writes coalesced into one version, by tree");
  prometheus::Family<prometheus::Histogram>& batch_ops =
      histogram("arbor_batch_ops", "Operations in one version, by tree");
  prometheus::Family<prometheus::Counter>& hashes =
      counter("arbor_hashes_total", "Poseidon hashes computed (smt), by kind and tree");
  prometheus::Family<prometheus::Counter>& commitment_updates =
      counter("arbor_commitment_updates_total",
              "Commitment deltas applied (verkle fixed-base multiplications), by tree");

  // Phases of one version, per scheme: {scheme}.
  prometheus::Family<prometheus::Histogram>& queue_wait_seconds =
      histogram("arbor_queue_wait_seconds",
                "Time the first write of a version waited in the queue, by scheme");
  prometheus::Family<prometheus::Histogram>& apply_seconds = histogram(
      "arbor_apply_seconds", "Time to apply one version (read, plan, compute, commit), by scheme");
  prometheus::Family<prometheus::Histogram>& read_seconds =
      histogram("arbor_read_seconds", "Reading the paths one version touches, by scheme");
  prometheus::Family<prometheus::Histogram>& plan_seconds =
      histogram("arbor_plan_seconds", "Planning the changed nodes of one version, by scheme");
  prometheus::Family<prometheus::Histogram>& hash_seconds =
      histogram("arbor_hash_seconds",
                "Backend compute of one version: Poseidon hashing (smt) or commitment math "
                "(verkle), by scheme");
  prometheus::Family<prometheus::Histogram>& commit_seconds = histogram(
      "arbor_commit_seconds", "Store commit of one version (durable per the sync mode), by scheme");

  // Proofs made for reads and writes: {scheme}.
  prometheus::Family<prometheus::Histogram>& proof_seconds =
      histogram("arbor_proof_seconds", "Time to make one proof, by scheme");
  prometheus::Family<prometheus::Histogram>& proof_keys =
      histogram("arbor_proof_keys", "Keys proved by one proof, by scheme");
  prometheus::Family<prometheus::Histogram>& proof_bytes =
      histogram("arbor_proof_bytes", "Size of one proof in bytes, by scheme");
  prometheus::Family<prometheus::Counter>& proof_failures =
      counter("arbor_proof_failures_total", "Proofs that could not be made, by scheme");

  void observe_rpc(std::string_view method, grpc::StatusCode code, double elapsed_ms,
                   std::uint64_t proof_count) {
    const std::string method_name(method);
    const Labels by_code = {{"method", method_name}, {"code", code_name(code)}};
    const Labels by_method = {{"method", method_name}};
    rpcs.Add(by_code).Increment();
    if (code != grpc::StatusCode::OK) rpc_errors.Add(by_code).Increment();
    rpc_seconds.Add(by_method, seconds_buckets()).Observe(to_seconds(elapsed_ms));
    if (proof_count > 0) proofs.Add(by_method).Increment(static_cast<double>(proof_count));
    if (code == grpc::StatusCode::OK && kReadMethods.count(method))
      reads.Add(by_method).Increment();
  }

  void observe_batch(const service::BatchReport& report) {
    const Labels tree = {{"scheme", report.scheme}, {"tree", report.tree}};
    if (!report.ok) {
      failed_batches.Add(tree).Increment();
      return;
    }
    Labels applied = tree;
    applied["outcome"] = "applied";
    writes.Add(applied).Increment(report.writes);
    write_ops.Add(tree).Increment(static_cast<double>(report.ops));
    versions.Add(tree).Increment();
    batch_writes.Add(tree, count_buckets()).Observe(report.writes);
    batch_ops.Add(tree, count_buckets()).Observe(static_cast<double>(report.ops));

    const tree::ApplyStats& stats = report.stats;
    // Series of one scheme's work only: a Verkle tree gets no Poseidon series, an SMT none of
    // commitment deltas.
    if (stats.leaf_hashes > 0) {
      hashes.Add({{"kind", "leaf"}, {"tree", report.tree}})
          .Increment(static_cast<double>(stats.leaf_hashes));
    }
    if (stats.node_hashes > 0) {
      hashes.Add({{"kind", "node"}, {"tree", report.tree}})
          .Increment(static_cast<double>(stats.node_hashes));
    }
    if (stats.commitment_deltas > 0) {
      commitment_updates.Add({{"tree", report.tree}})
          .Increment(static_cast<double>(stats.commitment_deltas));
    }

    const Labels scheme = {{"scheme", report.scheme}};
    queue_wait_seconds.Add(scheme, seconds_buckets()).Observe(to_seconds(report.queue_wait_ms));
    apply_seconds.Add(scheme, seconds_buckets()).Observe(to_seconds(report.apply_ms));
    read_seconds.Add(scheme, seconds_buckets()).Observe(to_seconds(stats.read_ms));
    plan_seconds.Add(scheme, seconds_buckets()).Observe(to_seconds(stats.plan_ms));
    hash_seconds.Add(scheme, seconds_buckets()).Observe(to_seconds(stats.compute_ms));
    commit_seconds.Add(scheme, seconds_buckets()).Observe(to_seconds(stats.commit_ms));
  }

  void observe_proof(const service::ProofReport& report) {
    const Labels scheme = {{"scheme", report.scheme}};
    if (!report.ok) {
      proof_failures.Add(scheme).Increment();
      return;
    }
    proof_seconds.Add(scheme, seconds_buckets()).Observe(to_seconds(report.ms));
    proof_keys.Add(scheme, count_buckets()).Observe(static_cast<double>(report.keys));
    proof_bytes.Add(scheme, byte_buckets()).Observe(static_cast<double>(report.bytes));
  }

  void collect_process(ScrapeFamilies& out) const {
    if (std::optional<double> rss = resident_memory_bytes()) {
      out.gauge("arbor_process_resident_memory_bytes", "Resident memory of the arbord process",
                *rss);
    }
    out.gauge("arbor_process_start_time_seconds",
              "Start time of the arbord process, in seconds since the epoch", start_time);
  }

  static void collect_engine(const EngineSnapshot& snapshot, ScrapeFamilies& out) {
    const service::EngineStats& stats = snapshot.stats;
    out.gauge("arbor_backend_info", "The compute backend in use (value 1)", 1,
              {{"kind", snapshot.backend_kind == host::BackendKind::kCuda ? "cuda" : "cpu"},
               {"description", stats.backend}});
    out.gauge("arbor_backend_cpu_fallback",
              "1 when --backend auto found no usable GPU and runs on the CPU (the log says why)",
              snapshot.backend_fallback.empty() ? 0 : 1);
    if (snapshot.backend_faults) {
      out.counter("arbor_backend_jobs_redone_on_cpu_total",
                  "GPU jobs that failed and were redone on the CPU (same results)",
                  static_cast<double>(snapshot.backend_faults->jobs_redone_on_cpu));
      out.gauge("arbor_backend_switched_to_cpu",
                "1 after a sticky GPU error moved every job to the CPU until restart",
                snapshot.backend_faults->switched_to_cpu ? 1 : 0);
    }
    const absl::StatusCode store_state = snapshot.store_health.code();
    out.gauge("arbor_store_write_state",
              "0: the store takes writes; 1: the disk is full (writes resume when space returns); "
              "2: a write failed and only a restart clears it (/healthz says why)",
              store_state == absl::StatusCode::kOk                  ? 0
              : store_state == absl::StatusCode::kResourceExhausted ? 1
                                                                    : 2);
    out.counter("arbor_store_write_failures_total",
                "Writes the disk refused (full, failed fsync, read-only, ...)",
                static_cast<double>(stats.store.write_failures));
    if (snapshot.device_memory) {
      out.gauge("arbor_gpu_memory_used_bytes", "GPU memory in use (whole device)",
                static_cast<double>(snapshot.device_memory->used_bytes));
      out.gauge("arbor_gpu_memory_total_bytes", "GPU memory (whole device)",
                static_cast<double>(snapshot.device_memory->total_bytes));
    }
    for (const service::TreeCounters& tree : stats.trees) {
      const Labels labels = {{"scheme", tree.scheme}, {"tree", tree.tree}};
      out.gauge("arbor_tree_version", "Head version, by tree", static_cast<double>(tree.version),
                labels);
      out.gauge("arbor_tree_size", "Keys in the tree at the head, by tree",
                static_cast<double>(tree.size), labels);
      out.gauge("arbor_queue_writes", "Writes waiting in the tree's queue",
                static_cast<double>(tree.batcher.queued_writes), labels);
      out.gauge("arbor_queue_ops", "Operations waiting in the tree's queue",
                static_cast<double>(tree.batcher.queued_ops), labels);
      out.counter("arbor_overload_refusals_total",
                  "Writes refused with RESOURCE_EXHAUSTED because the tree's queue was full "
                  "(by count or by expected delay)",
                  static_cast<double>(tree.batcher.refused_overload), labels);
      out.counter("arbor_queue_delay_refusals_total",
                  "Of those, refused because the queue held more than max_queue_delay_ms of work",
                  static_cast<double>(tree.batcher.refused_queue_delay), labels);
      out.gauge("arbor_apply_ms_per_op",
                "Measured worker cost per queued operation (recent versions, proofs included)",
                tree.batcher.apply_ms_per_op, labels);
    }
    out.gauge("arbor_open_transactions", "Transactions begun and not yet committed or aborted",
              static_cast<double>(stats.open_transactions));
    out.gauge("arbor_transaction_ops", "Operations buffered in open transactions",
              static_cast<double>(stats.transaction_ops));
    out.counter("arbor_transactions_expired_total", "Transactions discarded after their timeout",
                static_cast<double>(stats.transactions_expired));

    const storage::StoreStats& store = stats.store;
    double sst_total = 0;
    for (const storage::FamilyStats& family : store.families) {
      const Labels labels = {{"family", family.name}};
      out.gauge("arbor_rocksdb_estimated_keys", "RocksDB estimate of keys, by column family",
                static_cast<double>(family.estimated_keys), labels);
      out.gauge("arbor_rocksdb_sst_bytes", "Size of SST files, by column family",
                static_cast<double>(family.sst_bytes), labels);
      out.gauge("arbor_rocksdb_memtable_bytes", "Size of memtables, by column family",
                static_cast<double>(family.memtable_bytes), labels);
      sst_total += static_cast<double>(family.sst_bytes);
    }
    out.gauge("arbor_rocksdb_size_bytes",
              "Size of the SST files of every column family (the store on disk, without the WAL)",
              sst_total);
    out.gauge("arbor_rocksdb_pending_compaction_bytes", "Bytes RocksDB estimates it must compact",
              static_cast<double>(store.pending_compaction_bytes));
    out.gauge("arbor_rocksdb_block_cache_usage_bytes", "Block cache in use",
              static_cast<double>(store.block_cache_usage));
    out.gauge("arbor_rocksdb_block_cache_capacity_bytes", "Block cache capacity",
              static_cast<double>(store.block_cache_capacity));
    out.counter("arbor_store_commits_total", "Store commits (one per version)",
                static_cast<double>(store.commits));
    out.counter("arbor_store_records_committed_total", "Records written by store commits",
                static_cast<double>(store.records_committed));
    out.counter("arbor_store_rollbacks_total", "Rollbacks", static_cast<double>(store.rollbacks));
    out.counter("arbor_store_records_pruned_total", "Records deleted by pruning and retention",
                static_cast<double>(store.records_pruned));
    out.gauge("arbor_store_commit_p50_seconds", "Median store commit latency (recent commits)",
              store.commit_latency.p50_us / 1e6);
    out.gauge("arbor_store_commit_p99_seconds",
              "99th percentile store commit latency (recent commits)",
              store.commit_latency.p99_us / 1e6);
  }
};

namespace {

void collect_replication(const replication::ReplicaStatus& status, ScrapeFamilies& out) {
  for (const replication::ReplicaState state :
       {replication::ReplicaState::kCatchingUp, replication::ReplicaState::kLeading,
        replication::ReplicaState::kFollowing, replication::ReplicaState::kFailed}) {
    out.gauge("arbor_replication_state",
              "1 for this node's replication state: catching-up, leading, following or failed "
              "(failed: the log and this store disagree; /healthz says why)",
              status.state == state ? 1 : 0,
              {{"state", std::string(replication::to_string(state))}});
  }
  out.gauge("arbor_replication_log_position",
            "The replication log sequence this store holds everything up to",
            static_cast<double>(status.position));
  out.gauge("arbor_replication_log_last_sequence",
            "The log's last sequence as this node last saw it (a leader: its last append)",
            static_cast<double>(status.log_last));
  out.counter("arbor_replication_entries_applied_total",
              "Log entries this node applied from the log (following, catching up)",
              static_cast<double>(status.entries_applied));
  out.counter("arbor_replication_entries_appended_total",
              "Log entries this node appended while leading",
              static_cast<double>(status.entries_appended));
  out.counter("arbor_replication_entries_abandoned_total",
              "Partial entries of fenced leaders skipped while reading the log",
              static_cast<double>(status.entries_abandoned));
  out.gauge("arbor_replication_unreplicated_entries",
            "Changes committed and acknowledged here (ack = \"leader\") that the log does not "
            "have yet",
            static_cast<double>(status.unreplicated));
  out.counter("arbor_replication_entries_discarded_total",
              "Such changes rolled back because another node's log entries followed instead "
              "(acknowledged writes lost in a failover)",
              static_cast<double>(status.entries_discarded));
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServerMetrics>> ServerMetrics::create() {
  // prometheus-cpp reports bad or clashing names by throwing; turn that into a Status here.
  try {
    return std::unique_ptr<ServerMetrics>(new ServerMetrics(std::make_unique<Families>()));
  } catch (const std::exception& error) {
    return absl::InternalError(absl::StrCat("registering metrics: ", error.what()));
  }
}

ServerMetrics::ServerMetrics(std::unique_ptr<Families> families) : families_(std::move(families)) {}

ServerMetrics::~ServerMetrics() = default;

RpcObserver ServerMetrics::rpc_observer() {
  return [families = families_.get()](std::string_view method, grpc::StatusCode code,
                                      double elapsed_ms, std::uint64_t proofs) {
    families->observe_rpc(method, code, elapsed_ms, proofs);
  };
}

service::EngineObserver ServerMetrics::engine_observer() {
  service::EngineObserver observer;
  observer.on_batch = [families = families_.get()](const service::BatchReport& report) {
    families->observe_batch(report);
  };
  observer.on_proof = [families = families_.get()](const service::ProofReport& report) {
    families->observe_proof(report);
  };
  return observer;
}

void ServerMetrics::set_engine(service::Engine* engine) {
  {
    std::lock_guard lock(scrape_mutex_);
    health_source_ = {};
    if (engine != nullptr) {
      health_source_ = [engine] {
        HealthDetail detail;
        detail.backend_fallback = engine->backend().fallback_reason();
        detail.store = engine->store_health();
        return detail;
      };
    }
  }
  if (engine == nullptr) {
    set_snapshot_source({});
    return;
  }
  set_snapshot_source([engine]() -> std::optional<EngineSnapshot> { return snapshot_of(*engine); });
}

void ServerMetrics::set_snapshot_source(SnapshotSource source) {
  std::lock_guard lock(scrape_mutex_);
  source_ = std::move(source);
}

std::string ServerMetrics::render() const {
  std::lock_guard lock(scrape_mutex_);
  std::vector<prometheus::MetricFamily> families = families_->registry.Collect();
  ScrapeFamilies scraped(families);
  std::optional<EngineSnapshot> snapshot;
  if (source_) snapshot = source_();
  scraped.gauge("arbor_ready", "1 once the store is open and the backend is up", snapshot ? 1 : 0);
  families_->collect_process(scraped);
  if (snapshot) Families::collect_engine(*snapshot, scraped);
  if (replicator_ != nullptr) collect_replication(replicator_->status(), scraped);
  return prometheus::TextSerializer().Serialize(families);
}

ServerMetrics::HealthDetail ServerMetrics::health_detail() const {
  std::lock_guard lock(scrape_mutex_);
  HealthDetail detail = health_source_ ? health_source_() : HealthDetail{};
  if (replicator_ != nullptr) detail.replication = replicator_->status();
  return detail;
}

void ServerMetrics::set_replicator(const replication::Replicator* replicator) {
  std::lock_guard lock(scrape_mutex_);
  replicator_ = replicator;
}

}  // namespace arbor::rpc
