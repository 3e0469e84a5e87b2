#include "rpc/cli/smt_command.hpp"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "host/backend/compute_backend.hpp"
#include "host/smt/smt_proof_codec.hpp"
#include "host/smt/smt_tree.hpp"
#include "kernels/field/bn254_fr_text.hpp"
#include "nlohmann/json.hpp"
#include "rpc/cli/cli_support.hpp"
#include "rpc/cli/op_lines.hpp"
#include "rpc/server/wire.hpp"
#include "storage/store.hpp"

namespace arbor::cli {
namespace {

using field::Fr;

// Operations per message when an apply goes to a server as one streamed transaction.
constexpr std::uint64_t kDefaultChunkOps = 20'000;

struct SmtCliOptions {
  std::string data;
  std::string tree;
  int max_depth = smt::kDefaultMaxDepth;
  std::uint64_t keep_versions = 0;
  std::string file;
  std::string label;
  std::string backend = "auto";
  std::string sync = "full";
  std::vector<std::string> keys;
  std::string format = "json";
  int levels = 0;
  std::optional<std::uint64_t> version;
  std::string out;
  std::string root;
  std::string proof;
  std::uint64_t target_version = 0;
  bool compact = false;
  // Through a server instead of a data directory.
  ServerOptions server;
  bool json = false;
  std::string at_label;  // reads: the newest retained version with this label
  std::string to_label;  // rollback: to the newest version with this label
  std::optional<std::uint64_t> expected_version;
  bool progress = false;
  std::uint64_t chunk_ops = kDefaultChunkOps;
};

bool remote(const SmtCliOptions& options) { return !options.server.address.empty(); }

struct OpenTree {
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<host::ComputeBackend> backend;
  std::unique_ptr<smt::SmtTree> tree;
};

absl::StatusOr<OpenTree> open_tree(const SmtCliOptions& options, bool writable, bool create) {
  absl::StatusOr<OpenedStore> opened =
      open_data_dir(options.data, options.sync, options.backend, writable, create);
  if (!opened.ok()) return opened.status();
  absl::StatusOr<std::unique_ptr<smt::SmtTree>> tree =
      create ? smt::SmtTree::create(*opened->store, options.tree,
                                    smt::SmtCreateOptions{options.max_depth, options.keep_versions},
                                    *opened->backend)
             : smt::SmtTree::open(*opened->store, options.tree, *opened->backend);
  if (!tree.ok()) return tree.status();
  return OpenTree{std::move(opened->store), std::move(opened->backend), std::move(*tree)};
}

absl::StatusOr<Fr> parse_number(std::string_view text, std::string_view what) {
  absl::StatusOr<Fr> value = field::parse_fr(text);
  if (!value.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(what), ": ", std::string(value.status().message())));
  }
  return value;
}

void print_root(const SmtCliOptions& options, const Fr& root, std::uint64_t version) {
  if (options.json) {
    std::cout << nlohmann::json{{"root", field::to_hex(root)}, {"version", version}}.dump() << "\n";
  } else {
    std::cout << "root " << field::to_hex(root) << "\nversion " << version << "\n";
  }
}

struct VersionRoot {
  std::uint64_t version = 0;
  Fr root;
};

// The version a read names (--version, --at-label, else the head) and its root.
absl::StatusOr<VersionRoot> version_root(const storage::Store& store, const smt::SmtTree& tree,
                                         std::optional<std::uint64_t> version,
                                         const std::string& label) {
  if (!label.empty()) {
    absl::StatusOr<std::uint64_t> labelled = version_with_label(store, tree.name(), label);
    if (!labelled.ok()) return labelled.status();
    version = *labelled;
  }
  absl::StatusOr<storage::VersionRecord> record = tree.version_record(version);
  if (!record.ok()) return record.status();
  absl::StatusOr<Fr> root = tree.root(record->version);
  if (!root.ok()) return root.status();
  return VersionRoot{record->version, *root};
}

// --version / --at-label as the wire's selector.
void set_selector(const SmtCliOptions& options, v1::VersionSelector& selector) {
  if (!options.at_label.empty()) {
    selector.set_label(options.at_label);
  } else if (options.version) {
    selector.set_version(*options.version);
  }
}

