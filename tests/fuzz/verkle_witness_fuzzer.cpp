// EIP-6800 execution witnesses (go-verkle JSON and Arbor's binary form) through parse_witness
// and the stateless verifier, against a small Verkle tree built at start in a temporary store.
//
// Properties:
//  - parsing allocates in proportion to the input and refuses with INVALID_ARGUMENT and a
//    message;
//  - a parsed binary witness re-encodes to the input byte for byte; a parsed JSON witness
//    re-encodes to a canonical JSON that parses back to it (a fixed point), and through the
//    binary form and back unchanged;
//  - a witness that verifies against the tree's root claims only the tree's contents: every
//    currentValue is the model's value of that key (absent keys absent), the key count is right,
//    and when it writes nothing new (every newValue null or equal to a present currentValue) the
//    post-state root is the pre-state root;
//  - refusals of the verifier are INVALID_ARGUMENT with a message;
//  - the tree's own witnesses verify (checked once at start).
// The input is also applied as a small patch to one of the tree's witnesses (fuzz_support.hpp,
// patched()).
#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "host/backend/compute_backend.hpp"
#include "host/verkle/verkle_stateless.hpp"
#include "host/verkle/verkle_tree.hpp"
#include "host/verkle/verkle_witness.hpp"
#include "storage/store.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace arbor::fuzz {
namespace {

using verkle::Key32;
using verkle::RootCommitment;
using verkle::Value32;
using verkle::VerkleWitness;

Key32 key(std::uint8_t first, std::uint8_t second, std::uint8_t suffix) {
  Key32 k{};
  k[0] = first;
  k[1] = second;
  for (std::size_t i = 2; i < 31; ++i) k[i] = static_cast<std::uint8_t>(first * 7 + i);
  k[31] = suffix;
  return k;
}

Value32 value(std::uint8_t seed) {
  Value32 v{};
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::uint8_t>(seed * 31 + i);
  return v;
}

struct World {
  TempDir dir{"verkle-witness"};
  std::unique_ptr<host::ComputeBackend> backend = host::make_cpu_backend(1);
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<verkle::VerkleTree> tree;
  RootCommitment root{};
  std::map<Key32, Value32> contents;   // the model
  std::vector<std::string> encodings;  // the tree's witnesses, JSON and binary
};

// Stems alone at depth 1, stems sharing a first byte (depth 2) and sharing two bytes (depth 3),
// several suffixes per stem; probes for absent suffixes, absent stems in empty slots and absent
// stems that meet another stem.
void build(World* made) {
  storage::StoreOptions options;
  options.sync = storage::SyncMode::kNone;
  made->store = *storage::Store::open(made->dir.path() / "db", options);
  made->tree = *verkle::VerkleTree::create(*made->store, "v", {}, *made->backend);
  std::vector<verkle::VerkleOp> ops;
  const std::vector<Key32> keys = {key(1, 0, 0),   key(1, 0, 7),   key(1, 0, 200),
                                   key(2, 5, 1),   key(2, 9, 1),   key(3, 3, 3),
                                   key(3, 3, 255), key(200, 1, 0), key(200, 1, 1)};
  std::uint8_t seed = 1;
  for (const Key32& k : keys) {
    made->contents[k] = value(seed);
    ops.push_back(verkle::VerkleOp::put(k, value(seed++)));
  }
  // key(200, 1, x) and this one share a stem prefix of two bytes: one leaf one level deeper.
  Key32 near = key(200, 1, 9);
  near[2] ^= 1;
  made->contents[near] = value(99);
  ops.push_back(verkle::VerkleOp::put(near, value(99)));
  absl::StatusOr<verkle::VerkleApplyResult> applied = made->tree->apply(ops);
  check(applied.ok(), "the model tree applies", applied.status().ToString());
  made->root = applied->root;

  const std::vector<std::vector<Key32>> probes = {
      {key(1, 0, 0)},
      {key(1, 0, 8)},
      {key(9, 9, 9)},
      {key(2, 7, 1)},
      {key(200, 1, 1), near, key(200, 2, 0)},
      {key(1, 0, 7), key(2, 5, 1), key(3, 3, 4), key(250, 0, 0)},
  };
  for (const std::vector<Key32>& probe : probes) {
    absl::StatusOr<VerkleWitness> witness = made->tree->prove(probe);
    check(witness.ok(), "the model tree proves", witness.status().ToString());
    made->encodings.push_back(verkle::witness_to_json(*witness));
    made->encodings.push_back(verkle::witness_to_binary(*witness));
  }
}

// Built once and never destroyed (see TempDir).
World& world() {
  static World* w = [] {
    auto* made = new World;
    build(made);
    return made;
  }();
  return *w;
}

Key32 key_of(const verkle::Stem& stem, std::uint8_t suffix) {
  Key32 k{};
  std::copy(stem.begin(), stem.end(), k.begin());
  k[31] = suffix;
  return k;
}

void check_round_trip(std::string_view bytes, const VerkleWitness& witness) {
  const std::string binary = verkle::witness_to_binary(witness);
  if (bytes.starts_with(verkle::kBinaryWitnessMagic)) {
    check(binary == bytes, "binary parse -> encode gives the input back", shown(binary));
  } else {
    const std::string json = verkle::witness_to_json(witness);
    absl::StatusOr<VerkleWitness> again = verkle::witness_from_json(json);
    check(again.ok(), "the canonical JSON parses", again.status().ToString());
    check(verkle::witness_to_json(*again) == json, "the canonical JSON is a fixed point", json);
  }
  absl::StatusOr<VerkleWitness> from_binary = verkle::witness_from_binary(binary);
  check(from_binary.ok(), "the binary form parses", from_binary.status().ToString());
  check(verkle::witness_to_binary(*from_binary) == binary, "the binary form is a fixed point");
}

void check_against_model(const VerkleWitness& witness) {
  World& w = world();
  verkle::StatelessOptions options;
  options.compute_post_root = true;
  absl::StatusOr<verkle::StatelessResult> result =
      verkle::verify_witness(*w.backend, w.root, witness, options);
  if (!result.ok()) {
    check_refusal(result.status(), "verify_witness", {absl::StatusCode::kInvalidArgument});
    return;
  }
  check(result->keys == witness.key_count(), "a verified witness counts its keys");
  bool writes = false;
  for (const verkle::StemDiff& stem : witness.state_diff) {
    for (const verkle::SuffixDiff& diff : stem.suffixes) {
      const auto it = w.contents.find(key_of(stem.stem, diff.suffix));
      const std::optional<Value32> truth =
          it == w.contents.end() ? std::nullopt : std::optional(it->second);
      check(diff.current == truth, "a verified witness holds the tree's values",
            shown(verkle::as_view(stem.stem)) + " suffix " + std::to_string(diff.suffix));
      writes |= diff.next.has_value() && diff.next != diff.current;
    }
  }
  check(result->post_root.has_value(), "a post-state root was computed");
  if (!writes) {
    check(*result->post_root == w.root, "writing nothing new keeps the root");
  }
}

void check_one(std::string_view bytes) {
  const std::optional<VerkleWitness> witness = decode_within_bounds(
      bytes, "parse_witness", [](std::string_view in) { return verkle::parse_witness(in); });
  if (!witness) return;
  check_round_trip(bytes, *witness);
  check_against_model(*witness);
}

}  // namespace

std::vector<std::string> seeds() {
  World& w = world();
  for (const std::string& encoding : w.encodings) {
    absl::StatusOr<VerkleWitness> witness = verkle::parse_witness(encoding);
    check(witness.ok(), "every model witness parses", witness.status().ToString());
    check(verkle::verify_witness(*w.backend, w.root, *witness).ok(), "every model witness verifies",
          shown(encoding));
  }
  return w.encodings;
}

void test_one(std::string_view input) {
  check_one(input);
  if (const std::optional<std::string> tampered = patched(world().encodings, input)) {
    check_one(*tampered);
  }
}

}  // namespace arbor::fuzz
