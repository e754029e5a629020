// The edge bridge's log calls, written by chargehub/log.hpp (docs/operations.md, "Logs").
#include "util.hpp"

namespace chargehub::bridge {

void set_log_level(Level l) { chargehub::log::set_level(static_cast<chargehub::log::Level>(static_cast<int>(l))); }
bool log_enabled(Level l) { return chargehub::log::enabled(static_cast<chargehub::log::Level>(static_cast<int>(l))); }
void set_log_prefix(std::string prefix) {
  while (!prefix.empty() && prefix.back() == ' ') prefix.pop_back();
  chargehub::log::set_program(prefix.empty() ? "bridge" : "bridge-" + prefix);
}

void log_fields(Level l, std::string_view event, std::span<const chargehub::log::Field> fields) {
  std::string name = "bridge.";
  name += event;
  chargehub::log::write(static_cast<chargehub::log::Level>(static_cast<int>(l)), name, fields);
}

}  // namespace chargehub::bridge
