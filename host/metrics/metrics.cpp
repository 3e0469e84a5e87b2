#include "host/metrics/metrics.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <set>
#include <type_traits>

namespace arbor::metrics {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "arbor::metrics: %s\n", message.c_str());
  std::abort();
}

void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// {a="x",b="y"} (plus le="..." for buckets), or nothing when there are no labels at all.
void append_labels(std::string& out, std::span<const std::string> names,
                   std::span<const std::string> values, const std::string* le = nullptr) {
  if (names.empty() && le == nullptr) return;
  out += '{';
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    out += escape_label_value(values[i]);
    out += '"';
  }
  if (le != nullptr) {
    if (!names.empty()) out += ',';
    out += "le=\"";
    out += *le;
    out += '"';
  }
  out += '}';
}

void append_header(std::string& out, std::string_view name, std::string_view help,
                   MetricType type) {
  out += "# HELP ";
  out += name;
  if (!help.empty()) {
    out += ' ';
    out += escape_help(help);
  }
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type_name(type);
  out += '\n';
}

// Every name a family's samples use; a new family may take none of another family's.
std::vector<std::string> rendered_names(std::string_view name, MetricType type) {
  std::vector<std::string> names{std::string(name)};
  if (type == MetricType::kHistogram) {
    for (const char* suffix : {"_bucket", "_sum", "_count"})
      names.push_back(std::string(name) + suffix);
  }
  return names;
}

std::string quoted(std::string_view s) { return "\"" + escape_label_value(s) + "\""; }

std::string describe(MetricType type, const std::vector<std::string>& labels) {
  std::string out(type_name(type));
  out += " {";
  for (std::size_t i = 0; i < labels.size(); ++i) out += (i ? "," : "") + labels[i];
  out += '}';
  return out;
}

// A trailing +Inf bound is implicit in every histogram; store bounds without it.
std::vector<double> without_inf(std::vector<double> bounds) {
  if (!bounds.empty() && bounds.back() == kInf) bounds.pop_back();
  return bounds;
}

}  // namespace

std::string_view type_name(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// ---- values -----------------------------------------------------------------------------------

void Counter::add(double amount) noexcept {
  if (!(amount > 0)) return;  // also refuses NaN
  fraction_.fetch_add(amount, std::memory_order_relaxed);
}

double Counter::value() const noexcept {
  return static_cast<double>(whole_.load(std::memory_order_relaxed)) +
         fraction_.load(std::memory_order_relaxed);
}

Histogram::Histogram(std::vector<double> bounds) {
  if (absl::Status s = validate_bucket_bounds(bounds); !s.ok()) {
    die("bad histogram bounds: " + std::string(s.message()));
  }
  bounds_ = without_inf(std::move(bounds));
  buckets_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
}

void Histogram::observe(double value) noexcept {
  // lower_bound finds the first bound >= value: buckets are "less than or equal".
  const std::size_t i =
      std::isnan(value)
          ? bounds_.size()
          : static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                                     bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::cumulative_counts() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    out[i] = running;
  }
  return out;
}

std::uint64_t Histogram::count() const { return cumulative_counts().back(); }

absl::Status validate_bucket_bounds(std::span<const double> bounds) {
  if (!bounds.empty() && bounds.back() == kInf) bounds = bounds.first(bounds.size() - 1);
  if (bounds.empty()) {
    return absl::InvalidArgumentError(
        "a histogram needs at least one finite bucket bound (did a bucket helper get bad "
        "arguments?)");
  }
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i])) {
      return absl::InvalidArgumentError("bucket bound " + std::to_string(i) + " is " +
                                        format_value(bounds[i]));
    }
    if (i > 0 && !(bounds[i - 1] < bounds[i])) {
      return absl::InvalidArgumentError(
          "bucket bounds must be strictly increasing: " + format_value(bounds[i - 1]) + " then " +
          format_value(bounds[i]));
    }
  }
  return absl::OkStatus();
}

std::vector<double> exponential_buckets(double start, double factor, int count) {
  if (!(start > 0) || !(factor > 1) || count < 1) return {};
  std::vector<double> out;
  out.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i, start *= factor) out.push_back(start);  // as the Go client does
  return out;
}

