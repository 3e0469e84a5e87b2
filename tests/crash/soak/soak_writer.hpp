// One writer of the soak: its own keys on one tree, written through every write form, plain or
// with an idempotency key. It lives across kills: a keyed write cut off by one is retried with
// the same key after the restart and must be applied exactly once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "rpc/client/arbor_client.hpp"
#include "tests/crash/soak/soak_attempt.hpp"
#include "tests/crash/soak/soak_keys.hpp"
#include "tests/crash/soak/soak_state.hpp"

namespace arbor::soak {

class Writer {
 public:
  Writer(int id, SoakTree& tree, std::uint64_t seed, int max_keys, Counters& counters,
         Failures& failures);

  // After a restart, before the load, with `head` the tree's version at the restart: the retry
  // of the keyed write cut off by the kill, then replays of keyed writes acknowledged before it.
  void recover(rpc::ArborClient& client, std::uint64_t head);
  // Writes until `flags.stop`, or until a write is cut off (the kill).
  void run(rpc::ArborClient& client, const CycleFlags& flags);

 private:
  Attempt next_attempt();
  std::vector<crash::Mutation> next_ops();
  void on_acknowledged(rpc::ArborClient& client, const CycleFlags& flags, Attempt& attempt,
                       const v1::WriteResponse& response);
  void retry_cut_off(rpc::ArborClient& client, std::uint64_t head);
  void fail(const Attempt& attempt, const std::string& what);

  const int id_;
  SoakTree& tree_;
  std::mt19937_64 rng_;
  const std::size_t max_keys_;
  Counters& counters_;
  Failures& failures_;
  std::unique_ptr<KeySpace> key_space_;
  std::vector<std::string> mine_;
  std::uint64_t sent_ = 0;                   // attempts made, for unique idempotency keys
  std::uint64_t last_version_ = 0;           // of this writer's last applied write
  std::optional<Attempt> cut_off_;           // a keyed write whose answer the kill took
  std::vector<Attempt> acknowledged_keyed_;  // replayed after the next restart
};

}  // namespace arbor::soak
