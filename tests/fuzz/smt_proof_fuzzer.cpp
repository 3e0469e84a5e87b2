// SMT proofs in every encoding (binary single, binary multi, JSON, circom) through
// decode_any_proof and verify_decoded, against a small tree modelled here from its definition.
//
// Properties:
//  - decoding allocates in proportion to the input (fuzz_support.hpp) and refuses with
//    INVALID_ARGUMENT and a message;
//  - binary decodes re-encode to the input byte for byte; JSON and circom decodes re-encode to a
//    canonical form that decodes to the same proof (and is a fixed point);
//  - a proof that verifies against the model's root proves a true claim: a single proof is
//    exactly the model's proof of its key, every multi-proof entry the model's claim for its key;
//  - and the model's own proofs verify (so the verifier is not simply refusing everything).
// Each input is also applied as a small patch to one of the model's valid encodings
// (fuzz_support.hpp, patched()).
#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "host/smt/smt_hash.hpp"
#include "host/smt/smt_proof_codec.hpp"
#include "kernels/field/bn254_fr_text.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace arbor::fuzz {
namespace {

using smt::DecodedProof;
using smt::Fr;
using smt::KeyBits;
using smt::Leaf;
using smt::MultiProofEntry;
using smt::ProofFormat;
using smt::SmtMultiProof;
using smt::SmtProof;

Fr num(std::uint64_t v) { return field::from_u64(v); }

// The iden3 SMT from its definition: a leaf sits at the shallowest depth where its key's path is
// its own; empty subtrees hash to 0.
class ModelTree {
 public:
  explicit ModelTree(std::vector<Leaf> leaves) : leaves_(std::move(leaves)) {
    std::vector<const Leaf*> all;
    for (const Leaf& leaf : leaves_) all.push_back(&leaf);
    root_ = hash(all, 0);
  }
  const Fr& root() const { return root_; }
  const std::vector<Leaf>& leaves() const { return leaves_; }

  std::optional<Fr> value(const Fr& key) const {
    for (const Leaf& leaf : leaves_) {
      if (leaf.key == key) return leaf.value;
    }
    return std::nullopt;
  }

  SmtProof proof(const Fr& key) const {
    SmtProof proof;
    proof.key = key;
    const KeyBits bits = smt::key_bits(key);
    std::vector<const Leaf*> here;
    for (const Leaf& leaf : leaves_) here.push_back(&leaf);
    for (int depth = 0;; ++depth) {
      if (here.empty()) return proof;  // an empty slot
      if (here.size() == 1) {
        if (here[0]->key == key) {
          proof.existence = true;
          proof.value = here[0]->value;
        } else {
          proof.aux = *here[0];
        }
        return proof;
      }
      auto [same, other] = split(here, depth, smt::path_bit(bits, depth));
      proof.siblings.push_back(hash(other, depth + 1));
      here = same;
    }
  }

 private:
  static std::pair<std::vector<const Leaf*>, std::vector<const Leaf*>> split(
      const std::vector<const Leaf*>& leaves, int depth, bool bit) {
    std::vector<const Leaf*> same, other;
    for (const Leaf* leaf : leaves) {
      (smt::path_bit(smt::key_bits(leaf->key), depth) == bit ? same : other).push_back(leaf);
    }
    return {same, other};
  }
  static Fr hash(const std::vector<const Leaf*>& leaves, int depth) {
    if (leaves.empty()) return Fr::zero();
    if (leaves.size() == 1) return smt::leaf_hash(leaves[0]->key, leaves[0]->value);
    auto [zeros, ones] = split(leaves, depth, false);
    return smt::node_hash(hash(zeros, depth + 1), hash(ones, depth + 1));
  }

