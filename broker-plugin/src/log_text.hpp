// Text from clients made safe for the broker log.
#pragma once
#include <string>
#include <string_view>

namespace chargehub::auth {

// Printable ASCII kept, everything else (and '\') as \xNN, cut to max_len characters of input.
std::string printable(std::string_view s, std::size_t max_len = 64);
// printable(), as a logfmt value: in double quotes (with \" inside) when empty or holding a space, '"' or
// '=', so "event key=value ..." lines parse whatever a client sends.
std::string kv_value(std::string_view s, std::size_t max_len = 64);

}  // namespace chargehub::auth
