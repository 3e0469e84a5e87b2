#include "rpc/cli/smt_command.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "host/backend/compute_backend.hpp"
#include "host/smt/smt_proof_codec.hpp"
#include "host/smt/smt_tree.hpp"
#include "kernels/field/bn254_fr_text.hpp"
#include "storage/store.hpp"

namespace arbor::cli {
namespace {

using field::Fr;

constexpr int kExitOk = 0;
constexpr int kExitRejected = 1;
constexpr int kExitFailure = 2;
constexpr int kMaxReportedErrors = 20;

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
};

int fail(int code, absl::string_view message) {
  std::cerr << "arbor: " << std::string(message) << "\n";
  return code;
}

// Errors a caller could fix by changing the request exit 1; the rest (I/O, corruption) 2.
int status_exit(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
      return fail(kExitRejected, status.message());
    default:
      return fail(kExitFailure, status.message());
  }
}

struct OpenTree {
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<host::ComputeBackend> backend;
  std::unique_ptr<smt::SmtTree> tree;
};

absl::StatusOr<OpenTree> open_tree(const SmtCliOptions& options, bool writable, bool create) {
  OpenTree opened;
  absl::StatusOr<storage::SyncMode> sync = storage::parse_sync_mode(options.sync);
  if (!sync.ok()) return sync.status();
  storage::StoreOptions store_options;
  store_options.sync = *sync;
  // Only `create` may make a data directory: a mistyped --data elsewhere is an error.
  store_options.create_if_missing = create;
  absl::StatusOr<std::unique_ptr<storage::Store>> store =
      writable ? storage::Store::open(options.data, store_options)
               : storage::Store::open_read_only(options.data, store_options);
  if (!store.ok()) {
    // Not the caller's request but the data directory: report it as "could not run".
    return absl::UnavailableError(std::string(store.status().message()));
  }
  opened.store = std::move(*store);
  if (writable) {
    absl::StatusOr<host::BackendChoice> choice = host::parse_backend_choice(options.backend);
    if (!choice.ok()) return choice.status();
    absl::StatusOr<std::unique_ptr<host::ComputeBackend>> backend = host::make_backend(*choice);
    if (!backend.ok()) return backend.status();
    opened.backend = std::move(*backend);
  } else {
    // Reads hash nothing in bulk.
    opened.backend = host::make_cpu_backend(1);
  }
  absl::StatusOr<std::unique_ptr<smt::SmtTree>> tree =
      create ? smt::SmtTree::create(*opened.store, options.tree,
                                    smt::SmtCreateOptions{options.max_depth, options.keep_versions},
                                    *opened.backend)
             : smt::SmtTree::open(*opened.store, options.tree, *opened.backend);
  if (!tree.ok()) return tree.status();
  opened.tree = std::move(*tree);
  return opened;
}

absl::StatusOr<Fr> parse_number(std::string_view text, std::string_view what) {
  absl::StatusOr<Fr> value = field::parse_fr(text);
  if (!value.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(what), ": ", std::string(value.status().message())));
  }
  return value;
}

// One `put KEY VALUE` or `del KEY` line; blank lines and # comments yield nothing.
absl::StatusOr<std::optional<smt::SmtOp>> parse_op_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (const size_t hash = line.find('#'); hash != std::string_view::npos)
    line = line.substr(0, hash);
  std::vector<std::string_view> words;
  for (size_t at = 0; at < line.size();) {
    const size_t start = line.find_first_not_of(" \t", at);
    if (start == std::string_view::npos) break;
    const size_t end = std::min(line.find_first_of(" \t", start), line.size());
    words.push_back(line.substr(start, end - start));
    at = end;
  }
  if (words.empty()) return std::optional<smt::SmtOp>();
  if (words[0] == "put") {
    if (words.size() != 3) {
      return absl::InvalidArgumentError("expected `put KEY VALUE`");
    }
    absl::StatusOr<Fr> key = parse_number(words[1], "key");
    if (!key.ok()) return key.status();
    absl::StatusOr<Fr> value = parse_number(words[2], "value");
    if (!value.ok()) return value.status();
    return std::optional(smt::SmtOp::put(*key, *value));
  }
  if (words[0] == "del") {
    if (words.size() != 2) return absl::InvalidArgumentError("expected `del KEY`");
    absl::StatusOr<Fr> key = parse_number(words[1], "key");
    if (!key.ok()) return key.status();
    return std::optional(smt::SmtOp::erase(*key));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown operation \"", std::string(words[0]), "\" (put or del)"));
}

