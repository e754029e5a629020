// Charging sessions (start, stop, refund, meter samples) and orphan stop records (docs/billing-rules.md).
#include "routes/routes.hpp"
#include "routes/views.hpp"

namespace chargehub::api {

namespace {

struct StartBody {
  std::string device_id;
  int64_t port;
  int64_t rider_id;
  optional<int64_t> amount_fen;   // prepayment (fen)
  optional<int64_t> duration_s;   // or a duration bought (time and power tier plans)
  optional<bool> until_full;      // or until the battery is full (the plan's cap)
};
BOOST_DESCRIBE_STRUCT(StartBody, (), (device_id, port, rider_id, amount_fen, duration_s, until_full))

struct RefundBody {
  int64_t amount_fen;
  optional<std::string> note;
};
BOOST_DESCRIBE_STRUCT(RefundBody, (), (amount_fen, note))

struct SettleOrphanBody {
  int64_t rider_id;
};
BOOST_DESCRIBE_STRUCT(SettleOrphanBody, (), (rider_id))

struct CloseOrphanBody {
  std::string reason;
};
BOOST_DESCRIBE_STRUCT(CloseOrphanBody, (), (reason))

std::optional<json::value> session_snapshot(Ctx& c, const std::string& id) {
  auto s = c.app.sessions.get(c.scope(), std::stoll(id));
  if (!s) return std::nullopt;
  return json::value_from(session_view(*s));
}
std::optional<json::value> orphan_snapshot(Ctx& c, const std::string& id) {
  auto o = c.app.inbox.get(c.scope(), std::stoll(id));
  if (!o) return std::nullopt;
  return json::value_from(orphan_view(*o));
}

}  // namespace

std::vector<Route> session_routes() {
  std::vector<Route> r;
  r.push_back(Route{"POST", "/api/v1/sessions", "sessions.start", Scope::Platform, "Start a session on a port, paid from a rider's wallet",
                    [](Ctx& c) {
                      auto b = c.body<StartBody>();
                      need(!b.device_id.empty() && b.device_id.size() <= 16, "bad_field", "device_id", "device_id is required");
                      need(b.port >= 1 && b.port <= 255, "bad_port", "port", "port must be 1..255");
                      need(b.rider_id > 0, "bad_field", "rider_id", "rider_id must be a positive integer");
                      int64_t amount = b.amount_fen.value_or(0), duration = b.duration_s.value_or(0);
                      bool until_full = b.until_full.value_or(false);
                      need(amount >= 0 && amount <= 10'000'000, "bad_amount", "amount_fen", "amount_fen must be an integer 0..10000000 (fen)");
                      need(duration >= 0 && duration <= 72 * 3600, "bad_duration", "duration_s", "duration_s must be an integer 0..259200");
                      need(amount > 0 || duration > 0 || until_full, "bad_amount", "amount_fen", "give amount_fen, duration_s, or until_full: true");
                      core::OpenRequest req{b.device_id, b.port, b.rider_id, amount, until_full, duration, c.origin("operator")};
                      auto t = c.svc.start_session(c.scope(), req);
                      if (!t) return refuse(t.refusal);
                      return ok(json::value_from(session_view(t->session)), 201);
                    }}
                  .with_request<StartBody>()
                  .with_response<SessionView>()
                  .answers(201)
                  .may_refuse({"device_not_found", "rider_not_found", "port_busy", "insufficient_funds", "bad_port", "device_offline"})
                  .audited("session.start", "session"));
  r.push_back(Route{"GET", "/api/v1/sessions", "sessions.view", Scope::Platform, "List sessions, newest first",
                    [](Ctx& c) {
                      core::SessionFilter f;
                      f.rider_id = c.query_int("rider_id", 1, INT64_MAX);
                      f.device_id = c.query("device_id");
                      f.state = c.query("state");
                      auto p = c.page({"id", "created_at", "amount_fen", "energy_wh"});
                      return ok(page_json(c.app.sessions.page(c.scope(), f, p), p, session_view));
                    }}
                  .with_page<SessionView>()
                  .with_query({"rider_id", "device_id", "state"}));
  r.push_back(Route{"GET", "/api/v1/sessions/{id}", "sessions.view", Scope::Platform, "A session",
                    [](Ctx& c) {
                      auto s = c.app.sessions.get(c.scope(), c.id("id"));
                      if (!s) return fail(404, "session_not_found", "no session with this id");
                      return ok(json::value_from(session_view(*s)));
                    }}
                  .with_response<SessionView>()
                  .may_refuse({"session_not_found"}));
  r.push_back(Route{"GET", "/api/v1/sessions/{id}/meter", "sessions.view", Scope::Platform, "A session's meter samples, oldest first",
                    [](Ctx& c) {
                      auto p = c.page({}, 5000);
                      if (!c.app.sessions.get(c.scope(), c.id("id"))) return fail(404, "session_not_found", "no session with this id");
                      std::vector<SampleView> all;
                      for (auto& m : c.app.sessions.samples(c.scope(), c.id("id"), 20000))
                        all.push_back(SampleView{m.ts, m.power_w, m.energy_wh, m.elapsed_s, m.voltage_dv, m.current_ma});
                      return ok(page_json(page_of(std::move(all), p), p, [](const SampleView& s) { return s; }));
                    }}
                  .with_page<SampleView>());
  r.push_back(Route{"POST", "/api/v1/sessions/{id}/stop", "sessions.stop", Scope::Platform, "Stop a running session",
                    [](Ctx& c) {
                      auto cmd = c.svc.stop_session(c.scope(), c.id("id"), c.origin("operator"));
                      if (!cmd) return refuse(cmd.refusal);
                      return ok(json::value_from(session_view(*c.app.sessions.get(c.scope(), c.id("id")))), 202);
                    }}
                  .with_response<SessionView>()
                  .answers(202)
                  .may_refuse({"session_not_found", "not_running"})
                  .audited("session.stop", "session", "id", session_snapshot));
  r.push_back(Route{"POST", "/api/v1/sessions/{id}/refund", "sessions.refund", Scope::Platform, "Refund part of a settled session",
                    [](Ctx& c) {
                      auto b = c.body<RefundBody>();
                      need(b.amount_fen >= 1 && b.amount_fen <= 10'000'000, "bad_amount", "amount_fen", "amount_fen must be a positive integer (fen)");
                      std::string note = b.note.value_or("");
                      need(note.size() <= 200, "bad_field", "note", "note must be at most 200 bytes");
                      return result(c.app.sessions.refund(c.scope(), c.id("id"), b.amount_fen, note, c.now), 200, session_view);
                    }}
                  .with_request<RefundBody>()
                  .with_response<SessionView>()
                  .may_refuse({"session_not_found", "not_settled", "refund_too_large"})
                  .audited("session.refund", "session", "id", session_snapshot));

  // ---- orphan stop records ----
  r.push_back(Route{"GET", "/api/v1/orphans", "orphans.view", Scope::Platform, "Stop records for sessions the platform does not know",
                    [](Ctx& c) {
                      core::OrphanFilter f;
                      f.device_id = c.query("device_id");
                      if (auto s = c.query("state")) {
                        f.state = core::parse_orphan_state(*s);
                        need(f.state.has_value(), "bad_state", "state", "state must be open, settled or closed");
                      }
                      auto p = c.page({"id", "last_seen_at", "energy_wh"});
                      return ok(page_json(c.app.inbox.page(c.scope(), f, p), p, orphan_view));
                    }}
                  .with_page<OrphanView>()
                  .with_query({"device_id", "state"}));
  r.push_back(Route{"GET", "/api/v1/orphans/{id}", "orphans.view", Scope::Platform, "An orphan stop record",
                    [](Ctx& c) {
                      auto o = c.app.inbox.get(c.scope(), c.id("id"));
                      if (!o) return fail(404, "orphan_not_found", "no orphan stop record with this id");
                      return ok(json::value_from(orphan_view(*o)));
                    }}
                  .with_response<OrphanView>()
                  .may_refuse({"orphan_not_found"}));
  r.push_back(Route{"POST", "/api/v1/orphans/{id}/settle", "orphans.resolve", Scope::Platform, "Bill an orphan stop record to a rider",
                    [](Ctx& c) {
                      auto b = c.body<SettleOrphanBody>();
                      need(b.rider_id > 0, "bad_field", "rider_id", "rider_id must be a positive integer");
                      auto res = c.app.inbox.settle(c.scope(), c.id("id"), b.rider_id, c.caller.actor(), c.now);
                      if (!res) return refuse(res.refusal);
                      auto v = orphan_view(*res.value);
                      if (auto s = c.app.sessions.get(c.scope(), res.value->session_id.value_or(0))) v.settled_session = session_view(*s);
                      return ok(json::value_from(v));
                    }}
                  .with_request<SettleOrphanBody>()
                  .with_response<OrphanView>()
                  .may_refuse({"orphan_not_found", "orphan_resolved", "rider_not_found"})
                  .audited("orphan.settle", "orphan", "id", orphan_snapshot));
  r.push_back(Route{"POST", "/api/v1/orphans/{id}/close", "orphans.resolve", Scope::Platform, "Close an orphan stop record without billing",
                    [](Ctx& c) {
                      auto b = c.body<CloseOrphanBody>();
                      need(!b.reason.empty() && b.reason.size() <= 500, "bad_reason", "reason", "reason is required (UTF-8, at most 500 bytes)");
                      return result(c.app.inbox.close(c.scope(), c.id("id"), b.reason, c.caller.actor(), c.now), 200, orphan_view);
                    }}
                  .with_request<CloseOrphanBody>()
                  .with_response<OrphanView>()
                  .may_refuse({"orphan_not_found", "orphan_resolved"})
                  .audited("orphan.close", "orphan", "id", orphan_snapshot));
  return r;
}

}  // namespace chargehub::api
