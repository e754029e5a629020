// Percent-decoding of a request target (RFC 3986): the path and the query of a Request.
// Pure functions, no I/O, so the tests can call them directly.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chargehub::http::detail {

// "/api/v1/devices%2F7" -> "/api/v1/devices/7". nullopt for an invalid escape (%G1, a lone % at the end)
// or a decoded NUL byte: a NUL in a path only ever serves to confuse the code that compares paths.
// '+' stays '+' in a path (it means space only in a query).
std::optional<std::string> decode_path(std::string_view path);

// "a=1&b=%E4%B8%AD&c" -> {a,1},{b,中},{c,""}; '+' is a space; empty pieces ("a=1&&b=2") are skipped.
// nullopt for an invalid escape or a NUL anywhere.
std::optional<std::vector<std::pair<std::string, std::string>>> decode_query(std::string_view query);

}  // namespace chargehub::http::detail