std::vector<double> linear_buckets(double start, double width, int count) {
  if (!(width > 0) || count < 1) return {};
  std::vector<double> out;
  out.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) out.push_back(start + width * i);  // no accumulated drift
  return out;
}

// ---- text ------------------------------------------------------------------------------------

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == 0) return "0";  // -0 too
  char buf[32];
  // Below 2^53 every integral double is an exact integer: print all its digits, no exponent.
  constexpr double kExactIntegers = 9007199254740992.0;
  if (std::trunc(value) == value && std::fabs(value) < kExactIntegers) {
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(value));
    return std::string(buf, end);
  }
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);  // shortest round-trip
  return std::string(buf, end);
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

namespace {
bool is_letter_or_underscore(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }
}  // namespace

bool is_valid_metric_name(std::string_view name) {
  if (name.empty() || !(is_letter_or_underscore(name[0]) || name[0] == ':')) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return is_letter_or_underscore(c) || is_digit(c) || c == ':'; });
}

bool is_valid_label_name(std::string_view name) {
  if (name.empty() || !is_letter_or_underscore(name[0]) || name.starts_with("__")) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return is_letter_or_underscore(c) || is_digit(c); });
}

// ---- families --------------------------------------------------------------------------------

namespace detail {

FamilyBase::FamilyBase(std::string name, std::string help, MetricType type,
                       std::vector<std::string> label_names, std::vector<double> bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)),
      bounds_(std::move(bounds)) {}

void FamilyBase::check_arity(std::size_t got) const {
  if (got != label_names_.size()) {
    die("family " + name_ + " takes " + std::to_string(label_names_.size()) +
        " label values, got " + std::to_string(got));
  }
}

}  // namespace detail

template <typename T>
Family<T>::Family(detail::FamilyKey, std::string name, std::string help,
                  std::vector<std::string> labels, std::vector<double> bounds)
    : FamilyBase(std::move(name), std::move(help),
                 std::is_same_v<T, Counter> ? MetricType::kCounter
                 : std::is_same_v<T, Gauge> ? MetricType::kGauge
                                            : MetricType::kHistogram,
                 std::move(labels), std::move(bounds)) {}

template <typename T>
T& Family<T>::with(std::initializer_list<std::string_view> label_values) {
  return find_or_create(
      std::span<const std::string_view>(label_values.begin(), label_values.size()));
}

template <typename T>
T& Family<T>::with(std::span<const std::string> label_values) {
  const std::vector<std::string_view> views(label_values.begin(), label_values.end());
  return find_or_create(views);
}

template <typename T>
T& Family<T>::find_or_create(std::span<const std::string_view> label_values) {
  check_arity(label_values.size());
  {
    std::shared_lock lock(mu_);
    if (auto it = series_.find(label_values); it != series_.end()) return *it->second;
  }
  std::unique_lock lock(mu_);
  auto it = series_.find(label_values);  // another thread may have created it meanwhile
  if (it == series_.end()) {
    std::unique_ptr<T> metric;
    if constexpr (std::is_same_v<T, Histogram>) {
      metric = std::make_unique<Histogram>(bounds());
    } else {
      metric = std::make_unique<T>();
    }
    it = series_
             .emplace(std::vector<std::string>(label_values.begin(), label_values.end()),
                      std::move(metric))
             .first;
  }
  return *it->second;
}