  std::vector<Leaf> leaves_;
  Fr root_;
};

// Keys with short and long shared paths (5 and 5 + 2^9 share 9 bits), a large key, and the
// absent keys below ending at empty slots (3, 13) or at other leaves (9, 4, 0).
const ModelTree& model() {
  static const ModelTree tree({
      {num(1), num(11)},
      {num(2), num(22)},
      {num(5), num(55)},
      {num(5 + 512), num(77)},
      {num(6), Fr::zero()},
      {*field::parse_fr("0x2a5c6e8f0000000000000000000000000000000000000000000000000000000c"),
       num(123456789)},
  });
  return tree;
}

const std::vector<Fr>& probe_keys() {
  static const std::vector<Fr> keys = {num(1), num(2),  num(5), num(517), num(6),
                                       num(3), num(13), num(9), num(4),   num(0)};
  return keys;
}

// Single and multi-proof encodings of the model in every format.
std::vector<std::string> model_encodings() {
  const ModelTree& tree = model();
  std::vector<std::string> out;
  for (const Fr& key : probe_keys()) {
    const SmtProof proof = tree.proof(key);
    out.push_back(smt::encode_proof_binary(proof));
    out.push_back(smt::proof_to_json(proof, tree.root()).dump());
    out.push_back(smt::proof_to_circom(proof, tree.root(), 12)->dump());
  }
  std::vector<SmtProof> several;
  for (std::uint64_t k : {1, 5, 517, 3, 13}) several.push_back(tree.proof(num(k)));
  const SmtMultiProof multi = *smt::combine_proofs(several);
  out.push_back(smt::encode_multi_proof_binary(multi));
  out.push_back(smt::multi_proof_to_json(multi, tree.root()).dump());
  out.push_back(smt::multi_proof_to_json(multi, std::nullopt).dump(2));
  return out;
}

bool same_decoded(const DecodedProof& a, const DecodedProof& b) {
  return a.format == b.format && a.proof == b.proof && a.root == b.root &&
         a.circom_levels == b.circom_levels;
}

// The canonical text of a decoded JSON or circom proof.
std::string canonical_text(const DecodedProof& decoded) {
  if (decoded.format == ProofFormat::kCircom) {
    absl::StatusOr<nlohmann::json> circom = smt::proof_to_circom(
        std::get<SmtProof>(decoded.proof), *decoded.root, decoded.circom_levels);
    check(circom.ok(), "a decoded circom proof re-encodes", circom.status().ToString());
    return circom->dump();
  }
  if (const auto* single = std::get_if<SmtProof>(&decoded.proof)) {
    return smt::proof_to_json(*single, decoded.root).dump();
  }
  return smt::multi_proof_to_json(std::get<SmtMultiProof>(decoded.proof), decoded.root).dump();
}

void check_round_trip(std::string_view bytes, const DecodedProof& decoded) {
  if (decoded.format == ProofFormat::kBinary) {
    const std::string again =
        std::holds_alternative<SmtProof>(decoded.proof)
            ? smt::encode_proof_binary(std::get<SmtProof>(decoded.proof))
            : smt::encode_multi_proof_binary(std::get<SmtMultiProof>(decoded.proof));
    check(again == bytes, "binary decode -> encode gives the input back", shown(again));
    return;
  }
  check(decoded.format != ProofFormat::kCircom || decoded.root.has_value(),
        "a circom proof names its root");
  const std::string text = canonical_text(decoded);
  absl::StatusOr<DecodedProof> again = smt::decode_any_proof(text);
  check(again.ok(), "the canonical form decodes", again.status().ToString() + " " + shown(text));
  check(same_decoded(*again, decoded), "the canonical form decodes to the same proof", text);
  check(canonical_text(*again) == text, "the canonical form is a fixed point", text);
}

// What verification may conclude: against the model's root, only the model's truth.
void check_against_model(const DecodedProof& decoded) {
  const ModelTree& tree = model();
  const absl::Status verified = smt::verify_decoded(tree.root(), decoded);
  if (const auto* single = std::get_if<SmtProof>(&decoded.proof)) {
    const SmtProof expected = tree.proof(single->key);
    const bool root_ok = !decoded.root || *decoded.root == tree.root();
    if (verified.ok()) {
      check(*single == expected, "a verified single proof is the model's proof of its key",
            field::to_hex(single->key));
    } else {
      check_refusal(verified, "verify_decoded (single)", {absl::StatusCode::kInvalidArgument});
      check(!(root_ok && *single == expected), "the model's own proof verifies",
            verified.ToString());
    }
    return;
  }
  const auto& multi = std::get<SmtMultiProof>(decoded.proof);
  if (!verified.ok()) {
    check_refusal(verified, "verify_decoded (multi)", {absl::StatusCode::kInvalidArgument});
    return;
  }
  for (const MultiProofEntry& entry : multi.entries) {
    const SmtProof expected = tree.proof(entry.key);
    check(entry.existence == expected.existence && entry.aux == expected.aux &&
              entry.depth == expected.depth() &&
              (!entry.existence || entry.value == expected.value),
          "every entry of a verified multi-proof is the model's claim", field::to_hex(entry.key));
  }
}

void check_one(std::string_view bytes) {
  const std::optional<DecodedProof> decoded = decode_within_bounds(
      bytes, "decode_any_proof", [](std::string_view in) { return smt::decode_any_proof(in); });
  if (!decoded) return;
  check_round_trip(bytes, *decoded);
  check_against_model(*decoded);
}

const std::vector<std::string>& encodings() {
  static const std::vector<std::string> all = model_encodings();
  return all;
}

}  // namespace

std::vector<std::string> seeds() {
  for (const std::string& encoding : encodings()) {
    absl::StatusOr<DecodedProof> decoded = smt::decode_any_proof(encoding);
    check(decoded.ok(), "every model encoding decodes", decoded.status().ToString());
    check(smt::verify_decoded(model().root(), *decoded).ok(), "every model encoding verifies",
          shown(encoding));
  }
  return encodings();
}

void test_one(std::string_view input) {
  check_one(input);
  if (const std::optional<std::string> tampered = patched(encodings(), input)) {
    check_one(*tampered);
  }
}

}  // namespace arbor::fuzz
