// The few cryptographic primitives a charger needs (OpenSSL): SHA-256, Ed25519 sign/verify, HMAC-SHA256.
// Computation only, no I/O. Base64 and the MQTT password are domain's (chargehub/encoding.hpp,
// chargehub/credentials.hpp).
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace chargehub::sim::crypto {

using Bytes = std::vector<uint8_t>;
std::array<uint8_t, 32> sha256(std::span<const uint8_t> data);
Bytes hmac_sha256(std::span<const uint8_t> key, std::span<const uint8_t> msg);
// Ed25519 with raw 32-byte keys (the private key is the 32-byte seed).
std::array<uint8_t, 64> ed25519_sign(const std::array<uint8_t, 32>& private_key, std::span<const uint8_t> msg);
bool ed25519_verify(const std::array<uint8_t, 32>& public_key, std::span<const uint8_t> msg,
                    std::span<const uint8_t> sig);
std::array<uint8_t, 32> ed25519_public(const std::array<uint8_t, 32>& private_key);
// Parses a PEM private or public key ("-----BEGIN PRIVATE KEY-----" / "PUBLIC KEY") into its raw bytes.
std::optional<std::array<uint8_t, 32>> ed25519_private_from_pem(const std::string& pem);
std::optional<std::array<uint8_t, 32>> ed25519_public_from_pem(const std::string& pem);
std::string ed25519_private_to_pem(const std::array<uint8_t, 32>& private_key);
std::string ed25519_public_to_pem(const std::array<uint8_t, 32>& public_key);

}  // namespace chargehub::sim::crypto
