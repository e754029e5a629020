// A strict reader of the Prometheus text format 0.0.4 (metrics::check_text): for tests, and for text a
// program appends from a file it did not write (the broker plugin's metrics in the core's /metrics).
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

#include "chargehub/metrics.hpp"

namespace chargehub::metrics {

namespace {

struct Sample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;   // as written
  double value = 0;
};

std::optional<double> parse_number(std::string_view s) {
  if (s == "+Inf" || s == "Inf") return INFINITY;
  if (s == "-Inf") return -INFINITY;
  if (s == "NaN") return NAN;
  if (s.empty()) return std::nullopt;
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// name{a="x",b="y"} value [timestamp]; error text or "".
std::string parse_sample(std::string_view line, Sample& out) {
  size_t i = 0;
  while (i < line.size() && line[i] != '{' && line[i] != ' ' && line[i] != '\t') ++i;
  out.name = std::string(line.substr(0, i));
  if (!valid_metric_name(out.name)) return "bad metric name '" + out.name + "'";
  if (i < line.size() && line[i] == '{') {
    ++i;
    std::set<std::string> names;
    while (true) {
      if (i < line.size() && line[i] == '}') {
        ++i;
        break;
      }
      size_t j = i;
      while (j < line.size() && line[j] != '=') ++j;
      std::string lname(line.substr(i, j - i));
      if (!valid_label_name(lname)) return "bad label name '" + lname + "'";
      if (!names.insert(lname).second) return "label '" + lname + "' twice";
      if (j + 1 >= line.size() || line[j + 1] != '"') return "label value must be quoted";
      std::string value;
      size_t k = j + 2;
      for (;; ++k) {
        if (k >= line.size()) return "unterminated label value";
        char c = line[k];
        if (c == '"') break;
        if (c == '\\') {
          if (k + 1 >= line.size()) return "unterminated escape";
          char e = line[++k];
          if (e == '\\') value += '\\';
          else if (e == '"') value += '"';
          else if (e == 'n') value += '\n';
          else return std::string("bad escape \\") + e;
        } else {
          value += c;
        }
      }
      if (!valid_utf8(value)) return "label value is not UTF-8";
      out.labels.emplace_back(lname, value);
      i = k + 1;
      if (i < line.size() && line[i] == ',') ++i;
      else if (i < line.size() && line[i] == '}') continue;
      else return "expected , or } after a label";
    }
  }
  if (i >= line.size() || line[i] != ' ') return "expected a space before the value";
  while (i < line.size() && line[i] == ' ') ++i;
  auto rest = line.substr(i);
  auto sp = rest.find(' ');
  auto v = parse_number(rest.substr(0, sp));
  if (!v) return "bad value '" + std::string(rest.substr(0, sp)) + "'";
  out.value = *v;
  if (sp != std::string_view::npos) {
    auto ts = rest.substr(sp + 1);
    int64_t t = 0;
    auto [p, ec] = std::from_chars(ts.data(), ts.data() + ts.size(), t);
    if (ec != std::errc() || p != ts.data() + ts.size()) return "bad timestamp '" + std::string(ts) + "'";
  }
  return "";
}

}  // namespace

std::optional<std::string> check_text(std::string_view text, std::string_view allowed_prefix) {
  if (!text.empty() && text.back() != '\n') return "the text does not end with a newline";
  std::map<std::string, std::string> types;   // family → type
  std::set<std::string> helped, done, series;
  std::string current;
  // histogram family + labels without le → (le, count) in order; and its _count
  std::map<std::string, std::vector<std::pair<double, double>>> buckets;
  std::map<std::string, double> counts;
  auto family_of = [&](const std::string& name) {
    if (types.count(name)) return name;
    for (std::string suffix : {"_bucket", "_sum", "_count"}) {
      if (name.size() > suffix.size() && name.ends_with(suffix)) {
        auto base = name.substr(0, name.size() - suffix.size());
        auto t = types.find(base);
        if (t != types.end() && (t->second == "histogram" || (t->second == "summary" && suffix != "_bucket"))) return base;
      }
    }
    return name;
  };
  auto enter = [&](const std::string& family) -> std::string {
    if (family == current) return "";
    if (done.count(family)) return "the family " + family + " is split";
    if (!current.empty()) done.insert(current);
    current = family;
    return "";
  };
  size_t lineno = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++lineno;
    auto fail = [&](const std::string& why) { return "line " + std::to_string(lineno) + ": " + why; };
    if (line.empty()) continue;
    if (line[0] == '#') {
      auto rest = line.substr(1);
      while (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
      bool help = rest.starts_with("HELP "), type = rest.starts_with("TYPE ");
      if (!help && !type) continue;   // a comment
      rest.remove_prefix(5);
      auto sp = rest.find(' ');
      std::string name(rest.substr(0, sp));
      if (!valid_metric_name(name)) return fail("bad metric name '" + name + "'");
      if (!name.starts_with(allowed_prefix)) return fail(name + " does not start with " + std::string(allowed_prefix));
      if (auto e = enter(name); !e.empty()) return fail(e);
      if (help) {
        if (!helped.insert(name).second) return fail("second HELP for " + name);
        continue;
      }
      if (types.count(name)) return fail("second TYPE for " + name);
      std::string t(sp == std::string_view::npos ? "" : rest.substr(sp + 1));
      if (t != "counter" && t != "gauge" && t != "histogram" && t != "summary" && t != "untyped") return fail("bad type '" + t + "'");
      types[name] = t;
      continue;
    }
    Sample s;
    if (auto e = parse_sample(line, s); !e.empty()) return fail(e);
    if (!s.name.starts_with(allowed_prefix)) return fail(s.name + " does not start with " + std::string(allowed_prefix));
    auto family = family_of(s.name);
    if (auto e = enter(family); !e.empty()) return fail(e);
    auto sorted = s.labels;
    std::sort(sorted.begin(), sorted.end());
    std::string key = s.name;
    for (auto& [k, v] : sorted) key += "\x1f" + k + "=" + v;
    if (!series.insert(key).second) return fail("repeated series " + std::string(line.substr(0, line.rfind(' '))));
    auto t = types.find(family);
    if (t != types.end() && t->second == "histogram") {
      std::string group = family;
      std::optional<double> le;
      for (auto& [k, v] : sorted) {
        if (k == "le") le = parse_number(v);
        else group += "\x1f" + k + "=" + v;
      }
      if (s.name == family + "_bucket") {
        if (!le) return fail("a bucket without a valid le");
        buckets[group].emplace_back(*le, s.value);
      } else if (s.name == family + "_count") {
        counts[group] = s.value;
      } else if (s.name != family + "_sum") {
        return fail(s.name + " in histogram " + family);
      }
    } else if (t != types.end() && t->second == "counter" && s.value < 0) {
      return fail("negative counter " + s.name);
    }
  }
  for (auto& [group, bs] : buckets) {
    std::string name = group.substr(0, group.find('\x1f'));
    for (size_t i = 1; i < bs.size(); ++i) {
      if (!(bs[i].first > bs[i - 1].first)) return "histogram " + name + ": le not increasing";
      if (bs[i].second < bs[i - 1].second) return "histogram " + name + ": buckets not cumulative";
    }
    if (bs.empty() || !std::isinf(bs.back().first)) return "histogram " + name + ": no le=\"+Inf\" bucket";
    auto c = counts.find(group);
    if (c == counts.end()) return "histogram " + name + ": no _count";
    if (c->second != bs.back().second) return "histogram " + name + ": _count differs from the +Inf bucket";
  }
  return std::nullopt;
}

std::optional<double> find_value(std::string_view text, std::string_view series) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    auto line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.size() > series.size() && line.starts_with(series) && line[series.size()] == ' ') {
      auto v = line.substr(series.size() + 1);
      v = v.substr(0, v.find(' '));
      return parse_number(v);
    }
  }
  return std::nullopt;
}

}  // namespace chargehub::metrics
