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

namespace chargehub::auth {

std::string LoginThrottle::user_source_key(std::string_view username, std::string_view source) {
  // Bounded, so a flood of huge usernames cannot eat memory; '\n' cannot appear in an address.
  std::string key(username.substr(0, 128));
  key += '\n';
  key += source.substr(0, 64);
  return key;
}

bool LoginThrottle::is_bridge(std::string_view source) const {
  return std::find(bridges_.begin(), bridges_.end(), source) != bridges_.end();
}

LoginThrottle::Verdict LoginThrottle::after_check(std::string_view username, std::string_view source,
                                                  Refusal checked, std::int64_t now_ms) {
  std::string us = user_source_key(username, source);
  bool bridge = is_bridge(source);
  bool blocked = user_source_.blocked(us, now_ms) || (!bridge && source_.blocked(source, now_ms));
  if (checked == Refusal::none) {  // a correct credential: admitted whatever the counts say
    user_source_.success(us);
    return {Refusal::none, true, blocked};
  }
  if (blocked) return {Refusal::throttled, false, true};  // does not extend the block
  user_source_.failure(us, now_ms);
  if (!bridge) source_.failure(std::string(source.substr(0, 64)), now_ms);
  return {checked, true, false};
}

}  // namespace chargehub::auth
