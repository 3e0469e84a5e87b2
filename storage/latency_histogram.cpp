#include "storage/latency_histogram.hpp"

#include <algorithm>
#include <cmath>

namespace arbor::storage {

int LatencyHistogram::bucket_of(double micros) {
  if (micros <= 1.0) return 0;
  int bucket = static_cast<int>(std::ceil(std::log2(micros) * kSubBuckets));
  return std::clamp(bucket, 0, kBuckets - 1);
}

double LatencyHistogram::bucket_upper_bound(int bucket) {
  return std::exp2(static_cast<double>(bucket) / kSubBuckets);
}

void LatencyHistogram::record(double micros) {
  micros = std::max(micros, 0.0);
  counts_[bucket_of(micros)].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  auto ns = static_cast<uint64_t>(micros * 1000.0);
  total_ns_.fetch_add(ns, std::memory_order_relaxed);
  uint64_t seen = max_ns_.load(std::memory_order_relaxed);
  while (ns > seen && !max_ns_.compare_exchange_weak(seen, ns, std::memory_order_relaxed)) {
  }
}

LatencySummary LatencyHistogram::summary() const {
  std::array<uint64_t, kBuckets> counts;
  uint64_t total = 0;
  for (int i = 0; i < kBuckets; ++i) {
    counts[i] = counts_[i].load(std::memory_order_relaxed);
    total += counts[i];
  }
  LatencySummary summary;
  summary.count = total;
  if (total == 0) return summary;
  summary.mean_us = static_cast<double>(total_ns_.load(std::memory_order_relaxed)) / 1000.0 /
                    static_cast<double>(count_.load(std::memory_order_relaxed));
  summary.max_us = static_cast<double>(max_ns_.load(std::memory_order_relaxed)) / 1000.0;
  // A percentile reports its bucket's upper bound (at most 19% high), capped by the maximum.
  auto percentile = [&](double fraction) {
    auto rank = static_cast<uint64_t>(std::ceil(fraction * static_cast<double>(total)));
    uint64_t seen = 0;
    for (int i = 0; i < kBuckets; ++i) {
      seen += counts[i];
      if (seen >= std::max<uint64_t>(rank, 1)) {
        return std::min(bucket_upper_bound(i), summary.max_us);
      }
    }
    return summary.max_us;
  };
  summary.p50_us = percentile(0.50);
  summary.p99_us = percentile(0.99);
  return summary;
}

}  // namespace arbor::storage
