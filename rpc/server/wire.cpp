#include "rpc/server/wire.hpp"

#include "absl/strings/str_cat.h"
#include "host/smt/smt_proof_codec.hpp"
#include "kernels/field/bn254_fr_text.hpp"

namespace arbor::rpc {

absl::StatusOr<smt::Fr> field_from_wire(std::string_view bytes, std::string_view field) {
  if (bytes.size() != kFieldBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(field), ": ", bytes.size(), " bytes, expected 32 (big-endian)"));
  }
  absl::StatusOr<smt::Fr> value =
      field::from_bytes_be(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  if (!value.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(field), ": ", std::string(value.status().message())));
  }
  return value;
}

std::string field_to_wire(const smt::Fr& value) {
  const auto bytes = field::to_bytes_be(value);
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

absl::StatusOr<std::vector<smt::SmtOp>> ops_from_wire(
    const google::protobuf::RepeatedPtrField<v1::Op>& ops, std::string_view field) {
  std::vector<smt::SmtOp> decoded;
  decoded.reserve(ops.size());
  for (int i = 0; i < ops.size(); ++i) {
    const v1::Op& op = ops[i];
    const std::string at = absl::StrCat(std::string(field), "[", i, "]");
    absl::StatusOr<smt::Fr> key = field_from_wire(op.key(), absl::StrCat(at, ".key"));
    if (!key.ok()) return key.status();
    switch (op.kind()) {
      case v1::OP_KIND_PUT: {
        absl::StatusOr<smt::Fr> value = field_from_wire(op.value(), absl::StrCat(at, ".value"));
        if (!value.ok()) return value.status();
        decoded.push_back(smt::SmtOp::put(*key, *value));
        break;
      }
      case v1::OP_KIND_DELETE:
        if (!op.value().empty()) {
          return absl::InvalidArgumentError(absl::StrCat(at, ".value: a delete carries no value"));
        }
        decoded.push_back(smt::SmtOp::erase(*key));
        break;
      default:
        return absl::InvalidArgumentError(absl::StrCat(at, ".kind: ", static_cast<int>(op.kind()),
                                                       " is not OP_KIND_PUT or OP_KIND_DELETE"));
    }
  }
  return decoded;
}

absl::StatusOr<service::VersionSelector> selector_from_wire(const v1::VersionSelector& selector,
                                                            std::string_view field) {
  service::VersionSelector decoded;
  switch (selector.selector_case()) {
    case v1::VersionSelector::kVersion:
      decoded.version = selector.version();
      break;
    case v1::VersionSelector::kLabel:
      if (absl::Status label =
              check_label(selector.label(), absl::StrCat(std::string(field), ".label"));
          !label.ok()) {
        return label;
      }
      decoded.label = selector.label();
      break;
    case v1::VersionSelector::SELECTOR_NOT_SET:
      break;
  }
  return decoded;
}

absl::Status check_label(std::string_view label, std::string_view field) {
  if (label.size() > kMaxLabelBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(field), ": ", label.size(), " bytes, at most ", kMaxLabelBytes));
  }
  return absl::OkStatus();
}

absl::Status check_tree_name(std::string_view tree, std::string_view field) {
  if (tree.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(field), ": a tree name is required"));
  }
  return absl::OkStatus();
}

void summary_to_wire(const service::TreeSummary& summary, v1::TreeInfo& out) {
  out.set_name(summary.info.name);
  out.set_scheme(summary.info.scheme);
  out.set_params_json(summary.info.params);
  out.set_version(summary.at.version);
  out.set_root(field_to_wire(summary.root));
  out.set_size(summary.at.entry_count);
  out.set_oldest_version(summary.info.oldest_version);
  out.set_keep_versions(summary.info.keep_versions);
  out.set_label(summary.at.label);
  out.set_created_unix_ms(summary.info.created_unix_ms);
  out.set_committed_unix_ms(summary.at.committed_unix_ms);
}

void outcome_to_wire(const service::WriteOutcome& outcome, v1::WriteResponse& out) {
  out.set_version(outcome.version);
  out.set_root(field_to_wire(outcome.root));
  out.set_size(outcome.size);
  out.set_coalesced_writes(outcome.coalesced_writes);
  for (const service::KeyProof& proof : outcome.proofs) {
    v1::KeyProof* wire = out.add_proofs();
    wire->set_key(field_to_wire(proof.proof.key));
    wire->set_exists(proof.proof.existence);
    if (proof.proof.existence) wire->set_value(field_to_wire(proof.proof.value));
    wire->set_proof(smt::encode_proof_binary(proof.proof));
  }
}

grpc::Status to_grpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

absl::Status from_grpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

}  // namespace arbor::rpc
