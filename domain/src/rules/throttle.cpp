#include "chargehub/rules/throttle.hpp"

#include <algorithm>
#include <vector>

namespace chargehub::rules {

int64_t throttle_delay(int64_t failures, int64_t free_failures, const ThrottleRules& r) {
  if (failures <= free_failures) return 0;
  int64_t d = std::max<int64_t>(1, r.first_delay_s);
  for (int64_t paid = failures - free_failures; paid > 1 && d < r.max_delay_s; --paid) d *= 2;
  return std::min(d, r.max_delay_s);
}

bool Throttle::expired(const Entry& e, int64_t now) const {
  return now - e.last_failure >= rules_.forget_after_s && now >= e.blocked_until;
}

int64_t Throttle::check(std::string_view key, int64_t now) const {
  auto it = entries_.find(std::string(key));
  if (it == entries_.end() || expired(it->second, now)) return 0;
  return std::max<int64_t>(0, it->second.blocked_until - now);
}

int64_t Throttle::failures(std::string_view key, int64_t now) const {
  auto it = entries_.find(std::string(key));
  if (it == entries_.end() || expired(it->second, now)) return 0;
  return it->second.failures;
}

int64_t Throttle::failure(std::string_view key, int64_t now) {
  std::string k(key);
  auto it = entries_.find(k);
  if (it == entries_.end()) {
    if (entries_.size() >= rules_.max_keys) make_room(now);
    it = entries_.emplace(std::move(k), Entry{}).first;
  } else if (expired(it->second, now)) {
    it->second = Entry{};
  }
  Entry& e = it->second;
  e.failures += 1;
  e.last_failure = now;
  int64_t wait = throttle_delay(e.failures, free_, rules_);
  if (wait > 0) e.blocked_until = std::max(e.blocked_until, now + wait);
  return wait;
}

void Throttle::success(std::string_view key) { entries_.erase(std::string(key)); }

// Drops forgotten entries; if the map is still full, the least recently failed tenth goes too (an
// amortised sweep: one per max_keys / 10 new keys at most).
void Throttle::make_room(int64_t now) {
  for (auto it = entries_.begin(); it != entries_.end();) it = expired(it->second, now) ? entries_.erase(it) : std::next(it);
  if (entries_.size() < rules_.max_keys) return;
  size_t keep = rules_.max_keys - std::max<size_t>(1, rules_.max_keys / 10);
  std::vector<std::pair<int64_t, decltype(entries_)::iterator>> by_age;
  by_age.reserve(entries_.size());
  for (auto it = entries_.begin(); it != entries_.end(); ++it) by_age.emplace_back(it->second.last_failure, it);
  size_t drop = entries_.size() - keep;
  std::nth_element(by_age.begin(), by_age.begin() + static_cast<std::ptrdiff_t>(drop - 1), by_age.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 0; i < drop; ++i) entries_.erase(by_age[i].second);
}

std::string LoginThrottle::pair_key(std::string_view account, std::string_view source) {
  std::string k(account.substr(0, 128));
  k += '\n';   // neither a login name nor an address holds a newline
  k += source.substr(0, 128);
  return k;
}

int64_t LoginThrottle::check(std::string_view account, std::string_view source, int64_t now) const {
  return std::max(pairs_.check(pair_key(account, source), now), sources_.check(source.substr(0, 128), now));
}

void LoginThrottle::failure(std::string_view account, std::string_view source, int64_t now) {
  pairs_.failure(pair_key(account, source), now);
  sources_.failure(source.substr(0, 128), now);
}

void LoginThrottle::success(std::string_view account, std::string_view source) { pairs_.success(pair_key(account, source)); }

}  // namespace chargehub::rules
