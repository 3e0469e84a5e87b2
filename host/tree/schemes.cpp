#include "host/tree/schemes.hpp"

#include <array>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "host/smt/smt_proof_codec.hpp"
#include "host/smt/smt_tree.hpp"
#include "host/verkle/crs_msm.hpp"
#include "host/verkle/verkle_stateless.hpp"
#include "host/verkle/verkle_tree.hpp"
#include "host/verkle/verkle_witness.hpp"
#include "nlohmann/json.hpp"

namespace arbor::tree {
namespace {

// ---- smt ----

absl::StatusOr<std::unique_ptr<Tree>> create_smt(storage::Store& store, const std::string& name,
                                                 const CreateOptions& create,
                                                 host::ComputeBackend& backend,
                                                 const OpenOptions& options) {
  smt::SmtCreateOptions smt_create;
  smt_create.max_depth = create.max_depth == 0 ? smt::kDefaultMaxDepth : create.max_depth;
  smt_create.keep_versions = create.keep_versions;
  smt_create.base_version = create.base_version;
  smt_create.created_unix_ms = create.created_unix_ms;
  if (smt_create.max_depth < 1 || smt_create.max_depth > smt::kMaxDepthLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_depth: ", create.max_depth, " is outside 1..", smt::kMaxDepthLimit));
  }
  smt::SmtTreeOptions smt_options;
  smt_options.node_cache_bytes = options.node_cache_bytes;
  absl::StatusOr<std::unique_ptr<smt::SmtTree>> tree =
      smt::SmtTree::create(store, name, smt_create, backend, smt_options);
  if (!tree.ok()) return tree.status();
  return std::unique_ptr<Tree>(std::move(*tree));
}

absl::StatusOr<std::unique_ptr<Tree>> open_smt(storage::Store& store, const std::string& name,
                                               host::ComputeBackend& backend,
                                               const OpenOptions& options) {
  smt::SmtTreeOptions smt_options;
  smt_options.node_cache_bytes = options.node_cache_bytes;
  absl::StatusOr<std::unique_ptr<smt::SmtTree>> tree =
      smt::SmtTree::open(store, name, backend, smt_options);
  if (!tree.ok()) return tree.status();
  return std::unique_ptr<Tree>(std::move(*tree));
}

bool looks_like_json_object(std::string_view bytes) {
  const std::size_t first = bytes.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && bytes[first] == '{';
}

// A Verkle witness in JSON names one of these at its top level; an SMT proof JSON never does.
// Only the top-level keys are looked at, by one pass over the bytes that skips strings and
// tracks nesting: no parse (and no allocation) of what may be 64 MiB of hostile JSON before the
// scheme's own bounded decoder sees it. Malformed JSON is left to that decoder to refuse.
bool is_verkle_json(std::string_view bytes) {
  if (!looks_like_json_object(bytes)) return false;
  int depth = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const char c = bytes[i];
    if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth <= 0) return false;  // the top-level object ended
    } else if (c == '"') {
      const std::size_t start = i + 1;
      for (++i; i < bytes.size() && bytes[i] != '"'; ++i) {
        if (bytes[i] == '\\') ++i;
      }
      if (i >= bytes.size()) return false;
      if (depth != 1) continue;
      const std::string_view text = bytes.substr(start, i - start);
      const std::size_t next = bytes.find_first_not_of(" \t\r\n", i + 1);
      const bool is_key = next != std::string_view::npos && bytes[next] == ':';
      if (is_key && (text == "stateDiff" || text == "verkleProof" || text == "executionWitness")) {
        return true;
      }
    }
  }
  return false;
}

bool recognizes_smt(std::string_view proof) {
  if (proof.size() >= 2 && (proof.substr(0, 2) == std::string_view(smt::kProofMagic, 2) ||
                            proof.substr(0, 2) == std::string_view(smt::kMultiProofMagic, 2))) {
    return true;
  }
  return looks_like_json_object(proof) && !is_verkle_json(proof);
}

absl::StatusOr<VerifyOutcome> verify_smt(std::string_view proof,
                                         std::optional<std::string_view> root_bytes,
                                         host::ComputeBackend& /*backend*/,
                                         const VerifyOptions& options) {
  smt::ProofLimits limits;
  limits.deadline = options.deadline;
  std::optional<smt::Fr> root;
  if (root_bytes) {
    absl::StatusOr<smt::Fr> given = smt::wire_fr(*root_bytes, "root");
    if (!given.ok()) return given.status();
    root = *given;
  }
  absl::StatusOr<smt::DecodedProof> decoded = smt::decode_any_proof(proof, limits);
  if (!decoded.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("proof: ", std::string(decoded.status().message())));
  }
  VerifyOutcome outcome;
  outcome.format = absl::StrCat("smt-", std::string(smt::to_string(decoded->format)));
  if (!root) root = decoded->root;
  if (!root) {
    return absl::InvalidArgumentError(
        "root: required, because a binary proof does not name the root it belongs to");
  }
  outcome.root = smt::fr_bytes(*root);
  if (absl::Status verdict = smt::verify_decoded(*root, *decoded, limits); !verdict.ok()) {
    // Only a proof that does not hold is a verdict; running out of time is an error.
    if (verdict.code() != absl::StatusCode::kInvalidArgument) return verdict;
    outcome.reason = std::string(verdict.message());
  } else {
    outcome.valid = true;
  }
  return outcome;
}

void warm_up_smt(host::ComputeBackend& /*backend*/) {}

absl::StatusOr<CreateOptions> smt_create_options_of(const storage::TreeInfo& info) {
  absl::StatusOr<smt::SmtParams> params = smt::decode_params(info.params);
  if (!params.ok()) return params.status();
  CreateOptions create;
  create.keep_versions = info.keep_versions;
  create.max_depth = params->max_depth;
  return create;
}

