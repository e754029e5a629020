// The one text encoding of bytes every program uses (issue 14.5, 15.4): canonical standard base64
// (RFC 4648 §4, on OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock) and lowercase hex. Pure.
//
//   std::string b = encoding::base64_encode(bytes);            // "Zm9vYg=="
//   auto raw = encoding::base64_decode("Zm9vYg==");             // bytes, or nullopt if not canonical
//   std::string h = encoding::to_hex(digest);                   // "9f86d0…"
//   auto d = encoding::hex_decode(h);                           // strict: lowercase, even length
//
// base64_decode accepts exactly what base64_encode produces: length a multiple of 4, only
// A-Z a-z 0-9 + /, '=' only as the final one or two characters, and zero bits under the padding.
// Anything else (whitespace, URL-safe letters, "…Dw=6", "…Dx==") is nullopt, so one byte string has
// exactly one accepted text.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "chargehub/frame.hpp"

namespace chargehub::encoding {

using Bytes = std::vector<std::uint8_t>;

std::string base64_encode(std::span<const std::uint8_t> bytes);
std::string base64_encode(std::string_view bytes);
std::optional<Bytes> base64_decode(std::string_view text);

// Lowercase hex: proto::to_hex (frame.hpp) is the one encoder; it is re-exported here.
// `spaced` puts a space between bytes (for logs).
using proto::to_hex;
// Strict decoding for stored and transmitted values (credential hashes, keys): an even number of
// lowercase hex digits, nothing else. proto::from_hex stays the lenient reader for hand-written test
// vectors (whitespace, upper case).
std::optional<Bytes> hex_decode(std::string_view text);
// Exactly 2*N lowercase hex digits into N bytes (a SHA-256 or an Ed25519 key: N = 32).
template <std::size_t N>
std::optional<std::array<std::uint8_t, N>> hex_decode_fixed(std::string_view text) {
  if (text.size() != 2 * N) return std::nullopt;
  auto b = hex_decode(text);
  if (!b) return std::nullopt;
  std::array<std::uint8_t, N> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = (*b)[i];
  return out;
}
// True for exactly 64 lowercase hex digits (how hashes and keys travel and are stored).
bool is_hex32(std::string_view text);

}  // namespace chargehub::encoding
