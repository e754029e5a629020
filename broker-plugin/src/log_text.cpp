#include "log_text.hpp"

namespace chargehub::auth {

std::string printable(std::string_view s, std::size_t max_len) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  std::size_t n = s.size() < max_len ? s.size() : max_len;
  for (std::size_t i = 0; i < n; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  if (s.size() > max_len) out += "...(" + std::to_string(s.size()) + " bytes)";
  return out;
}

std::string kv_value(std::string_view s, std::size_t max_len) {
  std::string p = printable(s, max_len);
  if (!p.empty() && p.find_first_of(" \"=") == std::string::npos) return p;
  std::string out = "\"";
  for (char c : p) {
    if (c == '"') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace chargehub::auth