absl::StatusOr<Fr> wire_field(const std::string& bytes, std::string_view what) {
  absl::StatusOr<Fr> value = rpc::field_from_wire(bytes, what);
  if (!value.ok()) {
    return absl::DataLossError(
        absl::StrCat("the server answered a malformed ", std::string(value.status().message())));
  }
  return value;
}

int run_create(const SmtCliOptions& options) {
  if (remote(options)) {
    absl::StatusOr<std::unique_ptr<rpc::ArborClient>> client = connect(options.server);
    if (!client.ok()) return status_exit(client.status());
    v1::CreateTreeRequest request;
    request.set_name(options.tree);
    request.set_scheme("smt");
    request.set_max_depth(static_cast<std::uint32_t>(std::max(options.max_depth, 0)));
    request.set_keep_versions(options.keep_versions);
    v1::TreeInfo info;
    grpc::ClientContext context;
    (*client)->prepare(context);
    if (grpc::Status status = (*client)->stub().CreateTree(&context, request, &info);
        !status.ok()) {
      return grpc_exit(status);
    }
    if (options.json) {
      std::cout << nlohmann::json{{"tree", options.tree},
                                  {"scheme", "smt"},
                                  {"max_depth", options.max_depth},
                                  {"server", (*client)->address()}}
                       .dump()
                << "\n";
    } else {
      std::cout << "created SMT \"" << options.tree << "\" (max depth " << options.max_depth
                << ") on " << (*client)->address() << "\n";
    }
    return kExitOk;
  }
  std::error_code ignored;
  const bool existed = std::filesystem::exists(options.data, ignored);
  absl::StatusOr<OpenTree> opened = open_tree(options, true, true);
  if (!opened.ok()) {
    // A refused create leaves no new, empty data directory behind.
    if (!existed) std::filesystem::remove_all(options.data, ignored);
    return status_exit(opened.status());
  }
  if (options.json) {
    std::cout << nlohmann::json{{"tree", options.tree},
                                {"scheme", "smt"},
                                {"max_depth", options.max_depth},
                                {"data", options.data}}
                     .dump()
              << "\n";
  } else {
    std::cout << "created SMT \"" << options.tree << "\" (max depth " << options.max_depth
              << ") in " << options.data << "\n";
  }
  return kExitOk;
}

// Small batches go as one Write; larger ones stream as one transaction in chunks (atomic either
// way), with a progress bar.
int apply_remote(const SmtCliOptions& options, const std::vector<smt::SmtOp>& ops) {
  absl::StatusOr<std::unique_ptr<rpc::ArborClient>> client = connect(options.server);
  if (!client.ok()) return status_exit(client.status());
  const std::uint64_t chunk = std::max<std::uint64_t>(options.chunk_ops, 1);
  v1::WriteResponse response;
  if (ops.size() <= chunk && !options.progress) {
    v1::WriteRequest request;
    request.set_tree(options.tree);
    ops_to_wire(ops, *request.mutable_ops());
    if (options.expected_version) request.set_expected_version(*options.expected_version);
    request.set_label(options.label);
    grpc::ClientContext context;
    (*client)->prepare(context);
    if (grpc::Status status = (*client)->stub().Write(&context, request, &response); !status.ok()) {
      return grpc_exit(status);
    }
  } else {
    ProgressBar progress("applying", ops.size(), options.progress);
    grpc::ClientContext context;
    (*client)->prepare(context);
    std::unique_ptr<grpc::ClientWriter<v1::TransactionRequest>> stream =
        (*client)->stub().Transaction(&context, &response);
    bool sent = true;
    for (std::uint64_t at = 0; sent && (at < ops.size() || at == 0); at += chunk) {
      const std::uint64_t end = std::min<std::uint64_t>(ops.size(), at + chunk);
      v1::TransactionRequest message;
      if (at == 0) message.set_tree(options.tree);
      ops_to_wire(std::span(ops).subspan(at, end - at), *message.mutable_ops());
      if (end == ops.size()) {
        message.set_commit(true);
        if (options.expected_version) message.set_expected_version(*options.expected_version);
        message.set_label(options.label);
      }
      sent = stream->Write(message);
      progress.update(end);
      if (end == ops.size()) break;
    }
    stream->WritesDone();
    if (grpc::Status status = stream->Finish(); !status.ok()) {
      progress.finish();
      return grpc_exit(status);
    }
    progress.finish();
  }
  absl::StatusOr<Fr> root = wire_field(response.root(), "root");
  if (!root.ok()) return status_exit(root.status());
  print_root(options, *root, response.version());
  return kExitOk;
}

