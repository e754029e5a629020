#include "passwords.hpp"

#include <sodium.h>

#include <stdexcept>

namespace chargehub::core {

namespace {
void init_sodium() {
  static const int ok = sodium_init();   // thread-safe, idempotent
  if (ok < 0) throw std::runtime_error("libsodium could not be initialised");
}
}  // namespace

class Passwords::Slot {
 public:
  explicit Slot(Passwords& p) : p_(p) {
    std::unique_lock lock(p_.mu_);
    p_.cv_.wait(lock, [&] { return p_.running_ < p_.max_; });
    ++p_.running_;
  }
  ~Slot() {
    {
      std::lock_guard lock(p_.mu_);
      --p_.running_;
    }
    p_.cv_.notify_one();
  }
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;

 private:
  Passwords& p_;
};

Passwords::Passwords(HashCost cost, int max_concurrent) : cost_(cost), max_(max_concurrent < 1 ? 1 : max_concurrent) {
  init_sodium();
  if (cost_.opslimit < crypto_pwhash_OPSLIMIT_MIN) cost_.opslimit = crypto_pwhash_OPSLIMIT_MIN;
  if (cost_.memlimit < crypto_pwhash_MEMLIMIT_MIN) cost_.memlimit = crypto_pwhash_MEMLIMIT_MIN;
}

std::string Passwords::hash(std::string_view password) {
  char out[crypto_pwhash_STRBYTES];
  Slot slot(*this);
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), cost_.opslimit, cost_.memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0)
    throw std::runtime_error("password hashing failed (out of memory)");
  return out;
}

bool Passwords::verify(const std::string& hash, std::string_view password) {
  Slot slot(*this);
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

void Passwords::verify_dummy(std::string_view password) {
  std::call_once(dummy_once_, [&] { dummy_ = hash(random_secret("dummy_")); });
  verify(dummy_, password);
}

bool Passwords::needs_rehash(const std::string& hash) const {
  return crypto_pwhash_str_needs_rehash(hash.c_str(), cost_.opslimit, cost_.memlimit) != 0;
}

std::string random_secret(std::string_view prefix) {
  init_sodium();
  unsigned char b[32];
  randombytes_buf(b, sizeof b);
  char text[sodium_base64_ENCODED_LEN(sizeof b, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(text, sizeof text, b, sizeof b, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(b, sizeof b);
  return std::string(prefix) + text;
}

std::string sha256_hex(std::string_view text) {
  init_sodium();
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, h, sizeof h);
  return hex;
}

}  // namespace chargehub::core
