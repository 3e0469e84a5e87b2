// The arbor.v1.Arbor gRPC service on top of a service::Engine.
//
// The service exists before the engine is ready (health NOT_SERVING, every RPC UNAVAILABLE), so
// that the port answers while a large store opens. Requests are decoded and checked here; the
// engine sees only well-formed operations.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "arbor/v1/arbor.grpc.pb.h"
#include "host/service/engine.hpp"
#include "host/service/service_config.hpp"

namespace arbor::rpc {

// Called once per finished RPC, for metrics: `proofs` counts the proofs it returned.
using RpcObserver = std::function<void(std::string_view method, grpc::StatusCode code,
                                       double elapsed_ms, std::uint64_t proofs)>;

class ArborService final : public v1::Arbor::Service {
 public:
  ArborService(service::AuthConfig auth, RpcObserver observer = {});

  // The engine stays owned by the caller and must outlive every RPC; nullptr means not ready.
  void set_engine(service::Engine* engine) { engine_.store(engine); }
  // Ends every WatchVersions stream (they would otherwise hold shutdown for its whole grace).
  void begin_shutdown() { stopping_.store(true); }

  grpc::Status CreateTree(grpc::ServerContext* context, const v1::CreateTreeRequest* request,
                          v1::TreeInfo* response) override;
  grpc::Status ListTrees(grpc::ServerContext* context, const v1::ListTreesRequest* request,
                         v1::ListTreesResponse* response) override;
  grpc::Status GetTree(grpc::ServerContext* context, const v1::GetTreeRequest* request,
                       v1::TreeInfo* response) override;
  grpc::Status Write(grpc::ServerContext* context, const v1::WriteRequest* request,
                     v1::WriteResponse* response) override;
  grpc::Status StreamWrite(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::StreamWriteResponse, v1::StreamWriteRequest>* stream) override;
  grpc::Status BeginTx(grpc::ServerContext* context, const v1::BeginTxRequest* request,
                       v1::BeginTxResponse* response) override;
  grpc::Status AddToTx(grpc::ServerContext* context, const v1::AddToTxRequest* request,
                       v1::AddToTxResponse* response) override;
  grpc::Status CommitTx(grpc::ServerContext* context, const v1::CommitTxRequest* request,
                        v1::WriteResponse* response) override;
  grpc::Status AbortTx(grpc::ServerContext* context, const v1::AbortTxRequest* request,
                       v1::AbortTxResponse* response) override;
  grpc::Status Transaction(grpc::ServerContext* context,
                           grpc::ServerReader<v1::TransactionRequest>* reader,
                           v1::WriteResponse* response) override;
  grpc::Status Get(grpc::ServerContext* context, const v1::GetRequest* request,
                   v1::GetResponse* response) override;
  grpc::Status GetMany(grpc::ServerContext* context, const v1::GetManyRequest* request,
                       v1::GetManyResponse* response) override;
  grpc::Status Prove(grpc::ServerContext* context, const v1::ProveRequest* request,
                     v1::ProveResponse* response) override;
  grpc::Status Verify(grpc::ServerContext* context, const v1::VerifyRequest* request,
                      v1::VerifyResponse* response) override;
  grpc::Status Scan(grpc::ServerContext* context, const v1::ScanRequest* request,
                    v1::ScanResponse* response) override;
  grpc::Status WatchVersions(grpc::ServerContext* context, const v1::WatchVersionsRequest* request,
                             grpc::ServerWriter<v1::VersionEvent>* writer) override;
  grpc::Status Rollback(grpc::ServerContext* context, const v1::RollbackRequest* request,
                        v1::TreeInfo* response) override;
  grpc::Status Prune(grpc::ServerContext* context, const v1::PruneRequest* request,
                     v1::PruneResponse* response) override;
  grpc::Status Checkpoint(grpc::ServerContext* context, const v1::CheckpointRequest* request,
                          v1::CheckpointResponse* response) override;
  grpc::Status Stats(grpc::ServerContext* context, const v1::StatsRequest* request,
                     v1::StatsResponse* response) override;

 private:
  enum class Access { kRead, kWrite };
  // The engine when ready and the caller may do `access`; else the status to answer with.
  absl::StatusOr<service::Engine*> admit(const grpc::ServerContext& context, Access access,
                                         std::string_view method) const;
  grpc::Status finish(std::string_view method, std::chrono::steady_clock::time_point started,
                      const absl::Status& status, std::uint64_t proofs = 0) const;

  std::atomic<service::Engine*> engine_{nullptr};
  std::atomic<bool> stopping_{false};
  const service::AuthConfig auth_;
  RpcObserver observer_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace arbor::rpc
