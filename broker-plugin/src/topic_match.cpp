#include "topic_match.hpp"

namespace chargehub::auth {
namespace {

// Splits off the next level of `s` (up to '/'); `s` keeps the rest. `done` is set after the last level.
struct Levels {
  std::string_view rest;
  bool done = false;
  std::string_view next() {
    auto slash = rest.find('/');
    std::string_view level;
    if (slash == std::string_view::npos) {
      level = rest;
      rest = {};
      done = true;
    } else {
      level = rest.substr(0, slash);
      rest.remove_prefix(slash + 1);
    }
    return level;
  }
};

bool has_wildcard(std::string_view s) {
  return s.find_first_of("+#") != std::string_view::npos;
}

}  // namespace

bool valid_topic(std::string_view topic) {
  if (topic.empty()) return false;
  if (topic.find('\0') != std::string_view::npos) return false;
  return !has_wildcard(topic);
}

bool valid_filter(std::string_view filter) {
  if (filter.empty() || filter.find('\0') != std::string_view::npos) return false;
  Levels l{filter};
  while (!l.done) {
    auto level = l.next();
    if (level.size() > 1 && has_wildcard(level)) return false;
    if (level == "#" && !l.done) return false;
  }
  return true;
}

std::optional<std::string_view> strip_share(std::string_view filter) {
  constexpr std::string_view prefix = "$share/";
  if (filter.substr(0, prefix.size()) != prefix) return filter;
  auto rest = filter.substr(prefix.size());
  auto slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0) return std::nullopt;
  auto group = rest.substr(0, slash);
  if (has_wildcard(group)) return std::nullopt;
  auto inner = rest.substr(slash + 1);
  if (inner.empty()) return std::nullopt;
  return inner;
}

bool topic_matches(std::string_view pattern, std::string_view topic, std::string_view self) {
  if (topic.empty() || has_wildcard(topic)) return false;
  Levels p{pattern}, t{topic};
  bool first = true;
  while (true) {
    if (p.done) return t.done;
    auto pl = p.next();
    if (pl == "#") {
      // '#' matches the parent level and everything below; not a leading '$' level.
      return !(first && !topic.empty() && topic[0] == '$');
    }
    if (t.done) return false;
    auto tl = t.next();
    if (pl == "+") {
      if (first && !tl.empty() && tl[0] == '$') return false;
    } else if (pl == "%u") {
      if (self.empty() || tl != self) return false;
    } else if (pl != tl) {
      return false;
    }
    first = false;
  }
}

bool filter_within(std::string_view filter, std::string_view pattern, std::string_view self) {
  if (!valid_filter(filter)) return false;
  Levels p{pattern}, f{filter};
  bool first = true;
  while (true) {
    if (p.done) return f.done;
    auto pl = p.next();
    if (pl == "#") return !(first && !filter.empty() && filter[0] == '$');
    if (f.done) return false;
    auto fl = f.next();
    if (fl == "#") return false;  // pattern is narrower than the rest of the filter
    if (pl == "+") {
      if (first && !fl.empty() && fl[0] == '$') return false;
      // a '+' or any literal level of the filter is covered
    } else if (pl == "%u") {
      if (self.empty() || fl != self) return false;  // a '+' in the filter is wider than self
    } else if (fl != pl) {
      return false;  // includes fl == "+" against a literal
    }
    first = false;
  }
}

}  // namespace chargehub::auth