int run_apply(const SmtCliOptions& options) {
  std::vector<smt::SmtOp> ops;
  if (int read = read_op_file(options.file, ops); read != kExitOk) return read;
  if (remote(options)) return apply_remote(options, ops);
  absl::StatusOr<OpenTree> opened = open_tree(options, true, false);
  if (!opened.ok()) return status_exit(opened.status());
  smt::ApplyOptions apply_options;
  apply_options.label = options.label;
  apply_options.expected_version = options.expected_version;
  absl::StatusOr<smt::ApplyResult> result = opened->tree->apply(ops, apply_options);
  if (!result.ok()) return status_exit(result.status());
  print_root(options, result->root, result->version);
  return kExitOk;
}

int run_root(const SmtCliOptions& options) {
  if (remote(options)) {
    absl::StatusOr<std::unique_ptr<rpc::ArborClient>> client = connect(options.server);
    if (!client.ok()) return status_exit(client.status());
    v1::GetTreeRequest request;
    request.set_tree(options.tree);
    set_selector(options, *request.mutable_at());
    v1::TreeInfo info;
    grpc::ClientContext context;
    (*client)->prepare(context);
    if (grpc::Status status = (*client)->stub().GetTree(&context, request, &info); !status.ok()) {
      return grpc_exit(status);
    }
    absl::StatusOr<Fr> root = wire_field(info.root(), "root");
    if (!root.ok()) return status_exit(root.status());
    print_root(options, *root, info.version());
    return kExitOk;
  }
  absl::StatusOr<OpenTree> opened = open_tree(options, false, false);
  if (!opened.ok()) return status_exit(opened.status());
  absl::StatusOr<VersionRoot> at =
      version_root(*opened->store, *opened->tree, options.version, options.at_label);
  if (!at.ok()) return status_exit(at.status());
  print_root(options, at->root, at->version);
  return kExitOk;
}

int print_value(const SmtCliOptions& options, const Fr& key, const std::optional<Fr>& value,
                std::uint64_t version) {
  if (options.json) {
    nlohmann::json out{
        {"key", field::to_hex(key)}, {"found", value.has_value()}, {"version", version}};
    if (value) out["value"] = field::to_hex(*value);
    std::cout << out.dump() << "\n";
    return value ? kExitOk : kExitRejected;
  }
  if (!value)
    return fail(kExitRejected, absl::StrCat("key ", field::to_hex(key), " is not in the tree"));
  std::cout << field::to_hex(*value) << "\n";
  return kExitOk;
}

int run_get(const SmtCliOptions& options) {
  absl::StatusOr<Fr> key = parse_number(options.keys.at(0), "key");
  if (!key.ok()) return fail(kExitRejected, key.status().message());
  if (remote(options)) {
    absl::StatusOr<std::unique_ptr<rpc::ArborClient>> client = connect(options.server);
    if (!client.ok()) return status_exit(client.status());
    v1::GetRequest request;
    request.set_tree(options.tree);
    request.set_key(rpc::field_to_wire(*key));
    set_selector(options, *request.mutable_at());
    v1::GetResponse response;
    grpc::ClientContext context;
    (*client)->prepare(context);
    if (grpc::Status status = (*client)->stub().Get(&context, request, &response); !status.ok()) {
      return grpc_exit(status);
    }
    std::optional<Fr> value;
    if (response.found()) {
      absl::StatusOr<Fr> got = wire_field(response.value(), "value");
      if (!got.ok()) return status_exit(got.status());
      value = *got;
    }
    return print_value(options, *key, value, response.version());
  }
  absl::StatusOr<OpenTree> opened = open_tree(options, false, false);
  if (!opened.ok()) return status_exit(opened.status());
  absl::StatusOr<VersionRoot> at =
      version_root(*opened->store, *opened->tree, options.version, options.at_label);
  if (!at.ok()) return status_exit(at.status());
  absl::StatusOr<std::optional<Fr>> value = opened->tree->get(*key, at->version);
  if (!value.ok()) return status_exit(value.status());
  return print_value(options, *key, *value, at->version);
}

