#include "rpc/cli/verkle_command.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "host/verkle/verkle_stateless.hpp"
#include "host/verkle/verkle_tree.hpp"
#include "host/verkle/verkle_witness.hpp"
#include "kernels/verkle/pedersen.hpp"
#include "nlohmann/json.hpp"
#include "rpc/cli/cli_support.hpp"
#include "rpc/cli/op_lines.hpp"

namespace arbor::cli {
namespace {

struct VerkleCliOptions {
  std::string data;
  std::string tree;
  std::uint64_t keep_versions = 0;
  std::string file;
  std::string label;
  std::string backend = "auto";
  std::string sync = "full";
  std::string key;
  std::optional<std::uint64_t> version;
  std::string at_label;
  std::string to_label;
  std::optional<std::uint64_t> expected_version;
  std::uint64_t target_version = 0;
  bool compact = false;
  bool hash = false;
  bool json = false;
  bool stats = false;
  // prove / verify
  std::vector<std::string> keys;
  std::string keys_file;
  std::string format = "json";
  std::string out;
  std::string root;
  std::string post_root;
  std::string proof;
  // tree-key
  std::string address;
  std::string tree_index;
  int sub_index = 0;
};

std::string hex(std::span<const std::uint8_t> bytes) {
  return absl::StrCat("0x", absl::BytesToHexString(std::string(verkle::as_view(bytes))));
}

struct OpenVerkle {
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<host::ComputeBackend> backend;
  std::unique_ptr<verkle::VerkleTree> tree;
};

absl::StatusOr<OpenVerkle> open_tree(const VerkleCliOptions& options, bool writable, bool create,
                                     bool bulk_compute = false) {
  absl::StatusOr<OpenedStore> opened =
      open_data_dir(options.data, options.sync, options.backend, writable, create, bulk_compute);
  if (!opened.ok()) return opened.status();
  absl::StatusOr<std::unique_ptr<verkle::VerkleTree>> tree =
      create ? verkle::VerkleTree::create(*opened->store, options.tree,
                                          verkle::VerkleCreateOptions{options.keep_versions},
                                          *opened->backend)
             : verkle::VerkleTree::open(*opened->store, options.tree, *opened->backend);
  if (!tree.ok()) return tree.status();
  return OpenVerkle{std::move(opened->store), std::move(opened->backend), std::move(*tree)};
}

// --version / --at-label (or `label` for rollback), else the head.
absl::StatusOr<std::uint64_t> chosen_version(const OpenVerkle& opened,
                                             std::optional<std::uint64_t> version,
                                             const std::string& label) {
  if (!label.empty()) return version_with_label(*opened.store, opened.tree->name(), label);
  absl::StatusOr<storage::VersionRecord> record = opened.tree->version_record(version);
  if (!record.ok()) return record.status();
  return record->version;
}

int print_root(const VerkleCliOptions& options, const verkle::VerkleTree& tree,
               std::uint64_t version, const verkle::VerkleApplyStats* stats = nullptr) {
  absl::StatusOr<verkle::RootCommitment> root = tree.root(version);
  if (!root.ok()) return status_exit(root.status());
  absl::StatusOr<storage::VersionRecord> record = tree.version_record(version);
  if (!record.ok()) return status_exit(record.status());
  std::optional<std::array<std::uint8_t, 32>> hash;
  if (options.hash) {
    absl::StatusOr<std::array<std::uint8_t, 32>> mapped = tree.root_hash(version);
    if (!mapped.ok()) return status_exit(mapped.status());
    hash = *mapped;
  }
  if (options.json) {
    nlohmann::json out{
        {"root", hex(*root)}, {"version", version}, {"entries", record->entry_count}};
    if (hash) out["root_hash_le"] = hex(*hash);
    if (stats != nullptr && options.stats) {
      out["stats"] = {{"ops", stats->ops},
                      {"inserted", stats->inserted},
                      {"updated", stats->updated},
                      {"deleted", stats->deleted},
                      {"absent_deletes", stats->absent_deletes},
                      {"stems", stats->stems_touched},
                      {"commitment_deltas", stats->commitment_deltas},
                      {"records_written", stats->records_written},
                      {"read_ms", stats->read_ms},
                      {"plan_ms", stats->plan_ms},
                      {"math_ms", stats->compute_ms},
                      {"store_ms", stats->commit_ms}};
    }
    std::cout << out.dump() << "\n";
    return kExitOk;
  }
  std::cout << "root " << hex(*root) << "\n";
  if (hash) std::cout << "root_hash " << hex(*hash) << "\n";
  std::cout << "version " << version << "\n";
  if (stats != nullptr && options.stats) {
    std::cerr << "ops " << stats->ops << " (inserted " << stats->inserted << ", updated "
              << stats->updated << ", deleted " << stats->deleted << ", absent deletes "
              << stats->absent_deletes << "), stems " << stats->stems_touched
              << ", fixed-base multiplications " << stats->commitment_deltas << ", read "
              << stats->read_ms << " ms, plan " << stats->plan_ms << " ms, math "
              << stats->compute_ms << " ms, store " << stats->commit_ms << " ms\n";
  }
  return kExitOk;
}

int run_create(const VerkleCliOptions& options) {
  std::error_code ignored;
  const bool existed = std::filesystem::exists(options.data, ignored);
  absl::StatusOr<OpenVerkle> opened = open_tree(options, true, true);
  if (!opened.ok()) {
    // A refused create leaves no new, empty data directory behind.
    if (!existed) std::filesystem::remove_all(options.data, ignored);
    return status_exit(opened.status());
  }
  if (options.json) {
    std::cout << nlohmann::json{{"tree", options.tree},
                                {"scheme", "verkle"},
                                {"data", options.data}}
                     .dump()
              << "\n";
  } else {
    std::cout << "created Verkle tree \"" << options.tree << "\" in " << options.data << "\n";
  }
  return kExitOk;
}

int run_apply(const VerkleCliOptions& options) {
  std::vector<verkle::VerkleOp> ops;
  if (int read = read_verkle_op_file(options.file, ops); read != kExitOk) return read;
  absl::StatusOr<OpenVerkle> opened = open_tree(options, true, false);
  if (!opened.ok()) return status_exit(opened.status());
  verkle::VerkleApplyOptions apply_options;
  apply_options.label = options.label;
  apply_options.expected_version = options.expected_version;
  absl::StatusOr<verkle::VerkleApplyResult> result = opened->tree->apply(ops, apply_options);
  if (!result.ok()) return status_exit(result.status());
  return print_root(options, *opened->tree, result->version, &result->stats);
}

int run_root(const VerkleCliOptions& options) {
  absl::StatusOr<OpenVerkle> opened = open_tree(options, false, false);
  if (!opened.ok()) return status_exit(opened.status());
  absl::StatusOr<std::uint64_t> version =
      chosen_version(*opened, options.version, options.at_label);
  if (!version.ok()) return status_exit(version.status());
  return print_root(options, *opened->tree, *version);
}

int run_get(const VerkleCliOptions& options) {
  absl::StatusOr<verkle::Key32> key = parse_bytes32(options.key, "key");
  if (!key.ok()) return fail(kExitRejected, key.status().message());
  absl::StatusOr<OpenVerkle> opened = open_tree(options, false, false);
  if (!opened.ok()) return status_exit(opened.status());
  absl::StatusOr<std::uint64_t> version =
      chosen_version(*opened, options.version, options.at_label);
  if (!version.ok()) return status_exit(version.status());
  absl::StatusOr<std::optional<verkle::Value32>> value = opened->tree->get(*key, *version);
  if (!value.ok()) return status_exit(value.status());
  if (options.json) {
    nlohmann::json out{{"key", hex(*key)}, {"found", value->has_value()}, {"version", *version}};
    if (*value) out["value"] = hex(**value);
    std::cout << out.dump() << "\n";
    return *value ? kExitOk : kExitRejected;
  }
  if (!*value) return fail(kExitRejected, absl::StrCat("key ", hex(*key), " is not in the tree"));
  std::cout << hex(**value) << "\n";
  return kExitOk;
}

int run_rollback(const VerkleCliOptions& options) {
  if (options.to_label.empty() == !options.version) {
    return fail(kExitRejected, options.version ? "give a VERSION or --to-label, not both"
                                               : "rollback needs a VERSION or --to-label LABEL");
  }
  absl::StatusOr<OpenVerkle> opened = open_tree(options, true, false);
  if (!opened.ok()) return status_exit(opened.status());
  absl::StatusOr<std::uint64_t> target = chosen_version(*opened, options.version, options.to_label);
  if (!target.ok()) return status_exit(target.status());
  absl::StatusOr<storage::TreeInfo> info = opened->tree->rollback(*target);
  if (!info.ok()) return status_exit(info.status());
  return print_root(options, *opened->tree, info->head_version);
}

int run_prune(const VerkleCliOptions& options) {
  absl::StatusOr<OpenVerkle> opened = open_tree(options, true, false);
  if (!opened.ok()) return status_exit(opened.status());
  absl::StatusOr<storage::PruneResult> pruned =
      opened->tree->prune(options.target_version, options.compact);
  if (!pruned.ok()) return status_exit(pruned.status());
  if (options.json) {
    std::cout << nlohmann::json{{"oldest_version", pruned->oldest_version},
                                {"versions_dropped", pruned->versions_dropped},
                                {"records_deleted", pruned->records_deleted}}
                     .dump()
              << "\n";
  } else {
    std::cout << "oldest version " << pruned->oldest_version << "\nversions dropped "
              << pruned->versions_dropped << "\nrecords deleted " << pruned->records_deleted
              << "\n";
  }
  return kExitOk;
}

// The keys to prove: the arguments, then --keys-file (one key per line; blank lines, # comments
// and CRLF are fine). A bad key is named (by line for the file) and nothing is proved.
int collect_keys(const VerkleCliOptions& options, std::vector<verkle::Key32>& keys) {
  for (const std::string& text : options.keys) {
    absl::StatusOr<verkle::Key32> key = parse_bytes32(text, "key");
    if (!key.ok()) return fail(kExitRejected, key.status().message());
    keys.push_back(*key);
  }
  if (!options.keys_file.empty()) {
    absl::StatusOr<std::string> text = read_whole_input(options.keys_file);
    if (!text.ok()) return fail(kExitFailure, text.status().message());
    std::size_t line_number = 0;
    for (std::string_view rest = *text; !rest.empty();) {
      const std::size_t end = std::min(rest.find('\n'), rest.size());
      std::string_view line = rest.substr(0, end);
      rest.remove_prefix(std::min(end + 1, rest.size()));
      ++line_number;
      if (const std::size_t hash = line.find('#'); hash != std::string_view::npos) {
        line = line.substr(0, hash);
      }
      while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back())))
        line.remove_suffix(1);
      while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front())))
        line.remove_prefix(1);
      if (line.empty()) continue;
      absl::StatusOr<verkle::Key32> key = parse_bytes32(line, "key");
      if (!key.ok()) {
        return fail(kExitRejected, absl::StrCat(options.keys_file, ": line ", line_number, ": ",
                                                std::string(key.status().message())));
      }
      keys.push_back(*key);
    }
  }
  if (keys.empty()) return fail(kExitRejected, "prove needs at least one KEY or --keys-file");
  return kExitOk;
}

