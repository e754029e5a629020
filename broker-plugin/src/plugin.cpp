// Mosquitto 2.0 plugin entry points: a thin shell that turns broker events into calls of the plain
// decision functions (auth.hpp, acl.hpp, control.hpp, throttle.hpp) and carries out what they decide.
// Every callback runs on the broker thread and never blocks: credentials live in memory, arrive from
// the core over $CONTROL (a snapshot it asks for from TICK, and pushes), and files are read and written
// by the background thread (background.hpp); kicks are queued and done in TICK.
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "acl.hpp"
#include "auth.hpp"
#include "background.hpp"
#include "chargehub/auth_control.hpp"
#include "config.hpp"
#include "connections.hpp"
#include "control.hpp"
#include "limits.hpp"
#include "log_text.hpp"
#include "stats.hpp"
#include "throttle.hpp"

#define CHARGEHUB_EXPORT extern "C" __attribute__((visibility("default")))

namespace chargehub::auth {
namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Plugin {
  mosquitto_plugin_id_t* id = nullptr;
  Config cfg;
  Stats stats;
  std::unique_ptr<Background> background;
  std::shared_ptr<const DeviceTable> devices = std::make_shared<DeviceTable>();
  std::shared_ptr<const ServiceTable> services = std::make_shared<ServiceTable>();
  ReplayGuard replay;
  LoginThrottle throttle;
  DeviceLimits limits;
  std::uint64_t throttled_unlogged = 0;  // refusals on blocked keys since the last summary line
  Connections connections;
  std::vector<std::string> kick_queue;
  // Snapshot requests: until a snapshot arrives (after start or a reload) one a second, then one every
  // auth_snapshot_interval as a safety net.
  bool have_snapshot = false;
  bool force_next_snapshot = false;  // after SIGHUP: accept a snapshot older than the table (restored DB)
  std::uint64_t generation = 0;      // reloads so far: a snapshot sent before one does not answer it
  std::string request_reason = "start";
  std::int64_t next_request_ms = 0;
  std::int64_t last_housekeeping_ms = 0;
  std::int64_t last_stats_log_ms = 0;
  std::int64_t acl_log_window_ms = 0;
  int acl_log_lines = 0;
  std::uint64_t acl_log_suppressed = 0;

  void queue_kicks(std::vector<std::string> users) {
    for (auto& u : users)
      if (std::find(kick_queue.begin(), kick_queue.end(), u) == kick_queue.end()) kick_queue.push_back(std::move(u));
  }
  void set_devices(std::shared_ptr<const DeviceTable> t, bool persist) {
    devices = std::move(t);
    stats.devices.store(static_cast<std::int64_t>(devices->live()), std::memory_order_relaxed);
    stats.auth_rev.store(devices->rev, std::memory_order_relaxed);
    if (persist) background->persist(devices);
  }
  void ask_for_snapshot(std::string reason) {
    ++generation;
    have_snapshot = false;
    request_reason = std::move(reason);
    next_request_ms = 0;  // at the next TICK
  }
};

Plugin* g_plugin = nullptr;  // the broker loads a plugin once; cleanup clears it
const std::string control_topic_s(auth_control::kControlTopic);
const std::string response_topic_s(auth_control::kResponseTopic);
const std::string request_topic_s(auth_control::kSnapshotRequestTopic);

// Every credential is checked and a correct one admitted, whatever was sent under that name before
// (throttle.hpp, LoginThrottle): the throttle only decides how a wrong one is refused and logged.
int on_basic_auth(int, void* event_data, void* userdata) {
  auto* p = static_cast<Plugin*>(userdata);
  auto* ev = static_cast<mosquitto_evt_basic_auth*>(event_data);
  const char* addr_c = mosquitto_client_address(ev->client);
  std::string_view addr = addr_c ? addr_c : "";
  const char* client_id = mosquitto_client_id(ev->client);
  std::int64_t now = now_ms();
  std::string_view username = ev->username ? ev->username : "";

  LoginRequest req{ev->username, ev->password, client_id};
  LoginResult r = check_login(req, *p->devices, *p->services, p->replay, {p->cfg.ed25519_window_s}, now);
  auto verdict = p->throttle.after_check(username, addr, r.refusal, now);

  if (r.ok()) {
    p->stats.bump(p->stats.logins_ok);
    if (verdict.key_blocked) p->stats.bump(p->stats.admitted_while_throttled);
    if (r.credential.kind == CredentialKind::ed25519) p->replay.accept(ev->username, r.credential.ts_ms);
    p->connections.add(ev->client, ev->username, r.credential);
    p->stats.connections.store(static_cast<std::int64_t>(p->connections.size()), std::memory_order_relaxed);
    return MOSQ_ERR_SUCCESS;
  }

  p->stats.bump(p->stats.refused[static_cast<int>(verdict.refusal)]);
  if (!verdict.log) {  // a blocked key: one summary line a second (TICK), not one per attempt
    ++p->throttled_unlogged;
    return MOSQ_ERR_AUTH;
  }
  // Never the password: only who, from where, and why.
  mosquitto_log_printf(MOSQ_LOG_NOTICE, "chargehub-auth auth.login_refused reason=%s username=%s client_id=%s address=%s",
                       std::string(refusal_name(verdict.refusal)).c_str(), kv_value(username).c_str(),
                       kv_value(client_id ? client_id : "").c_str(), kv_value(addr).c_str());
  return MOSQ_ERR_AUTH;
}

std::string_view access_name(int access) {
  switch (access) {
    case MOSQ_ACL_READ: return "read";
    case MOSQ_ACL_WRITE: return "write";
    case MOSQ_ACL_SUBSCRIBE: return "subscribe";
    case MOSQ_ACL_UNSUBSCRIBE: return "unsubscribe";
  }
  return "?";
}

int on_acl_check(int, void* event_data, void* userdata) {
  auto* p = static_cast<Plugin*>(userdata);
  auto* ev = static_cast<mosquitto_evt_acl_check*>(event_data);
  const char* user = mosquitto_client_username(ev->client);
  Identity who = identity_of(user ? user : "", *p->services);
  std::string_view topic = ev->topic ? ev->topic : "";
  bool allowed = false;
  if (ev->access == MOSQ_ACL_READ) allowed = acl_allows(who, Access::read, topic);
  else if (ev->access == MOSQ_ACL_WRITE) {
    allowed = acl_allows(who, Access::write, topic);
    // Per-device limits (limits.hpp): a charger's publish over its size or rate is dropped and counted.
    if (allowed && who.role == Role::charger) {
      // exactly chg/v1/<id>/status (its own bucket); anything under up/ shares the device's bucket
      bool status = topic.size() == 7 + who.name.size() + 7 && topic.starts_with("chg/v1/") &&
                    topic.substr(7, who.name.size()) == who.name && topic.ends_with("/status");
      auto v = p->limits.check(who.name, ev->payloadlen, now_ms(), status);
      if (v != LimitVerdict::pass) {
        p->stats.bump(v == LimitVerdict::rate ? p->stats.dropped_rate : p->stats.dropped_size);
        return MOSQ_ERR_ACL_DENIED;
      }
    }
  }
  else if (ev->access == MOSQ_ACL_SUBSCRIBE) allowed = acl_allows(who, Access::subscribe, topic);
  else if (ev->access == MOSQ_ACL_UNSUBSCRIBE) allowed = acl_allows(who, Access::unsubscribe, topic);
  if (allowed) return MOSQ_ERR_SUCCESS;

  p->stats.bump(p->stats.acl_denied[static_cast<int>(who.role)]);
  // At most 20 denial lines a second, so a misbehaving client cannot flood the log.
  std::int64_t now = now_ms();
  if (now - p->acl_log_window_ms >= 1000) {
    if (p->acl_log_suppressed)
      mosquitto_log_printf(MOSQ_LOG_NOTICE, "chargehub-auth auth.acl_denials_unlogged count=%llu",
                           static_cast<unsigned long long>(p->acl_log_suppressed));
    p->acl_log_window_ms = now;
    p->acl_log_lines = 0;
    p->acl_log_suppressed = 0;
  }
  if (++p->acl_log_lines <= 20) {
    const char* cid = mosquitto_client_id(ev->client);
    mosquitto_log_printf(MOSQ_LOG_NOTICE, "chargehub-auth auth.acl_denied role=%s username=%s client_id=%s access=%s topic=%s",
                         std::string(role_name(who.role)).c_str(), kv_value(user ? user : "").c_str(),
                         kv_value(cid ? cid : "").c_str(), std::string(access_name(ev->access)).c_str(),
                         kv_value(topic, 200).c_str());
  } else {
    ++p->acl_log_suppressed;
  }
  return MOSQ_ERR_ACL_DENIED;
}

void apply(Plugin* p, ControlOutcome out, const std::string& user, bool current);

int on_control(int, void* event_data, void* userdata) {
  auto* p = static_cast<Plugin*>(userdata);
  auto* ev = static_cast<mosquitto_evt_control*>(event_data);
  const char* user = mosquitto_client_username(ev->client);
  Identity who = identity_of(user ? user : "", *p->services);
  if (who.role != Role::core) {  // the ACL already refuses this; checked again here on purpose
    p->stats.bump(p->stats.acl_denied[static_cast<int>(who.role)]);
    return MOSQ_ERR_ACL_DENIED;
  }
  std::string_view payload(static_cast<const char*>(ev->payload), ev->payloadlen);
  std::string username = user ? user : "";
  if (payload.size() >= background_parse_bytes) {  // a big snapshot: parsed off the broker thread
    p->background->parse_control(std::string(payload), std::move(username), p->generation);
    return MOSQ_ERR_SUCCESS;
  }
  apply(p, apply_control(payload, *p->devices, [p] { return stats_json(snapshot(p->stats)); }, p->force_next_snapshot),
        username, true);
  return MOSQ_ERR_SUCCESS;
}

// Carries out what a control request decided (on the broker thread: from CONTROL or, for a request
// parsed in the background, from TICK).
// `current`: false for a request that arrived before the last reload (it does not answer that
// reload's snapshot request).
void apply(Plugin* p, ControlOutcome out, const std::string& user, bool current) {
  std::int64_t now = now_ms();
  p->stats.control_commands.fetch_add(out.commands, std::memory_order_relaxed);
  p->stats.stale_ignored.fetch_add(out.stale, std::memory_order_relaxed);
  if (out.devices) {
    p->set_devices(out.devices, true);
    // A snapshot may change any device: every connection is re-checked; a push only its devices'.
    p->queue_kicks(p->connections.revoked(*p->devices, *p->services, now / 1000,
                                          out.snapshot_rev ? nullptr : &out.changed_ids));
  }
  if (out.snapshot_rev && current) {
    p->have_snapshot = true;
    p->force_next_snapshot = false;
    p->next_request_ms = now + p->cfg.auth_snapshot_interval * 1000;
  }
  if (out.snapshot_rev) {
    p->stats.bump(p->stats.snapshots);
    p->stats.credentials_source.store(static_cast<int>(CredentialsSource::snapshot), std::memory_order_relaxed);
    mosquitto_log_printf(MOSQ_LOG_NOTICE, "chargehub-auth: snapshot at rev %lld from '%s': %zu devices%s",
                         static_cast<long long>(*out.snapshot_rev), printable(user).c_str(),
                         p->devices->live(),
                         out.ignored_fields ? " (malformed entries or fields ignored)" : "");
  }
  if (out.stale)
    mosquitto_log_printf(MOSQ_LOG_INFO, "chargehub-auth control.stale_ignored commands=%zu from=%s rev=%lld",
                         out.stale, kv_value(user).c_str(), static_cast<long long>(p->devices->rev));
  if (out.reload) {
    p->background->request_reload();
    p->ask_for_snapshot("reload");
  }
  mosquitto_log_printf(MOSQ_LOG_INFO, "chargehub-auth control.commands from=%s commands=%zu",
                       kv_value(user).c_str(), out.commands);
  mosquitto_broker_publish_copy(nullptr, response_topic_s.c_str(), static_cast<int>(out.response.size()),
                                out.response.data(), 0, false, nullptr);
}

int on_tick(int, void*, void* userdata) {
  auto* p = static_cast<Plugin*>(userdata);
  std::int64_t now = now_ms();
  auto up = p->background->take();
  for (auto& line : up.log_lines) mosquitto_log_printf(MOSQ_LOG_NOTICE, "%s", line.c_str());
  for (auto& pc : up.controls) {
    std::string user = pc.user;
    bool current = pc.generation == p->generation;
    apply(p, apply_control(std::move(pc), *p->devices, [p] { return stats_json(snapshot(p->stats)); },
                           current && p->force_next_snapshot),
          user, current);
  }
  bool changed = false;
  if (up.devices) {  // only from the cache at start, which init already installed
    p->set_devices(std::move(up.devices), false);
    changed = true;
  }
  if (up.services) {
    p->services = std::move(up.services);
    changed = true;
  }
  bool housekeeping = now - p->last_housekeeping_ms >= 1000;
  if (changed || (housekeeping && p->connections.any_in_grace()))
    p->queue_kicks(p->connections.revoked(*p->devices, *p->services, now / 1000));
  if (now >= p->next_request_ms) {
    // Any core answers with a snapshot on $CONTROL; until one does, ask again every second.
    auth_control::SnapshotRequest req{p->devices->rev, p->have_snapshot ? "interval" : p->request_reason};
    std::string body = auth_control::snapshot_request_json(req);
    mosquitto_broker_publish_copy(nullptr, request_topic_s.c_str(), static_cast<int>(body.size()), body.data(), 1,
                                  false, nullptr);
    p->stats.bump(p->stats.snapshot_requests);
    if (!p->have_snapshot) p->request_reason = "retry";
    p->next_request_ms = now + (p->have_snapshot ? p->cfg.auth_snapshot_interval * 1000 : 1000);
  }
  if (housekeeping) {
    p->last_housekeeping_ms = now;
    p->throttle.prune(now);
    p->limits.prune(now);
    p->stats.set_top_dropped(p->limits.top(10));
    if (p->throttled_unlogged) {
      mosquitto_log_printf(MOSQ_LOG_NOTICE, "chargehub-auth auth.throttled_unlogged count=%llu",
                           static_cast<unsigned long long>(p->throttled_unlogged));
      p->throttled_unlogged = 0;
    }
  }
  for (auto& user : p->kick_queue) {
    mosquitto_log_printf(MOSQ_LOG_NOTICE, "chargehub-auth auth.kick username=%s why=revoked_or_disabled",
                         kv_value(user).c_str());
    mosquitto_kick_client_by_username(user.c_str(), true);
    p->stats.bump(p->stats.kicks);
  }
  p->kick_queue.clear();
  if (p->cfg.stats_log_s > 0 && now - p->last_stats_log_ms >= p->cfg.stats_log_s * 1000) {
    if (p->last_stats_log_ms != 0)
      mosquitto_log_printf(MOSQ_LOG_NOTICE, "%s", stats_line(snapshot(p->stats)).c_str());
    p->last_stats_log_ms = now;
  }
  return MOSQ_ERR_SUCCESS;
}

int on_disconnect(int, void* event_data, void* userdata) {
  auto* p = static_cast<Plugin*>(userdata);
  auto* ev = static_cast<mosquitto_evt_disconnect*>(event_data);
  p->connections.remove(ev->client);
  p->stats.connections.store(static_cast<std::int64_t>(p->connections.size()), std::memory_order_relaxed);
  return MOSQ_ERR_SUCCESS;
}

// SIGHUP: re-read the services file and ask for a snapshot, accepting it even if its revision is older
// than the table's (the operator's way back after restoring the core's database from a backup).
int on_reload(int, void*, void* userdata) {
  auto* p = static_cast<Plugin*>(userdata);
  p->background->request_reload();
  p->ask_for_snapshot("reload");
  p->force_next_snapshot = true;
  return MOSQ_ERR_SUCCESS;
}

void install(Plugin* p) {
  auto up = p->background->take();
  for (auto& line : up.log_lines) mosquitto_log_printf(MOSQ_LOG_NOTICE, "%s", line.c_str());
  if (up.devices) {
    p->set_devices(std::move(up.devices), false);
    p->stats.credentials_source.store(static_cast<int>(CredentialsSource::cache), std::memory_order_relaxed);
  }
  if (up.services) p->services = std::move(up.services);
}

}  // namespace
}  // namespace chargehub::auth

