// `prove` and `verify` of both schemes. The service proves and verifies; what is per scheme is
// only how its answer is shown: SMT proofs come back in binary and are re-encoded here (JSON,
// circom), Verkle witnesses in the encoding asked for; an SMT verdict names the proof's claim, a
// Verkle one the witness's counts. `verkle verify --post-root` is the one computation done here:
// the Verify RPC has no post-state check.
#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <set>
#include <variant>

#include "absl/strings/str_cat.h"
#include "host/smt/smt_proof_codec.hpp"
#include "host/smt/smt_records.hpp"
#include "host/tree/schemes.hpp"
#include "host/verkle/verkle_stateless.hpp"
#include "host/verkle/verkle_witness.hpp"
#include "kernels/field/bn254_fr_text.hpp"
#include "nlohmann/json.hpp"
#include "rpc/cli/cli_support.hpp"
#include "rpc/cli/op_lines.hpp"
#include "rpc/cli/tree_command.hpp"

namespace arbor::cli {
namespace {

using Stub = v1::Arbor::StubInterface;

// ---- smt ----------------------------------------------------------------------------------------

// --format and --levels, checked before anything is read; the service is always asked for the
// binary proof, which is re-encoded here.
absl::StatusOr<std::string> smt_encoding(const TreeCli& o, std::size_t keys) {
  absl::StatusOr<smt::ProofFormat> format = smt::parse_proof_format(o.format);
  if (!format.ok()) return format.status();
  if (*format == smt::ProofFormat::kCircom) {
    if (keys != 1) return absl::InvalidArgumentError("the circom format proves one key");
    if (o.levels < 1) return absl::InvalidArgumentError("the circom format needs --levels N");
  } else if (o.levels != 0) {
    return absl::InvalidArgumentError("--levels applies to the circom format only");
  }
  return "binary";
}

absl::StatusOr<std::string> smt_render(const TreeCli& o, const v1::ProveResponse& response) {
  absl::StatusOr<smt::ProofFormat> format = smt::parse_proof_format(o.format);
  if (!format.ok()) return format.status();
  absl::StatusOr<smt::Fr> root = smt::wire_fr(response.root(), "root");
  // Decoded with the same checks as any untrusted proof.
  absl::StatusOr<smt::DecodedProof> decoded = smt::decode_any_proof(response.proof());
  if (!root.ok() || !decoded.ok()) {
    return absl::DataLossError(
        absl::StrCat("the service answered a malformed proof: ",
                     std::string((root.ok() ? decoded.status() : root.status()).message())));
  }
  if (*format == smt::ProofFormat::kBinary) return response.proof();
  if (const auto* single = std::get_if<smt::SmtProof>(&decoded->proof)) {
    if (*format == smt::ProofFormat::kJson)
      return smt::proof_to_json(*single, *root).dump(2) + "\n";
    absl::StatusOr<nlohmann::json> circom = smt::proof_to_circom(*single, *root, o.levels);
    if (!circom.ok()) return circom.status();
    return circom->dump(2) + "\n";
  }
  return smt::multi_proof_to_json(std::get<smt::SmtMultiProof>(decoded->proof), *root).dump(2) +
         "\n";
}

// The SMT verdict is on stdout, valid or not.
int smt_verdict(const TreeCli& o, bool valid, std::string_view format,
                const std::string& claim_or_reason) {
  if (o.json) {
    nlohmann::json out{{"valid", valid}};
    if (!format.empty()) out["format"] = std::string(format);
    out[valid ? "claim" : "reason"] = claim_or_reason;
    std::cout << out.dump() << "\n";
  } else if (valid) {
    std::cout << "valid (" << format << "): " << claim_or_reason << "\n";
  } else {
    std::cout << "invalid: " << claim_or_reason << "\n";
  }
  return valid ? kExitOk : kExitRejected;
}

int smt_invalid(const TreeCli& o, std::string_view reason) {
  return smt_verdict(o, false, "", std::string(reason));
}

// What a valid proof says: the service decided that it holds.
int smt_valid(const TreeCli& o, const std::string& proof, std::string_view format) {
  absl::StatusOr<smt::DecodedProof> decoded = smt::decode_any_proof(proof);
  if (!decoded.ok()) return smt_invalid(o, std::string(decoded.status().message()));
  std::string claim;
  if (const auto* single = std::get_if<smt::SmtProof>(&decoded->proof)) {
    claim = single->existence ? absl::StrCat("key ", field::to_hex(single->key), " = ",
                                             field::to_hex(single->value))
                              : absl::StrCat("key ", field::to_hex(single->key), " absent");
  } else {
    claim = absl::StrCat(std::get<smt::SmtMultiProof>(decoded->proof).entries.size(), " keys");
  }
  return smt_verdict(o, true, format, claim);
}

// ---- verkle -------------------------------------------------------------------------------------

absl::StatusOr<std::string> verkle_encoding(const TreeCli& o, std::size_t /*keys*/) {
  if (o.format != "json" && o.format != "binary") {
    return absl::InvalidArgumentError(
        absl::StrCat("--format must be json or binary, not \"", o.format, "\""));
  }
  return o.format;
}

absl::StatusOr<std::string> verkle_render(const TreeCli& o, const v1::ProveResponse& response) {
  return o.format == "json" ? response.proof() + "\n" : response.proof();
}

// A Verkle verdict: the reason of an invalid witness goes to stderr (and into --json output).
int verkle_invalid(const TreeCli& o, std::string_view reason) {
  if (o.json) {
    std::cout << nlohmann::json{{"valid", false}, {"reason", std::string(reason)}}.dump() << "\n";
  }
  return fail(kExitRejected, absl::StrCat("invalid: ", std::string(reason)));
}

int verkle_report(const TreeCli& o, std::string_view format,
                  const verkle::StatelessResult& result) {
  if (o.json) {
    nlohmann::json out{{"valid", true},
                       {"format", std::string(format)},
                       {"stems", result.stems},
                       {"keys", result.keys},
                       {"present", result.present_keys},
                       {"openings", result.openings},
                       {"commitments", result.commitments}};
    if (result.post_root) {
      out["post_root"] = hex_text(std::string(result.post_root->begin(), result.post_root->end()));
    }
    std::cout << out.dump() << "\n";
    return kExitOk;
  }
  std::cout << "valid: " << result.keys << " keys (" << result.present_keys << " present) in "
            << result.stems << " stems, " << result.openings << " openings";
  if (result.post_root) {
    std::cout << "; post-state root "
              << hex_text(std::string(result.post_root->begin(), result.post_root->end()));
  }
  std::cout << "\n";
  return kExitOk;
}

// The counts the stateless verifier reports, read off a witness it found valid: the openings
// follow the prover's walk (proof_tree.hpp): one per child slot of each internal node on the
// stems' paths, two per leaf met, and per present stem one per half it opens and two per key.
verkle::StatelessResult count_witness(const verkle::VerkleWitness& w) {
  verkle::StatelessResult n;
  n.stems = w.state_diff.size();
  n.keys = w.key_count();
  n.commitments = w.commitments_by_path.size();
  std::set<std::string> slots;   // stem prefixes of 1..depth bytes
  std::set<std::string> leaves;  // leaf paths
  for (std::size_t i = 0; i < w.state_diff.size() && i < w.extension_statuses.size(); ++i) {
    const verkle::StemDiff& diff = w.state_diff[i];
    const std::string stem(diff.stem.begin(), diff.stem.end());
    const std::size_t depth = std::min<std::size_t>(w.extension_statuses[i] >> 3, stem.size());
    const auto status = static_cast<verkle::StemStatus>(w.extension_statuses[i] & 7);
    for (std::size_t d = 1; d <= depth; ++d) slots.insert(stem.substr(0, d));
    if (status == verkle::StemStatus::kAbsentEmpty) continue;
    leaves.insert(stem.substr(0, depth));
    if (status != verkle::StemStatus::kPresent) continue;
    bool low = false, high = false;
    for (const verkle::SuffixDiff& suffix : diff.suffixes) {
      low = low || suffix.suffix < 128;
      high = high || suffix.suffix >= 128;
      if (suffix.current) ++n.present_keys;
      n.openings += 2;
    }
    n.openings += (low ? 1 : 0) + (high ? 1 : 0);
  }
  n.openings += slots.size() + 2 * leaves.size();
  return n;
}

int verkle_valid(const TreeCli& o, const std::string& proof, std::string_view format) {
  absl::StatusOr<verkle::VerkleWitness> witness = verkle::parse_witness(proof);
  if (!witness.ok()) return verkle_invalid(o, std::string(witness.status().message()));
  return verkle_report(o, format, count_witness(*witness));
}

// --post-root: the whole stateless check here, newValues applied.
int verkle_post_state(const TreeCli& o, const std::string& root, const std::string& post_root,
                      const std::string& proof) {
  absl::StatusOr<verkle::VerkleWitness> witness = verkle::parse_witness(proof);
  if (!witness.ok()) return verkle_invalid(o, std::string(witness.status().message()));
  absl::StatusOr<host::BackendChoice> choice = host::parse_backend_choice(o.connection.backend);
  if (!choice.ok()) return fail(kExitFailure, choice.status().message());
  absl::StatusOr<std::unique_ptr<host::ComputeBackend>> backend = host::make_backend(*choice);
  if (!backend.ok()) return fail(kExitFailure, backend.status().message());
  verkle::RootCommitment pre;
  std::copy(root.begin(), root.end(), pre.begin());
  verkle::StatelessOptions stateless;
  stateless.expected_post_root.emplace();
  std::copy(post_root.begin(), post_root.end(), stateless.expected_post_root->begin());
  absl::StatusOr<verkle::StatelessResult> result =
      verkle::verify_witness(**backend, pre, *witness, stateless);
  if (absl::IsInvalidArgument(result.status()))
    return verkle_invalid(o, std::string(result.status().message()));
  if (!result.ok()) return fail(kExitFailure, result.status().message());
  return verkle_report(o, proof.starts_with(verkle::kBinaryWitnessMagic) ? "binary" : "json",
                       *result);
}

// ---- the table ----------------------------------------------------------------------------------

struct ProofText {
  std::string_view scheme;
  bool compute;  // proving and verifying need the bulk backend
  std::string_view not_a_proof;
  absl::StatusOr<std::string> (*encoding)(const TreeCli&, std::size_t keys);
  absl::StatusOr<std::string> (*render)(const TreeCli&, const v1::ProveResponse&);
  int (*valid)(const TreeCli&, const std::string& proof, std::string_view format);
  int (*invalid)(const TreeCli&, std::string_view reason);
};

constexpr ProofText kProofTexts[] = {
    {kSmt, false, "not an SMT proof (binary, JSON or circom)", smt_encoding, smt_render, smt_valid,
     smt_invalid},
    {kVerkle, true, "not a Verkle execution witness (go-verkle JSON or Arbor's binary form)",
     verkle_encoding, verkle_render, verkle_valid, verkle_invalid},
};

const ProofText& proof_text(const TreeCli& o) {
  for (const ProofText& entry : kProofTexts) {
    if (entry.scheme == o.scheme->scheme) return entry;
  }
  std::abort();  // every scheme of scheme_text.cpp has an entry
}

// The keys to prove: the arguments, then --keys-file. A bad key is named and nothing is proved.
int collect_keys(const TreeCli& o, std::vector<std::string>& keys) {
  for (const std::string& text : o.keys) {
    absl::StatusOr<std::string> key = o.scheme->parse(text, "key");
    if (!key.ok()) return fail(kExitRejected, key.status().message());
    keys.push_back(std::move(*key));
  }
  if (!o.keys_file.empty()) {
    if (int read = read_key_file(o.keys_file, *o.scheme, keys); read != kExitOk) return read;
  }
  if (keys.empty()) return fail(kExitRejected, "prove needs at least one KEY or --keys-file");
  return kExitOk;
}

}  // namespace

int run_prove(const TreeCli& o) {
  const ProofText& text = proof_text(o);
  std::vector<std::string> keys;
  if (int collected = collect_keys(o, keys); collected != kExitOk) return collected;
  absl::StatusOr<std::string> encoding = text.encoding(o, keys.size());
  if (!encoding.ok()) return fail(kExitRejected, encoding.status().message());
  absl::StatusOr<std::unique_ptr<Connection>> c =
      open_connection(o.connection, Access::kRead, text.compute);
  if (!c.ok()) return status_exit(c.status());
  if (int checked = require_tree(**c, o); checked != kExitOk) return checked;
  v1::ProveRequest request;
  request.set_tree(o.tree);
  for (std::string& key : keys) request.add_keys(std::move(key));
  set_selector(o, *request.mutable_at());
  request.set_encoding(*encoding);
  v1::ProveResponse response;
  if (grpc::Status s = call(**c, &Stub::Prove, request, response); !s.ok()) return grpc_exit(s);
  absl::StatusOr<std::string> bytes = text.render(o, response);
  if (!bytes.ok()) return status_exit(bytes.status());
  return write_whole_output(o.out, *bytes);
}

int run_verify(const TreeCli& o) {
  const ProofText& text = proof_text(o);
  absl::StatusOr<std::string> root = o.scheme->parse(o.root, "--root");
  if (!root.ok()) return fail(kExitFailure, root.status().message());
  absl::StatusOr<std::string> post_root = std::string();
  if (!o.post_root.empty()) post_root = o.scheme->parse(o.post_root, "--post-root");
  if (!post_root.ok()) return fail(kExitFailure, post_root.status().message());
  absl::StatusOr<std::string> proof = read_whole_input(o.proof);
  if (!proof.ok()) return fail(kExitFailure, proof.status().message());
  // The service verifies with whichever scheme reads the bytes: only this scheme's proofs go.
  const tree::Scheme* scheme = tree::find_scheme(o.scheme->scheme);
  if (scheme == nullptr || !scheme->recognizes(*proof)) return text.invalid(o, text.not_a_proof);
  if (!post_root->empty()) return verkle_post_state(o, *root, *post_root, *proof);

  absl::StatusOr<std::unique_ptr<Connection>> c =
      open_connection(o.connection, Access::kStateless, text.compute);
  if (!c.ok()) return status_exit(c.status());
  v1::VerifyRequest request;
  request.set_proof(*proof);
  request.set_root(*root);
  v1::VerifyResponse response;
  if (grpc::Status s = call(**c, &Stub::Verify, request, response); !s.ok()) {
    // A proof that cannot be decoded is an invalid proof, not a failure to verify.
    if (s.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
      return text.invalid(o, s.error_message());
    }
    return grpc_exit(s);
  }
  const std::string prefix = std::string(o.scheme->scheme) + "-";
  if (!response.format().starts_with(prefix)) return text.invalid(o, text.not_a_proof);
  if (!response.valid()) return text.invalid(o, response.reason());
  // "smt-json": json, "verkle-witness-binary": binary.
  std::string_view format = response.format();
  format.remove_prefix(prefix.size());
  constexpr std::string_view kWitness = "witness-";
  if (format.starts_with(kWitness)) format.remove_prefix(kWitness.size());
  return text.valid(o, *proof, format);
}

}  // namespace arbor::cli
