#include "chargehub/encoding.hpp"

#include <openssl/evp.h>

#include <limits>
#include <stdexcept>

namespace chargehub::encoding {
namespace {

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// EVP_EncodeBlock/EVP_DecodeBlock take an int length.
constexpr std::size_t kMaxInput = std::numeric_limits<int>::max() / 4 * 3;

}  // namespace

std::string base64_encode(std::span<const std::uint8_t> bytes) {
  if (bytes.size() > kMaxInput) throw std::length_error("base64_encode: input too large");
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string base64_encode(std::string_view bytes) {
  return base64_encode(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

std::optional<Bytes> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0 || text.size() > kMaxInput) return std::nullopt;
  if (text.empty()) return Bytes{};
  // '=' only as the last one or two characters; every other character from the alphabet.
  std::size_t pad = 0;
  if (text.back() == '=') pad = text[text.size() - 2] == '=' ? 2 : 1;
  const std::size_t data_len = text.size() - pad;
  for (std::size_t i = 0; i < data_len; ++i)
    if (b64_value(text[i]) < 0) return std::nullopt;
  // The bits under the padding must be zero (one byte string, one text).
  if (pad == 1 && (b64_value(text[data_len - 1]) & 0x3) != 0) return std::nullopt;
  if (pad == 2 && (b64_value(text[data_len - 1]) & 0xf) != 0) return std::nullopt;
  Bytes out(text.size() / 4 * 3);
  int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0 || static_cast<std::size_t>(n) != out.size()) return std::nullopt;
  out.resize(out.size() - pad);  // EVP_DecodeBlock counts the padding as zero bytes
  return out;
}

std::optional<Bytes> hex_decode(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  Bytes out(text.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return out;
}

bool is_hex32(std::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text)
    if (hex_value(c) < 0) return false;
  return true;
}

}  // namespace chargehub::encoding
