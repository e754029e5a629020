// Password hashing (Argon2id through libsodium) and the random secrets of bearer credentials.
//
//   Passwords pw({2, 19u << 20}, 2);          // OWASP's Argon2id minimum: t=2, m=19 MiB; 2 hashes at once
//   std::string h = pw.hash("correct horse");   // "$argon2id$v=19$m=19456,t=2,p=1$…"
//   pw.verify(h, "correct horse");              // true
//   pw.verify_dummy("guess");                   // same cost when there is no account to check against
//
// At most `max_concurrent` hashes run at once (a semaphore): a flood of logins waits in line instead of
// taking every core and 19 MiB each. Never log a password.
#pragma once
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace chargehub::core {

struct HashCost {
  unsigned long long opslimit = 2;
  size_t memlimit = 19u << 20;
};

class Passwords {
 public:
  Passwords(HashCost cost, int max_concurrent);
  std::string hash(std::string_view password);
  bool verify(const std::string& hash, std::string_view password);
  // Verifies against a hash of a random password made with the same cost (made on first use), so an
  // unknown name takes as long as a wrong password.
  void verify_dummy(std::string_view password);
  // The hash was made with another cost (or algorithm): rehash after a successful login.
  bool needs_rehash(const std::string& hash) const;
  const HashCost& cost() const { return cost_; }

 private:
  class Slot;   // one of the max_concurrent hashing slots, held for one hash
  HashCost cost_;
  int max_;
  int running_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::once_flag dummy_once_;
  std::string dummy_;
};

// "<prefix><43 characters of base64url>": 32 random bytes (libsodium's CSPRNG).
std::string random_secret(std::string_view prefix);
// SHA-256 of the text, 64 lower-case hex digits: how tokens and keys are stored.
std::string sha256_hex(std::string_view text);

}  // namespace chargehub::core
