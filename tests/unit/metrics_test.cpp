// The Prometheus metrics library: exact exposition text, escaping, histograms, collectors,
// thread safety and registration errors. A small parser, written here independently of the
// renderer, checks that every rendered page is well-formed text format 0.0.4.
#include "host/metrics/metrics.hpp"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace arbor::metrics {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---- an independent parser of the text format ---------------------------------------------------

struct Sample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;  // unescaped values
  double value = 0;
};

struct Page {
  std::map<std::string, std::string> help;  // unescaped
  std::map<std::string, std::string> type;
  std::vector<Sample> samples;
  std::vector<std::string> comments;

  // The value of the one sample with this name and these labels, if any.
  std::optional<double> value(
      const std::string& name,
      const std::vector<std::pair<std::string, std::string>>& labels = {}) const {
    for (const Sample& s : samples) {
      if (s.name == name && s.labels == labels) return s.value;
    }
    return std::nullopt;
  }
};

bool name_ok(const std::string& s, bool metric) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alpha =
        std::isalpha(static_cast<unsigned char>(c)) || c == '_' || (metric && c == ':');
    const bool digit = std::isdigit(static_cast<unsigned char>(c));
    if (!(alpha || (i > 0 && digit))) return false;
  }
  return true;
}

std::optional<double> parse_number(const std::string& s) {
  if (s == "+Inf") return kInf;
  if (s == "-Inf") return -kInf;
  if (s == "NaN") return kNaN;
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return std::nullopt;
  return v;
}

