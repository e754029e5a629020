// Structured log lines (log.hpp): formatting (logfmt or JSON), escaping, redaction, one write per line.
#include "chargehub/log.hpp"
#include "utf8.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace chargehub::log {

namespace detail {
std::atomic<int> g_level{static_cast<int>(Level::Info)};
}

namespace {

std::atomic<int> g_format{static_cast<int>(Format::Kv)};
std::mutex g_mu;   // settings below and the output
std::string g_program = "chargehub";
std::function<void(std::string_view)> g_sink;

// ---- UTF-8 ----

using common::utf8_seq;

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";   // U+FFFD

void hex_escape(std::string& out, unsigned char c) {
  static const char* hex = "0123456789abcdef";
  out += "\\u00";
  out += hex[c >> 4];
  out += hex[c & 15];
}

// Escapes for a JSON string or a quoted logfmt value (the same rules: \" \\ \n \r \t, \u00XX for the
// other control characters), keeping valid UTF-8 as it is and replacing invalid bytes.
void escape_into(std::string& out, std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t n = utf8_seq(s, i);
      if (n == 0) {
        out += kReplacement;
        ++i;
      } else {
        out.append(s.data() + i, n);
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7F) hex_escape(out, c);
        else out += static_cast<char>(c);
    }
    ++i;
  }
}

bool needs_quotes(std::string_view s) {
  if (s.empty()) return true;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c <= 0x20 || c == 0x7F || c == '"' || c == '=' || c == '\\') return true;
    if (c >= 0x80) {
      size_t n = utf8_seq(s, i);
      if (n == 0) return true;
      i += n - 1;
    }
  }
  return false;
}

// Keys and event names come from the code; still, nothing but [a-z0-9_.-] reaches the line.
void name_into(std::string& out, std::string_view s) {
  if (s.empty()) {
    out += '_';
    return;
  }
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-') out += ch;
    else if (c >= 'A' && c <= 'Z') out += static_cast<char>(c - 'A' + 'a');
    else out += '_';
  }
}

void timestamp_into(std::string& out, int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  out += buf;
}

// A value as it appears on the line (numbers, true/false, null, or text to be quoted as needed).
void scalar_into(std::string& out, const Field& f, bool json) {
  char buf[40];
  switch (f.kind) {
    case Field::Kind::Null: out += json ? "null" : ""; return;
    case Field::Kind::Int: std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(f.i)); break;
    case Field::Kind::Uint: std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(f.u)); break;
    case Field::Kind::Bool: out += f.b ? "true" : "false"; return;
    case Field::Kind::Real:
      if (!std::isfinite(f.d)) {
        out += json ? "null" : (std::isnan(f.d) ? "nan" : f.d > 0 ? "inf" : "-inf");
        return;
      }
      std::snprintf(buf, sizeof buf, "%.15g", f.d);
      break;
    case Field::Kind::Text: return;   // by the caller
  }
  out += buf;
}

void kv_text(std::string& out, std::string_view v) {
  if (!needs_quotes(v)) {
    out += v;
    return;
  }
  out += '"';
  escape_into(out, v);
  out += '"';
}

void json_text(std::string& out, std::string_view v) {
  out += '"';
  escape_into(out, v);
  out += '"';
}

bool reserved(std::string_view k) { return k == "ts" || k == "level" || k == "prog" || k == "event"; }

bool contains_ci(std::string_view s, std::string_view w) {
  if (w.size() > s.size()) return false;
  for (size_t i = 0; i + w.size() <= s.size(); ++i) {
    size_t k = 0;
    for (; k < w.size(); ++k) {
      char c = s[i + k];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != w[k]) break;
    }
    if (k == w.size()) return true;
  }
  return false;
}

}  // namespace

bool is_secret_key(std::string_view key) {
  for (std::string_view w : {"password", "passwd", "secret", "token", "key", "authorization", "cookie"})
    if (contains_ci(key, w)) return true;
  return false;
}

std::string format_line(Level l, std::string_view event, std::span<const Field> fields, int64_t ts_ms, Format f,
                        std::string_view program) {
  std::string out;
  out.reserve(128 + fields.size() * 24);
  bool json = f == Format::Json;
  if (json) out += '{';
  out += json ? "\"ts\":\"" : "ts=";
  timestamp_into(out, ts_ms);
  if (json) out += '"';
  out += json ? ",\"level\":\"" : " level=";
  out += level_name(l);
  if (json) out += "\",\"prog\":";
  else out += " prog=";
  json ? json_text(out, program) : kv_text(out, program);
  if (json) out += ",\"event\":\"";
  else out += " event=";
  name_into(out, event);
  if (json) out += '"';
  for (const Field& fd : fields) {
    if (json) {
      out += ',';
      out += '"';
      name_into(out, fd.key);
      if (reserved(fd.key)) out += '_';
      out += "\":";
    } else {
      out += ' ';
      name_into(out, fd.key);
      if (reserved(fd.key)) out += '_';
      out += '=';
    }
    if (is_secret_key(fd.key) && fd.kind != Field::Kind::Null) {
      json ? json_text(out, "***") : kv_text(out, "***");
    } else if (fd.kind == Field::Kind::Text) {
      json ? json_text(out, fd.text) : kv_text(out, fd.text);
    } else if (!json && fd.kind == Field::Kind::Null) {
      out += "\"\"";
    } else {
      scalar_into(out, fd, json);
    }
  }
  if (json) out += '}';
  return out;
}

void write(Level l, std::string_view event, std::span<const Field> fields) {
  if (!enabled(l)) return;
  int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::lock_guard lock(g_mu);
  std::string line = format_line(l, event, fields, ms, static_cast<Format>(g_format.load()), g_program);
  line += '\n';
  if (g_sink) {
    g_sink(line);
    return;
  }
  // One write(2) per line: lines of several threads or processes sharing the file never interleave.
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

void set_level(Level l) { detail::g_level = static_cast<int>(l); }
Level level() { return static_cast<Level>(detail::g_level.load()); }
void set_format(Format f) { g_format = static_cast<int>(f); }
Format format() { return static_cast<Format>(g_format.load()); }
void set_program(std::string_view name) {
  std::lock_guard lock(g_mu);
  g_program = std::string(name);
}
void set_sink(std::function<void(std::string_view)> sink) {
  std::lock_guard lock(g_mu);
  g_sink = std::move(sink);
}

std::optional<Level> parse_level(std::string_view s) {
  if (s == "debug") return Level::Debug;
  if (s == "info") return Level::Info;
  if (s == "warn" || s == "warning") return Level::Warn;
  if (s == "error") return Level::Error;
  return std::nullopt;
}
std::optional<Format> parse_format(std::string_view s) {
  if (s == "kv" || s == "logfmt") return Format::Kv;
  if (s == "json") return Format::Json;
  return std::nullopt;
}
std::string_view level_name(Level l) {
  switch (l) {
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Warn: return "warn";
    default: return "error";
  }
}

void add_cli_flags(CLI::App& app) {
  app.add_option_function<std::string>(
         "--log-level", [](const std::string& s) { set_level(*parse_level(s)); }, "log level: debug, info, warn or error (default info)")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  app.add_option_function<std::string>(
         "--log-format", [](const std::string& s) { set_format(*parse_format(s)); }, "log lines: kv (logfmt) or json (default kv)")
      ->check(CLI::IsMember({"kv", "json"}));
}

}  // namespace chargehub::log
