// Ed25519 keys and tokens for tests, made the way a charger or the core would make them.
#pragma once
#include <openssl/evp.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

#include "auth.hpp"
#include "crypto.hpp"
#include "chargehub/credentials.hpp"
#include "chargehub/encoding.hpp"

namespace chargehub::testkeys {

using namespace chargehub::auth;
using chargehub::encoding::base64_encode;
using chargehub::encoding::to_hex;

class Ed25519Key {
 public:
  Ed25519Key() {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr);
    EVP_PKEY* k = nullptr;
    if (!ctx || EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, &k) != 1)
      throw std::runtime_error("keygen");
    EVP_PKEY_CTX_free(ctx);
    key_.reset(k);
    std::size_t len = pub_.size();
    EVP_PKEY_get_raw_public_key(k, pub_.data(), &len);
  }
  const PublicKey& pub() const { return pub_; }
  std::string pub_hex() const { return to_hex(pub_); }
  Bytes sign(std::string_view msg) const {
    Bytes sig(64);
    std::size_t len = sig.size();
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    EVP_DigestSignInit(md.get(), nullptr, nullptr, nullptr, key_.get());
    EVP_DigestSign(md.get(), sig.data(), &len, reinterpret_cast<const unsigned char*>(msg.data()), msg.size());
    return sig;
  }
  // The MQTT password of an Ed25519 login for `id` at `ts_ms`.
  std::string password(std::string_view id, std::int64_t ts_ms) const {
    return "ed25519:" + std::to_string(ts_ms) + ":" + base64_encode(sign(credentials::ed25519_login_message(id, ts_ms)));
  }

 private:
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key_{nullptr, &EVP_PKEY_free};
  PublicKey pub_{};
};

struct Token {
  Bytes raw = random_bytes(16);
  std::string password() const { return "tok:" + base64_encode(raw); }
  Digest hash() const { return sha256(raw); }
  std::string hash_hex() const { return to_hex(sha256(raw)); }
};

inline std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace chargehub::testkeys
