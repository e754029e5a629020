#include "util.hpp"

#include <atomic>
#include <cstdio>
#include <ctime>

namespace chargehub::bridge {

namespace {
std::atomic<int> g_level{static_cast<int>(Level::Info)};
std::string g_prefix;
const char* level_name(Level l) {
  switch (l) {
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Warn: return "warn";
    default: return "error";
  }
}
}  // namespace

void set_log_level(Level l) { g_level = static_cast<int>(l); }
bool log_enabled(Level l) { return static_cast<int>(l) >= g_level.load(std::memory_order_relaxed); }
void set_log_prefix(std::string prefix) { g_prefix = std::move(prefix); }

void log_line(Level l, std::string_view event, const std::string& fields) {
  int64_t ms = unix_ms();
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char ts[32];
  std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
  std::fprintf(stderr, "%s.%03dZ %s%s %.*s%s\n", ts, static_cast<int>(ms % 1000), g_prefix.c_str(), level_name(l),
               static_cast<int>(event.size()), event.data(), fields.c_str());
}

}  // namespace chargehub::bridge
