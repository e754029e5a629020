// Text from clients made safe for the broker log.
#pragma once
#include <string>
#include <string_view>

namespace chargehub::auth {

// Printable ASCII kept, everything else (and '\') as \xNN, cut to max_len characters of input.
std::string printable(std::string_view s, std::size_t max_len = 64);

}  // namespace chargehub::auth