int run_prove(const VerkleCliOptions& options) {
  if (options.format != "json" && options.format != "binary") {
    return fail(kExitRejected,
                absl::StrCat("--format must be json or binary, not \"", options.format, "\""));
  }
  std::vector<verkle::Key32> keys;
  if (int collected = collect_keys(options, keys); collected != kExitOk) return collected;
  absl::StatusOr<OpenVerkle> opened = open_tree(options, false, false, /*bulk_compute=*/true);
  if (!opened.ok()) return status_exit(opened.status());
  absl::StatusOr<std::uint64_t> version =
      chosen_version(*opened, options.version, options.at_label);
  if (!version.ok()) return status_exit(version.status());
  absl::StatusOr<verkle::VerkleWitness> witness = opened->tree->prove(keys, *version);
  if (!witness.ok()) return status_exit(witness.status());
  const std::string bytes = options.format == "json" ? verkle::witness_to_json(*witness) + "\n"
                                                     : verkle::witness_to_binary(*witness);
  return write_whole_output(options.out, bytes);
}

int run_verify(const VerkleCliOptions& options) {
  absl::StatusOr<verkle::RootCommitment> root = parse_bytes32(options.root, "--root");
  if (!root.ok()) return fail(kExitFailure, root.status().message());
  std::optional<verkle::RootCommitment> post_root;
  if (!options.post_root.empty()) {
    absl::StatusOr<verkle::RootCommitment> parsed = parse_bytes32(options.post_root, "--post-root");
    if (!parsed.ok()) return fail(kExitFailure, parsed.status().message());
    post_root = *parsed;
  }
  absl::StatusOr<std::string> bytes = read_whole_input(options.proof);
  if (!bytes.ok()) return fail(kExitFailure, bytes.status().message());
  auto invalid = [&](absl::string_view reason) {
    if (options.json) {
      std::cout << nlohmann::json{{"valid", false}, {"reason", std::string(reason)}}.dump() << "\n";
    }
    return fail(kExitRejected, absl::StrCat("invalid: ", std::string(reason)));
  };
  absl::StatusOr<verkle::VerkleWitness> witness = verkle::parse_witness(*bytes);
  if (!witness.ok()) return invalid(witness.status().message());
  absl::StatusOr<host::BackendChoice> choice = host::parse_backend_choice(options.backend);
  if (!choice.ok()) return fail(kExitFailure, choice.status().message());
  absl::StatusOr<std::unique_ptr<host::ComputeBackend>> backend = host::make_backend(*choice);
  if (!backend.ok()) return status_exit(backend.status());
  verkle::StatelessOptions stateless;
  stateless.expected_post_root = post_root;
  absl::StatusOr<verkle::StatelessResult> result =
      verkle::verify_witness(**backend, *root, *witness, stateless);
  if (absl::IsInvalidArgument(result.status())) return invalid(result.status().message());
  if (!result.ok()) return fail(kExitFailure, result.status().message());
  if (options.json) {
    nlohmann::json out{
        {"valid", true},
        {"format", bytes->rfind(verkle::kBinaryWitnessMagic, 0) == 0 ? "binary" : "json"},
        {"stems", result->stems},
        {"keys", result->keys},
        {"present", result->present_keys},
        {"openings", result->openings},
        {"commitments", result->commitments}};
    if (result->post_root) out["post_root"] = hex(*result->post_root);
    std::cout << out.dump() << "\n";
    return kExitOk;
  }
  std::cout << "valid: " << result->keys << " keys (" << result->present_keys << " present) in "
            << result->stems << " stems, " << result->openings << " openings";
  if (result->post_root) std::cout << "; post-state root " << hex(*result->post_root);
  std::cout << "\n";
  return kExitOk;
}

