// The EIP-6800 Verkle tree, persisted and versioned in an Arbor store, byte-compatible with
// go-verkle, rust-verkle and @ethereumjs/verkle.
//
// A batch is applied in bulk (host/verkle/README.md has the details): dedupe the operations (last
// wins per key), read the old values and every node on the touched paths (one batched read per
// level), change the tree's shape on the host, then compute commitments as backend jobs: all leaf
// C1/C2 deltas in one job, one batched map-to-field, all leaf C deltas, another map-to-field, then
// each level of internal nodes deepest first. Nodes, values and the new root go to the store in
// one commit.
//
// VerkleTree is a tree::Tree (host/tree/tree.hpp): the engine, the batcher and the service use it
// through that interface (keys and values 32 bytes, the root the 32-byte compressed commitment,
// proofs binary or go-verkle JSON witnesses). The typed calls below are the same operations.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "host/backend/compute_backend.hpp"
#include "host/tree/tree.hpp"
#include "host/verkle/verkle_records.hpp"
#include "host/verkle/verkle_witness.hpp"
#include "storage/store.hpp"

namespace arbor::verkle {

struct VerkleOp {
  enum class Kind : std::uint8_t { kPut, kDelete };
  Kind kind = Kind::kPut;
  Key32 key{};
  Value32 value{};  // kPut only

  static VerkleOp put(const Key32& key, const Value32& value) { return {Kind::kPut, key, value}; }
  static VerkleOp erase(const Key32& key) { return {Kind::kDelete, key, Value32{}}; }
};

struct VerkleCreateOptions {
  std::uint64_t keep_versions = 0;  // 0 keeps every version
  std::uint64_t base_version = 0;   // storage::TreeSpec's, for a migrated tree
  std::optional<std::int64_t> created_unix_ms = std::nullopt;
};

// The store's description of a new Verkle tree.
storage::TreeSpec verkle_tree_spec(const std::string& name, const VerkleCreateOptions& create);

using VerkleApplyOptions = tree::ApplyOptions;

// The shared counters (compute_ms is the commitment math, commit_ms the store commit), and the
// tree-shape ones only a Verkle apply has.
struct VerkleApplyStats : tree::ApplyStats {
  std::uint64_t stems_touched = 0;
  std::uint64_t leaves_written = 0;
  std::uint64_t internal_written = 0;
  std::uint64_t nodes_erased = 0;
};

struct VerkleApplyResult {
  std::uint64_t version = 0;
  RootCommitment root{};          // 32-byte compressed root commitment
  std::uint64_t entry_count = 0;  // values in the tree at the new version
  VerkleApplyStats stats;
  storage::VersionRecord record;  // as committed
};

// The proof encodings' names (tree::Proof::format).
inline constexpr std::string_view kBinaryWitnessFormat = "verkle-witness-binary";
inline constexpr std::string_view kJsonWitnessFormat = "verkle-witness-json";

class VerkleTree final : public tree::Tree {
 public:
  // Registers a new Verkle tree named `name` in `store`. The store and backend must outlive it.
  static absl::StatusOr<std::unique_ptr<VerkleTree>> create(storage::Store& store,
                                                            const std::string& name,
                                                            const VerkleCreateOptions& create,
                                                            host::ComputeBackend& backend);
  // Opens an existing Verkle tree; FAILED_PRECONDITION when `name` holds another scheme. Nothing
  // is recomputed: commitments are read from the store as needed.
  static absl::StatusOr<std::unique_ptr<VerkleTree>> open(storage::Store& store,
                                                          const std::string& name,
                                                          host::ComputeBackend& backend);

  // tree::Tree
  std::string_view scheme() const override { return kScheme; }
  absl::Status check_key(std::string_view key, std::string_view field) const override;
  absl::Status check_value(std::string_view value, std::string_view field) const override;
  absl::StatusOr<tree::ApplyResult> apply(std::span<const tree::Op> ops,
                                          const tree::ApplyOptions& options) override;

  // Applies the operations atomically as one new version. Several operations on one key: the
  // last wins. Then, as go-verkle defines deletion: a deleted value is removed (not zeroed), a
  // leaf whose last value goes is removed, and so is an internal node (other than the root) whose
  // last child goes; nothing is collapsed upwards. Within one batch the deletes are applied
  // before the puts. Deleting an absent key does nothing. On any failure nothing changes.
  absl::StatusOr<VerkleApplyResult> apply(std::span<const VerkleOp> ops,
                                          const VerkleApplyOptions& options = {});

  // Reads at the head, or at a retained version (each call its own snapshot; reader() binds one).
  absl::StatusOr<RootCommitment> root(std::optional<std::uint64_t> version = std::nullopt) const;
  // map_to_scalar_field(root) as 32 bytes little-endian (rust-verkle's root_hash).
  absl::StatusOr<std::array<std::uint8_t, 32>> root_hash(
      std::optional<std::uint64_t> version = std::nullopt) const;
  absl::StatusOr<std::optional<Value32>> get(
      const Key32& key, std::optional<std::uint64_t> version = std::nullopt) const;
  // The node record at `node_key` (internal or leaf), for proofs and inspection; nullopt when the
  // tree has no node there.
  absl::StatusOr<std::optional<VerkleNode>> node(
      const NodeKey& node_key, std::optional<std::uint64_t> version = std::nullopt) const;

  // An EIP-6800 execution witness for `keys` at the head or a retained version: the keys'
  // values in the state diff (currentValue; newValue stays null) and the proof of them
  // (extension statuses, other stems, commitments by path, multiproof with transcript "vt"),
  // which go-verkle's and rust-verkle's stateless verifiers accept against root(version).
  // Duplicates are dropped and the keys sorted, as the witness needs. Reads one store snapshot,
  // one batched read per tree level; the proof's curve work runs on the backend.
  // INVALID_ARGUMENT for no keys. verkle_prover.cpp.
  absl::StatusOr<VerkleWitness> prove(std::span<const Key32> keys,
                                      std::optional<std::uint64_t> version = std::nullopt) const;

  // What prove() hands the multiproof prover, and the witness without its multiproof: the tree
  // part of a proof, apart from its math (benchmarks and differential tests time or replay the
  // math alone).
  struct ProofInputs {
    std::vector<Key32> keys;  // sorted, distinct
    std::vector<ProverPolynomial> polys;
    std::vector<ProverOpening> openings;
    VerkleWitness witness;  // multiproof bytes left zero
  };
  absl::StatusOr<ProofInputs> proof_inputs(
      std::span<const Key32> keys, std::optional<std::uint64_t> version = std::nullopt) const;

  // One binary witness of every key, and each key's value.
  std::uint64_t max_written_proof_bytes(std::uint64_t keys) const override {
    return max_binary_witness_bytes(keys) + keys * 32;
  }

 protected:
  absl::StatusOr<tree::Proof> prove_in(const storage::TreeView& view,
                                       std::span<const std::string> keys,
                                       tree::ProofEncoding encoding) const override;
  // One witness of all the keys (WriteProofs::combined).
  absl::StatusOr<tree::WriteProofs> prove_written_in(
      const storage::TreeView& view, std::span<const std::string> keys) const override;

 private:
  VerkleTree(storage::Store& store, std::string name, host::ComputeBackend& backend);

  absl::StatusOr<ProofInputs> proof_inputs_at(const storage::TreeView& view,
                                              std::span<const Key32> keys) const;
  absl::StatusOr<VerkleWitness> prove_at(const storage::TreeView& view,
                                         std::span<const Key32> keys) const;
};

}  // namespace arbor::verkle
