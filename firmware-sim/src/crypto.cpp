#include "chargehub/sim/crypto.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <memory>
#include <stdexcept>

namespace chargehub::sim::crypto {
namespace {
struct PkeyDel { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct MdDel { void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); } };
struct BioDel { void operator()(BIO* p) const { BIO_free(p); } };
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDel>;
}  // namespace

std::array<uint8_t, 32> sha256(std::span<const uint8_t> data) {
  std::array<uint8_t, 32> out{};
  SHA256(data.data(), data.size(), out.data());
  return out;
}

Bytes hmac_sha256(std::span<const uint8_t> key, std::span<const uint8_t> msg) {
  Bytes out(32);
  unsigned len = 32;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), msg.data(), msg.size(), out.data(), &len);
  return out;
}

std::array<uint8_t, 64> ed25519_sign(const std::array<uint8_t, 32>& priv, std::span<const uint8_t> msg) {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, priv.data(), priv.size()));
  std::unique_ptr<EVP_MD_CTX, MdDel> ctx(EVP_MD_CTX_new());
  std::array<uint8_t, 64> sig{};
  size_t len = sig.size();
  if (!key || !ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig.data(), &len, msg.data(), msg.size()) != 1)
    throw std::runtime_error("ed25519 sign failed");
  return sig;
}

bool ed25519_verify(const std::array<uint8_t, 32>& pub, std::span<const uint8_t> msg, std::span<const uint8_t> sig) {
  Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, pub.data(), pub.size()));
  std::unique_ptr<EVP_MD_CTX, MdDel> ctx(EVP_MD_CTX_new());
  if (!key || !ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), msg.data(), msg.size()) == 1;
}

std::array<uint8_t, 32> ed25519_public(const std::array<uint8_t, 32>& priv) {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, priv.data(), priv.size()));
  std::array<uint8_t, 32> pub{};
  size_t len = pub.size();
  if (!key || EVP_PKEY_get_raw_public_key(key.get(), pub.data(), &len) != 1) throw std::runtime_error("bad key");
  return pub;
}

std::optional<std::array<uint8_t, 32>> ed25519_private_from_pem(const std::string& pem) {
  std::unique_ptr<BIO, BioDel> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  std::array<uint8_t, 32> raw{};
  size_t len = raw.size();
  if (!key || EVP_PKEY_id(key.get()) != EVP_PKEY_ED25519 ||
      EVP_PKEY_get_raw_private_key(key.get(), raw.data(), &len) != 1)
    return std::nullopt;
  return raw;
}

std::optional<std::array<uint8_t, 32>> ed25519_public_from_pem(const std::string& pem) {
  std::unique_ptr<BIO, BioDel> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Pkey key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  std::array<uint8_t, 32> raw{};
  size_t len = raw.size();
  if (!key || EVP_PKEY_id(key.get()) != EVP_PKEY_ED25519 ||
      EVP_PKEY_get_raw_public_key(key.get(), raw.data(), &len) != 1)
    return std::nullopt;
  return raw;
}

static std::string bio_text(BIO* b) {
  char* p = nullptr;
  long n = BIO_get_mem_data(b, &p);
  return std::string(p, static_cast<size_t>(n));
}

std::string ed25519_private_to_pem(const std::array<uint8_t, 32>& priv) {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, priv.data(), priv.size()));
  std::unique_ptr<BIO, BioDel> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  return bio_text(bio.get());
}

std::string ed25519_public_to_pem(const std::array<uint8_t, 32>& pub) {
  Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, pub.data(), pub.size()));
  std::unique_ptr<BIO, BioDel> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), key.get());
  return bio_text(bio.get());
}

}  // namespace chargehub::sim::crypto