// The proof bytes in the requested format.
absl::StatusOr<std::string> format_proof(
    const SmtCliOptions& options, smt::ProofFormat format,
    const std::variant<smt::SmtProof, smt::SmtMultiProof>& proof, const Fr& root) {
  if (const auto* single = std::get_if<smt::SmtProof>(&proof)) {
    switch (format) {
      case smt::ProofFormat::kBinary:
        return smt::encode_proof_binary(*single);
      case smt::ProofFormat::kJson:
        return smt::proof_to_json(*single, root).dump(2) + "\n";
      case smt::ProofFormat::kCircom: {
        absl::StatusOr<nlohmann::json> circom = smt::proof_to_circom(*single, root, options.levels);
        if (!circom.ok()) return circom.status();
        return circom->dump(2) + "\n";
      }
    }
  }
  const auto& multi = std::get<smt::SmtMultiProof>(proof);
  return format == smt::ProofFormat::kBinary ? smt::encode_multi_proof_binary(multi)
                                             : smt::multi_proof_to_json(multi, root).dump(2) + "\n";
}

int run_prove(const SmtCliOptions& options) {
  absl::StatusOr<smt::ProofFormat> format = smt::parse_proof_format(options.format);
  if (!format.ok()) return fail(kExitRejected, format.status().message());
  std::vector<Fr> keys;
  for (const std::string& text : options.keys) {
    absl::StatusOr<Fr> key = parse_number(text, "key");
    if (!key.ok()) return fail(kExitRejected, key.status().message());
    keys.push_back(*key);
  }
  if (*format == smt::ProofFormat::kCircom) {
    if (keys.size() != 1) return fail(kExitRejected, "the circom format proves one key");
    if (options.levels < 1) return fail(kExitRejected, "the circom format needs --levels N");
  } else if (options.levels != 0) {
    return fail(kExitRejected, "--levels applies to the circom format only");
  }
  std::variant<smt::SmtProof, smt::SmtMultiProof> proof;
  Fr root;
  if (remote(options)) {
    absl::StatusOr<std::unique_ptr<rpc::ArborClient>> client = connect(options.server);
    if (!client.ok()) return status_exit(client.status());
    v1::ProveRequest request;
    request.set_tree(options.tree);
    for (const Fr& key : keys) request.add_keys(rpc::field_to_wire(key));
    set_selector(options, *request.mutable_at());
    v1::ProveResponse response;
    grpc::ClientContext context;
    (*client)->prepare(context);
    if (grpc::Status status = (*client)->stub().Prove(&context, request, &response); !status.ok()) {
      return grpc_exit(status);
    }
    absl::StatusOr<Fr> wire_root = wire_field(response.root(), "root");
    if (!wire_root.ok()) return status_exit(wire_root.status());
    root = *wire_root;
    // Decoded with the same checks as any untrusted proof.
    absl::StatusOr<smt::DecodedProof> decoded = smt::decode_any_proof(response.proof());
    if (!decoded.ok()) {
      return fail(kExitFailure, absl::StrCat("the server answered a malformed proof: ",
                                             std::string(decoded.status().message())));
    }
    proof = std::move(decoded->proof);
  } else {
    absl::StatusOr<OpenTree> opened = open_tree(options, false, false);
    if (!opened.ok()) return status_exit(opened.status());
    absl::StatusOr<VersionRoot> at =
        version_root(*opened->store, *opened->tree, options.version, options.at_label);
    if (!at.ok()) return status_exit(at.status());
    root = at->root;
    if (keys.size() == 1) {
      absl::StatusOr<smt::SmtProof> single = opened->tree->prove(keys[0], at->version);
      if (!single.ok()) return status_exit(single.status());
      proof = std::move(*single);
    } else {
      absl::StatusOr<smt::SmtMultiProof> multi = opened->tree->prove_many(keys, at->version);
      if (!multi.ok()) return status_exit(multi.status());
      proof = std::move(*multi);
    }
  }
  absl::StatusOr<std::string> bytes = format_proof(options, *format, proof, root);
  if (!bytes.ok()) return status_exit(bytes.status());
  return write_whole_output(options.out, *bytes);
}

