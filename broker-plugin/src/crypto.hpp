// The few primitives the credential checks need, on OpenSSL 3 (libcrypto).
#pragma once
#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "chargehub/encoding.hpp"

namespace chargehub::auth {

using Bytes = encoding::Bytes;
using Digest = std::array<std::uint8_t, 32>;
using PublicKey = std::array<std::uint8_t, 32>;

Digest sha256(std::span<const std::uint8_t> data);
Digest sha256(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);  // of a || b
// Constant-time equality of two digests (CRYPTO_memcmp).
bool digest_equal(const Digest& a, const Digest& b);
// Ed25519 signature check of `message` with a raw 32-byte public key.
bool ed25519_verify(const PublicKey& key, std::span<const std::uint8_t> signature, std::string_view message);
// Cryptographically strong random bytes (RAND_bytes); throws on failure.
Bytes random_bytes(std::size_t n);

}  // namespace chargehub::auth
