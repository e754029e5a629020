// Small helpers of the edge bridge: clocks and structured key=value logs on stderr (base64 and the
// charger password format are domain's: chargehub/encoding.hpp, chargehub/credentials.hpp).
#pragma once
#include <array>
#include <chrono>
#include <cstdint>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>

#include "chargehub/log.hpp"

namespace chargehub::bridge {

inline int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
inline int64_t unix_s() { return unix_ms() / 1000; }
inline int64_t mono_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// ---- logs: chargehub/log.hpp's structured lines, event names prefixed "bridge." ----
//   log(Level::Info, "login_ok", "device", id, "link", 7);
//   // ts=2026-11-24T10:00:00.123Z level=info prog=bridge event=bridge.login_ok device=861234567890123 link=7
enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };
void set_log_level(Level l);
bool log_enabled(Level l);
void log_fields(Level l, std::string_view event, std::span<const chargehub::log::Field> fields);
void set_log_prefix(std::string prefix);   // e.g. "w1 " for a worker process: prog=bridge-w1

namespace detail {
// A value chargehub::log::Field takes as it is, or its text through operator<< kept in `buf`.
template <class V>
chargehub::log::Field field(std::string_view k, const V& v, std::string& buf) {
  if constexpr (std::is_constructible_v<chargehub::log::Field, std::string_view, const V&>) {
    return chargehub::log::Field(k, v);
  } else {
    std::ostringstream o;
    o << v;
    buf = o.str();
    return chargehub::log::Field(k, std::string_view(buf));
  }
}
template <size_t I, size_t N>
void fill(std::array<chargehub::log::Field, N>&, std::array<std::string, N>&) {}
template <size_t I, size_t N, class K, class V, class... Rest>
void fill(std::array<chargehub::log::Field, N>& f, std::array<std::string, N>& b, const K& k, const V& v, const Rest&... rest) {
  f[I] = field(std::string_view(k), v, b[I]);
  fill<I + 1>(f, b, rest...);
}
}  // namespace detail

template <class... KV>
void log(Level l, std::string_view event, const KV&... kv) {
  static_assert(sizeof...(KV) % 2 == 0, "log(level, event, key, value, ...)");
  if (!log_enabled(l)) return;
  constexpr size_t n = sizeof...(KV) / 2;
  std::array<chargehub::log::Field, n> fields;
  std::array<std::string, n> bufs;
  detail::fill<0>(fields, bufs, kv...);
  log_fields(l, event, fields);
}

}  // namespace chargehub::bridge
