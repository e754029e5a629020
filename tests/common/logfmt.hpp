// A strict logfmt reader for the tests: key=value pairs separated by one space, values bare or
// double-quoted with \" \\ \n \r \t \u00XX escapes. Nothing when the line is not well formed.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace chargehub::testing {

inline std::optional<std::map<std::string, std::string>> parse_logfmt(std::string_view line) {
  std::map<std::string, std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    size_t eq = line.find('=', i);
    if (eq == std::string_view::npos || eq == i) return std::nullopt;
    std::string key(line.substr(i, eq - i));
    for (char c : key)
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')) return std::nullopt;
    i = eq + 1;
    std::string value;
    if (i < line.size() && line[i] == '"') {
      ++i;
      bool closed = false;
      while (i < line.size()) {
        char c = line[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (static_cast<unsigned char>(c) < 0x20) return std::nullopt;
        if (c != '\\') {
          value += c;
          continue;
        }
        if (i >= line.size()) return std::nullopt;
        char e = line[i++];
        if (e == '"' || e == '\\') value += e;
        else if (e == 'n') value += '\n';
        else if (e == 'r') value += '\r';
        else if (e == 't') value += '\t';
        else if (e == 'u' && i + 4 <= line.size() && line.substr(i, 2) == "00") {
          value += static_cast<char>(std::stoi(std::string(line.substr(i + 2, 2)), nullptr, 16));
          i += 4;
        } else {
          return std::nullopt;
        }
      }
      if (!closed) return std::nullopt;
    } else {
      size_t end = line.find(' ', i);
      if (end == std::string_view::npos) end = line.size();
      value = std::string(line.substr(i, end - i));
      if (value.find_first_of("\"=\\") != std::string::npos) return std::nullopt;
      i = end;
    }
    if (out.count(key)) return std::nullopt;
    out[key] = value;
    if (i < line.size()) {
      if (line[i] != ' ') return std::nullopt;
      ++i;
      if (i == line.size()) return std::nullopt;
    }
  }
  return out;
}

}  // namespace chargehub::testing
