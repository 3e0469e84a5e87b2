// What clients were told about their writes, for the tests that kill arbord under load
// (arbord_kill_test, arbor_soak): per key the acknowledged value, the values of later writes whose
// outcome is unknown, and whether a write of the key is in flight. Keys belong to one writer each,
// so "the last acknowledged value" is well defined per key. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "rpc/client/arbor_client.hpp"

namespace arbor::crash {

// A key's value as a reader sees it: absent (deleted or never applied) or bytes.
using Value = std::optional<std::string>;

// One operation of a write, in wire form; no value means a delete.
struct Mutation {
  std::string key;
  Value value;
};

class WriteLedger {
 public:
  // A write is about to be sent: until it is answered, readers leave its keys alone.
  void sent(const std::vector<Mutation>& ops);
  // Answered OK: its values are now the keys' own, and earlier doubts are gone.
  void acknowledged(const std::vector<Mutation>& ops);
  // Cut off (killed in flight): each value may or may not have been applied.
  void unknown(const std::vector<Mutation>& ops);
  // Refused, so nothing of it was applied.
  void refused(const std::vector<Mutation>& ops);

  // OK when `found` is the key's acknowledged value (absent for a key never acknowledged) or one
  // of its unknown ones; DATA_LOSS saying which otherwise.
  absl::Status check(const std::string& key, const Value& found) const;
  // After a restart, with nothing in flight: `found` (already checked) becomes the key's value,
  // so a later check also catches a value that was seen once and then went away.
  void settle(const std::string& key, const Value& found);

  // Every key ever written, in the order first sent.
  std::vector<std::string> keys() const;
  std::size_t size() const;
  // Keys whose acknowledged value is present (not deleted).
  std::size_t present() const;

  // A random key for a concurrent reader, with a token that stable() accepts only while no write
  // of the key was sent or answered in between.
  struct Sample {
    std::string key;
    std::uint64_t token = 0;
    bool quiet = false;  // no write of the key in flight when sampled
  };
  std::optional<Sample> sample(std::mt19937_64& rng) const;
  bool stable(const Sample& sample) const;

 private:
  struct Entry {
    Value acknowledged;
    std::set<Value> unknown;
    int in_flight = 0;
    std::uint64_t changes = 0;
  };
  Entry& entry(const std::string& key);  // mutex_ held

  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;
  std::vector<std::string> order_;
};

// Reads every key the ledger knows from `tree` through `client`: OK when each holds an allowed
// value (WriteLedger::check), the first disagreement or failed read otherwise.
absl::Status check_every_key(rpc::ArborClient& client, const std::string& tree,
                             const WriteLedger& ledger);

}  // namespace arbor::crash
