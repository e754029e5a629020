#include "chargehub/credentials.hpp"

#include <algorithm>
#include <stdexcept>

#include "chargehub/encoding.hpp"

namespace chargehub::credentials {

std::string token_password(std::span<const std::uint8_t> token) {
  if (token.size() < kMinTokenBytes || token.size() > kMaxTokenBytes)
    throw std::invalid_argument("a charger token is 16 to 64 bytes");
  return std::string(kTokenPrefix) + encoding::base64_encode(token);
}

std::string ed25519_password(std::int64_t unix_ms, std::span<const std::uint8_t, kSignatureBytes> signature) {
  if (unix_ms < 0) throw std::invalid_argument("an Ed25519 login time is a non-negative unix ms");
  return std::string(kEd25519Prefix) + std::to_string(unix_ms) + ":" + encoding::base64_encode(signature);
}

std::string ed25519_login_message(std::string_view device_id, std::int64_t unix_ms) {
  std::string s(kLoginMessagePrefix);
  s.append(device_id).append(":").append(std::to_string(unix_ms));
  return s;
}

std::optional<std::int64_t> parse_decimal(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  std::int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::optional<Password> parse_password(std::string_view text) {
  if (text.starts_with(kTokenPrefix)) {
    auto raw = encoding::base64_decode(text.substr(kTokenPrefix.size()));
    if (!raw || raw->size() < kMinTokenBytes || raw->size() > kMaxTokenBytes) return std::nullopt;
    return TokenPassword{std::move(*raw)};
  }
  if (text.starts_with(kEd25519Prefix)) {
    auto rest = text.substr(kEd25519Prefix.size());
    auto colon = rest.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    auto ms = parse_decimal(rest.substr(0, colon));
    auto sig = encoding::base64_decode(rest.substr(colon + 1));
    if (!ms || !sig || sig->size() != kSignatureBytes) return std::nullopt;
    Ed25519Password p;
    p.unix_ms = *ms;
    std::copy(sig->begin(), sig->end(), p.signature.begin());
    return p;
  }
  return std::nullopt;
}

}  // namespace chargehub::credentials
