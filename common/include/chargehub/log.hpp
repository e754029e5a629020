// Structured logs: one line per event on stderr, `kv` (logfmt) or `json`, with a level (docs/operations.md,
// "Logs").
//
//   log::info("session.settled", {{"session", id}, {"device", dev}, {"fen", fen}});
//   // ts=2026-11-30T08:00:00.123Z level=info prog=core event=session.settled session=12 device=861234567890123 fen=350
//   // {"ts":"2026-11-30T08:00:00.123Z","level":"info","prog":"core","event":"session.settled","session":12,...}
//
//   log::set_program("core");                  // once, in main
//   log::add_cli_flags(app);                   // --log-level debug|info|warn|error, --log-format kv|json
//
// Event names are dot-separated lowercase ("session.settled"); field keys lowercase with '_'. Values: any
// integer, double, bool, text (std::string, string_view, const char*), std::optional of those (null when
// empty). Text is kept as UTF-8; invalid bytes become U+FFFD; kv values with spaces, quotes, '=', '\' or
// control characters are quoted and escaped, so a value never breaks a line. A field whose key names a
// secret (contains password, secret, token, key or authorization) is written as "***": never pass one,
// this is only a second line of defence. A call below the level costs a comparison (its fields are views,
// nothing is formatted or allocated).
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

namespace CLI {
class App;
}

namespace chargehub::log {

enum class Level : int { Debug = 0, Info = 1, Warn = 2, Error = 3 };
enum class Format { Kv, Json };

// One field of an event: a key and a value viewed, not copied (valid for the call).
struct Field {
  enum class Kind : uint8_t { Null, Int, Uint, Real, Bool, Text };
  std::string_view key;
  Kind kind = Kind::Null;
  union {
    int64_t i;
    uint64_t u;
    double d;
    bool b;
  };
  std::string_view text;

  Field() : i(0) {}
  Field(std::string_view k, std::nullptr_t) : key(k), i(0) {}
  Field(std::string_view k, bool v) : key(k), kind(Kind::Bool), b(v) {}
  template <class T>
    requires(std::is_integral_v<T> && !std::is_same_v<T, bool> && std::is_signed_v<T>)
  Field(std::string_view k, T v) : key(k), kind(Kind::Int), i(static_cast<int64_t>(v)) {}
  template <class T>
    requires(std::is_integral_v<T> && !std::is_same_v<T, bool> && std::is_unsigned_v<T>)
  Field(std::string_view k, T v) : key(k), kind(Kind::Uint), u(static_cast<uint64_t>(v)) {}
  template <class T>
    requires std::is_enum_v<T>
  Field(std::string_view k, T v) : Field(k, static_cast<std::underlying_type_t<T>>(v)) {}
  Field(std::string_view k, double v) : key(k), kind(Kind::Real), d(v) {}
  Field(std::string_view k, float v) : key(k), kind(Kind::Real), d(v) {}
  Field(std::string_view k, std::string_view v) : key(k), kind(Kind::Text), i(0), text(v) {}
  Field(std::string_view k, const std::string& v) : Field(k, std::string_view(v)) {}
  Field(std::string_view k, const char* v) : key(k), kind(v ? Kind::Text : Kind::Null), i(0), text(v ? v : "") {}
  template <class T>
  Field(std::string_view k, const std::optional<T>& v) : Field(v ? Field(k, *v) : Field(k, nullptr)) {}
};
using Fields = std::initializer_list<Field>;

// ---- process-wide settings (set them in main, before threads start logging) ----
void set_level(Level l);
Level level();
void set_format(Format f);
Format format();
void set_program(std::string_view name);   // the prog= of every line ("core", "bridge", "sim", "ota")
// Where lines go: stderr unless replaced (tests); each call gets one whole line, with its '\n'.
void set_sink(std::function<void(std::string_view line)> sink);

std::optional<Level> parse_level(std::string_view s);     // "debug" | "info" | "warn" | "error"
std::optional<Format> parse_format(std::string_view s);   // "kv" | "json"
std::string_view level_name(Level l);

// Adds --log-level and --log-format to a CLI11 app (or subcommand), applied as soon as parsed.
void add_cli_flags(CLI::App& app);

namespace detail {
extern std::atomic<int> g_level;
}
inline bool enabled(Level l) { return static_cast<int>(l) >= detail::g_level.load(std::memory_order_relaxed); }

// Writes one event (when `l` is enabled).
void write(Level l, std::string_view event, std::span<const Field> fields);
inline void emit(Level l, std::string_view event, Fields fields) {
  if (enabled(l)) write(l, event, std::span<const Field>(fields.begin(), fields.size()));
}
inline void debug(std::string_view event, Fields fields = {}) { emit(Level::Debug, event, fields); }
inline void info(std::string_view event, Fields fields = {}) { emit(Level::Info, event, fields); }
inline void warn(std::string_view event, Fields fields = {}) { emit(Level::Warn, event, fields); }
inline void error(std::string_view event, Fields fields = {}) { emit(Level::Error, event, fields); }

// The line write() would produce, without its '\n' (tests; `ts_ms` is Unix milliseconds).
std::string format_line(Level l, std::string_view event, std::span<const Field> fields, int64_t ts_ms, Format f,
                        std::string_view program);
// True when a field with this key is written as "***".
bool is_secret_key(std::string_view key);

}  // namespace chargehub::log
