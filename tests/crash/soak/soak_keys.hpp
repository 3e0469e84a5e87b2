// A writer's keys and values in one scheme's wire form. Verkle keys keep the tree's shape
// independent of its history (host/verkle/README.md: a delete that empties a leaf leaves its
// neighbours where they are): the first key put on a stem, its anchor, is never deleted, and
// other keys join a stem only once its anchor's put was acknowledged. So no leaf is ever emptied,
// and the head's root equals a from-scratch build of its values (the offline check).
#pragma once

#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "tests/crash/write_ledger.hpp"

namespace arbor::soak {

class KeySpace {
 public:
  virtual ~KeySpace() = default;
  // A key this writer has not used before (random, so no other writer uses it either).
  virtual std::string new_key(std::mt19937_64& rng) = 0;
  virtual std::string new_value(std::mt19937_64& rng) = 0;
  virtual bool deletable(const std::string& key) const = 0;
  // The writer's write of `ops` was acknowledged.
  virtual void acknowledged(const std::vector<crash::Mutation>& /*ops*/) {}
};

std::unique_ptr<KeySpace> make_key_space(std::string_view scheme);

}  // namespace arbor::soak
