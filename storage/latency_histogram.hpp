// Lock-free latency histogram with log-spaced buckets (4 per power of two), for percentiles in
// statistics without keeping every sample.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "storage/store.hpp"

namespace arbor::storage {

class LatencyHistogram {
 public:
  void record(double micros);
  LatencySummary summary() const;

 private:
  static constexpr int kSubBuckets = 4;
  static constexpr int kBuckets = 40 * kSubBuckets;  // up to 2^40 µs
  static int bucket_of(double micros);
  static double bucket_upper_bound(int bucket);

  std::array<std::atomic<uint64_t>, kBuckets> counts_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> total_ns_{0};
  std::atomic<uint64_t> max_ns_{0};
};

}  // namespace arbor::storage