int print_verdict(const SmtCliOptions& options, bool valid, const std::string& format,
                  const std::string& claim_or_reason) {
  if (options.json) {
    nlohmann::json out{{"valid", valid}};
    if (!format.empty()) out["format"] = format;
    out[valid ? "claim" : "reason"] = claim_or_reason;
    std::cout << out.dump() << "\n";
  } else if (valid) {
    std::cout << "valid (" << format << "): " << claim_or_reason << "\n";
  } else {
    std::cout << "invalid: " << claim_or_reason << "\n";
  }
  return valid ? kExitOk : kExitRejected;
}

int run_verify(const SmtCliOptions& options) {
  absl::StatusOr<Fr> root = parse_number(options.root, "--root");
  if (!root.ok()) return fail(kExitFailure, root.status().message());
  absl::StatusOr<std::string> read = read_whole_input(options.proof);
  if (!read.ok()) return fail(kExitFailure, read.status().message());
  const std::string& bytes = *read;
  absl::StatusOr<smt::DecodedProof> decoded = smt::decode_any_proof(bytes);
  if (!decoded.ok())
    return print_verdict(options, false, "", std::string(decoded.status().message()));
  std::string claim;
  if (const auto* single = std::get_if<smt::SmtProof>(&decoded->proof)) {
    claim = single->existence ? absl::StrCat("key ", field::to_hex(single->key), " = ",
                                             field::to_hex(single->value))
                              : absl::StrCat("key ", field::to_hex(single->key), " absent");
  } else {
    claim = absl::StrCat(std::get<smt::SmtMultiProof>(decoded->proof).entries.size(), " keys");
  }
  if (remote(options)) {
    // The server's verifier decides; the claim is what this proof says.
    absl::StatusOr<std::unique_ptr<rpc::ArborClient>> client = connect(options.server);
    if (!client.ok()) return status_exit(client.status());
    v1::VerifyRequest request;
    request.set_proof(bytes);
    request.set_root(rpc::field_to_wire(*root));
    v1::VerifyResponse response;
    grpc::ClientContext context;
    (*client)->prepare(context);
    if (grpc::Status status = (*client)->stub().Verify(&context, request, &response);
        !status.ok()) {
      if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
        return print_verdict(options, false, "", status.error_message());
      }
      return grpc_exit(status);
    }
    return print_verdict(options, response.valid(), response.format(),
                         response.valid() ? claim : response.reason());
  }
  if (absl::Status verdict = smt::verify_decoded(*root, *decoded); !verdict.ok()) {
    return print_verdict(options, false, "", std::string(verdict.message()));
  }
  return print_verdict(options, true, std::string(smt::to_string(decoded->format)), claim);
}

