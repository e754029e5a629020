#include "chargehub/metrics.hpp"
#include "utf8.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace chargehub::metrics {

std::string_view type_name(Type t) {
  switch (t) {
    case Type::Counter: return "counter";
    case Type::Gauge: return "gauge";
    case Type::Histogram: return "histogram";
  }
  return "untyped";
}

// ---------------------------------------------------------------------------------------------------
// values

namespace {
void atomic_add(std::atomic<double>& a, double d) {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
  }
}
}  // namespace

void Gauge::add(double d) { atomic_add(v_, d); }

Histogram::Histogram(std::shared_ptr<const std::vector<double>> bounds)
    : bounds_(std::move(bounds)), counts_(new std::atomic<uint64_t>[bounds_->size() + 1]) {
  for (size_t i = 0; i <= bounds_->size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double v) {
  if (std::isnan(v)) return;
  auto it = std::lower_bound(bounds_->begin(), bounds_->end(), v);   // first bound >= v: v <= le
  counts_[static_cast<size_t>(it - bounds_->begin())].fetch_add(1, std::memory_order_relaxed);
  atomic_add(sum_, v);
}

Histogram::Reading Histogram::read() const {
  Reading r;
  r.cumulative.resize(bounds_->size() + 1);
  uint64_t acc = 0;
  for (size_t i = 0; i <= bounds_->size(); ++i) {
    acc += counts_[i].load(std::memory_order_relaxed);
    r.cumulative[i] = acc;
  }
  r.sum = sum_.load(std::memory_order_relaxed);
  return r;
}

std::vector<double> default_seconds_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> exponential_buckets(double start, double factor, int n) {
  std::vector<double> out;
  for (int i = 0; i < n; ++i, start *= factor) out.push_back(start);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// names, escaping, numbers

bool valid_metric_name(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool valid_label_name(std::string_view s) {
  if (s.empty() || s.starts_with("__")) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

using common::utf8_seq;

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8_seq(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size();) {
    size_t n = utf8_seq(v, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    char c = v[i];
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out.append(v.substr(i, n));
    i += n;
  }
  return out;
}

std::string escape_help(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(v));
    return std::string(buf, p);
  }
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, p);
}

// ---------------------------------------------------------------------------------------------------
// families

template <class T>
T& Family<T>::with(const LabelValues& values) {
  if (values.size() != labels_.size())
    throw std::logic_error("metric series with " + std::to_string(values.size()) + " label values, the family has " +
                           std::to_string(labels_.size()));
  std::lock_guard lock(mu_);
  auto it = series_.find(values);
  if (it != series_.end()) return *it->second;
  if (series_.size() >= max_series_) {
    LabelValues other(labels_.size(), "_other");
    auto& slot = series_[other];
    if (!slot) slot = make_();
    return *slot;
  }
  auto& slot = series_[values];
  slot = make_();
  return *slot;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// ---------------------------------------------------------------------------------------------------
// TextWriter

void TextWriter::family(std::string_view name, std::string_view help, Type type, std::vector<std::string> label_names) {
  if (!valid_metric_name(name)) throw std::logic_error("bad metric name: " + std::string(name));
  if (std::find(families_.begin(), families_.end(), name) != families_.end())
    throw std::logic_error("metric family written twice: " + std::string(name));
  for (auto& l : label_names)
    if (!valid_label_name(l) || (type == Type::Histogram && l == "le"))
      throw std::logic_error("bad label name " + l + " in " + std::string(name));
  families_.emplace_back(name);
  name_ = name;
  type_ = type;
  labels_ = std::move(label_names);
  seen_.clear();
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += escape_help(help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type_name(type);
  out_ += '\n';
}

void TextWriter::series_line(std::string_view suffix, const LabelValues& values, std::string_view extra_label,
                             std::string_view extra_value, double v) {
  out_ += name_;
  out_ += suffix;
  if (!values.empty() || !extra_label.empty()) {
    out_ += '{';
    for (size_t i = 0; i < values.size(); ++i) {
      if (i) out_ += ',';
      out_ += labels_[i];
      out_ += "=\"";
      out_ += escape_label_value(values[i]);
      out_ += '"';
    }
    if (!extra_label.empty()) {
      if (!values.empty()) out_ += ',';
      out_ += extra_label;
      out_ += "=\"";
      out_ += extra_value;
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += ' ';
  out_ += format_value(v);
  out_ += '\n';
}

void TextWriter::sample(const LabelValues& values, double v) {
  if (name_.empty() || type_ == Type::Histogram) throw std::logic_error("sample outside a counter or gauge family");
  if (values.size() != labels_.size()) throw std::logic_error("wrong number of label values for " + name_);
  for (auto& s : seen_)
    if (s == values) return;   // no repeated series
  seen_.push_back(values);
  series_line("", values, "", "", v);
}

void TextWriter::histogram(const LabelValues& values, const std::vector<double>& bounds, const Histogram::Reading& r) {
  if (type_ != Type::Histogram) throw std::logic_error("histogram sample outside a histogram family");
  if (values.size() != labels_.size()) throw std::logic_error("wrong number of label values for " + name_);
  if (r.cumulative.size() != bounds.size() + 1) throw std::logic_error("histogram reading does not match its bounds");
  for (auto& s : seen_)
    if (s == values) return;
  seen_.push_back(values);
  for (size_t i = 0; i < bounds.size(); ++i) series_line("_bucket", values, "le", format_value(bounds[i]), static_cast<double>(r.cumulative[i]));
  series_line("_bucket", values, "le", "+Inf", static_cast<double>(r.count()));
  series_line("_sum", values, "", "", r.sum);
  series_line("_count", values, "", "", static_cast<double>(r.count()));
}

// ---------------------------------------------------------------------------------------------------
// Registry

struct Registry::Entry {
  std::string name, help;
  Type type;
  std::vector<std::string> labels;
  std::unique_ptr<Family<Counter>> counters;
  std::unique_ptr<Family<Gauge>> gauges;
  std::unique_ptr<Family<Histogram>> histograms;
  std::shared_ptr<const std::vector<double>> bounds;
  std::function<Samples()> fn;
};

Registry::Registry() = default;
Registry::~Registry() = default;

void Registry::add(std::unique_ptr<Entry> e) {
  if (!valid_metric_name(e->name)) throw std::logic_error("bad metric name: " + e->name);
  if (e->type == Type::Counter && !e->name.ends_with("_total")) throw std::logic_error("a counter's name ends in _total: " + e->name);
  if (e->type != Type::Counter && e->name.ends_with("_total")) throw std::logic_error("only counters end in _total: " + e->name);
  std::set<std::string> seen;
  for (auto& l : e->labels) {
    if (!valid_label_name(l) || (e->type == Type::Histogram && l == "le")) throw std::logic_error("bad label name " + l + " in " + e->name);
    if (!seen.insert(l).second) throw std::logic_error("label " + l + " twice in " + e->name);
  }
  std::lock_guard lock(mu_);
  auto clash = [&](const std::string& n) {
    return families_.count(n) || std::find(reserved_.begin(), reserved_.end(), n) != reserved_.end();
  };
  if (clash(e->name)) throw std::logic_error("metric registered twice: " + e->name);
  if (e->type == Type::Histogram) {
    for (auto s : {"_bucket", "_sum", "_count"})
      if (clash(e->name + s)) throw std::logic_error("metric clashes with a histogram's series: " + e->name + s);
    for (auto s : {"_bucket", "_sum", "_count"}) reserved_.push_back(e->name + s);
  }
  families_.emplace(e->name, std::move(e));
}

Family<Counter>& Registry::counter(std::string name, std::string help, std::vector<std::string> labels, size_t max_series) {
  auto e = std::make_unique<Entry>(Entry{name, std::move(help), Type::Counter, labels, {}, {}, {}, {}, {}});
  e->counters = std::make_unique<Family<Counter>>(std::move(labels), max_series, [] { return std::make_unique<Counter>(); });
  auto* f = e->counters.get();
  add(std::move(e));
  return *f;
}

Family<Gauge>& Registry::gauge(std::string name, std::string help, std::vector<std::string> labels, size_t max_series) {
  auto e = std::make_unique<Entry>(Entry{name, std::move(help), Type::Gauge, labels, {}, {}, {}, {}, {}});
  e->gauges = std::make_unique<Family<Gauge>>(std::move(labels), max_series, [] { return std::make_unique<Gauge>(); });
  auto* f = e->gauges.get();
  add(std::move(e));
  return *f;
}

Family<Histogram>& Registry::histogram(std::string name, std::string help, std::vector<std::string> labels, std::vector<double> bounds,
                                       size_t max_series) {
  if (bounds.empty() || !std::is_sorted(bounds.begin(), bounds.end()) ||
      std::adjacent_find(bounds.begin(), bounds.end()) != bounds.end() ||
      std::any_of(bounds.begin(), bounds.end(), [](double b) { return !std::isfinite(b); }))
    throw std::logic_error("histogram bounds must be finite and strictly increasing: " + name);
  auto shared = std::make_shared<const std::vector<double>>(std::move(bounds));
  auto e = std::make_unique<Entry>(Entry{name, std::move(help), Type::Histogram, labels, {}, {}, {}, shared, {}});
  e->histograms = std::make_unique<Family<Histogram>>(std::move(labels), max_series, [shared] { return std::make_unique<Histogram>(shared); });
  auto* f = e->histograms.get();
  add(std::move(e));
  return *f;
}

void Registry::gauge_fn(std::string name, std::string help, std::vector<std::string> labels, std::function<Samples()> fn) {
  add(std::make_unique<Entry>(Entry{std::move(name), std::move(help), Type::Gauge, std::move(labels), {}, {}, {}, {}, std::move(fn)}));
}

void Registry::counter_fn(std::string name, std::string help, std::vector<std::string> labels, std::function<Samples()> fn) {
  add(std::make_unique<Entry>(Entry{std::move(name), std::move(help), Type::Counter, std::move(labels), {}, {}, {}, {}, std::move(fn)}));
}

void Registry::append(std::function<std::string()> fn) {
  std::lock_guard lock(mu_);
  appended_.push_back(std::move(fn));
}

std::string Registry::expose() const {
  // Entries are never removed: pointers taken under the lock stay valid; callbacks run without it.
  std::vector<const Entry*> entries;
  std::vector<std::function<std::string()>> appended;
  {
    std::lock_guard lock(mu_);
    for (auto& [n, e] : families_) entries.push_back(e.get());
    appended = appended_;
  }
  TextWriter w;
  for (auto* e : entries) {
    if (e->fn) {
      Samples samples;
      try {
        samples = e->fn();
      } catch (...) {
        continue;   // this family is left out of this scrape
      }
      bool bad = std::any_of(samples.begin(), samples.end(), [&](auto& s) { return s.first.size() != e->labels.size(); });
      if (bad) continue;
      std::sort(samples.begin(), samples.end(), [](auto& a, auto& b) { return a.first < b.first; });
      w.family(e->name, e->help, e->type, e->labels);
      for (auto& [labels, v] : samples) w.sample(labels, v);
      continue;
    }
    w.family(e->name, e->help, e->type, e->labels);
    if (e->counters) e->counters->each([&](const LabelValues& k, const Counter& c) { w.sample(k, static_cast<double>(c.value())); });
    if (e->gauges) e->gauges->each([&](const LabelValues& k, const Gauge& g) { w.sample(k, g.value()); });
    if (e->histograms) e->histograms->each([&](const LabelValues& k, const Histogram& h) { w.histogram(k, *e->bounds, h.read()); });
  }
  for (auto& fn : appended) {
    try {
      w.raw(fn());
    } catch (...) {
    }
  }
  return w.take();
}

// ---------------------------------------------------------------------------------------------------
// process metrics

namespace {
struct ProcessReading {
  double cpu_s = 0, rss = 0, vsize = 0, open_fds = 0, max_fds = 0, start_time = 0;
};

double process_start_time() {
  static const double t = [] {
    std::ifstream st("/proc/self/stat");
    std::string all((std::istreambuf_iterator<char>(st)), std::istreambuf_iterator<char>());
    auto close = all.rfind(')');
    if (close == std::string::npos) return 0.0;
    std::istringstream rest(all.substr(close + 1));
    std::string field;
    double ticks = 0;
    for (int i = 3; i <= 22 && rest >> field; ++i)
      if (i == 22) ticks = std::strtod(field.c_str(), nullptr);
    std::ifstream stat("/proc/stat");
    std::string key;
    double btime = 0;
    while (stat >> key) {
      if (key == "btime") {
        stat >> btime;
        break;
      }
      stat.ignore(1 << 20, '\n');
    }
    return btime + ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
  }();
  return t;
}

ProcessReading read_process() {
  ProcessReading r;
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) == 0)
    r.cpu_s = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  std::ifstream statm("/proc/self/statm");
  double pages_vm = 0, pages_rss = 0;
  if (statm >> pages_vm >> pages_rss) {
    double page = static_cast<double>(sysconf(_SC_PAGESIZE));
    r.vsize = pages_vm * page;
    r.rss = pages_rss * page;
  }
  if (DIR* d = opendir("/proc/self/fd")) {
    int n = 0;
    while (auto* ent = readdir(d))
      if (ent->d_name[0] != '.') ++n;
    closedir(d);
    r.open_fds = n - 1;   // not the directory's own descriptor
  }
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) r.max_fds = rl.rlim_cur == RLIM_INFINITY ? -1 : static_cast<double>(rl.rlim_cur);
  r.start_time = process_start_time();
  return r;
}

struct ProcessFamily {
  const char* name;
  const char* help;
  Type type;
  double ProcessReading::*field;
};
const ProcessFamily kProcess[] = {
    {"process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", Type::Counter, &ProcessReading::cpu_s},
    {"process_max_fds", "Maximum number of open file descriptors.", Type::Gauge, &ProcessReading::max_fds},
    {"process_open_fds", "Number of open file descriptors.", Type::Gauge, &ProcessReading::open_fds},
    {"process_resident_memory_bytes", "Resident memory size in bytes.", Type::Gauge, &ProcessReading::rss},
    {"process_start_time_seconds", "Start time of the process since unix epoch in seconds.", Type::Gauge, &ProcessReading::start_time},
    {"process_virtual_memory_bytes", "Virtual memory size in bytes.", Type::Gauge, &ProcessReading::vsize},
};
}  // namespace

void add_process_metrics(Registry& reg) {
  for (auto& f : kProcess) {
    auto field = f.field;
    auto fn = [field] { return Samples{{{}, read_process().*field}}; };
    if (f.type == Type::Counter) reg.counter_fn(f.name, f.help, {}, fn);
    else reg.gauge_fn(f.name, f.help, {}, fn);
  }
}

void write_process_metrics(TextWriter& w) {
  auto r = read_process();
  for (auto& f : kProcess) {
    w.family(f.name, f.help, f.type);
    w.sample(r.*f.field);
  }
}

}  // namespace chargehub::metrics
