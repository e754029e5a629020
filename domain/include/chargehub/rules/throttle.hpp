// Throttling repeated failed credentials (logins, bearer tokens, service keys) with growing delays.
// Pure: the time is passed in, nothing here reads a clock or locks (the caller serialises access).
//
//   rules::LoginThrottle t(rules::ThrottleRules{});
//   if (auto wait = t.check(name, source, now)) return throttled(wait);   // 429, Retry-After: wait
//   if (!password_ok) t.failure(name, source, now); else t.success(name, source);
//
// Two counters per attempt: the (account, source) pair and the source alone. The first
// `free_per_account_source` (5) failures of a pair and `free_per_source` (20) of a source cost nothing;
// each further one doubles a delay (1 s, 2 s, 4 s, … capped at 15 min) during which that pair (or that
// source, for every name) is refused before any password is checked. A success clears its pair, never
// its source (an attacker holding one valid account must not reset its source's count).
// Nothing keyed by one source touches another: a stranger guessing a real user's password from elsewhere
// slows down only himself, the user still logs in from where he is.
// Memory is bounded: entries idle for `forget_after_s` are dropped, and past `max_keys` the least
// recently failed entries are evicted, so a flood of random names cannot grow it without bound.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace chargehub::rules {

struct ThrottleRules {
  int64_t free_per_account_source = 5;   // failures of one (account, source) before delays start
  int64_t free_per_source = 20;          // failures of one source (any names) before delays start
  int64_t first_delay_s = 1;             // the first delay; each further failure doubles it
  int64_t max_delay_s = 15 * 60;         // the cap
  int64_t forget_after_s = 3600;         // an entry without failures for this long is forgotten
  size_t max_keys = 100'000;             // per counter (pairs, sources)
};

// One counter of failures per key, with the delay rule above.
class Throttle {
 public:
  Throttle(int64_t free_failures, const ThrottleRules& rules) : free_(free_failures), rules_(rules) {}
  // 0: go ahead; otherwise seconds to wait.
  int64_t check(std::string_view key, int64_t now) const;
  // A failed attempt at `now`; returns the wait it causes (0 while the failures are still free).
  int64_t failure(std::string_view key, int64_t now);
  void success(std::string_view key);   // forgets the key
  size_t size() const { return entries_.size(); }
  int64_t failures(std::string_view key, int64_t now) const;   // counted and not yet forgotten

 private:
  struct Entry {
    int64_t failures = 0;
    int64_t last_failure = 0;
    int64_t blocked_until = 0;
  };
  bool expired(const Entry& e, int64_t now) const;
  void make_room(int64_t now);
  int64_t free_;
  ThrottleRules rules_;
  std::unordered_map<std::string, Entry> entries_;
};

// The delay after `failures` failures of which `free_failures` are free: 0, or first_delay_s doubled
// once for each failure past the first paid one, at most max_delay_s.
int64_t throttle_delay(int64_t failures, int64_t free_failures, const ThrottleRules& r);

// Logins: the (account, source) pair and the source.
class LoginThrottle {
 public:
  explicit LoginThrottle(const ThrottleRules& r = {})
      : pairs_(r.free_per_account_source, r), sources_(r.free_per_source, r) {}
  // The longer of the pair's and the source's waits; 0: go ahead.
  int64_t check(std::string_view account, std::string_view source, int64_t now) const;
  void failure(std::string_view account, std::string_view source, int64_t now);
  void success(std::string_view account, std::string_view source);   // clears the pair only
  const Throttle& pairs() const { return pairs_; }
  const Throttle& sources() const { return sources_; }
  // The key of a pair: account names and sources are cut to 128 bytes each (memory stays bounded).
  static std::string pair_key(std::string_view account, std::string_view source);

 private:
  Throttle pairs_, sources_;
};

}  // namespace chargehub::rules
