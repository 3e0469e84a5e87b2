// arbord's Prometheus metrics: RPCs, applied versions (batch sizes, commit and hash latency),
// queues, trees, the backend, the GPU and RocksDB. Served as text on /metrics.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "host/metrics/metrics.hpp"
#include "host/service/engine.hpp"
#include "rpc/server/arbor_service.hpp"

namespace arbor::rpc {

class ServerMetrics {
 public:
  static absl::StatusOr<std::unique_ptr<ServerMetrics>> create();
  ServerMetrics() = default;  // metrics are registered by create()

  RpcObserver rpc_observer();
  service::BatchObserver batch_observer();
  // Values read at scrape time come from the engine once it is open; nullptr detaches it.
  void set_engine(service::Engine* engine) { engine_.store(engine); }

  std::string render() const { return registry_.render(); }

 private:
  absl::Status register_all();
  void collect(metrics::CollectorSink& sink) const;

  metrics::Registry registry_;
  std::atomic<service::Engine*> engine_{nullptr};
  metrics::CounterFamily* rpcs_ = nullptr;
  metrics::CounterFamily* rpc_errors_ = nullptr;
  metrics::HistogramFamily* rpc_seconds_ = nullptr;
  metrics::CounterFamily* reads_ = nullptr;
  metrics::CounterFamily* proofs_ = nullptr;
  metrics::CounterFamily* writes_ = nullptr;
  metrics::CounterFamily* write_ops_ = nullptr;
  metrics::CounterFamily* versions_ = nullptr;
  metrics::CounterFamily* failed_batches_ = nullptr;
  metrics::HistogramFamily* batch_writes_ = nullptr;
  metrics::HistogramFamily* batch_ops_ = nullptr;
  metrics::HistogramFamily* queue_wait_seconds_ = nullptr;
  metrics::HistogramFamily* apply_seconds_ = nullptr;
  metrics::HistogramFamily* commit_seconds_ = nullptr;
  metrics::HistogramFamily* hash_seconds_ = nullptr;
  metrics::CounterFamily* hashes_ = nullptr;
};

}  // namespace arbor::rpc