template <typename T>
void Family<T>::render(std::string& out) const {
  std::shared_lock lock(mu_);
  if (series_.empty()) return;
  append_header(out, name(), help(), type());
  for (const auto& [values, metric] : series_) {
    if constexpr (std::is_same_v<T, Histogram>) {
      const std::vector<std::uint64_t> counts = metric->cumulative_counts();
      const std::string bucket = name() + "_bucket";
      for (std::size_t i = 0; i < counts.size(); ++i) {
        const std::string le = i < bounds().size() ? format_value(bounds()[i]) : "+Inf";
        out += bucket;
        append_labels(out, label_names(), values, &le);
        out += ' ';
        append_uint(out, counts[i]);
        out += '\n';
      }
      out += name() + "_sum";
      append_labels(out, label_names(), values);
      out += ' ' + format_value(metric->sum()) + '\n';
      out += name() + "_count";
      append_labels(out, label_names(), values);
      out += ' ';
      append_uint(out, counts.back());  // the same snapshot as the +Inf bucket
      out += '\n';
    } else {
      out += name();
      append_labels(out, label_names(), values);
      out += ' ';
      if constexpr (std::is_same_v<T, Counter>) {
        // Keep integer counts exact past 2^53 when nothing fractional was added.
        const std::uint64_t whole = metric->whole_.load(std::memory_order_relaxed);
        const double fraction = metric->fraction_.load(std::memory_order_relaxed);
        if (fraction == 0) {
          append_uint(out, whole);
        } else {
          out += format_value(static_cast<double>(whole) + fraction);
        }
      } else {
        out += format_value(metric->value());
      }
      out += '\n';
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// ---- collectors ------------------------------------------------------------------------------

void CollectorSink::gauge(std::string_view name, std::string_view help, double value,
                          Labels labels) {
  emit(name, help, MetricType::kGauge, value, std::move(labels));
}

void CollectorSink::counter(std::string_view name, std::string_view help, double value,
                            Labels labels) {
  emit(name, help, MetricType::kCounter, value, std::move(labels));
}

void CollectorSink::emit(std::string_view name, std::string_view help, MetricType type,
                         double value, Labels labels) {
  auto drop = [&](const std::string& why) {
    dropped_.push_back("dropped sample " + quoted(name) + ": " + why);
  };
  if (!is_valid_metric_name(name)) return drop("invalid metric name");
  std::set<std::string_view> seen;
  for (const auto& [label, unused] : labels) {
    if (!is_valid_label_name(label)) return drop("invalid label name " + quoted(label));
    if (!seen.insert(label).second) return drop("label " + quoted(label) + " given twice");
  }
  if (auto it = reserved_->find(name); it != reserved_->end()) {
    return drop("collides with registered family " + quoted(it->second));
  }
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(std::string(name), SinkFamily{std::string(help), type, {}}).first;
    order_.emplace_back(name);
  } else if (it->second.type != type) {
    return drop(std::string(type_name(type)) + " sample in a family of " +
                std::string(type_name(it->second.type)) + " samples");
  }
  if (!it->second.series.emplace(std::move(labels), value).second) {
    return drop("the same labels were given twice");
  }
}

void CollectorSink::render(std::string& out) const {
  for (const std::string& name : order_) {
    const SinkFamily& family = families_.find(name)->second;
    append_header(out, name, family.help, family.type);
    for (const auto& [labels, value] : family.series) {
      out += name;
      if (!labels.empty()) {
        out += '{';
        for (std::size_t i = 0; i < labels.size(); ++i) {
          if (i > 0) out += ',';
          out += labels[i].first + "=\"" + escape_label_value(labels[i].second) + '"';
        }
        out += '}';
      }
      out += ' ' + format_value(value) + '\n';
    }
  }
  // Comment lines: scrapers skip them, a person reading /metrics sees what went wrong.
  for (const std::string& line : dropped_) out += "# arbor_metrics: " + line + '\n';
}

// ---- registry --------------------------------------------------------------------------------

Registry::Registry() = default;
Registry::~Registry() = default;

template <typename T>
absl::StatusOr<Family<T>*> Registry::register_family(std::string_view name, std::string_view help,
                                                     MetricType type,
                                                     std::vector<std::string> labels,
                                                     std::vector<double> bounds) {
  if (!is_valid_metric_name(name)) {
    return absl::InvalidArgumentError("invalid metric name " + quoted(name));
  }
  std::set<std::string_view> seen;
  for (const std::string& label : labels) {
    if (!is_valid_label_name(label)) {
      return absl::InvalidArgumentError("metric " + std::string(name) + ": invalid label name " +
                                        quoted(label));
    }
    if (type == MetricType::kHistogram && label == "le") {
      return absl::InvalidArgumentError("histogram " + std::string(name) +
                                        ": \"le\" is reserved for buckets");
    }
    if (!seen.insert(label).second) {
      return absl::InvalidArgumentError("metric " + std::string(name) + ": label " + quoted(label) +
                                        " given twice");
    }
  }
  if (type == MetricType::kHistogram) {
    if (absl::Status s = validate_bucket_bounds(bounds); !s.ok()) {
      return absl::InvalidArgumentError("histogram " + std::string(name) + ": " +
                                        std::string(s.message()));
    }
    bounds = without_inf(std::move(bounds));
  }

  std::lock_guard lock(mu_);
  if (auto it = by_name_.find(name); it != by_name_.end()) {
    const detail::FamilyBase& old = *it->second;
    if (old.type() != type || old.label_names() != labels) {
      return absl::AlreadyExistsError("metric " + std::string(name) + " is already registered as " +
                                      describe(old.type(), old.label_names()) + ", not " +
                                      describe(type, labels));
    }
    if (old.help() != help) {
      return absl::AlreadyExistsError("metric " + std::string(name) +
                                      " is already registered with another help text");
    }
    if (old.bounds() != bounds) {
      return absl::AlreadyExistsError("histogram " + std::string(name) +
                                      " is already registered with other buckets");
    }
    // Same type, so the downcast is to the family's real type.
    return static_cast<Family<T>*>(it->second);
  }
  const std::vector<std::string> names = rendered_names(name, type);
  for (const std::string& n : names) {
    if (auto it = reserved_.find(n); it != reserved_.end()) {
      return absl::AlreadyExistsError("metric " + std::string(name) + " would render " + n +
                                      ", which family " + it->second + " already renders");
    }
  }
  auto family =
      std::make_unique<Family<T>>(detail::FamilyKey{}, std::string(name), std::string(help),
                                  std::move(labels), std::move(bounds));
  Family<T>* raw = family.get();
  families_.push_back(std::move(family));
  by_name_.emplace(std::string(name), raw);
  for (const std::string& n : names) reserved_.emplace(n, std::string(name));
  return raw;
}

absl::StatusOr<CounterFamily*> Registry::counter_family(std::string_view name,
                                                        std::string_view help,
                                                        std::vector<std::string> label_names) {
  return register_family<Counter>(name, help, MetricType::kCounter, std::move(label_names), {});
}

absl::StatusOr<GaugeFamily*> Registry::gauge_family(std::string_view name, std::string_view help,
                                                    std::vector<std::string> label_names) {
  return register_family<Gauge>(name, help, MetricType::kGauge, std::move(label_names), {});
}

absl::StatusOr<HistogramFamily*> Registry::histogram_family(std::string_view name,
                                                            std::string_view help,
                                                            std::vector<std::string> label_names,
                                                            std::vector<double> bounds) {
  return register_family<Histogram>(name, help, MetricType::kHistogram, std::move(label_names),
                                    std::move(bounds));
}

absl::StatusOr<Counter*> Registry::counter(std::string_view name, std::string_view help) {
  absl::StatusOr<CounterFamily*> family = counter_family(name, help, {});
  if (!family.ok()) return family.status();
  return &(*family)->with({});
}

absl::StatusOr<Gauge*> Registry::gauge(std::string_view name, std::string_view help) {
  absl::StatusOr<GaugeFamily*> family = gauge_family(name, help, {});
  if (!family.ok()) return family.status();
  return &(*family)->with({});
}

absl::StatusOr<Histogram*> Registry::histogram(std::string_view name, std::string_view help,
                                               std::vector<double> bounds) {
  absl::StatusOr<HistogramFamily*> family = histogram_family(name, help, {}, std::move(bounds));
  if (!family.ok()) return family.status();
  return &(*family)->with({});
}

void Registry::add_collector(Collector collector) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::make_unique<Collector>(std::move(collector)));
}

std::string Registry::render() const {
  std::lock_guard scrape(scrape_mu_);
  // Families and collectors are never removed, so pointers taken under the lock stay good; the
  // lock is not held while rendering so that registration never waits on a scrape.
  std::vector<const detail::FamilyBase*> families;
  std::vector<const Collector*> collectors;
  std::map<std::string, std::string, std::less<>> reserved;
  {
    std::lock_guard lock(mu_);
    for (const auto& f : families_) families.push_back(f.get());
    for (const auto& c : collectors_) collectors.push_back(c.get());
    reserved = reserved_;
  }
  std::string out;
  for (const detail::FamilyBase* f : families) f->render(out);
  CollectorSink sink(&reserved);
  for (const Collector* c : collectors) (*c)(sink);
  sink.render(out);
  return out;
}

}  // namespace arbor::metrics
