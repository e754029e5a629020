#include "devices.hpp"

#include <algorithm>

namespace chargehub::auth {

std::optional<Digest> parse_hex32(std::string_view text) {
  if (text.size() != 64) return std::nullopt;
  auto bytes = hex_decode(text);
  if (!bytes) return std::nullopt;
  Digest d{};
  std::copy(bytes->begin(), bytes->end(), d.begin());
  return d;
}

}  // namespace chargehub::auth
