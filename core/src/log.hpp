// Levelled, timestamped log lines on stderr. Never pass a secret to these.
#pragma once
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <sstream>
#include <string>

namespace chargehub::core::log {

inline std::mutex& mutex() {
  static std::mutex m;
  return m;
}

template <class... A>
void line(const char* level, const A&... a) {
  std::ostringstream os;
  (os << ... << a);
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  char ts[32];
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::lock_guard lock(mutex());
  std::fprintf(stderr, "%s %s core: %s\n", ts, level, os.str().c_str());
}
template <class... A> void info(const A&... a) { line("INFO", a...); }
template <class... A> void warn(const A&... a) { line("WARN", a...); }
template <class... A> void error(const A&... a) { line("ERROR", a...); }

}  // namespace chargehub::core::log
