#pragma once
#include <string_view>
#include <vector>

namespace chargehub::core {
struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};
// The numbered migrations of core/migrations, in order (embedded at build time).
const std::vector<Migration>& migrations();
}  // namespace chargehub::core
