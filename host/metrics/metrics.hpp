// A small Prometheus metrics library: counters, gauges and histograms owned by a Registry that
// renders the text exposition format 0.0.4 for the /metrics endpoint. No dependency beyond abseil.
//
// Hot-path updates (Counter::inc, Gauge::set, Histogram::observe) are lock-free atomics. Looking up
// a labelled series takes a lock, so callers should look a series up once and keep the reference:
// every Counter&, Gauge& and Histogram& handed out stays valid, at the same address, for the
// registry's lifetime.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace arbor::metrics {

enum class MetricType { kCounter, kGauge, kHistogram };

// "counter", "gauge", "histogram": the word used on # TYPE lines.
std::string_view type_name(MetricType type);

template <typename T>
class Family;

// A monotonic counter. Integer increments go to an exact 64-bit count (one fetch_add); fractional
// increments go to a separate double, so integer counts stay exact past 2^53.
class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  void inc(std::uint64_t n = 1) noexcept { whole_.fetch_add(n, std::memory_order_relaxed); }
  // Negative and NaN amounts are ignored: a counter never goes down.
  void add(double amount) noexcept;
  double value() const noexcept;

 private:
  friend class Family<Counter>;  // renders whole_ exactly, without a trip through double
  std::atomic<std::uint64_t> whole_{0};
  std::atomic<double> fraction_{0.0};
};

// A value that goes up and down.
class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void set(double value) noexcept { value_.store(value, std::memory_order_relaxed); }
  void add(double amount) noexcept { value_.fetch_add(amount, std::memory_order_relaxed); }
  void sub(double amount) noexcept { value_.fetch_sub(amount, std::memory_order_relaxed); }
  void inc() noexcept { add(1.0); }
  void dec() noexcept { sub(1.0); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// A histogram with fixed bucket upper bounds. observe() is a binary search plus two atomic adds;
// the cumulative counts are built at scrape time.
class Histogram {
 public:
  // `bounds` must pass validate_bucket_bounds() (a trailing +Inf is dropped); aborts otherwise.
  // Registry::histogram_family() validates first and reports errors as a Status instead.
  explicit Histogram(std::vector<double> bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // NaN lands in the +Inf bucket and makes the sum NaN, as in the Go client.
  void observe(double value) noexcept;

  // Finite upper bounds, strictly increasing; the implicit +Inf bucket is not listed.
  const std::vector<double>& bounds() const { return bounds_; }
  // One cumulative count per bound, then the +Inf bucket (== count()).
  std::vector<std::uint64_t> cumulative_counts() const;
  std::uint64_t count() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  // Non-cumulative counts, bounds_.size() + 1 of them (the last is +Inf).
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<double> sum_{0.0};
};

// OK for strictly increasing, non-NaN bounds with at least one finite bound; a trailing +Inf is
// allowed (it is implicit anyway); -Inf is not.
absl::Status validate_bucket_bounds(std::span<const double> bounds);

// `count` bounds start, start*factor, start*factor^2, ...; empty (which histogram_family refuses)
// unless start > 0, factor > 1 and count >= 1.
std::vector<double> exponential_buckets(double start, double factor, int count);
// `count` bounds start, start+width, ...; empty unless width > 0 and count >= 1.
std::vector<double> linear_buckets(double start, double width, int count);

// Prometheus spelling of a sample value: exact integers without exponent, otherwise the shortest
// text that reads back to the same double; +Inf, -Inf, NaN.
std::string format_value(double value);

// Escaping of the text format: label values escape \ " and newline; HELP escapes \ and newline.
std::string escape_label_value(std::string_view value);
std::string escape_help(std::string_view help);

// [a-zA-Z_:][a-zA-Z0-9_:]* and [a-zA-Z_][a-zA-Z0-9_]*; label names starting "__" are reserved
// for Prometheus itself and refused too.
bool is_valid_metric_name(std::string_view name);
bool is_valid_label_name(std::string_view name);

class Registry;

namespace detail {

// Orders label-value tuples lexicographically, and lets a map keyed by std::vector<std::string> be
// searched with string_views without building strings.
struct LabelValuesLess {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return std::lexicographical_compare(
        a.begin(), a.end(), b.begin(), b.end(),
        [](std::string_view x, std::string_view y) { return x < y; });
  }
};

// What Registry needs from every family, whatever its metric type.
class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, MetricType type,
             std::vector<std::string> label_names, std::vector<double> bounds);
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Histogram bucket bounds (without +Inf); empty for counters and gauges.
  const std::vector<double>& bounds() const { return bounds_; }

  // Appends HELP, TYPE and every series, sorted by label values; nothing if there are no series.
  virtual void render(std::string& out) const = 0;

 protected:
  // Aborts with a message naming the family when the number of label values is wrong: the shape
  // of a family is a programmer constant, not data.
  void check_arity(std::size_t got) const;

 private:
  std::string name_;
  std::string help_;
  MetricType type_;
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;
};

// Lets only Registry construct families while still using std::make_unique.
class FamilyKey {
 private:
  friend class arbor::metrics::Registry;
  FamilyKey() = default;
};

}  // namespace detail