// TREE_INDEX: a decimal or 0x-hex integer below 2^256, as 32 bytes little-endian.
absl::StatusOr<std::array<std::uint8_t, 32>> parse_tree_index(std::string_view text) {
  std::array<std::uint8_t, 32> le{};
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("TREE_INDEX \"", std::string(text), "\": ", std::string(why)));
  };
  if (text.substr(0, 2) == "0x" || text.substr(0, 2) == "0X") {
    std::string digits(text.substr(2));
    if (digits.empty() || digits.size() > 64 ||
        digits.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
      return bad("expected 1 to 64 hex digits after 0x");
    }
    if (digits.size() % 2) digits.insert(digits.begin(), '0');
    const std::string be = absl::HexStringToBytes(digits);
    std::copy(be.rbegin(), be.rend(), le.begin());
    return le;
  }
  if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos) {
    return bad("expected a decimal or 0x-hex integer");
  }
  for (char c : text) {  // le = le * 10 + digit, with an overflow check
    unsigned carry = static_cast<unsigned>(c - '0');
    for (auto& byte : le) {
      const unsigned v = byte * 10u + carry;
      byte = static_cast<std::uint8_t>(v);
      carry = v >> 8;
    }
    if (carry != 0) return bad("does not fit in 256 bits");
  }
  return le;
}

