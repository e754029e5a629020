// Strict text encodings used in credentials and the services file.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chargehub::auth {

using Bytes = std::vector<std::uint8_t>;

// Standard base64 (RFC 4648 §4, '+' '/', '=' padding required to a multiple of 4). Anything else,
// including whitespace, URL-safe letters, bad padding or non-zero trailing bits, is nullopt.
std::optional<Bytes> base64_decode(std::string_view text);
std::string base64_encode(std::span<const std::uint8_t> bytes);

// Lowercase hex; decoding accepts lowercase only (the DB and services file store lowercase).
std::string hex_encode(std::span<const std::uint8_t> bytes);
std::optional<Bytes> hex_decode(std::string_view text);

// A decimal non-negative integer without sign or spaces, that fits in int64 (at most 18 digits).
std::optional<std::int64_t> parse_decimal(std::string_view text);

// For logs: printable ASCII kept, everything else as \xNN, cut to max_len characters of input.
std::string printable(std::string_view s, std::size_t max_len = 64);

}  // namespace chargehub::auth