// Every line is checked before anything is applied: a bad line anywhere applies nothing.
int read_ops(std::istream& in, const std::string& source, std::vector<smt::SmtOp>& ops) {
  std::string line;
  size_t line_number = 0;
  int errors = 0;
  while (std::getline(in, line)) {
    ++line_number;
    absl::StatusOr<std::optional<smt::SmtOp>> op = parse_op_line(line);
    if (!op.ok()) {
      if (++errors <= kMaxReportedErrors) {
        std::cerr << "arbor: " << source << " line " << line_number << ": " << op.status().message()
                  << "\n";
      }
      continue;
    }
    if (*op) ops.push_back(**op);
  }
  if (in.bad()) return fail(kExitFailure, absl::StrCat("cannot read ", source));
  if (errors > kMaxReportedErrors) {
    std::cerr << "arbor: ... and " << errors - kMaxReportedErrors << " more bad lines\n";
  }
  if (errors > 0) {
    std::cerr << "arbor: nothing was applied\n";
    return kExitRejected;
  }
  return kExitOk;
}

void print_root(const Fr& root, std::uint64_t version) {
  std::cout << "root " << field::to_hex(root) << "\nversion " << version << "\n";
}

struct VersionRoot {
  std::uint64_t version = 0;
  Fr root;
};

// The version a read names (the head when none) and its root.
absl::StatusOr<VersionRoot> version_root(const smt::SmtTree& tree,
                                         std::optional<std::uint64_t> version) {
  absl::StatusOr<storage::VersionRecord> record = tree.version_record(version);
  if (!record.ok()) return record.status();
  absl::StatusOr<Fr> root = tree.root(record->version);
  if (!root.ok()) return root.status();
  return VersionRoot{record->version, *root};
}

int run_create(const SmtCliOptions& options) {
  std::error_code ignored;
  const bool existed = std::filesystem::exists(options.data, ignored);
  absl::StatusOr<OpenTree> opened = open_tree(options, true, true);
  if (!opened.ok()) {
    // A refused create leaves no new, empty data directory behind.
    if (!existed) std::filesystem::remove_all(options.data, ignored);
    return status_exit(opened.status());
  }
  std::cout << "created SMT \"" << options.tree << "\" (max depth " << options.max_depth << ") in "
            << options.data << "\n";
  return kExitOk;
}

int run_apply(const SmtCliOptions& options) {
  std::vector<smt::SmtOp> ops;
  int read_status = kExitOk;
  if (options.file.empty() || options.file == "-") {
    read_status = read_ops(std::cin, "stdin", ops);
  } else {
    std::ifstream file(options.file);
    if (!file) return fail(kExitFailure, absl::StrCat("cannot open ", options.file));
    read_status = read_ops(file, options.file, ops);
  }
  if (read_status != kExitOk) return read_status;
  absl::StatusOr<OpenTree> opened = open_tree(options, true, false);
  if (!opened.ok()) return status_exit(opened.status());
  smt::ApplyOptions apply_options;
  apply_options.label = options.label;
  absl::StatusOr<smt::ApplyResult> result = opened->tree->apply(ops, apply_options);
  if (!result.ok()) return status_exit(result.status());
  print_root(result->root, result->version);
  return kExitOk;
}

