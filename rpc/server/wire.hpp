// Wire forms of arbor.v1 (see rpc/arbor/v1/arbor.proto) to and from the engine's types. Every
// decoder names the offending field in its INVALID_ARGUMENT message.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "arbor/v1/arbor.pb.h"
#include "grpcpp/support/status.h"
#include "host/service/engine.hpp"
#include "host/smt/smt_records.hpp"

namespace arbor::rpc {

inline constexpr size_t kMaxLabelBytes = 1024;
inline constexpr size_t kFieldBytes = 32;

// An SMT field element's wire form (32 bytes, big-endian, below p), for SMT clients and tests.
absl::StatusOr<smt::Fr> field_from_wire(std::string_view bytes, std::string_view field);
std::string field_to_wire(const smt::Fr& value);

// The operations' kinds are checked here; their keys and values by the tree's scheme (engine).
absl::StatusOr<std::vector<tree::Op>> ops_from_wire(
    const google::protobuf::RepeatedPtrField<v1::Op>& ops, std::string_view field);
std::vector<std::string> keys_from_wire(
    const google::protobuf::RepeatedPtrField<std::string>& keys);
absl::StatusOr<service::VersionSelector> selector_from_wire(const v1::VersionSelector& selector,
                                                            std::string_view field);
absl::Status check_label(std::string_view label, std::string_view field);
absl::Status check_tree_name(std::string_view tree, std::string_view field);

void summary_to_wire(const service::TreeSummary& summary, v1::TreeInfo& out);
void outcome_to_wire(const service::WriteOutcome& outcome, v1::WriteResponse& out);
void version_to_wire(const storage::VersionRecord& version, bool rolled_back,
                     v1::VersionEvent& out);

// absl and gRPC share the canonical status codes.
grpc::Status to_grpc(const absl::Status& status);
absl::Status from_grpc(const grpc::Status& status);

}  // namespace arbor::rpc
