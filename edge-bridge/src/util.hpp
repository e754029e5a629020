// Small helpers of the edge bridge: clocks and structured key=value logs on stderr (base64 and the
// charger password format are domain's: chargehub/encoding.hpp, chargehub/credentials.hpp).
#pragma once
#include <chrono>
#include <cstdint>
#include <span>
#include <sstream>
#include <string>
#include <string_view>

namespace chargehub::bridge {

inline int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
inline int64_t unix_s() { return unix_ms() / 1000; }
inline int64_t mono_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// ---- logs: "2026-11-24T10:00:00.123Z info login_ok device=861234567890123 link=7" ----
enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };
void set_log_level(Level l);
bool log_enabled(Level l);
void log_line(Level l, std::string_view event, const std::string& fields);
void set_log_prefix(std::string prefix);   // e.g. "w1 " for a worker process

namespace detail {
inline void kv(std::ostringstream&) {}
template <class K, class V, class... Rest>
void kv(std::ostringstream& o, const K& k, const V& v, const Rest&... rest) {
  o << ' ' << k << '=' << v;
  kv(o, rest...);
}
}  // namespace detail

template <class... KV>
void log(Level l, std::string_view event, const KV&... kv) {
  if (!log_enabled(l)) return;
  std::ostringstream o;
  detail::kv(o, kv...);
  log_line(l, event, o.str());
}

}  // namespace chargehub::bridge
