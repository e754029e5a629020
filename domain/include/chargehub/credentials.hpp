// A charger's MQTT password (../shared/protocol/mqtt.md, Identities; frames.md LOGIN), built by the
// edge bridge and the simulator and parsed by the broker plugin, declared once here. Pure.
//
//   tok:<base64 of the raw token, 16-64 bytes>
//   ed25519:<unix ms>:<base64 of the 64-byte Ed25519 signature of "chargehub-login:<id>:<unix ms>">
//
//   std::string p = credentials::token_password(token);
//   std::string p = credentials::ed25519_password(ms, sign(credentials::ed25519_login_message(id, ms)));
//   auto parsed = credentials::parse_password(p);   // nullopt: not one of the two forms
//   if (auto* t = std::get_if<credentials::TokenPassword>(&*parsed)) ...
//
// Base64 is encoding.hpp's canonical base64; <unix ms> is 1-18 decimal digits without sign or spaces.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace chargehub::credentials {

inline constexpr std::string_view kTokenPrefix = "tok:";
inline constexpr std::string_view kEd25519Prefix = "ed25519:";
inline constexpr std::string_view kLoginMessagePrefix = "chargehub-login:";
inline constexpr std::size_t kMinTokenBytes = 16, kMaxTokenBytes = 64;
inline constexpr std::size_t kSignatureBytes = 64;

struct TokenPassword {
  std::vector<std::uint8_t> token;  // the raw token, 16-64 bytes
};
struct Ed25519Password {
  std::int64_t unix_ms = 0;
  std::array<std::uint8_t, kSignatureBytes> signature{};
};
using Password = std::variant<TokenPassword, Ed25519Password>;

// Building. Throws std::invalid_argument for a token outside 16-64 bytes or a negative time.
std::string token_password(std::span<const std::uint8_t> token);
std::string ed25519_password(std::int64_t unix_ms, std::span<const std::uint8_t, kSignatureBytes> signature);
// The text a charger signs for an Ed25519 login: "chargehub-login:<device id>:<unix ms>".
std::string ed25519_login_message(std::string_view device_id, std::int64_t unix_ms);

// Parsing: nullopt unless the text is exactly one of the two forms (prefix, canonical base64, sizes,
// a decimal time). What the password proves is for the caller to check (hash, signature, clock).
std::optional<Password> parse_password(std::string_view text);

// A decimal non-negative integer without sign or spaces that fits in int64 (at most 18 digits).
std::optional<std::int64_t> parse_decimal(std::string_view text);

}  // namespace chargehub::credentials
