#include "limits.hpp"

#include <algorithm>

namespace chargehub::auth {

std::int64_t DeviceLimits::refill(Bucket& b, std::int64_t now_ms) const {
  std::int64_t cap = policy_.burst * 1000;
  std::int64_t elapsed = std::max<std::int64_t>(0, now_ms - b.at_ms);
  // elapsed ms * rate/s messages = elapsed * rate milli-messages; capped before it can overflow
  std::int64_t add = elapsed >= cap ? cap : elapsed * policy_.rate_per_s;
  b.milli_tokens = std::min(cap, b.milli_tokens + add);
  b.at_ms = now_ms;
  return b.milli_tokens;
}

LimitVerdict DeviceLimits::check(std::string_view device, std::size_t payload_len, std::int64_t now_ms, bool status) {
  LimitVerdict v = LimitVerdict::pass;
  if (policy_.max_payload > 0 && payload_len > static_cast<std::size_t>(policy_.max_payload)) {
    v = LimitVerdict::too_big;
  } else if (policy_.rate_per_s > 0) {
    std::string key(device);
    if (status) key += "/status";  // device ids are digits: no clash
    auto it = buckets_.find(key);
    if (it == buckets_.end()) it = buckets_.emplace(std::move(key), Bucket{policy_.burst * 1000, now_ms}).first;
    if (refill(it->second, now_ms) >= 1000) it->second.milli_tokens -= 1000;
    else v = LimitVerdict::rate;
  }
  if (v == LimitVerdict::pass) return v;
  auto d = drops_.find(device);
  if (d == drops_.end()) d = drops_.emplace(std::string(device), DeviceDrops{}).first;
  if (v == LimitVerdict::rate) ++d->second.rate, ++dropped_rate_;
  else ++d->second.size, ++dropped_size_;
  d->second.last_ms = now_ms;
  return v;
}

std::vector<std::pair<std::string, DeviceDrops>> DeviceLimits::top(std::size_t n) const {
  std::vector<std::pair<std::string, DeviceDrops>> all(drops_.begin(), drops_.end());
  auto more = [](const auto& a, const auto& b) {
    return a.second.total() != b.second.total() ? a.second.total() > b.second.total() : a.first < b.first;
  };
  n = std::min(n, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(), more);
  all.resize(n);
  return all;
}

void DeviceLimits::prune(std::int64_t now_ms) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    Bucket b = it->second;
    it = refill(b, now_ms) >= policy_.burst * 1000 ? buckets_.erase(it) : std::next(it);
  }
  if (drops_.size() <= policy_.max_devices) return;
  auto keep = top(policy_.max_devices);
  drops_.clear();
  for (auto& [k, d] : keep) drops_.emplace(k, d);
}

}  // namespace chargehub::auth
