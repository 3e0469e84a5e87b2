// What the soak's threads share: per tree, the ledger of writes and the newest acknowledged
// version; for the whole run, the counters the summary prints and the failures.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "tests/crash/write_ledger.hpp"

namespace arbor::soak {

struct SoakTree {
  std::string name;
  std::string scheme;  // "smt" or "verkle"
  crash::WriteLedger ledger;
  std::atomic<std::uint64_t> newest_acked_version{0};
  std::atomic<std::uint64_t> acked_writes{0};

  void acked_version(std::uint64_t version) {
    std::uint64_t seen = newest_acked_version.load();
    while (seen < version && !newest_acked_version.compare_exchange_weak(seen, version)) {
    }
  }
};

// The run's totals, as numbers; a cycle's line prints the growth of each.
struct Counts {
  std::uint64_t acked = 0;            // writes answered OK (not replays)
  std::uint64_t unknown = 0;          // writes cut off by a kill
  std::uint64_t overloaded = 0;       // refused RESOURCE_EXHAUSTED, applied nothing
  std::uint64_t replays = 0;          // keyed writes sent again and answered replayed
  std::uint64_t retried = 0;          // cut-off keyed writes retried after a restart
  std::uint64_t retried_applied = 0;  // ... of which the first attempt had applied
  std::uint64_t reads = 0;            // Gets with a proof, verified
  std::uint64_t values_checked = 0;   // ... whose value could be checked exactly
};

// The same, counted by the load's threads.
struct Counters {
  std::atomic<std::uint64_t> acked{0}, unknown{0}, overloaded{0}, replays{0}, retried{0},
      retried_applied{0}, reads{0}, values_checked{0};

  Counts load() const {
    Counts counts;
    counts.acked = acked;
    counts.unknown = unknown;
    counts.overloaded = overloaded;
    counts.replays = replays;
    counts.retried = retried;
    counts.retried_applied = retried_applied;
    counts.reads = reads;
    counts.values_checked = values_checked;
    return counts;
  }
};

// The first failures, in the order seen; any one fails the run.
class Failures {
 public:
  void add(std::string what) {
    std::lock_guard lock(mutex_);
    if (messages_.size() < 20) messages_.push_back(std::move(what));
    ++count_;
  }
  bool any() const {
    std::lock_guard lock(mutex_);
    return count_ > 0;
  }
  std::vector<std::string> messages() const {
    std::lock_guard lock(mutex_);
    return messages_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> messages_;
  std::uint64_t count_ = 0;
};

// One cycle's run state, seen by every load thread.
struct CycleFlags {
  std::atomic<bool> stop{false};     // load threads end their loop
  std::atomic<bool> killing{false};  // failures from here on are the kill's
};

}  // namespace arbor::soak