// All series of one metric name, told apart by label values in the order of the family's label
// names. Owned by the Registry; obtained from Registry::*_family().
template <typename T>
class Family final : public detail::FamilyBase {
 public:
  Family(detail::FamilyKey, std::string name, std::string help, std::vector<std::string> labels,
         std::vector<double> bounds);

  // The series with these label values, created (at zero) on first use. The reference is stable
  // for the registry's lifetime; keep it rather than looking it up per event. Aborts if the
  // number of values differs from the number of label names.
  T& with(std::initializer_list<std::string_view> label_values);
  T& with(std::span<const std::string> label_values);

  void render(std::string& out) const override;

 private:
  T& find_or_create(std::span<const std::string_view> label_values);

  mutable std::shared_mutex mu_;
  // A node-based map: series never move once created.
  std::map<std::vector<std::string>, std::unique_ptr<T>, detail::LabelValuesLess> series_;
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// Labels of a collector sample: (name, value) pairs, rendered in the order given.
using Labels = std::vector<std::pair<std::string, std::string>>;

// Handed to collectors at scrape time; gathers samples of values that live elsewhere (RocksDB
// statistics, queue depths, GPU memory). Samples of one name form one family: HELP and TYPE come
// from its first sample. Bad samples (invalid names, a type clashing with earlier samples or with a
// registered family, a repeated series) are dropped and reported as "# arbor_metrics: ..." comment
// lines at the end of the output, which scrapers ignore.
class CollectorSink {
 public:
  CollectorSink(const CollectorSink&) = delete;
  CollectorSink& operator=(const CollectorSink&) = delete;

  void gauge(std::string_view name, std::string_view help, double value, Labels labels = {});
  void counter(std::string_view name, std::string_view help, double value, Labels labels = {});

 private:
  friend class Registry;
  struct SinkFamily {
    std::string help;
    MetricType type;
    std::map<Labels, double> series;  // sorted by label pairs for deterministic output
  };

  // `reserved` maps every name the registered families render (a histogram "h" reserves h,
  // h_bucket, h_sum, h_count) to its family name.
  explicit CollectorSink(const std::map<std::string, std::string, std::less<>>* reserved)
      : reserved_(reserved) {}
  void emit(std::string_view name, std::string_view help, MetricType type, double value,
            Labels labels);
  void render(std::string& out) const;

  const std::map<std::string, std::string, std::less<>>* reserved_;
  std::vector<std::string> order_;  // family names in order of first emission
  std::map<std::string, SinkFamily, std::less<>> families_;
  std::vector<std::string> dropped_;
};

// Owns metric families and renders them. Registration and rendering are thread-safe.
//
// Registering a name that is already registered returns the existing family when type, help,
// label names (and histogram bounds) all match; any difference is kAlreadyExists. A name that
// collides with a name another family renders (a gauge "h_count" beside a histogram "h") is
// kAlreadyExists too. Invalid metric or label names, duplicate label names, and bad histogram
// bounds are kInvalidArgument.
class Registry {
 public:
  using Collector = std::function<void(CollectorSink&)>;

  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  absl::StatusOr<CounterFamily*> counter_family(std::string_view name, std::string_view help,
                                                std::vector<std::string> label_names);
  absl::StatusOr<GaugeFamily*> gauge_family(std::string_view name, std::string_view help,
                                            std::vector<std::string> label_names);
  // "le" may not be a label name of a histogram: it names the bucket.
  absl::StatusOr<HistogramFamily*> histogram_family(std::string_view name, std::string_view help,
                                                    std::vector<std::string> label_names,
                                                    std::vector<double> bounds);

  // Unlabelled metrics: a family without label names, and its single series.
  absl::StatusOr<Counter*> counter(std::string_view name, std::string_view help);
  absl::StatusOr<Gauge*> gauge(std::string_view name, std::string_view help);
  absl::StatusOr<Histogram*> histogram(std::string_view name, std::string_view help,
                                       std::vector<double> bounds);

  // Called on every render(), in the order added, after the registered families are rendered.
  // Scrapes are serialized, so a collector is never run twice at once; it must not call back
  // into this registry's render().
  void add_collector(Collector collector);

  // The text exposition format 0.0.4 (Content-Type: text/plain; version=0.0.4): registered
  // families in registration order, then collector families in order of first emission.
  std::string render() const;

 private:
  template <typename T>
  absl::StatusOr<Family<T>*> register_family(std::string_view name, std::string_view help,
                                             MetricType type, std::vector<std::string> labels,
                                             std::vector<double> bounds);

  mutable std::mutex mu_;  // guards the containers below, not the metric values
  mutable std::mutex scrape_mu_;
  std::vector<std::unique_ptr<detail::FamilyBase>> families_;  // registration order
  std::map<std::string, detail::FamilyBase*, std::less<>> by_name_;
  std::map<std::string, std::string, std::less<>> reserved_;  // rendered name -> family name
  std::vector<std::unique_ptr<Collector>> collectors_;
};

}  // namespace arbor::metrics
