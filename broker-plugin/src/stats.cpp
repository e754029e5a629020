#include "stats.hpp"

#include <boost/json/array.hpp>
#include <cstdio>
#include <fstream>

#include "chargehub/metrics.hpp"

namespace chargehub::auth {

std::string_view credentials_source_name(int source) {
  switch (static_cast<CredentialsSource>(source)) {
    case CredentialsSource::none: return "none (no charger can log in until a core sends a snapshot)";
    case CredentialsSource::cache: return "cache (waiting for a snapshot)";
    case CredentialsSource::snapshot: return "snapshot";
  }
  return "?";
}

std::vector<std::string> Stats::top_dropped() const {
  std::vector<std::string> lines;
  for (auto& [id, d] : top_dropped_devices())
    lines.push_back(id + " rate=" + std::to_string(d.rate) + " size=" + std::to_string(d.size));
  return lines;
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
  out.top_dropped_devices = s.top_dropped_devices();
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

std::string stats_prometheus(const StatsSnapshot& s) {
  namespace m = chargehub::metrics;
  m::TextWriter w;
  auto one = [&](const char* name, const char* help, m::Type type, double v) {
    w.family(name, help, type);
    w.sample(v);
  };
  w.family("chargehub_plugin_logins_total", "MQTT logins decided by the plugin, by result: ok or the refusal (throttled included)",
           m::Type::Counter, {"result"});
  w.sample({"ok"}, static_cast<double>(s.logins_ok));
  for (int i = 1; i < refusal_count; ++i) w.sample({std::string(refusal_name(static_cast<Refusal>(i)))}, static_cast<double>(s.refused[i]));
  w.family("chargehub_plugin_acl_denied_total", "Publishes and subscriptions denied by the topic rules, by the client's role",
           m::Type::Counter, {"role"});
  for (int i = 0; i < role_count; ++i) w.sample({std::string(role_name(static_cast<Role>(i)))}, static_cast<double>(s.acl_denied[i]));
  w.family("chargehub_plugin_dropped_messages_total", "Charger messages dropped by the per-device limits, by reason: rate or size",
           m::Type::Counter, {"reason"});
  w.sample({"rate"}, static_cast<double>(s.dropped_rate));
  w.sample({"size"}, static_cast<double>(s.dropped_size));
  w.family("chargehub_plugin_top_dropped_messages", "The 10 devices that lost most messages to the limits, by reason (a bounded set)",
           m::Type::Gauge, {"device", "reason"});
  for (auto& [id, d] : s.top_dropped_devices) {
    w.sample({id, "rate"}, static_cast<double>(d.rate));
    w.sample({id, "size"}, static_cast<double>(d.size));
  }
  one("chargehub_plugin_kicks_total", "Clients disconnected because their credentials were revoked or the device disabled",
      m::Type::Counter, static_cast<double>(s.kicks));
  one("chargehub_plugin_control_commands_total", "Commands applied from $CONTROL/chargehub-auth/v1", m::Type::Counter,
      static_cast<double>(s.control_commands));
  one("chargehub_plugin_reloads_total", "Reloads (SIGHUP)", m::Type::Counter, static_cast<double>(s.reloads));
  one("chargehub_plugin_snapshot_requests_total", "Credential snapshots asked of the core", m::Type::Counter,
      static_cast<double>(s.snapshot_requests));
  one("chargehub_plugin_snapshots_total", "Credential snapshots applied", m::Type::Counter, static_cast<double>(s.snapshots));
  one("chargehub_plugin_stale_ignored_total", "Snapshots or pushes older than the table, ignored", m::Type::Counter,
      static_cast<double>(s.stale_ignored));
  one("chargehub_plugin_admitted_while_throttled_total", "Correct credentials admitted although their key was being throttled",
      m::Type::Counter, static_cast<double>(s.admitted_while_throttled));
  one("chargehub_plugin_auth_revision", "Revision of the credential snapshot applied last (-1: none)", m::Type::Gauge,
      static_cast<double>(s.auth_rev));
  one("chargehub_plugin_devices", "Devices in the plugin's credential table", m::Type::Gauge, static_cast<double>(s.devices));
  one("chargehub_plugin_services", "Service accounts loaded", m::Type::Gauge, static_cast<double>(s.services));
  one("chargehub_plugin_connections", "Clients admitted and still connected", m::Type::Gauge, static_cast<double>(s.connections));
  w.family("chargehub_plugin_credentials_source", "Where the credential table came from: 1 for the current source", m::Type::Gauge,
           {"source"});
  for (int i = 0; i < 3; ++i) {
    static const char* names[] = {"none", "cache", "snapshot"};
    w.sample({names[i]}, s.credentials_source == i ? 1 : 0);
  }
  w.raw(kMetricsEnd);
  return w.take();
}

bool write_atomically(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return false;
    out << text;
    if (!out.flush()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace chargehub::auth