int run_rollback(const SmtCliOptions& options) {
  if (options.to_label.empty() && !options.version) {
    return fail(kExitRejected, "rollback needs a VERSION or --to-label LABEL");
  }
  if (!options.to_label.empty() && options.version) {
    return fail(kExitRejected, "give a VERSION or --to-label, not both");
  }
  if (remote(options)) {
    absl::StatusOr<std::unique_ptr<rpc::ArborClient>> client = connect(options.server);
    if (!client.ok()) return status_exit(client.status());
    v1::RollbackRequest request;
    request.set_tree(options.tree);
    if (!options.to_label.empty()) {
      request.mutable_to()->set_label(options.to_label);
    } else {
      request.mutable_to()->set_version(*options.version);
    }
    v1::TreeInfo info;
    grpc::ClientContext context;
    (*client)->prepare(context);
    if (grpc::Status status = (*client)->stub().Rollback(&context, request, &info); !status.ok()) {
      return grpc_exit(status);
    }
    absl::StatusOr<Fr> root = wire_field(info.root(), "root");
    if (!root.ok()) return status_exit(root.status());
    print_root(options, *root, info.version());
    return kExitOk;
  }
  absl::StatusOr<OpenTree> opened = open_tree(options, true, false);
  if (!opened.ok()) return status_exit(opened.status());
  absl::StatusOr<VersionRoot> target =
      version_root(*opened->store, *opened->tree, options.version, options.to_label);
  if (!target.ok()) return status_exit(target.status());
  absl::StatusOr<storage::TreeInfo> info = opened->tree->rollback(target->version);
  if (!info.ok()) return status_exit(info.status());
  absl::StatusOr<VersionRoot> at =
      version_root(*opened->store, *opened->tree, info->head_version, "");
  if (!at.ok()) return status_exit(at.status());
  print_root(options, at->root, at->version);
  return kExitOk;
}

int run_prune(const SmtCliOptions& options) {
  storage::PruneResult pruned;
  if (remote(options)) {
    absl::StatusOr<std::unique_ptr<rpc::ArborClient>> client = connect(options.server);
    if (!client.ok()) return status_exit(client.status());
    v1::PruneRequest request;
    request.set_tree(options.tree);
    request.set_oldest_version(options.target_version);
    request.set_compact(options.compact);
    v1::PruneResponse response;
    grpc::ClientContext context;
    (*client)->prepare(context);
    if (grpc::Status status = (*client)->stub().Prune(&context, request, &response); !status.ok()) {
      return grpc_exit(status);
    }
    pruned.oldest_version = response.oldest_version();
    pruned.versions_dropped = response.versions_dropped();
    pruned.records_deleted = response.records_deleted();
  } else {
    absl::StatusOr<OpenTree> opened = open_tree(options, true, false);
    if (!opened.ok()) return status_exit(opened.status());
    absl::StatusOr<storage::PruneResult> done =
        opened->tree->prune(options.target_version, options.compact);
    if (!done.ok()) return status_exit(done.status());
    pruned = *done;
  }
  if (options.json) {
    std::cout << nlohmann::json{{"oldest_version", pruned.oldest_version},
                                {"versions_dropped", pruned.versions_dropped},
                                {"records_deleted", pruned.records_deleted}}
                     .dump()
              << "\n";
  } else {
    std::cout << "oldest version " << pruned.oldest_version << "\nversions dropped "
              << pruned.versions_dropped << "\nrecords deleted " << pruned.records_deleted << "\n";
  }
  return kExitOk;
}

void add_tree_options(CLI::App* command, SmtCliOptions& options) {
  command->add_option("--data", options.data, "Data directory (embedded RocksDB)");
  add_server_options(command, options.server, false);
  command->add_option("--tree", options.tree, "Tree name")->required();
  command->add_flag("--json", options.json, "Print JSON");
}

void add_version_option(CLI::App* command, SmtCliOptions& options) {
  command->add_option("--version", options.version, "A retained version (default: the head)");
  command->add_option("--at-label", options.at_label,
                      "The newest retained version written with this label");
}

}  // namespace