// ---- verkle ----

absl::StatusOr<CreateOptions> verkle_create_options_of(const storage::TreeInfo& info) {
  CreateOptions create;
  create.keep_versions = info.keep_versions;
  return create;
}

void warm_up_verkle(host::ComputeBackend& backend) {
  const verkle::SparseTerm term{0, verkle::Fr::one()};
  (void)verkle::crs_commit(backend, std::span(&term, 1));
  (void)verkle::mul_q(verkle::Fr::one());
}

absl::StatusOr<std::unique_ptr<Tree>> create_verkle(storage::Store& store, const std::string& name,
                                                    const CreateOptions& create,
                                                    host::ComputeBackend& backend,
                                                    const OpenOptions& /*options*/) {
  if (create.max_depth != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_depth: ", create.max_depth, "; a Verkle tree has no max depth setting (leave it 0)"));
  }
  verkle::VerkleCreateOptions verkle_create;
  verkle_create.keep_versions = create.keep_versions;
  verkle_create.base_version = create.base_version;
  verkle_create.created_unix_ms = create.created_unix_ms;
  absl::StatusOr<std::unique_ptr<verkle::VerkleTree>> tree =
      verkle::VerkleTree::create(store, name, verkle_create, backend);
  if (!tree.ok()) return tree.status();
  return std::unique_ptr<Tree>(std::move(*tree));
}

absl::StatusOr<std::unique_ptr<Tree>> open_verkle(storage::Store& store, const std::string& name,
                                                  host::ComputeBackend& backend,
                                                  const OpenOptions& /*options*/) {
  absl::StatusOr<std::unique_ptr<verkle::VerkleTree>> tree =
      verkle::VerkleTree::open(store, name, backend);
  if (!tree.ok()) return tree.status();
  return std::unique_ptr<Tree>(std::move(*tree));
}

bool recognizes_verkle(std::string_view proof) {
  return proof.substr(0, verkle::kBinaryWitnessMagic.size()) == verkle::kBinaryWitnessMagic ||
         is_verkle_json(proof);
}

// The deadline is not consulted: a witness's verification cost is linear in its size, which its
// decoder bounds (verkle_witness.hpp).
absl::StatusOr<VerifyOutcome> verify_verkle(std::string_view proof,
                                            std::optional<std::string_view> root_bytes,
                                            host::ComputeBackend& backend,
                                            const VerifyOptions& /*options*/) {
  if (!root_bytes) {
    return absl::InvalidArgumentError(
        "root: required, because a Verkle witness does not carry the pre-state root");
  }
  if (root_bytes->size() != sizeof(verkle::RootCommitment)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "root: ", root_bytes->size(), " bytes, expected 32 (a compressed root commitment)"));
  }
  verkle::RootCommitment root;
  std::copy(root_bytes->begin(), root_bytes->end(), root.begin());
  if (absl::StatusOr<verkle::Point> point = verkle::deserialize(root); !point.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("root: ", std::string(point.status().message())));
  }
  absl::StatusOr<verkle::VerkleWitness> witness = verkle::parse_witness(proof);
  if (!witness.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("proof: ", std::string(witness.status().message())));
  }
  VerifyOutcome outcome;
  outcome.format =
      std::string(proof.substr(0, verkle::kBinaryWitnessMagic.size()) == verkle::kBinaryWitnessMagic
                      ? verkle::kBinaryWitnessFormat
                      : verkle::kJsonWitnessFormat);
  outcome.root = std::string(*root_bytes);
  absl::StatusOr<verkle::StatelessResult> verified =
      verkle::verify_witness(backend, root, *witness);
  if (verified.ok()) {
    outcome.valid = true;
  } else if (verified.status().code() == absl::StatusCode::kInvalidArgument) {
    // A witness that decodes but does not hold against this root (points that are not on the
    // curve included: they are part of what the proof claims).
    outcome.reason = std::string(verified.status().message());
  } else {
    return verified.status();
  }
  return outcome;
}

constexpr std::array<Scheme, 2> kSchemes = {{
    {smt::kScheme, "key, value and root: 32-byte big-endian BN254 field elements below p",
     create_smt, open_smt, smt_create_options_of, recognizes_smt, verify_smt, warm_up_smt},
    {verkle::kScheme,
     "key: 32 bytes (31-byte stem, suffix byte); value: 32 bytes; root: the 32-byte compressed "
     "root commitment",
     create_verkle, open_verkle, verkle_create_options_of, recognizes_verkle, verify_verkle,
     warm_up_verkle},
}};

}  // namespace

std::span<const Scheme> schemes() { return kSchemes; }

const Scheme* find_scheme(std::string_view name) {
  for (const Scheme& scheme : kSchemes) {
    if (scheme.name == name) return &scheme;
  }
  return nullptr;
}

std::string scheme_names() {
  std::vector<std::string> names;
  for (const Scheme& scheme : kSchemes) names.emplace_back(scheme.name);
  return absl::StrJoin(names, ", ");
}

absl::StatusOr<VerifyOutcome> verify_any(std::string_view proof,
                                         std::optional<std::string_view> root,
                                         host::ComputeBackend& backend,
                                         const VerifyOptions& options) {
  if (proof.empty()) return absl::InvalidArgumentError("proof: empty");
  for (const Scheme& scheme : kSchemes) {
    if (scheme.recognizes(proof)) return scheme.verify(proof, root, backend, options);
  }
  return absl::InvalidArgumentError(
      "proof: not an encoding of any scheme (smt binary \"AS\"/\"AM\", smt JSON or circom input, "
      "verkle witness binary \"AVW1\" or go-verkle JSON)");
}

}  // namespace arbor::tree