int run_tree_key(const VerkleCliOptions& options) {
  std::string address = options.address;
  if (address.substr(0, 2) == "0x" || address.substr(0, 2) == "0X") address = address.substr(2);
  if (address.size() == 40) address = std::string(24, '0') + address;  // 20-byte address
  absl::StatusOr<std::array<std::uint8_t, 32>> address32 = parse_bytes32(address, "ADDRESS");
  if (!address32.ok()) {
    return fail(kExitRejected,
                absl::StrCat("ADDRESS \"", options.address,
                             "\" is not a 20- or 32-byte hex address (0x + 40 or 64 digits)"));
  }
  absl::StatusOr<std::array<std::uint8_t, 32>> index = parse_tree_index(options.tree_index);
  if (!index.ok()) return fail(kExitRejected, index.status().message());
  if (options.sub_index < 0 || options.sub_index > 255) {
    return fail(kExitRejected, absl::StrCat("SUB_INDEX ", options.sub_index, " is not 0..255"));
  }
  const std::array<std::uint8_t, 32> key =
      verkle::get_tree_key(*address32, *index, static_cast<std::uint8_t>(options.sub_index));
  if (options.json) {
    std::cout << nlohmann::json{{"key", hex(key)}}.dump() << "\n";
  } else {
    std::cout << hex(key) << "\n";
  }
  return kExitOk;
}

