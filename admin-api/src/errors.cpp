#include "errors.hpp"

#include <string_view>
#include <unordered_map>

namespace chargehub::api {

int status_for(const Refusal& r) {
  static const std::unordered_map<std::string_view, int> table = {
      // the thing named does not exist
      {"device_not_found", 404}, {"rider_not_found", 404}, {"session_not_found", 404}, {"plan_not_found", 404},
      {"card_not_found", 404}, {"offer_not_found", 404}, {"firmware_not_found", 404}, {"rollout_not_found", 404},
      {"orphan_not_found", 404}, {"account_not_found", 404}, {"role_not_found", 404},
      {"withdrawal_not_found", 404}, {"agent_not_found", 404}, {"station_not_found", 404},
      {"role_not_owned", 404},   // another agent's role: as if it did not exist
      // credentials and permissions
      {"unauthorized", 401}, {"token_expired", 401}, {"bad_credentials", 401}, {"account_frozen", 403},
      {"forbidden", 403}, {"password_change_required", 403}, {"role_exceeds", 403}, {"permission_exceeds", 403},
      {"account_exceeds", 403}, {"agent_only", 403}, {"platform_only", 403},
      {"account_exceeds", 403}, {"too_deep", 403}, {"agent_is_own", 403},
      {"throttled", 429},
      // the request itself is wrong
      {"bad_port", 400}, {"bad_amount", 400}, {"bad_duration", 400}, {"duration_not_offered", 400},
      {"amount_too_small", 400}, {"bad_lifecycle", 400}, {"bad_uid", 400}, {"bad_state", 400}, {"bad_command", 400},
      {"use_sessions", 400}, {"bad_plan", 400}, {"bad_stages", 400}, {"bad_field", 400}, {"bad_target", 400},
      {"bad_reason", 400}, {"bad_name", 400}, {"weak_password", 400}, {"unknown_role", 400},
      {"unknown_permission", 400}, {"bad_key", 400}, {"bad_display_name", 400}, {"bad_phone", 400},
      {"bad_role_name", 400}, {"bad_id", 400}, {"bad_pubkey", 400}, {"bad_json", 400},
      {"amount_too_large", 400}, {"unknown_setting", 400}, {"bad_setting", 400}, {"bad_note", 400}, {"bad_reference", 400},
      {"bad_agent_name", 400}, {"bad_share", 400}, {"bad_contact", 400}, {"bad_settlement", 400}, {"bad_station", 400},
      // money
      {"insufficient_funds", 402},
      // a firmware package that does not check out
      {"size_mismatch", 422}, {"hash_mismatch", 422}, {"bad_signature", 422}, {"model_mismatch", 422},
      // the platform is not set up for it
      {"no_firmware_key", 503},
      // the platform's own data is broken (the message says what, nothing internal)
      {"plan_missing", 500}, {"plan_invalid", 500},
  };
  auto it = table.find(r.code);
  // (orphan_resolved, an orphan record settled or closed already, is a conflict: 409; so are
  // withdrawal_state, a withdrawal not in the state a step starts from, and too_many_today.)
  // Everything else is a conflict with the current state: a busy port, a disabled device, a session
  // already stopped, a rollout already finished, a record that exists already.
  return it == table.end() ? 409 : it->second;
}

}  // namespace chargehub::api
