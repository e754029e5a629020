#include "stats.hpp"

#include <boost/json/array.hpp>

namespace chargehub::auth {

std::string_view credentials_source_name(int source) {
  switch (static_cast<CredentialsSource>(source)) {
    case CredentialsSource::none: return "none (no charger can log in until a core sends a snapshot)";
    case CredentialsSource::cache: return "cache (waiting for a snapshot)";
    case CredentialsSource::snapshot: return "snapshot";
  }
  return "?";
}

StatsSnapshot snapshot(const Stats& s) {
  StatsSnapshot out;
  auto ld = [](const auto& a) { return a.load(std::memory_order_relaxed); };
  out.logins_ok = ld(s.logins_ok);
  for (int i = 0; i < refusal_count; ++i) {
    out.refused[i] = ld(s.refused[i]);
    if (i != static_cast<int>(Refusal::none)) out.logins_refused += out.refused[i];
  }
  out.throttled = out.refused[static_cast<int>(Refusal::throttled)];
  for (int i = 0; i < role_count; ++i) {
    out.acl_denied[i] = ld(s.acl_denied[i]);
    out.acl_denied_total += out.acl_denied[i];
  }
  out.kicks = ld(s.kicks);
  out.control_commands = ld(s.control_commands);
  out.reloads = ld(s.reloads);
  out.snapshot_requests = ld(s.snapshot_requests);
  out.snapshots = ld(s.snapshots);
  out.stale_ignored = ld(s.stale_ignored);
  out.admitted_while_throttled = ld(s.admitted_while_throttled);
  out.dropped_rate = ld(s.dropped_rate);
  out.dropped_size = ld(s.dropped_size);
  out.top_dropped = s.top_dropped();
  out.auth_rev = ld(s.auth_rev);
  out.devices = ld(s.devices);
  out.services = ld(s.services);
  out.connections = ld(s.connections);
  out.credentials_source = ld(s.credentials_source);
  return out;
}

boost::json::object stats_json(const StatsSnapshot& s) {
  boost::json::object o;
  o["logins_ok"] = s.logins_ok;
  o["logins_refused"] = s.logins_refused;
  boost::json::object refused;
  for (int i = 1; i < refusal_count; ++i) refused[refusal_name(static_cast<Refusal>(i))] = s.refused[i];
  o["refused"] = std::move(refused);
  o["throttled"] = s.throttled;
  boost::json::object denied;
  for (int i = 0; i < role_count; ++i) denied[role_name(static_cast<Role>(i))] = s.acl_denied[i];
  o["acl_denied"] = std::move(denied);
  o["kicks"] = s.kicks;
  o["control_commands"] = s.control_commands;
  o["reloads"] = s.reloads;
  o["snapshot_requests"] = s.snapshot_requests;
  o["snapshots"] = s.snapshots;
  o["stale_ignored"] = s.stale_ignored;
  o["auth_rev"] = s.auth_rev;
  o["devices"] = s.devices;
  o["services"] = s.services;
  o["connections"] = s.connections;
  o["admitted_while_throttled"] = s.admitted_while_throttled;
  o["dropped_rate"] = s.dropped_rate;
  o["dropped_size"] = s.dropped_size;
  boost::json::array top;
  for (auto& l : s.top_dropped) top.emplace_back(l);
  o["top_dropped"] = std::move(top);
  return o;
}

std::string stats_text(const StatsSnapshot& s) {
  std::string out;
  auto line = [&](std::string_view k, auto v) {
    out += k;
    out += ": ";
    out += std::to_string(v);
    out += '\n';
  };
  line("logins_ok", s.logins_ok);
  line("logins_refused", s.logins_refused);
  for (int i = 1; i < refusal_count; ++i)
    line("refused." + std::string(refusal_name(static_cast<Refusal>(i))), s.refused[i]);
  line("throttled", s.throttled);
  line("acl_denied", s.acl_denied_total);
  for (int i = 0; i < role_count; ++i)
    line("acl_denied." + std::string(role_name(static_cast<Role>(i))), s.acl_denied[i]);
  line("kicks", s.kicks);
  line("control_commands", s.control_commands);
  line("reloads", s.reloads);
  line("snapshot_requests", s.snapshot_requests);
  line("snapshots", s.snapshots);
  line("stale_ignored", s.stale_ignored);
  line("auth_rev", s.auth_rev);
  line("devices", s.devices);
  line("services", s.services);
  line("connections", s.connections);
  line("admitted_while_throttled", s.admitted_while_throttled);
  line("dropped_rate", s.dropped_rate);
  line("dropped_size", s.dropped_size);
  for (std::size_t i = 0; i < s.top_dropped.size(); ++i)
    out += "top_dropped." + std::to_string(i + 1) + ": " + s.top_dropped[i] + "\n";
  return out;
}

std::string stats_line(const StatsSnapshot& s) {
  std::string out = "chargehub-auth stats: logins_ok=" + std::to_string(s.logins_ok) +
                    " logins_refused=" + std::to_string(s.logins_refused);
  for (int i = 1; i < refusal_count; ++i)
    if (s.refused[i]) out += " " + std::string(refusal_name(static_cast<Refusal>(i))) + "=" + std::to_string(s.refused[i]);
  out += " throttled=" + std::to_string(s.throttled) + " acl_denied=" + std::to_string(s.acl_denied_total);
  for (int i = 0; i < role_count; ++i)
    if (s.acl_denied[i])
      out += " acl_denied." + std::string(role_name(static_cast<Role>(i))) + "=" + std::to_string(s.acl_denied[i]);
  out += " kicks=" + std::to_string(s.kicks) + " devices=" + std::to_string(s.devices) +
         " auth_rev=" + std::to_string(s.auth_rev) + " snapshots=" + std::to_string(s.snapshots) +
         " connections=" + std::to_string(s.connections) + " dropped_rate=" + std::to_string(s.dropped_rate) +
         " dropped_size=" + std::to_string(s.dropped_size);
  if (!s.top_dropped.empty()) out += " top_dropped=" + s.top_dropped.front();
  return out;
}

}  // namespace chargehub::auth
