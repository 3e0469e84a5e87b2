// arbord's Prometheus metrics, on prometheus-cpp: RPCs, applied versions (batch sizes and the
// duration of each phase, per scheme), proofs, queues, trees, the backend (and CPU fallbacks), the
// GPU, RocksDB and the process. Served as text on /metrics (see host/service/README.md).
//
// Events (RPCs, batches, proofs) update prometheus-cpp families as they happen; values that live
// elsewhere (queue depths, heads, RocksDB, memory) are read at render() time, so a scrape always
// shows the present and an idle server costs nothing between scrapes.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "host/backend/compute_backend.hpp"
#include "host/replication/replicator.hpp"
#include "host/service/engine.hpp"
#include "rpc/server/arbor_service.hpp"

namespace arbor::rpc {

// What a scrape reads from the engine, taken once per scrape.
struct EngineSnapshot {
  service::EngineStats stats;  // stats.backend is the backend's description
  host::BackendKind backend_kind = host::BackendKind::kCpu;
  std::string backend_fallback;  // why the CPU serves though a GPU was wanted; empty otherwise
  std::optional<host::BackendFaults> backend_faults;
  std::optional<host::DeviceMemory> device_memory;
  absl::Status store_health;  // service::Engine::store_health()
};

// Reads a snapshot of an open engine.
EngineSnapshot snapshot_of(const service::Engine& engine);

class ServerMetrics {
 public:
  // Registers every family; an error if prometheus-cpp refuses one (a bad or clashing name).
  static absl::StatusOr<std::unique_ptr<ServerMetrics>> create();
  ~ServerMetrics();
  ServerMetrics(const ServerMetrics&) = delete;
  ServerMetrics& operator=(const ServerMetrics&) = delete;

  // Both are thread-safe and keep a pointer to this object, which must outlive their users.
  RpcObserver rpc_observer();
  service::EngineObserver engine_observer();

  // Scrape-time values come from the engine once it is open; nullptr detaches it. Waits for a
  // scrape in progress, so once set_engine(nullptr) returns the engine may be destroyed.
  void set_engine(service::Engine* engine);
  // The same from any source (tests). An empty source, or one answering nullopt, means not ready
  // (arbor_ready 0, no engine values).
  using SnapshotSource = std::function<std::optional<EngineSnapshot>()>;
  void set_snapshot_source(SnapshotSource source);

  // The text exposition format 0.0.4. Scrapes are serialized.
  std::string render() const;
  // For /healthz, without gathering the store's statistics; empty before the engine is open.
  struct HealthDetail {
    std::string backend_fallback;  // why the CPU serves though a GPU was wanted; empty if not
    absl::Status store;            // service::Engine::store_health()
    std::optional<replication::ReplicaStatus> replication;  // when this node replicates
  };
  HealthDetail health_detail() const;

  // Replication's state for /metrics and /healthz (arbor_replication_*); nullptr detaches it, and
  // once that returns the replicator may be destroyed.
  void set_replicator(const replication::Replicator* replicator);

 private:
  struct Families;  // the prometheus-cpp registry and families, kept out of this header
  explicit ServerMetrics(std::unique_ptr<Families> families);

  std::unique_ptr<Families> families_;
  mutable std::mutex scrape_mutex_;  // one render at a time; guards source_
  SnapshotSource source_;
  // Set with the engine: what /healthz asks, not a snapshot.
  std::function<HealthDetail()> health_source_;          // guarded by scrape_mutex_
  const replication::Replicator* replicator_ = nullptr;  // guarded by scrape_mutex_
};

}  // namespace arbor::rpc
