// The random Verkle trees the Verkle benchmarks run on: N random keys and values, bulk-loaded once
// per size per process in a scratch store under $ARBOR_BENCH_DIR, with a sample of their keys.
// Close them (verkle_bench_trees().clear()) before main returns: a RocksDB database must not
// outlive RocksDB's own statics.
#pragma once

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "bench/bench_support.hpp"
#include "host/verkle/verkle_bulk_load.hpp"
#include "host/verkle/verkle_tree.hpp"
#include "kernels/verkle/pedersen.hpp"

namespace arbor::bench {

inline verkle::Key32 random_bytes32(std::mt19937_64& rng) {
  verkle::Key32 out;
  for (std::size_t i = 0; i < out.size(); i += 8) {
    const std::uint64_t word = rng();
    for (std::size_t b = 0; b < 8; ++b) out[i + b] = static_cast<std::uint8_t>(word >> (8 * b));
  }
  return out;
}

struct VerkleBenchTree {
  std::filesystem::path dir;
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<verkle::VerkleTree> tree;
  std::vector<verkle::Key32> keys;  // the first kKeySample keys in the tree
  verkle::RootCommitment root{};    // after the build
  std::mt19937_64 rng{20261121};

  static constexpr std::size_t kKeySample = 1000000;

  ~VerkleBenchTree() {
    tree.reset();
    store.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

inline std::map<std::int64_t, std::unique_ptr<VerkleBenchTree>>& verkle_bench_trees() {
  static std::map<std::int64_t, std::unique_ptr<VerkleBenchTree>> instance;
  return instance;
}

// The tree of `keys` random keys on `backend`, built on first use (its time goes to stderr).
inline VerkleBenchTree& verkle_bench_tree(std::int64_t keys, host::ComputeBackend& backend) {
  auto& slot = verkle_bench_trees()[keys];
  if (slot) return *slot;
  slot = std::make_unique<VerkleBenchTree>();
  slot->dir = make_bench_dir("arbor-verkle-bench");
  slot->store = open_scratch_store(slot->dir);  // timed batches commit in sync none too
  (void)verkle::default_pedersen_tables();      // built once, not charged to the first batch
  // Bulk-loaded (host/verkle/verkle_bulk_load.hpp): the tree one batch of these keys would build,
  // its files already at the bottom level, so no compaction runs under the timed work.
  const auto started = std::chrono::steady_clock::now();
  std::vector<verkle::VerkleLoadEntry> entries;
  entries.reserve(keys);
  for (std::int64_t i = 0; i < keys; ++i) {
    const verkle::Key32 key = random_bytes32(slot->rng);
    if (slot->keys.size() < VerkleBenchTree::kKeySample) slot->keys.push_back(key);
    entries.push_back({key, random_bytes32(slot->rng)});
  }
  or_die(verkle::load_verkle(*slot->store, "bench", std::move(entries), backend), "load");
  slot->tree = or_die(verkle::VerkleTree::open(*slot->store, "bench", backend), "open");
  slot->root = or_die(slot->tree->root(), "root");
  std::fprintf(stderr, "verkle bench: loaded a %lld-key tree in %.1f s on %s\n",
               static_cast<long long>(keys),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
               backend.description().c_str());
  return *slot;
}

}  // namespace arbor::bench
