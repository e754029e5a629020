#include "login_throttle.hpp"

#include <algorithm>
#include <vector>

namespace chargehub::bridge {

std::string LoginThrottle::pair_key(std::string_view device, std::string_view peer) {
  std::string k(device.substr(0, 32));
  k += '\n';
  k += peer;
  return k;
}

const LoginThrottle::Entry* LoginThrottle::find(const std::string& key) const {
  auto it = keys_.find(key);
  return it == keys_.end() ? nullptr : &it->second;
}

bool LoginThrottle::defer(std::string_view device, std::string_view peer, int64_t now_ms) const {
  const Entry* pair = find(pair_key(device, peer));
  if (!pair) return false;  // never refused from here: forwarded, whatever the peer did
  if (pair->blocked_until_ms > now_ms) return true;
  const Entry* p = find(peer_key(peer));
  return p && p->blocked_until_ms > now_ms;
}

void LoginThrottle::fail(const std::string& key, uint32_t free, int64_t now_ms) {
  Entry& e = keys_[key];
  if (e.failures > 0 && now_ms - e.last_ms > p_.forget_s * 1000) e = Entry{};
  ++e.failures;
  e.last_ms = now_ms;
  if (e.failures > free) {
    uint32_t over = std::min<uint32_t>(e.failures - free - 1, 30);
    e.blocked_until_ms = now_ms + std::min(p_.max_ms, p_.base_ms << over);
  }
}

void LoginThrottle::failure(std::string_view device, std::string_view peer, int64_t now_ms) {
  fail(pair_key(device, peer), p_.device_free, now_ms);
  fail(peer_key(peer), p_.peer_free, now_ms);
}

void LoginThrottle::success(std::string_view device, std::string_view peer) { keys_.erase(pair_key(device, peer)); }

void LoginThrottle::prune(int64_t now_ms) {
  for (auto it = keys_.begin(); it != keys_.end();) {
    bool gone = now_ms - it->second.last_ms > p_.forget_s * 1000 && it->second.blocked_until_ms <= now_ms;
    it = gone ? keys_.erase(it) : std::next(it);
  }
  if (keys_.size() <= p_.max_keys) return;
  std::vector<int64_t> times;
  for (auto& [k, e] : keys_) times.push_back(e.last_ms);
  auto nth = times.begin() + static_cast<std::ptrdiff_t>(times.size() - p_.max_keys);
  std::nth_element(times.begin(), nth, times.end());
  for (auto it = keys_.begin(); it != keys_.end() && keys_.size() > p_.max_keys;)
    it = it->second.last_ms < *nth ? keys_.erase(it) : std::next(it);
}

std::string peer_address(std::string_view peer) {
  // A TCP peer is "<address>:<port>" (an IPv6 address unbracketed, as asio prints it): drop ":<port>".
  auto colon = peer.rfind(':');
  if (peer.empty() || peer.front() == '/' || colon == std::string_view::npos || colon + 1 == peer.size())
    return std::string(peer);
  for (char c : peer.substr(colon + 1))
    if (c < '0' || c > '9') return std::string(peer);
  return std::string(peer.substr(0, colon));
}

}  // namespace chargehub::bridge