void add_smt_command(CLI::App& app, int& exit_code) {
  CLI::App* smt = app.add_subcommand(
      "smt",
      "The Poseidon sparse Merkle tree (iden3/circomlib-compatible), on a data directory "
      "(--data DIR) or through arbord (--server HOST:PORT), with the same output. Keys and "
      "values are decimal or 0x-hex numbers < p; roots print as 0x + 64 hex digits.");
  smt->require_subcommand(1);
  auto options = std::make_shared<SmtCliOptions>();
  // Commands on a tree need exactly one of --data and --server.
  auto run = [options, &exit_code](int (*command)(const SmtCliOptions&)) {
    return [options, &exit_code, command] {
      if (options->data.empty() == options->server.address.empty()) {
        exit_code =
            fail(kExitRejected, options->data.empty() ? "give --data DIR or --server HOST:PORT"
                                                      : "give --data or --server, not both");
        return;
      }
      exit_code = command(*options);
    };
  };
  auto run_anywhere = [options, &exit_code](int (*command)(const SmtCliOptions&)) {
    return [options, &exit_code, command] { exit_code = command(*options); };
  };

  CLI::App* create = smt->add_subcommand("create", "Create an empty tree");
  add_tree_options(create, *options);
  create->add_option("--max-depth", options->max_depth, "Deepest level a leaf may sit at, 1..254")
      ->capture_default_str();
  create->add_option("--keep-versions", options->keep_versions, "Versions kept readable (0 = all)")
      ->capture_default_str();
  create->callback(run(run_create));

  CLI::App* apply = smt->add_subcommand(
      "apply",
      "Apply `put KEY VALUE` / `del KEY` lines as one new version; prints the root and version");
  add_tree_options(apply, *options);
  apply->add_option("--file", options->file, "Input file (default and '-': stdin)");
  apply->add_option("--label", options->label, "Label stored with the version (e.g. a block)");
  apply->add_option("--expected-version", options->expected_version,
                    "Refuse (exit 1, nothing applied) unless the tree is at this version");
  apply->add_flag("--progress", options->progress,
                  "--server: stream in chunks with a progress bar (rate, ETA) on stderr");
  apply
      ->add_option("--chunk-ops", options->chunk_ops,
                   "--server: operations per message; larger inputs stream as one transaction")
      ->capture_default_str();
  apply->add_option("--backend", options->backend, "Compute backend: auto, cpu or cuda")
      ->capture_default_str();
  apply->add_option("--sync", options->sync, "Durability: full, async or none")
      ->capture_default_str();
  apply->callback(run(run_apply));

  CLI::App* root = smt->add_subcommand("root", "Print the root and version");
  add_tree_options(root, *options);
  add_version_option(root, *options);
  root->callback(run(run_root));

  CLI::App* get = smt->add_subcommand("get", "Print a key's value (exit 1 when absent)");
  add_tree_options(get, *options);
  get->add_option("key", options->keys, "Key")->required()->expected(1);
  add_version_option(get, *options);
  get->callback(run(run_get));

  CLI::App* prove =
      smt->add_subcommand("prove", "Prove one key (or several: one multi-proof) present or absent");
  add_tree_options(prove, *options);
  prove->add_option("keys", options->keys, "Key(s)")->required();
  prove->add_option("--format", options->format, "binary, json or circom")->capture_default_str();
  prove->add_option("--levels", options->levels, "circom: the circuit's nLevels");
  prove->add_option("--out", options->out, "Write the proof here (default: stdout)");
  add_version_option(prove, *options);
  prove->callback(run(run_prove));

  CLI::App* verify = smt->add_subcommand(
      "verify",
      "Check a proof file (binary, JSON or circom; detected) against a root, without a tree. "
      "Exit 0 valid, 1 invalid, 2 error");
  verify->add_option("--root", options->root, "The root, decimal or 0x-hex")->required();
  verify->add_option("--proof", options->proof, "Proof file ('-' = stdin)")->required();
  add_server_options(verify, options->server, false);
  verify->add_flag("--json", options->json, "Print JSON");
  verify->callback(run_anywhere(run_verify));

  CLI::App* rollback =
      smt->add_subcommand("rollback", "Make a retained version the head, dropping later ones");
  add_tree_options(rollback, *options);
  rollback->add_option("version", options->version, "Version");
  rollback->add_option("--to-label", options->to_label,
                       "Roll back to the newest retained version with this label");
  rollback->callback(run(run_rollback));

  CLI::App* prune = smt->add_subcommand("prune", "Drop the versions below a version");
  add_tree_options(prune, *options);
  prune->add_option("version", options->target_version, "The new oldest version")->required();
  prune->add_flag("--compact", options->compact, "Also compact, returning the space now");
  prune->callback(run(run_prune));
}

}  // namespace arbor::cli