// Parses `text` into `page`; on malformed input returns a message naming the line.
std::string parse(const std::string& text, Page& page) {
  if (!text.empty() && text.back() != '\n') return "output does not end in a newline";
  std::set<std::string> finished;  // families whose samples are over: they may not come back
  std::string current;             // family of the previous sample
  std::set<std::string> series;    // name + labels, to catch repeats
  std::size_t pos = 0;
  int line_no = 0;
  while (pos < text.size()) {
    const std::size_t nl = text.find('\n', pos);
    const std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    const std::string where = "line " + std::to_string(++line_no) + " \"" + line + "\": ";
    if (line.empty()) return where + "empty line";
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
      const bool is_help = line[2] == 'H';
      const std::string rest = line.substr(7);
      const std::size_t sp = rest.find(' ');
      const std::string name = rest.substr(0, sp);
      if (!name_ok(name, true)) return where + "bad family name";
      if (finished.count(name) || current == name) return where + "HELP/TYPE after samples";
      if (is_help) {
        if (page.help.count(name)) return where + "second HELP";
        std::string help, raw = sp == std::string::npos ? "" : rest.substr(sp + 1);
        for (std::size_t i = 0; i < raw.size(); ++i) {
          if (raw[i] != '\\') {
            help += raw[i];
          } else if (i + 1 < raw.size() && raw[i + 1] == '\\') {
            help += '\\', ++i;
          } else if (i + 1 < raw.size() && raw[i + 1] == 'n') {
            help += '\n', ++i;
          } else {
            return where + "bad escape in HELP";
          }
        }
        page.help[name] = help;
      } else {
        if (page.type.count(name)) return where + "second TYPE";
        const std::string type = sp == std::string::npos ? "" : rest.substr(sp + 1);
        if (type != "counter" && type != "gauge" && type != "histogram" && type != "summary" &&
            type != "untyped") {
          return where + "bad type";
        }
        page.type[name] = type;
      }
      continue;
    }
    if (line[0] == '#') {
      page.comments.push_back(line);
      continue;
    }
    // A sample: name [{labels}] value
    Sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    if (!name_ok(s.name, true)) return where + "bad sample name";
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const std::size_t eq = line.find('=', i);
        if (eq == std::string::npos) return where + "label without =";
        const std::string label = line.substr(i, eq - i);
        if (!name_ok(label, false)) return where + "bad label name";
        if (eq + 1 >= line.size() || line[eq + 1] != '"') return where + "unquoted label value";
        std::string value;
        std::size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] != '\\') {
            value += line[j];
            continue;
          }
          if (++j >= line.size()) return where + "dangling backslash";
          if (line[j] == '\\' || line[j] == '"') {
            value += line[j];
          } else if (line[j] == 'n') {
            value += '\n';
          } else {
            return where + "bad escape in label value";
          }
        }
        if (j >= line.size()) return where + "unterminated label value";
        for (const auto& [k, v] : s.labels) {
          if (k == label) return where + "repeated label";
        }
        s.labels.emplace_back(label, value);
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) return where + "unterminated label set";
      ++i;
    }
    if (i >= line.size() || line[i] != ' ') return where + "no space before value";
    const std::string value_text = line.substr(i + 1);
    if (value_text.find(' ') != std::string::npos) return where + "unexpected timestamp";
    std::optional<double> v = parse_number(value_text);
    if (!v) return where + "bad value";
    s.value = *v;

    // Which family does it belong to? Histograms own name_bucket, name_sum and name_count.
    std::string family = s.name;
    if (!page.type.count(family)) {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        const std::string sfx = suffix;
        if (s.name.size() > sfx.size() && s.name.ends_with(sfx)) {
          const std::string base = s.name.substr(0, s.name.size() - sfx.size());
          if (page.type.count(base) && page.type[base] == "histogram") family = base;
        }
      }
    }
    if (!page.type.count(family)) return where + "sample before its TYPE";
    if (!page.help.count(family)) return where + "sample before its HELP";
    if (page.type[family] == "histogram" && family == s.name)
      return where + "bare histogram sample";
    if (s.name.ends_with("_bucket") && family != s.name) {
      if (s.labels.empty() || s.labels.back().first != "le") return where + "bucket without le";
    }
    if (family != current) {
      if (finished.count(family)) return where + "family's samples are not together";
      if (!current.empty()) finished.insert(current);
      current = family;
    }
    std::string key = s.name;
    for (const auto& [k, v] : s.labels) key += "\x1f" + k + "=" + v;
    if (!series.insert(key).second) return where + "repeated series";
    page.samples.push_back(std::move(s));
  }
  // Histogram buckets must be cumulative and end at +Inf == _count.
  for (const auto& [family, type] : page.type) {
    if (type != "histogram") continue;
    std::map<std::vector<std::pair<std::string, std::string>>, std::vector<const Sample*>> buckets;
    for (const Sample& s : page.samples) {
      if (s.name != family + "_bucket") continue;
      auto labels = s.labels;
      labels.pop_back();
      buckets[labels].push_back(&s);
    }
    for (const auto& [labels, list] : buckets) {
      double prev_le = -kInf, prev_count = 0;
      for (const Sample* b : list) {
        const double le = *parse_number(b->labels.back().second);
        if (!(le > prev_le)) return family + ": le not increasing";
        if (b->value < prev_count) return family + ": buckets not cumulative";
        prev_le = le;
        prev_count = b->value;
      }
      if (prev_le != kInf) return family + ": last bucket is not +Inf";
      std::optional<double> count = page.value(family + "_count", labels);
      if (!count || *count != prev_count) return family + ": _count differs from +Inf bucket";
      if (!page.value(family + "_sum", labels)) return family + ": no _sum";
    }
  }
  return "";
}

// Renders and parses; fails the test on malformed output.
Page render_and_parse(const Registry& registry, std::string* text_out = nullptr) {
  const std::string text = registry.render();
  if (text_out != nullptr) *text_out = text;
  Page page;
  const std::string error = parse(text, page);
  EXPECT_EQ(error, "") << text;
  return page;
}

// ---- the parser itself must refuse what it should
// ------------------------------------------------

