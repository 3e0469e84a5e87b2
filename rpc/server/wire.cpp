#include "rpc/server/wire.hpp"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace arbor::rpc {

absl::StatusOr<smt::Fr> field_from_wire(std::string_view bytes, std::string_view field) {
  return smt::wire_fr(bytes, field);
}

std::string field_to_wire(const smt::Fr& value) { return smt::fr_bytes(value); }

absl::StatusOr<std::vector<tree::Op>> ops_from_wire(
    const google::protobuf::RepeatedPtrField<v1::Op>& ops, std::string_view field) {
  std::vector<tree::Op> decoded;
  decoded.reserve(ops.size());
  for (int i = 0; i < ops.size(); ++i) {
    const v1::Op& op = ops[i];
    switch (op.kind()) {
      case v1::OP_KIND_PUT:
        decoded.push_back(tree::Op::put(op.key(), op.value()));
        break;
      case v1::OP_KIND_DELETE:
        decoded.push_back(tree::Op{tree::Op::Kind::kDelete, op.key(), op.value()});
        break;
      default:
        return absl::InvalidArgumentError(absl::StrCat(std::string(field), "[", i,
                                                       "].kind: ", static_cast<int>(op.kind()),
                                                       " is not OP_KIND_PUT or OP_KIND_DELETE"));
    }
  }
  return decoded;
}

std::vector<std::string> keys_from_wire(
    const google::protobuf::RepeatedPtrField<std::string>& keys) {
  return std::vector<std::string>(keys.begin(), keys.end());
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

namespace {

// A scheme stores its parameters as it likes (smt: JSON; verkle: a format name); the wire always
// carries JSON.
std::string params_json(const std::string& stored) {
  const nlohmann::json parsed = nlohmann::json::parse(stored, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object()) return parsed.dump();
  return nlohmann::json{{"format", stored}}.dump();
}

}  // namespace

void summary_to_wire(const service::TreeSummary& summary, v1::TreeInfo& out) {
  out.set_name(summary.info.name);
  out.set_scheme(summary.info.scheme);
  out.set_params_json(params_json(summary.info.params));
  out.set_version(summary.at.version);
  out.set_root(summary.at.root);
  out.set_size(summary.at.entry_count);
  out.set_oldest_version(summary.info.oldest_version);
  out.set_keep_versions(summary.info.keep_versions);
  out.set_label(summary.at.label);
  out.set_created_unix_ms(summary.info.created_unix_ms);
  out.set_committed_unix_ms(summary.at.committed_unix_ms);
}

void outcome_to_wire(const service::WriteOutcome& outcome, v1::WriteResponse& out) {
  out.set_version(outcome.version.version);
  out.set_root(outcome.version.root);
  out.set_size(outcome.version.entry_count);
  out.set_committed_unix_ms(outcome.version.committed_unix_ms);
  out.set_label(outcome.version.label);
  out.set_coalesced_writes(outcome.coalesced_writes);
  out.set_replayed(outcome.replayed);
  for (const tree::WrittenKey& key : outcome.proofs.keys) {
    v1::KeyProof* wire = out.add_proofs();
    wire->set_key(key.key);
    wire->set_exists(key.value.has_value());
    if (key.value) wire->set_value(*key.value);
    wire->set_proof(key.proof);
  }
  if (outcome.proofs.combined) {
    out.set_proof(outcome.proofs.combined->bytes);
    out.set_proof_format(outcome.proofs.combined->format);
  }
}

void version_to_wire(const storage::VersionRecord& version, bool rolled_back,
                     v1::VersionEvent& out) {
  out.set_version(version.version);
  out.set_root(version.root);
  out.set_label(version.label);
  out.set_committed_unix_ms(version.committed_unix_ms);
  out.set_size(version.entry_count);
  out.set_rolled_back(rolled_back);
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
