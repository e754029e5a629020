// Metrics in the Prometheus text exposition format 0.0.4 (docs/metrics.md): counters, gauges and
// histograms in families with labels, values computed at scrape time, and the standard process metrics.
// Debian 12 has no Prometheus C++ client; this is the small part of one that ChargeHub needs.
//
//   metrics::Registry reg;
//   auto& http = reg.counter("chargehub_http_requests_total", "HTTP requests answered", {"route", "status"});
//   metrics::Counter& ok = http.with({"/api/v1/devices", "200"});   // look up once, keep the handle
//   ok.inc();                                                         // an atomic add: any thread, no lock
//   auto& lat = reg.histogram("chargehub_http_request_seconds", "Time to answer", {"route"},
//                             metrics::default_seconds_buckets());
//   lat.with({"/api/v1/devices"}).observe(0.003);
//   reg.gauge_fn("chargehub_queue_depth", "Messages waiting", {}, [] { return metrics::Samples{{{}, 12.0}}; });
//   metrics::add_process_metrics(reg);
//   std::string body = reg.expose();   // Content-Type: metrics::kContentType
//
// Rules kept for the reader's scraper: every family has one HELP and one TYPE line and its series
// together; names are checked when registered (a bad or duplicate name is a programming error:
// std::logic_error); label values are escaped (\ " and newline) and made valid UTF-8; histogram buckets
// are cumulative and end with le="+Inf" equal to _count; a series appears once. A family holds at most
// max_series label sets; more are counted into one series whose label values are all "_other".
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chargehub::metrics {

inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

enum class Type { Counter, Gauge, Histogram };
std::string_view type_name(Type t);   // "counter" | "gauge" | "histogram"

// A value that only goes up (integer steps: events, bytes, fen).
class Counter {
 public:
  void inc(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// A value that goes up and down.
class Gauge {
 public:
  void set(double v) { v_.store(v, std::memory_order_relaxed); }
  void add(double d);
  void inc() { add(1); }
  void dec() { add(-1); }
  double value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

// Observations counted into buckets by upper bound (le), with their sum.
class Histogram {
 public:
  explicit Histogram(std::shared_ptr<const std::vector<double>> bounds);
  void observe(double v);
  const std::vector<double>& bounds() const { return *bounds_; }
  // Cumulative counts per bound, then +Inf (== count), and the sum: one consistent-enough reading.
  struct Reading {
    std::vector<uint64_t> cumulative;   // bounds().size() + 1 entries
    double sum = 0;
    uint64_t count() const { return cumulative.empty() ? 0 : cumulative.back(); }
  };
  Reading read() const;

 private:
  std::shared_ptr<const std::vector<double>> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;   // per bucket, not cumulative; last = above every bound
  std::atomic<double> sum_{0};
};

// Bucket bounds in seconds from 0.5 ms to 10 s (requests, statements, round trips).
std::vector<double> default_seconds_buckets();
// n bounds start, start*factor, ...
std::vector<double> exponential_buckets(double start, double factor, int n);

using LabelValues = std::vector<std::string>;
// Values computed at scrape time: one entry per series (label values in the family's label order).
using Samples = std::vector<std::pair<LabelValues, double>>;

template <class T>
class Family {
 public:
  // The series for these label values (as many as the family has label names, else std::logic_error),
  // created on first use. The reference stays valid for the registry's life: keep it on hot paths.
  T& with(const LabelValues& values);
  T& with(std::initializer_list<std::string_view> values) { return with(LabelValues(values.begin(), values.end())); }
  // The series without labels (a family declared with none).
  T& get() { return with(LabelValues{}); }
  const std::vector<std::string>& label_names() const { return labels_; }

  // For the registry.
  Family(std::vector<std::string> labels, size_t max_series, std::function<std::unique_ptr<T>()> make)
      : labels_(std::move(labels)), max_series_(max_series), make_(std::move(make)) {}
  template <class F>
  void each(F&& f) const {
    std::lock_guard lock(mu_);
    for (auto& [k, v] : series_) f(k, *v);
  }

 private:
  std::vector<std::string> labels_;
  size_t max_series_;
  std::function<std::unique_ptr<T>()> make_;
  mutable std::mutex mu_;
  std::map<LabelValues, std::unique_ptr<T>> series_;
};

// Writes the text format directly: for a snapshot of counters that are not kept in a Registry (the
// broker plugin's file, a sum over worker processes). Checks names like the registry does; a series
// repeated within a family is written once (the first).
class TextWriter {
 public:
  void family(std::string_view name, std::string_view help, Type type, std::vector<std::string> label_names = {});
  void sample(const LabelValues& values, double v);               // counter or gauge
  void sample(double v) { sample(LabelValues{}, v); }
  void histogram(const LabelValues& values, const std::vector<double>& bounds, const Histogram::Reading& r);
  // Text already in the format (a file of another program), appended as it is.
  void raw(std::string_view text) { out_ += text; }
  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void series_line(std::string_view suffix, const LabelValues& values, std::string_view extra_label,
                   std::string_view extra_value, double v);
  std::string out_;
  std::string name_;
  Type type_ = Type::Gauge;
  std::vector<std::string> labels_;
  std::vector<LabelValues> seen_;   // series of the current family
  std::vector<std::string> families_;
};

class Registry {
 public:
  static constexpr size_t kDefaultMaxSeries = 1000;
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Counter names end in _total. A name is registered once (std::logic_error otherwise).
  Family<Counter>& counter(std::string name, std::string help, std::vector<std::string> labels = {},
                           size_t max_series = kDefaultMaxSeries);
  Family<Gauge>& gauge(std::string name, std::string help, std::vector<std::string> labels = {},
                       size_t max_series = kDefaultMaxSeries);
  Family<Histogram>& histogram(std::string name, std::string help, std::vector<std::string> labels,
                               std::vector<double> bounds, size_t max_series = kDefaultMaxSeries);
  // Families whose values are read at scrape time (from the database, another object's counters).
  // The function runs on the scraping thread; an exception drops that family from this scrape.
  void gauge_fn(std::string name, std::string help, std::vector<std::string> labels, std::function<Samples()> fn);
  void counter_fn(std::string name, std::string help, std::vector<std::string> labels, std::function<Samples()> fn);
  // Text appended after the families (another program's metrics); must not repeat a family of ours.
  void append(std::function<std::string()> fn);

  std::string expose() const;

 private:
  struct Entry;
  void add(std::unique_ptr<Entry> e);
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Entry>> families_;   // by name: the exposition is sorted
  std::vector<std::string> reserved_;                        // _bucket/_sum/_count of histograms
  std::vector<std::function<std::string()>> appended_;
};

// process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds, process_start_time_seconds (from /proc/self and getrusage).
void add_process_metrics(Registry& reg);
void write_process_metrics(TextWriter& w);

// Name checks (the format's grammar).
bool valid_metric_name(std::string_view s);   // [a-zA-Z_:][a-zA-Z0-9_:]*
bool valid_label_name(std::string_view s);    // [a-zA-Z_][a-zA-Z0-9_]*, not __*
bool valid_utf8(std::string_view s);
// Escaping of a label value (\ → \\, " → \", newline → \n; invalid UTF-8 → U+FFFD) and of HELP text.
std::string escape_label_value(std::string_view v);
std::string escape_help(std::string_view v);
// A number as the format writes it: shortest round trip, +Inf, -Inf, NaN.
std::string format_value(double v);

// A strict reader of the format, for tests and for text read from files: the error of the first bad
// line ("line 3: ..."), or nothing. Checks the grammar, HELP/TYPE at most once per family and before its
// samples, a family's samples together, no repeated series, and histograms (buckets cumulative, +Inf
// present and equal to _count). `allowed_prefix`: every metric name must start with it ("" = any).
std::optional<std::string> check_text(std::string_view text, std::string_view allowed_prefix = "");
// The value of one series in a text (tests): name with labels exactly as written, e.g.
// R"(chargehub_http_requests_total{method="GET",route="/x",status="200"})".
std::optional<double> find_value(std::string_view text, std::string_view series);

}  // namespace chargehub::metrics