TEST(MetricsParser, RefusesMalformedPages) {
  Page page;
  EXPECT_NE(parse("x 1\n", page), "");
  page = {};
  EXPECT_NE(parse("# TYPE x counter\nx 1\n", page), "");  // no HELP
  page = {};
  EXPECT_NE(parse("# HELP x h\n# TYPE x counter\nx{a=\"\\q\"} 1\n", page), "");
  page = {};
  EXPECT_NE(parse("# HELP x h\n# TYPE x counter\nx 1\nx 2\n", page), "");
  page = {};
  EXPECT_EQ(parse("# HELP x h\n# TYPE x counter\nx{a=\"\\\"\\n\\\\\"} 1\n", page), "");
  ASSERT_EQ(page.samples.size(), 1u);
  EXPECT_EQ(page.samples[0].labels[0].second, "\"\n\\");
}

// ---- values and text
// -----------------------------------------------------------------------------

TEST(Metrics, FormatsNumbersAsPrometheusReadsThem) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(-0.0), "0");
  EXPECT_EQ(format_value(1), "1");
  EXPECT_EQ(format_value(-3), "-3");
  EXPECT_EQ(format_value(123456789), "123456789");
  EXPECT_EQ(format_value(9007199254740991.0), "9007199254740991");
  EXPECT_EQ(format_value(1.5), "1.5");
  EXPECT_EQ(format_value(0.1), "0.1");
  EXPECT_EQ(format_value(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(format_value(1e-7), "1e-07");
  EXPECT_EQ(format_value(1e20), "1e+20");
  EXPECT_EQ(format_value(kInf), "+Inf");
  EXPECT_EQ(format_value(-kInf), "-Inf");
  EXPECT_EQ(format_value(kNaN), "NaN");
  // Whatever the spelling, it reads back to the same double.
  for (double v : {1.0 / 3, 2.0 / 3e10, 6.02214076e23, -1e-300, 4.9e-324, 1.7976931348623157e308}) {
    EXPECT_EQ(std::strtod(format_value(v).c_str(), nullptr), v) << format_value(v);
  }
}

TEST(Metrics, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(escape_label_value("plain"), "plain");
  EXPECT_EQ(escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(escape_help("a\\b\"c\nd"), "a\\\\b\"c\\nd");  // quotes stay in HELP
}

TEST(Metrics, ValidatesNames) {
  for (const char* good : {"a", "_a", ":a", "arbor_writes_total", "a:b:c", "A9_"}) {
    EXPECT_TRUE(is_valid_metric_name(good)) << good;
  }
  for (const char* bad : {"", "9a", "a-b", "a b", "a.b", "é", "a\n"}) {
    EXPECT_FALSE(is_valid_metric_name(bad)) << bad;
  }
  for (const char* good : {"a", "_a", "tree", "A9_", "_"}) {
    EXPECT_TRUE(is_valid_label_name(good)) << good;
  }
  for (const char* bad : {"", "9a", "a:b", "a-b", "__name__", "__x"}) {
    EXPECT_FALSE(is_valid_label_name(bad)) << bad;
  }
}

// ---- counters and gauges
// -------------------------------------------------------------------------

TEST(Metrics, RendersUnlabelledCounterAndGaugeExactly) {
  Registry registry;
  absl::StatusOr<Counter*> requests = registry.counter("arbor_requests_total", "Requests served.");
  ASSERT_TRUE(requests.ok()) << requests.status();
  absl::StatusOr<Gauge*> depth = registry.gauge("arbor_queue_depth", "Ops waiting.");
  ASSERT_TRUE(depth.ok()) << depth.status();

  (*requests)->inc();
  (*requests)->inc(4);
  (*depth)->set(10);
  (*depth)->add(2.5);
  (*depth)->sub(0.5);
  (*depth)->inc();
  (*depth)->dec();
  (*depth)->dec();
  EXPECT_EQ((*requests)->value(), 5);
  EXPECT_EQ((*depth)->value(), 11);

  std::string text;
  render_and_parse(registry, &text);
  EXPECT_EQ(text,
            "# HELP arbor_requests_total Requests served.\n"
            "# TYPE arbor_requests_total counter\n"
            "arbor_requests_total 5\n"
            "# HELP arbor_queue_depth Ops waiting.\n"
            "# TYPE arbor_queue_depth gauge\n"
            "arbor_queue_depth 11\n");

  (*requests)->add(0.25);
  (*depth)->set(-kInf);
  EXPECT_EQ(registry.render(),
            "# HELP arbor_requests_total Requests served.\n"
            "# TYPE arbor_requests_total counter\n"
            "arbor_requests_total 5.25\n"
            "# HELP arbor_queue_depth Ops waiting.\n"
            "# TYPE arbor_queue_depth gauge\n"
            "arbor_queue_depth -Inf\n");
}

TEST(Metrics, CounterNeverGoesDownAndStaysExactPast2To53) {
  Registry registry;
  Counter& c = **registry.counter("big_total", "h");
  c.add(-1);
  c.add(kNaN);
  c.add(0);
  EXPECT_EQ(c.value(), 0);
  c.inc((std::uint64_t{1} << 60) + 1);
  EXPECT_EQ(registry.render(),
            "# HELP big_total h\n# TYPE big_total counter\nbig_total 1152921504606846977\n");
}

TEST(Metrics, LabelledFamiliesSortSeriesAndKeepReferencesStable) {
  Registry registry;
  absl::StatusOr<CounterFamily*> writes = registry.counter_family(
      "arbor_writes_total", "Writes by tree and outcome.", {"tree", "status"});
  ASSERT_TRUE(writes.ok()) << writes.status();
  Counter& t2_ok = (*writes)->with({"t2", "ok"});
  Counter& t1_ok = (*writes)->with({"t1", "ok"});
  Counter& t1_err = (*writes)->with({"t1", "error"});
  t2_ok.inc(3);
  t1_ok.inc(2);
  t1_err.inc();
  // The same label values give the same object, by initializer list or by a vector of strings.
  EXPECT_EQ(&(*writes)->with({"t1", "ok"}), &t1_ok);
  const std::vector<std::string> values = {"t1", "ok"};
  EXPECT_EQ(&(*writes)->with(values), &t1_ok);
  // Many more series do not move the ones handed out.
  for (int i = 0; i < 1000; ++i) (*writes)->with({std::to_string(i), "ok"});
  EXPECT_EQ(&(*writes)->with({"t2", "ok"}), &t2_ok);
  EXPECT_EQ(t2_ok.value(), 3);

  Registry small;
  GaugeFamily& mem =
      **small.gauge_family("arbor_gpu_memory_bytes", "GPU memory.", {"device", "kind"});
  mem.with({"1", "used"}).set(2048);
  mem.with({"0", "used"}).set(1024);
  mem.with({"0", "free"}).set(0.5);
  std::string text;
  render_and_parse(small, &text);
  EXPECT_EQ(text,
            "# HELP arbor_gpu_memory_bytes GPU memory.\n"
            "# TYPE arbor_gpu_memory_bytes gauge\n"
            "arbor_gpu_memory_bytes{device=\"0\",kind=\"free\"} 0.5\n"
            "arbor_gpu_memory_bytes{device=\"0\",kind=\"used\"} 1024\n"
            "arbor_gpu_memory_bytes{device=\"1\",kind=\"used\"} 2048\n");
}

TEST(Metrics, EscapesLabelValuesAndHelpInOutput) {
  Registry registry;
  CounterFamily& f =
      **registry.counter_family("odd_total", "Back\\slash and\nnewline \"quoted\".", {"path"});
  const std::string nasty = "C:\\dir\\\"x\"\nnext";
  f.with({nasty}).inc();
  std::string text;
  Page page = render_and_parse(registry, &text);
  EXPECT_EQ(text,
            "# HELP odd_total Back\\\\slash and\\nnewline \"quoted\".\n"
            "# TYPE odd_total counter\n"
            "odd_total{path=\"C:\\\\dir\\\\\\\"x\\\"\\nnext\"} 1\n");
  // The parser undoes the escaping exactly.
  EXPECT_EQ(page.help["odd_total"], "Back\\slash and\nnewline \"quoted\".");
  EXPECT_EQ(page.value("odd_total", {{"path", nasty}}), 1);
}

TEST(Metrics, FamiliesRenderInRegistrationOrderAndEmptyOnesAreSkipped) {
  Registry registry;
  ASSERT_TRUE(registry.gauge("zeta", "last letter").ok());
  ASSERT_TRUE(registry.counter_family("unused_total", "no series yet", {"a"}).ok());
  ASSERT_TRUE(registry.counter("alpha_total", "").ok());
  std::string text;
  render_and_parse(registry, &text);
  EXPECT_EQ(text,
            "# HELP zeta last letter\n# TYPE zeta gauge\nzeta 0\n"
            "# HELP alpha_total\n# TYPE alpha_total counter\nalpha_total 0\n");
}

// ---- histograms
// ----------------------------------------------------------------------------------

TEST(Metrics, RendersHistogramWithCumulativeBuckets) {
  Registry registry;
  absl::StatusOr<Histogram*> h =
      registry.histogram("arbor_batch_seconds", "Batch latency.", {0.5, 1, 2.5});
  ASSERT_TRUE(h.ok()) << h.status();
  for (double v : {0.25, 0.5, 0.75, 2.5, 100.0}) (*h)->observe(v);  // 0.5 and 2.5 sit on bounds
  EXPECT_EQ((*h)->count(), 5u);
  EXPECT_EQ((*h)->sum(), 104);
  EXPECT_EQ((*h)->cumulative_counts(), (std::vector<std::uint64_t>{2, 3, 4, 5}));
  std::string text;
  render_and_parse(registry, &text);
  EXPECT_EQ(text,
            "# HELP arbor_batch_seconds Batch latency.\n"
            "# TYPE arbor_batch_seconds histogram\n"
            "arbor_batch_seconds_bucket{le=\"0.5\"} 2\n"
            "arbor_batch_seconds_bucket{le=\"1\"} 3\n"
            "arbor_batch_seconds_bucket{le=\"2.5\"} 4\n"
            "arbor_batch_seconds_bucket{le=\"+Inf\"} 5\n"
            "arbor_batch_seconds_sum 104\n"
            "arbor_batch_seconds_count 5\n");
}

TEST(Metrics, RendersLabelledHistogramWithLeLast) {
  Registry registry;
  HistogramFamily& f = **registry.histogram_family("arbor_batch_ops", "Ops per batch.", {"tree"},
                                                   {1, 10, kInf});  // a given +Inf is implicit
  EXPECT_EQ(f.bounds(), (std::vector<double>{1, 10}));
  f.with({"t2"}).observe(1);
  f.with({"t1"}).observe(5);
  f.with({"t1"}).observe(50);
  f.with({"t1"}).observe(-2);
  std::string text;
  Page page = render_and_parse(registry, &text);
  EXPECT_EQ(text,
            "# HELP arbor_batch_ops Ops per batch.\n"
            "# TYPE arbor_batch_ops histogram\n"
            "arbor_batch_ops_bucket{tree=\"t1\",le=\"1\"} 1\n"
            "arbor_batch_ops_bucket{tree=\"t1\",le=\"10\"} 2\n"
            "arbor_batch_ops_bucket{tree=\"t1\",le=\"+Inf\"} 3\n"
            "arbor_batch_ops_sum{tree=\"t1\"} 53\n"
            "arbor_batch_ops_count{tree=\"t1\"} 3\n"
            "arbor_batch_ops_bucket{tree=\"t2\",le=\"1\"} 1\n"
            "arbor_batch_ops_bucket{tree=\"t2\",le=\"10\"} 1\n"
            "arbor_batch_ops_bucket{tree=\"t2\",le=\"+Inf\"} 1\n"
            "arbor_batch_ops_sum{tree=\"t2\"} 1\n"
            "arbor_batch_ops_count{tree=\"t2\"} 1\n");
  EXPECT_EQ(page.value("arbor_batch_ops_count", {{"tree", "t1"}}), 3);
}

TEST(Metrics, HistogramPutsNaNAndInfinityInTheInfBucket) {
  Histogram h({1, 2});
  h.observe(kNaN);
  h.observe(kInf);
  h.observe(-kInf);
  EXPECT_EQ(h.cumulative_counts(), (std::vector<std::uint64_t>{1, 1, 3}));
  EXPECT_TRUE(std::isnan(h.sum()));
}

TEST(Metrics, BucketHelpers) {
  EXPECT_EQ(exponential_buckets(1, 2, 4), (std::vector<double>{1, 2, 4, 8}));
  EXPECT_EQ(exponential_buckets(0.001, 10, 3).size(), 3u);
  EXPECT_EQ(linear_buckets(1, 2, 3), (std::vector<double>{1, 3, 5}));
  EXPECT_EQ(linear_buckets(-1, 0.5, 5), (std::vector<double>{-1, -0.5, 0, 0.5, 1}));
  EXPECT_TRUE(exponential_buckets(0, 2, 3).empty());
  EXPECT_TRUE(exponential_buckets(1, 1, 3).empty());
  EXPECT_TRUE(exponential_buckets(1, 2, 0).empty());
  EXPECT_TRUE(linear_buckets(0, 0, 3).empty());
  EXPECT_TRUE(linear_buckets(0, 1, -1).empty());
  // The empty result of bad arguments is refused at registration, not silently accepted.
  Registry registry;
  EXPECT_EQ(registry.histogram("h", "h", exponential_buckets(0, 2, 3)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(registry.histogram("ok", "h", exponential_buckets(0.001, 2, 20)).ok());
  render_and_parse(registry);
}

TEST(Metrics, RefusesBadBucketBounds) {
  Registry registry;
  for (const std::vector<double>& bad : std::vector<std::vector<double>>{
           {}, {kInf}, {1, 1}, {2, 1}, {1, kNaN}, {-kInf, 1}, {1, kInf, 2}}) {
    absl::StatusOr<Histogram*> h = registry.histogram("h", "h", bad);
    EXPECT_EQ(h.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_FALSE(validate_bucket_bounds(bad).ok());
  }
  EXPECT_TRUE(registry.render().empty());
}

// ---- collectors
// ----------------------------------------------------------------------------------

TEST(Metrics, CollectorsEmitHelpAndTypeOncePerFamily) {
  Registry registry;
  Counter& served = **registry.counter("arbor_served_total", "Served.");
  served.inc(7);
  int queue_depth = 3;
  registry.add_collector([&](CollectorSink& sink) {
    sink.gauge("arbor_queue_depth", "Ops waiting in a tree's queue.", queue_depth,
               {{"tree", "t2"}});
    sink.counter("rocksdb_block_cache_hit_total", "Block cache hits.", 12345, {{"cf", "nodes"}});
    sink.gauge("arbor_queue_depth", "ignored: the first help wins", 1, {{"tree", "t1"}});
  });
  registry.add_collector([](CollectorSink& sink) {
    sink.counter("rocksdb_block_cache_hit_total", "Block cache hits.", 0.5, {{"cf", "default"}});
    sink.gauge("arbor_up", "One while serving.", 1);
  });
  std::string text;
  Page page = render_and_parse(registry, &text);
  EXPECT_EQ(text,
            "# HELP arbor_served_total Served.\n"
            "# TYPE arbor_served_total counter\n"
            "arbor_served_total 7\n"
            "# HELP arbor_queue_depth Ops waiting in a tree's queue.\n"
            "# TYPE arbor_queue_depth gauge\n"
            "arbor_queue_depth{tree=\"t1\"} 1\n"
            "arbor_queue_depth{tree=\"t2\"} 3\n"
            "# HELP rocksdb_block_cache_hit_total Block cache hits.\n"
            "# TYPE rocksdb_block_cache_hit_total counter\n"
            "rocksdb_block_cache_hit_total{cf=\"default\"} 0.5\n"
            "rocksdb_block_cache_hit_total{cf=\"nodes\"} 12345\n"
            "# HELP arbor_up One while serving.\n"
            "# TYPE arbor_up gauge\n"
            "arbor_up 1\n");
  EXPECT_TRUE(page.comments.empty());
  // Read at scrape time: a later render sees the new value.
  queue_depth = 9;
  EXPECT_EQ(render_and_parse(registry).value("arbor_queue_depth", {{"tree", "t2"}}), 9);
}

TEST(Metrics, CollectorDropsBadSamplesAndSaysSo) {
  Registry registry;
  ASSERT_TRUE(registry.histogram("arbor_batch_seconds", "h", {1}).ok());
  registry.add_collector([](CollectorSink& sink) {
    sink.gauge("good", "g", 1, {{"a", "x"}});
    sink.gauge("bad-name", "g", 1);
    sink.gauge("good2", "g", 1, {{"__reserved", "x"}});
    sink.gauge("good3", "g", 1, {{"a", "x"}, {"a", "y"}});
    sink.counter("good", "g", 2, {{"a", "y"}});       // type differs from the first sample
    sink.gauge("good", "g", 3, {{"a", "x"}});         // the same series again
    sink.gauge("arbor_batch_seconds_count", "g", 1);  // a registered histogram renders it
    sink.gauge("arbor_batch_seconds", "g", 1);
  });
  std::string text;
  Page page = render_and_parse(registry, &text);
  EXPECT_EQ(page.value("good", {{"a", "x"}}), 1);
  EXPECT_FALSE(page.value("good", {{"a", "y"}}).has_value());
  EXPECT_EQ(page.type.count("good2"), 0u);
  EXPECT_EQ(page.type.count("good3"), 0u);
  EXPECT_EQ(page.type["arbor_batch_seconds"], "histogram");
  ASSERT_EQ(page.comments.size(), 7u) << text;
  EXPECT_EQ(page.comments[0], "# arbor_metrics: dropped sample \"bad-name\": invalid metric name");
  EXPECT_EQ(page.comments[6],
            "# arbor_metrics: dropped sample \"arbor_batch_seconds\": collides with registered "
            "family \"arbor_batch_seconds\"");
}

// ---- concurrency
// ---------------------------------------------------------------------------------

TEST(Metrics, ConcurrentUpdatesSumExactly) {
  Registry registry;
  CounterFamily& ops = **registry.counter_family("ops_total", "ops", {"worker_group"});
  Counter& shared = **registry.counter("shared_total", "shared");
  Gauge& level = **registry.gauge("level", "level");
  Histogram& sizes = **registry.histogram("sizes", "sizes", linear_buckets(0, 10, 10));
  constexpr int kThreads = 8;
  constexpr int kPerThread = 100000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        shared.inc();
        // Looked up every time on purpose: lookups and creation race with each other here.
        ops.with({t % 2 == 0 ? "even" : "odd"}).inc();
        level.add(1);
        sizes.observe(i % 100);
        if (i % 10000 == 0) (void)registry.render();  // scrapes race with updates
      }
    });
  }
  for (std::thread& th : threads) th.join();
  constexpr double kTotal = double{kThreads} * kPerThread;
  EXPECT_EQ(shared.value(), kTotal);
  EXPECT_EQ(level.value(), kTotal);
  EXPECT_EQ(sizes.count(), static_cast<std::uint64_t>(kTotal));
  // Each thread observes 0..99 a thousand times: sum 4950 * 1000 per thread.
  EXPECT_EQ(sizes.sum(), 4950.0 * (kPerThread / 100) * kThreads);
  Page page = render_and_parse(registry);
  EXPECT_EQ(page.value("ops_total", {{"worker_group", "even"}}), kTotal / 2);
  EXPECT_EQ(page.value("ops_total", {{"worker_group", "odd"}}), kTotal / 2);
  EXPECT_EQ(page.value("shared_total"), kTotal);
  EXPECT_EQ(page.value("sizes_bucket", {{"le", "0"}}), kTotal / 100);
  EXPECT_EQ(page.value("sizes_count"), kTotal);
}

TEST(Metrics, ConcurrentRegistrationOfOneNameYieldsOneFamily) {
  Registry registry;
  std::vector<CounterFamily*> got(8);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < got.size(); ++t) {
    threads.emplace_back([&, t] { got[t] = *registry.counter_family("same_total", "h", {"a"}); });
  }
  for (std::thread& th : threads) th.join();
  for (CounterFamily* f : got) EXPECT_EQ(f, got[0]);
}