void add_tree_options(CLI::App* command, VerkleCliOptions& options) {
  command->add_option("--data", options.data, "Data directory (embedded RocksDB)")->required();
  command->add_option("--tree", options.tree, "Tree name")->required();
  command->add_flag("--json", options.json, "Print JSON");
}

void add_read_options(CLI::App* command, VerkleCliOptions& options) {
  command->add_option("--version", options.version, "A retained version (default: the head)");
  command->add_option("--at-label", options.at_label,
                      "The newest retained version written with this label");
}

void add_backend_option(CLI::App* command, VerkleCliOptions& options) {
  command->add_option("--backend", options.backend, "Compute backend: auto, cpu or cuda")
      ->capture_default_str();
}

void add_root_options(CLI::App* command, VerkleCliOptions& options) {
  command->add_flag("--hash", options.hash,
                    "Also print map_to_field(root) as 32 bytes little-endian (root_hash)");
}

}  // namespace

void add_verkle_command(CLI::App& app, int& exit_code) {
  CLI::App* verkle = app.add_subcommand(
      "verkle",
      "The EIP-6800 Verkle tree (go-verkle / rust-verkle / @ethereumjs/verkle compatible) on a "
      "data directory. Keys and values are 32 bytes of hex (0x + 64 digits); the root prints as "
      "the 32-byte compressed commitment.");
  verkle->require_subcommand(1);
  auto options = std::make_shared<VerkleCliOptions>();
  auto run = [options, &exit_code](int (*command)(const VerkleCliOptions&)) {
    return [options, &exit_code, command] { exit_code = command(*options); };
  };

  CLI::App* create = verkle->add_subcommand("create", "Create an empty tree");
  add_tree_options(create, *options);
  create->add_option("--keep-versions", options->keep_versions, "Versions kept readable (0 = all)")
      ->capture_default_str();
  create->callback(run(run_create));

  CLI::App* apply = verkle->add_subcommand(
      "apply",
      "Apply `put KEY VALUE` / `del KEY` lines as one new version (the last line of a key wins; "
      "deletes remove values as go-verkle does, before the batch's puts); prints root and version");
  add_tree_options(apply, *options);
  add_root_options(apply, *options);
  apply->add_option("--file", options->file, "Input file (default and '-': stdin)");
  apply->add_option("--label", options->label, "Label stored with the version (e.g. a block)");
  apply->add_option("--expected-version", options->expected_version,
                    "Refuse (exit 1, nothing applied) unless the tree is at this version");
  apply->add_flag("--stats", options->stats,
                  "Report what the batch did and where the time went (stderr; in --json output)");
  add_backend_option(apply, *options);
  apply->add_option("--sync", options->sync, "Durability: full, async or none")
      ->capture_default_str();
  apply->callback(run(run_apply));

  CLI::App* root = verkle->add_subcommand("root", "Print the root and version");
  add_tree_options(root, *options);
  add_read_options(root, *options);
  add_root_options(root, *options);
  root->callback(run(run_root));

  CLI::App* get = verkle->add_subcommand("get", "Print a key's value (exit 1 when absent)");
  add_tree_options(get, *options);
  get->add_option("key", options->key, "Key (32 bytes of hex)")->required();
  add_read_options(get, *options);
  get->callback(run(run_get));

  CLI::App* rollback =
      verkle->add_subcommand("rollback", "Make a retained version the head, dropping later ones");
  add_tree_options(rollback, *options);
  add_root_options(rollback, *options);
  rollback->add_option("version", options->version, "Version");
  rollback->add_option("--to-label", options->to_label,
                       "Roll back to the newest retained version with this label");
  rollback->callback(run(run_rollback));

  CLI::App* prune = verkle->add_subcommand("prune", "Drop the versions below a version");
  add_tree_options(prune, *options);
  prune->add_option("version", options->target_version, "The new oldest version")->required();
  prune->add_flag("--compact", options->compact, "Also compact, returning the space now");
  prune->callback(run(run_prune));

  CLI::App* prove = verkle->add_subcommand(
      "prove",
      "Print an EIP-6800 execution witness for the keys: their values (stateDiff) and the Verkle "
      "multiproof (go-verkle JSON, or Arbor's binary form), verifiable against the version's root");
  add_tree_options(prove, *options);
  add_read_options(prove, *options);
  prove->add_option("keys", options->keys, "Key(s), 32 bytes of hex");
  prove->add_option("--keys-file", options->keys_file,
                    "Also prove the keys in this file, one per line ('-' = stdin)");
  prove->add_option("--format", options->format, "json or binary")->capture_default_str();
  prove->add_option("--out", options->out, "Write the witness here (default: stdout)");
  add_backend_option(prove, *options);
  prove->callback(run(run_prove));

  CLI::App* verify = verkle->add_subcommand(
      "verify",
      "Check an execution witness (JSON or binary, detected) against a pre-state root, with no "
      "tree: exit 0 valid, 1 invalid (the reason on stderr), 2 could not run");
  verify->add_option("--root", options->root, "The pre-state root (32-byte compressed, hex)")
      ->required();
  verify->add_option("--proof", options->proof, "Witness file ('-' = stdin)")->required();
  verify->add_option("--post-root", options->post_root,
                     "Also apply the witness's newValues and require this post-state root");
  add_backend_option(verify, *options);
  verify->add_flag("--json", options->json, "Print JSON");
  verify->callback(run(run_verify));

  CLI::App* tree_key = verkle->add_subcommand(
      "tree-key",
      "Print EIP-6800's get_tree_key(ADDRESS, TREE_INDEX, SUB_INDEX): the 31-byte stem "
      "pedersen_hash(address32 || LE32(TREE_INDEX)) and SUB_INDEX as the last byte");
  tree_key->add_option("address", options->address, "20- or 32-byte address, hex")->required();
  tree_key->add_option("tree_index", options->tree_index, "Decimal or 0x-hex integer < 2^256")
      ->required();
  tree_key->add_option("sub_index", options->sub_index, "0..255")->required();
  tree_key->add_flag("--json", options->json, "Print JSON");
  tree_key->callback(run(run_tree_key));
}

}  // namespace arbor::cli