int run_root(const SmtCliOptions& options) {
  absl::StatusOr<OpenTree> opened = open_tree(options, false, false);
  if (!opened.ok()) return status_exit(opened.status());
  absl::StatusOr<VersionRoot> at = version_root(*opened->tree, options.version);
  if (!at.ok()) return status_exit(at.status());
  print_root(at->root, at->version);
  return kExitOk;
}

int run_get(const SmtCliOptions& options) {
  absl::StatusOr<Fr> key = parse_number(options.keys.at(0), "key");
  if (!key.ok()) return fail(kExitRejected, key.status().message());
  absl::StatusOr<OpenTree> opened = open_tree(options, false, false);
  if (!opened.ok()) return status_exit(opened.status());
  absl::StatusOr<std::optional<Fr>> value = opened->tree->get(*key, options.version);
  if (!value.ok()) return status_exit(value.status());
  if (!*value) {
    return fail(kExitRejected, absl::StrCat("key ", field::to_hex(*key), " is not in the tree"));
  }
  std::cout << field::to_hex(**value) << "\n";
  return kExitOk;
}

int write_output(const SmtCliOptions& options, const std::string& bytes) {
  if (options.out.empty() || options.out == "-") {
    std::cout << bytes << std::flush;
    return std::cout ? kExitOk : kExitFailure;
  }
  std::ofstream file(options.out, std::ios::binary | std::ios::trunc);
  file << bytes;
  file.close();
  if (!file) return fail(kExitFailure, absl::StrCat("cannot write ", options.out));
  return kExitOk;
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
  absl::StatusOr<OpenTree> opened = open_tree(options, false, false);
  if (!opened.ok()) return status_exit(opened.status());
  absl::StatusOr<VersionRoot> at = version_root(*opened->tree, options.version);
  if (!at.ok()) return status_exit(at.status());
  const Fr& root = at->root;

  std::string bytes;
  if (keys.size() == 1) {
    absl::StatusOr<smt::SmtProof> proof = opened->tree->prove(keys[0], at->version);
    if (!proof.ok()) return status_exit(proof.status());
    switch (*format) {
      case smt::ProofFormat::kBinary:
        bytes = smt::encode_proof_binary(*proof);
        break;
      case smt::ProofFormat::kJson:
        bytes = smt::proof_to_json(*proof, root).dump(2) + "\n";
        break;
      case smt::ProofFormat::kCircom: {
        absl::StatusOr<nlohmann::json> circom = smt::proof_to_circom(*proof, root, options.levels);
        if (!circom.ok()) return status_exit(circom.status());
        bytes = circom->dump(2) + "\n";
        break;
      }
    }
  } else {
    absl::StatusOr<smt::SmtMultiProof> proof = opened->tree->prove_many(keys, at->version);
    if (!proof.ok()) return status_exit(proof.status());
    bytes = *format == smt::ProofFormat::kBinary
                ? smt::encode_multi_proof_binary(*proof)
                : smt::multi_proof_to_json(*proof, root).dump(2) + "\n";
  }
  return write_output(options, bytes);
}