// ---- registration errors
// -------------------------------------------------------------------------

TEST(Metrics, RefusesInvalidNames) {
  Registry registry;
  for (const char* bad : {"", "9lives", "has-dash", "has space", "dot.ted"}) {
    EXPECT_EQ(registry.counter(bad, "h").status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
  for (const char* bad : {"", "9a", "a:b", "__x", "has-dash"}) {
    absl::StatusOr<GaugeFamily*> f = registry.gauge_family("g", "h", {bad});
    EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  absl::StatusOr<CounterFamily*> dup = registry.counter_family("c_total", "h", {"a", "b", "a"});
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(dup.status().message()).find("\"a\" given twice"), std::string::npos)
      << dup.status();
  EXPECT_EQ(registry.histogram_family("h", "h", {"le"}, {1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  // le is only reserved in histograms.
  EXPECT_TRUE(registry.gauge_family("le_gauge", "h", {"le"}).ok());
  // Nothing refused was registered.
  EXPECT_TRUE(registry.counter("g", "h").ok());
}

TEST(Metrics, DuplicateRegistration) {
  Registry registry;
  CounterFamily* writes = *registry.counter_family("writes_total", "Writes.", {"tree"});
  // Identical registration: the same family.
  EXPECT_EQ(*registry.counter_family("writes_total", "Writes.", {"tree"}), writes);
  // Anything different is refused.
  absl::StatusOr<GaugeFamily*> as_gauge =
      registry.gauge_family("writes_total", "Writes.", {"tree"});
  EXPECT_EQ(as_gauge.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(std::string(as_gauge.status().message()).find("counter {tree}"), std::string::npos)
      << as_gauge.status();
  EXPECT_EQ(registry.counter_family("writes_total", "Writes.", {"tree", "status"}).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(registry.counter("writes_total", "Writes.").status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(registry.counter_family("writes_total", "Other help.", {"tree"}).status().code(),
            absl::StatusCode::kAlreadyExists);

  Histogram* h = *registry.histogram("lat", "Latency.", {1, 2});
  EXPECT_EQ(*registry.histogram("lat", "Latency.", {1, 2, kInf}), h);
  EXPECT_EQ(registry.histogram("lat", "Latency.", {1, 3}).status().code(),
            absl::StatusCode::kAlreadyExists);
  // Names that another family's samples use are taken, both ways round.
  EXPECT_EQ(registry.gauge("lat_count", "g").status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(registry.gauge("lat_bucket", "g").status().code(), absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(registry.counter("x_sum", "c").ok());
  EXPECT_EQ(registry.histogram("x", "h", {1}).status().code(), absl::StatusCode::kAlreadyExists);

  writes->with({"t"}).inc();
  Page page = render_and_parse(registry);
  EXPECT_EQ(page.type.size(), 3u);
}

TEST(MetricsDeathTest, WrongNumberOfLabelValuesAborts) {
  Registry registry;
  CounterFamily& f = **registry.counter_family("f_total", "h", {"a", "b"});
  EXPECT_DEATH(f.with({"only-one"}), "family f_total takes 2 label values, got 1");
  EXPECT_DEATH(Histogram({2, 1}), "bad histogram bounds");
}

}  // namespace
}  // namespace arbor::metrics
