// One paging convention for every list (docs/admin-api.md, "Lists"): page (from 1) and size (1..200),
// an optional sort key from the list's own whitelist (a leading '-' for descending), filters typed per
// list; the answer carries the total count of rows matching the filters.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace chargehub::core {

struct PageRequest {
  int64_t page = 1;    // from 1
  int64_t size = 20;   // 1..200
  std::string sort;    // a key the list knows ("" = its default order)
  bool desc = false;
  int64_t offset() const { return (page - 1) * size; }
};

template <class T>
struct Page {
  std::vector<T> items;
  int64_t total = 0;   // rows matching the filters
};

// text with LIKE's wildcards escaped (for `LIKE ? ESCAPE '\'`).
inline std::string like_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace chargehub::core