int run_verify(const SmtCliOptions& options) {
  absl::StatusOr<Fr> root = parse_number(options.root, "--root");
  if (!root.ok()) return fail(kExitFailure, root.status().message());
  std::string bytes;
  if (options.proof == "-") {
    bytes.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    if (std::cin.bad()) return fail(kExitFailure, "cannot read the proof from stdin");
  } else {
    std::error_code ignored;
    if (std::filesystem::is_directory(options.proof, ignored)) {
      return fail(kExitFailure, absl::StrCat("cannot read ", options.proof, ": it is a directory"));
    }
    std::ifstream file(options.proof, std::ios::binary);
    if (!file) return fail(kExitFailure, absl::StrCat("cannot open ", options.proof));
    try {
      bytes.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    } catch (const std::ios_base::failure&) {
      file.setstate(std::ios::badbit);
    }
    if (file.bad()) return fail(kExitFailure, absl::StrCat("cannot read ", options.proof));
  }
  absl::StatusOr<smt::DecodedProof> decoded = smt::decode_any_proof(bytes);
  if (!decoded.ok()) {
    std::cout << "invalid: " << decoded.status().message() << "\n";
    return kExitRejected;
  }
  if (absl::Status verdict = smt::verify_decoded(*root, *decoded); !verdict.ok()) {
    std::cout << "invalid: " << verdict.message() << "\n";
    return kExitRejected;
  }
  std::string claim;
  if (const auto* single = std::get_if<smt::SmtProof>(&decoded->proof)) {
    claim = single->existence ? absl::StrCat("key ", field::to_hex(single->key), " = ",
                                             field::to_hex(single->value))
                              : absl::StrCat("key ", field::to_hex(single->key), " absent");
  } else {
    claim = absl::StrCat(std::get<smt::SmtMultiProof>(decoded->proof).entries.size(), " keys");
  }
  std::cout << "valid (" << smt::to_string(decoded->format) << "): " << claim << "\n";
  return kExitOk;
}

int run_rollback(const SmtCliOptions& options) {
  absl::StatusOr<OpenTree> opened = open_tree(options, true, false);
  if (!opened.ok()) return status_exit(opened.status());
  absl::StatusOr<storage::TreeInfo> info = opened->tree->rollback(options.target_version);
  if (!info.ok()) return status_exit(info.status());
  absl::StatusOr<VersionRoot> at = version_root(*opened->tree, info->head_version);
  if (!at.ok()) return status_exit(at.status());
  print_root(at->root, at->version);
  return kExitOk;
}

int run_prune(const SmtCliOptions& options) {
  absl::StatusOr<OpenTree> opened = open_tree(options, true, false);
  if (!opened.ok()) return status_exit(opened.status());
  absl::StatusOr<storage::PruneResult> pruned =
      opened->tree->prune(options.target_version, options.compact);
  if (!pruned.ok()) return status_exit(pruned.status());
  std::cout << "oldest version " << pruned->oldest_version << "\nversions dropped "
            << pruned->versions_dropped << "\nrecords deleted " << pruned->records_deleted << "\n";
  return kExitOk;
}

void add_tree_options(CLI::App* command, SmtCliOptions& options) {
  command->add_option("--data", options.data, "Data directory (embedded RocksDB)")->required();
  command->add_option("--tree", options.tree, "Tree name")->required();
}

void add_version_option(CLI::App* command, SmtCliOptions& options) {
  command->add_option("--version", options.version, "A retained version (default: the head)");
}

}  // namespace

void add_smt_command(CLI::App& app, int& exit_code) {
  CLI::App* smt = app.add_subcommand(
      "smt",
      "The Poseidon sparse Merkle tree (iden3/circomlib-compatible) on a data directory. Keys "
      "and values are decimal or 0x-hex numbers < p; roots print as 0x + 64 hex digits.");
  smt->require_subcommand(1);
  auto options = std::make_shared<SmtCliOptions>();
  auto run = [options, &exit_code](int (*command)(const SmtCliOptions&)) {
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
  verify->callback(run(run_verify));

  CLI::App* rollback =
      smt->add_subcommand("rollback", "Make a retained version the head, dropping later ones");
  add_tree_options(rollback, *options);
  rollback->add_option("version", options->target_version, "Version")->required();
  rollback->callback(run(run_rollback));

  CLI::App* prune = smt->add_subcommand("prune", "Drop the versions below a version");
  add_tree_options(prune, *options);
  prune->add_option("version", options->target_version, "The new oldest version")->required();
  prune->add_flag("--compact", options->compact, "Also compact, returning the space now");
  prune->callback(run(run_prune));
}

}  // namespace arbor::cli
