// The crash test's workload: version v of tree "crash" is a batch derived only from (seed, v), so
// the test can rebuild the expected contents of any version without trusting the store.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <string>

#include "storage/store.hpp"

namespace arbor::crash {

inline constexpr const char* kTree = "crash";
inline constexpr uint64_t kKeepVersions = 8;
inline constexpr uint64_t kKeySpace = 3000;

inline std::string workload_key(uint64_t index) {
  std::string key(32, '\0');
  uint64_t mixed = index * 0x9e3779b97f4a7c15ull;
  for (int i = 0; i < 8; ++i) key[i] = static_cast<char>(mixed >> (56 - 8 * i));
  for (int i = 0; i < 8; ++i) key[24 + i] = static_cast<char>(index >> (56 - 8 * i));
  return key;
}

inline std::string version_root(uint64_t seed, uint64_t version) {
  return "root/" + std::to_string(seed) + "/" + std::to_string(version);
}

// Records of version `version`: 1..400 writes, about one in six an erase; the root node is a node
// record named by the version.
inline storage::CommitRequest workload_batch(uint64_t seed, uint64_t version) {
  std::mt19937_64 rng(seed * 1000003 + version);
  storage::CommitRequest request;
  request.parent_version = version - 1;
  request.root = version_root(seed, version);
  request.label = std::to_string(version);
  request.root_node_key = workload_key(kKeySpace + version % 4);
  request.writes.put(storage::Space::kNodes, request.root_node_key, request.root);
  uint64_t count = 1 + rng() % 400;
  for (uint64_t i = 0; i < count; ++i) {
    std::string key = workload_key(rng() % kKeySpace);
    storage::Space space = rng() % 2 ? storage::Space::kNodes : storage::Space::kValues;
    if (rng() % 6 == 0) {
      request.writes.erase(space, key);
    } else {
      // 32..100 bytes: the version, then filler.
      std::string value(32 + rng() % 69, static_cast<char>('a' + rng() % 26));
      std::string tag = std::to_string(version);
      std::copy(tag.begin(), tag.end(), value.begin());
      request.writes.put(space, key, value);
    }
  }
  return request;
}

// Contents of each space after applying versions 1..version, built incrementally.
struct WorkloadModel {
  std::map<std::string, std::string> spaces[2];
  uint64_t version = 0;

  void advance_to(uint64_t seed, uint64_t target) {
    for (; version < target; ++version) {
      auto batch = workload_batch(seed, version + 1);
      for (const auto& mutation : batch.writes.mutations()) {
        auto& space = spaces[static_cast<int>(mutation.space)];
        if (mutation.erase) {
          space.erase(mutation.key);
        } else {
          space[mutation.key] = mutation.value;
        }
      }
    }
  }
};

}  // namespace arbor::crash