using namespace chargehub::auth;

CHARGEHUB_EXPORT int mosquitto_plugin_version(int count, const int* versions) {
  for (int i = 0; i < count; ++i)
    if (versions[i] == 5) return 5;
  return -1;
}

CHARGEHUB_EXPORT int mosquitto_plugin_init(mosquitto_plugin_id_t* identifier, void** userdata,
                                           struct mosquitto_opt* options, int option_count) {
  std::vector<std::pair<std::string, std::string>> opts;
  for (int i = 0; i < option_count; ++i)
    opts.emplace_back(options[i].key ? options[i].key : "", options[i].value ? options[i].value : "");
  auto parsed = parse_config(opts);
  for (auto& e : parsed.errors) mosquitto_log_printf(MOSQ_LOG_ERR, "chargehub-auth config.error message=%s", kv_value(e, 300).c_str());
  if (!parsed.errors.empty()) return MOSQ_ERR_INVAL;
  try {
    auto p = std::make_unique<Plugin>();
    p->id = identifier;
    p->cfg = parsed.config;
    p->throttle = LoginThrottle(p->cfg.user_throttle, p->cfg.addr_throttle, p->cfg.addr_exempt);
    p->limits = DeviceLimits(p->cfg.limits);
    if (p->cfg.auth_cache_file.empty())
      // After a broker restart no charger can log in until a core answers.
      mosquitto_log_printf(MOSQ_LOG_WARNING, "chargehub-auth config.no_auth_cache_file");
    if (p->cfg.services.empty())
      mosquitto_log_printf(MOSQ_LOG_WARNING, "chargehub-auth config.no_services");   // no service account can log in
    p->background = std::make_unique<Background>(p->cfg, p->stats);
    p->background->load_now();
    install(p.get());

    Plugin* raw = p.get();
    int rc = MOSQ_ERR_SUCCESS;
    auto reg = [&](int ev, MOSQ_FUNC_generic_callback cb, const void* data) {
      if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_callback_register(identifier, ev, cb, data, raw);
    };
    reg(MOSQ_EVT_BASIC_AUTH, on_basic_auth, nullptr);
    reg(MOSQ_EVT_ACL_CHECK, on_acl_check, nullptr);
    reg(MOSQ_EVT_CONTROL, on_control, control_topic_s.c_str());
    reg(MOSQ_EVT_TICK, on_tick, nullptr);
    reg(MOSQ_EVT_DISCONNECT, on_disconnect, nullptr);
    reg(MOSQ_EVT_RELOAD, on_reload, nullptr);
    if (rc != MOSQ_ERR_SUCCESS) {
      mosquitto_log_printf(MOSQ_LOG_ERR, "chargehub-auth plugin.register_failed rc=%d", rc);
      return rc;
    }
    p->background->start();
    mosquitto_log_printf(MOSQ_LOG_NOTICE, "chargehub-auth: ready (auth_cache_file=%s services=%s)",
                         p->cfg.auth_cache_file.empty() ? "-" : p->cfg.auth_cache_file.c_str(),
                         p->cfg.services.empty() ? "-" : p->cfg.services.c_str());
    g_plugin = p.release();
    *userdata = g_plugin;
    return MOSQ_ERR_SUCCESS;
  } catch (const std::exception& e) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "chargehub-auth plugin.init_failed error=%s", kv_value(e.what(), 300).c_str());
    return MOSQ_ERR_UNKNOWN;
  }
}

CHARGEHUB_EXPORT int mosquitto_plugin_cleanup(void* userdata, struct mosquitto_opt*, int) {
  auto* p = static_cast<Plugin*>(userdata);
  if (!p) return MOSQ_ERR_SUCCESS;
  mosquitto_callback_unregister(p->id, MOSQ_EVT_BASIC_AUTH, on_basic_auth, nullptr);
  mosquitto_callback_unregister(p->id, MOSQ_EVT_ACL_CHECK, on_acl_check, nullptr);
  mosquitto_callback_unregister(p->id, MOSQ_EVT_CONTROL, on_control, control_topic_s.c_str());
  mosquitto_callback_unregister(p->id, MOSQ_EVT_TICK, on_tick, nullptr);
  mosquitto_callback_unregister(p->id, MOSQ_EVT_DISCONNECT, on_disconnect, nullptr);
  mosquitto_callback_unregister(p->id, MOSQ_EVT_RELOAD, on_reload, nullptr);
  p->background->stop();
  delete p;
  g_plugin = nullptr;
  return MOSQ_ERR_SUCCESS;
}
