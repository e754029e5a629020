#include "throttle.hpp"

#include <algorithm>
#include <vector>

namespace chargehub::auth {

bool Throttle::blocked(std::string_view key, std::int64_t now_ms) const {
  return blocked_for(key, now_ms) > 0;
}

std::int64_t Throttle::blocked_for(std::string_view key, std::int64_t now_ms) const {
  auto it = keys_.find(key);
  if (it == keys_.end()) return 0;
  return std::max<std::int64_t>(0, it->second.blocked_until_ms - now_ms);
}

void Throttle::failure(std::string_view key, std::int64_t now_ms) {
  auto it = keys_.find(key);
  if (it == keys_.end()) it = keys_.emplace(std::string(key), Entry{}).first;
  Entry& e = it->second;
  if (e.failures > 0 && now_ms - e.last_failure_ms > policy_.forget_s * 1000) e = Entry{};
  e.failures++;
  e.last_failure_ms = now_ms;
  if (e.failures > policy_.free_failures) {
    std::uint32_t over = e.failures - policy_.free_failures - 1;
    std::int64_t block = policy_.max_ms;
    if (over < 40) block = std::min(policy_.max_ms, policy_.base_ms << std::min<std::uint32_t>(over, 30));
    e.blocked_until_ms = now_ms + block;
  }
}

void Throttle::success(std::string_view key) {
  auto it = keys_.find(key);
  if (it != keys_.end()) keys_.erase(it);
}

void Throttle::prune(std::int64_t now_ms) {
  for (auto it = keys_.begin(); it != keys_.end();) {
    const Entry& e = it->second;
    bool forgotten = now_ms - e.last_failure_ms > policy_.forget_s * 1000 && e.blocked_until_ms <= now_ms;
    it = forgotten ? keys_.erase(it) : std::next(it);
  }
  if (keys_.size() <= policy_.max_keys) return;
  // Still too many (a spray of random usernames): keep the most recent max_keys.
  std::vector<std::int64_t> times;
  times.reserve(keys_.size());
  for (auto& [k, e] : keys_) times.push_back(e.last_failure_ms);
  auto nth = times.begin() + static_cast<std::ptrdiff_t>(times.size() - policy_.max_keys);
  std::nth_element(times.begin(), nth, times.end());
  std::int64_t cutoff = *nth;
  for (auto it = keys_.begin(); it != keys_.end() && keys_.size() > policy_.max_keys;)
    it = it->second.last_failure_ms < cutoff ? keys_.erase(it) : std::next(it);
}

}  // namespace chargehub::auth
