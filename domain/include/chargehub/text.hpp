// Checks on text from outside (API bodies, package notes): station and rider names are Chinese, so
// everything is UTF-8. Pure.
#pragma once
#include <cstddef>
#include <string_view>

namespace chargehub {

// True when s is well-formed UTF-8 (1- to 4-byte sequences with continuation bytes in place).
inline bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t j = 1; j < n; ++j)
      if ((static_cast<unsigned char>(s[i + j]) >> 6) != 2) return false;
    i += n;
  }
  return true;
}

// Characters (code points) of well-formed UTF-8: what a length limit on a Chinese name counts.
inline size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

}  // namespace chargehub
