// Random Verkle keys for proof tests: keys that share leading bytes or whole stems with keys
// already in a tree, and probe sets that hit every presence / absence case of a witness.
#pragma once

#include <algorithm>
#include <random>
#include <vector>

#include "host/verkle/verkle_records.hpp"

namespace arbor::testing {

// Random, or (one time in `share_one_in`) sharing 1..3 leading bytes or the whole stem with a key
// of `near`.
inline verkle::Key32 random_verkle_key(std::mt19937_64& rng, const std::vector<verkle::Key32>& near,
                                       unsigned share_one_in = 3) {
  verkle::Key32 k;
  for (auto& b : k) b = static_cast<std::uint8_t>(rng());
  if (!near.empty() && rng() % share_one_in == 0) {
    const verkle::Key32& base = near[rng() % near.size()];
    std::copy_n(base.begin(), rng() % 4 == 0 ? 31 : 1 + rng() % 3, k.begin());
  }
  return k;
}

// `n` keys to prove: present ones, maybe-absent suffixes of present stems, stems anywhere
// (mostly empty slots), stems sharing two bytes with a present one, and stems differing from a
// present one in the last byte (they meet its leaf: "other stem").
inline std::vector<verkle::Key32> probe_verkle_keys(std::mt19937_64& rng,
                                                    const std::vector<verkle::Key32>& present,
                                                    std::size_t n) {
  std::vector<verkle::Key32> out;
  for (std::size_t i = 0; i < n; ++i) {
    verkle::Key32 k =
        present.empty() ? random_verkle_key(rng, {}) : present[rng() % present.size()];
    switch (rng() % 5) {
      case 0:
        break;
      case 1:
        k[31] = static_cast<std::uint8_t>(rng());
        break;
      case 2:
        k = random_verkle_key(rng, {});
        break;
      case 3:
        for (int b = 2; b < 31; ++b) k[b] = static_cast<std::uint8_t>(rng());
        break;
      default:
        k[30] ^= 1;
        break;
    }
    out.push_back(k);
  }
  return out;
}

}  // namespace arbor::testing
