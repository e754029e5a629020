#include "repos.hpp"

namespace chargehub::core {

CommandRow make_command(const std::string& device_id, const std::string& op, boost::json::object args, Origin origin,
                        std::optional<int64_t> session_id, int64_t now, int64_t ttl_s) {
  CommandRow c;
  c.id = new_command_id();
  c.device_id = device_id;
  c.op = op;
  c.args = std::move(args);
  c.state = CommandState::Queued;
  c.session_id = session_id;
  c.origin = std::move(origin);
  c.created_at = now;
  c.expires_at = now + ttl_s;
  return c;
}

}  // namespace chargehub::core
