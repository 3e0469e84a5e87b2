#include "rpc/cli/hash_command.hpp"

#include <fstream>
#include <iostream>
#include <map>
#include <memory>

#include "absl/strings/str_join.h"
#include "host/backend/compute_backend.hpp"
#include "kernels/field/bn254_fr_text.hpp"
#include "kernels/poseidon/poseidon_hash.hpp"
#include "rpc/cli/input_lines.hpp"

namespace arbor::cli {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitBadInput = 1;
constexpr int kExitFailure = 2;
constexpr int kMaxReportedErrors = 20;

// One input set: its numbers, checked to be a valid Poseidon arity.
absl::StatusOr<std::vector<field::Fr>> parse_input_set(std::string_view text) {
  absl::StatusOr<std::vector<field::Fr>> values = parse_number_list(text);
  if (!values.ok()) return values.status();
  if (absl::Status arity = poseidon::width_for_inputs(values->size()).status(); !arity.ok()) {
    return arity;
  }
  return values;
}

// Reads every line first so that a bad line anywhere fails the run before anything is printed.
int read_input_sets(std::istream& in, const std::string& source,
                    std::vector<std::vector<field::Fr>>& sets) {
  std::string line;
  std::size_t line_number = 0;
  int errors = 0;
  while (std::getline(in, line)) {
    ++line_number;
    absl::StatusOr<std::vector<field::Fr>> values = parse_input_set(line);
    if (!values.ok()) {
      if (++errors <= kMaxReportedErrors) {
        std::cerr << "arbor: line " << line_number << ": " << values.status().message() << "\n";
      }
      continue;
    }
    sets.push_back(std::move(*values));
  }
  if (in.bad()) {
    std::cerr << "arbor: cannot read " << source << "\n";
    return kExitFailure;
  }
  if (errors > kMaxReportedErrors) {
    std::cerr << "arbor: ... and " << errors - kMaxReportedErrors << " more bad lines\n";
  }
  return errors == 0 ? kExitOk : kExitBadInput;
}

int run_hash_poseidon(const HashOptions& options) {
  std::vector<std::vector<field::Fr>> sets;
  if (!options.values.empty()) {
    if (!options.batch_file.empty()) {
      std::cerr << "arbor: give numbers as arguments or --batch FILE, not both\n";
      return kExitBadInput;
    }
    absl::StatusOr<std::vector<field::Fr>> values =
        parse_input_set(absl::StrJoin(options.values, " "));
    if (!values.ok()) {
      std::cerr << "arbor: " << values.status().message() << "\n";
      return kExitBadInput;
    }
    sets.push_back(std::move(*values));
  } else {
    int read_status = kExitOk;
    if (options.batch_file.empty() || options.batch_file == "-") {
      read_status = read_input_sets(std::cin, "stdin", sets);
    } else {
      std::ifstream file(options.batch_file);
      if (!file) {
        std::cerr << "arbor: cannot open " << options.batch_file << "\n";
        return kExitFailure;
      }
      read_status = read_input_sets(file, options.batch_file, sets);
    }
    if (read_status != kExitOk) return read_status;
    if (sets.empty()) {
      std::cerr << "arbor: no input: give numbers as arguments, --batch FILE, or lines on stdin\n";
      return kExitBadInput;
    }
  }

  absl::StatusOr<host::BackendChoice> choice = host::parse_backend_choice(options.backend);
  if (!choice.ok()) {
    std::cerr << "arbor: " << choice.status().message() << "\n";
    return kExitBadInput;
  }
  absl::StatusOr<std::unique_ptr<host::ComputeBackend>> backend = host::make_backend(*choice);
  if (!backend.ok()) {
    std::cerr << "arbor: " << backend.status().message() << "\n";
    return kExitFailure;
  }

  // One bulk job per arity, results put back in input order.
  std::map<int, std::vector<std::size_t>> by_arity;
  for (std::size_t i = 0; i < sets.size(); ++i) {
    by_arity[static_cast<int>(sets[i].size())].push_back(i);
  }
  std::vector<field::Fr> results(sets.size());
  for (const auto& [arity, indices] : by_arity) {
    std::vector<field::Fr> inputs;
    inputs.reserve(indices.size() * static_cast<std::size_t>(arity));
    for (std::size_t i : indices) inputs.insert(inputs.end(), sets[i].begin(), sets[i].end());
    std::vector<field::Fr> hashes(indices.size());
    if (absl::Status s = (*backend)->poseidon_hash_many(arity, inputs, hashes); !s.ok()) {
      std::cerr << "arbor: " << s.message() << "\n";
      return kExitFailure;
    }
    for (std::size_t k = 0; k < indices.size(); ++k) results[indices[k]] = hashes[k];
  }

  std::string out;
  for (const field::Fr& h : results) {
    out += options.decimal ? field::to_decimal(h) : field::to_hex(h);
    out += '\n';
  }
  std::cout << out << std::flush;
  return std::cout ? kExitOk : kExitFailure;
}

}  // namespace

void add_hash_command(CLI::App& app, int& exit_code) {
  CLI::App* hash = app.add_subcommand("hash", "Offline hashing");
  hash->require_subcommand(1);
  CLI::App* poseidon = hash->add_subcommand(
      "poseidon",
      "Poseidon over BN254 (circomlib-compatible), 1 to 16 inputs per set. Numbers are decimal or "
      "0x-hex, each < p. Without arguments, reads one input set per line (numbers separated by "
      "spaces or commas) from --batch FILE or stdin and prints one hash per line.");
  auto options = std::make_shared<HashOptions>();
  poseidon->add_option("values", options->values, "Numbers of one input set");
  poseidon->add_option("--batch", options->batch_file,
                       "File with one input set per line ('-' = stdin)");
  poseidon->add_flag("--dec", options->decimal, "Print decimal instead of 0x-hex");
  poseidon->add_option("--backend", options->backend, "Compute backend: auto, cpu or cuda")
      ->capture_default_str();
  poseidon->callback([options, &exit_code] { exit_code = run_hash_poseidon(*options); });
}

}  // namespace arbor::cli
