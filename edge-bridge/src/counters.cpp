#include "counters.hpp"

#include <sys/mman.h>

#include <boost/json.hpp>
#include <new>
#include <stdexcept>

#include "chargehub/frame.hpp"
#include "chargehub/metrics.hpp"
#include "util.hpp"

namespace chargehub::bridge {

Counters* make_shared_counters(int n) {
  void* p = ::mmap(nullptr, sizeof(Counters) * static_cast<size_t>(n), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::runtime_error("mmap of counters failed");
  auto* c = static_cast<Counters*>(p);
  for (int i = 0; i < n; ++i) new (&c[i]) Counters();
  return c;
}

std::string counters_json(const Counters* b, int n, int workers_alive) {
  namespace json = boost::json;
  auto sum = [&](auto field) {
    int64_t s = 0;
    for (int i = 0; i < n; ++i) s += (b[i].*field).load(std::memory_order_relaxed);
    return s;
  };
  json::object in, out;
  for (int cmd = 0; cmd < 256; ++cmd) {
    int64_t fi = 0, fo = 0;
    for (int i = 0; i < n; ++i) {
      fi += b[i].frames_in[cmd].load(std::memory_order_relaxed);
      fo += b[i].frames_out[cmd].load(std::memory_order_relaxed);
    }
    if (!fi && !fo) continue;
    std::string name = proto::is_known_cmd(static_cast<uint8_t>(cmd))
                           ? std::string(proto::cmd_name(static_cast<proto::Cmd>(cmd)))
                           : "cmd" + std::to_string(cmd);
    if (fi) in[name] = fi;
    if (fo) out[name] = fo;
  }
  json::object o{
      {"ts", unix_s()},
      {"workers", workers_alive},
      {"links", sum(&Counters::links)},
      {"links_total", sum(&Counters::links_total)},
      {"chargers", sum(&Counters::chargers)},
      {"logins", json::object{{"ok", sum(&Counters::logins_ok)},
                              {"refused", sum(&Counters::logins_refused)},
                              {"busy", sum(&Counters::logins_busy)},
                              {"deferred", sum(&Counters::logins_deferred)}}},
      {"not_logged_in", sum(&Counters::not_logged_in)},
      {"frames_in", std::move(in)},
      {"frames_out", std::move(out)},
      {"bad_frames", sum(&Counters::bad_frames)},
      {"dropped_bytes", sum(&Counters::dropped_bytes)},
      {"unexpected_frames", sum(&Counters::unexpected_frames)},
      {"rate_limited", sum(&Counters::rate_limited)},
      {"links_overflowed", sum(&Counters::links_overflowed)},
      {"silent_closed", sum(&Counters::silent_closed)},
      {"takeovers", sum(&Counters::takeovers)},
      {"mqtt_lost", sum(&Counters::mqtt_lost)},
      {"commands", json::object{{"sent", sum(&Counters::cmds)},
                                {"replies", sum(&Counters::cmd_replies)},
                                {"timeouts", sum(&Counters::cmd_timeouts)},
                                {"expired", sum(&Counters::cmd_expired)},
                                {"bad", sum(&Counters::cmd_bad)},
                                {"offline", sum(&Counters::cmd_offline)},
                                {"cached", sum(&Counters::cmd_cached)}}},
      {"reports", json::object{{"published", sum(&Counters::reports)}, {"acked", sum(&Counters::reports_acked)}}},
      {"queue", json::object{{"depth", sum(&Counters::queue_records)},
                             {"bytes", sum(&Counters::queue_bytes)},
                             {"dropped", sum(&Counters::queue_dropped)}}},
  };
  return json::serialize(o);
}

std::string counters_prometheus(const Counters* b, int n, int workers_alive) {
  namespace m = chargehub::metrics;
  auto sum = [&](auto field) {
    int64_t s = 0;
    for (int i = 0; i < n; ++i) s += (b[i].*field).load(std::memory_order_relaxed);
    return static_cast<double>(s);
  };
  m::TextWriter w;
  auto one = [&](const char* name, const char* help, m::Type type, double v) {
    w.family(name, help, type);
    w.sample(v);
  };
  using C = Counters;
  one("chargehub_bridge_workers", "Worker processes alive", m::Type::Gauge, workers_alive);
  one("chargehub_bridge_links", "Open links (TCP connections and serial lines)", m::Type::Gauge, sum(&C::links));
  one("chargehub_bridge_links_opened_total", "Links opened since start", m::Type::Counter, sum(&C::links_total));
  one("chargehub_bridge_chargers", "Chargers logged in (MQTT connected or reconnecting)", m::Type::Gauge, sum(&C::chargers));
  w.family("chargehub_bridge_logins_total", "LOGIN frames answered, by result: ok, refused (by the broker), busy, deferred (throttled)",
           m::Type::Counter, {"result"});
  w.sample({"ok"}, sum(&C::logins_ok));
  w.sample({"refused"}, sum(&C::logins_refused));
  w.sample({"busy"}, sum(&C::logins_busy));
  w.sample({"deferred"}, sum(&C::logins_deferred));
  for (int dir = 0; dir < 2; ++dir) {
    w.family(dir == 0 ? "chargehub_bridge_frames_in_total" : "chargehub_bridge_frames_out_total",
             dir == 0 ? "Frames received from chargers, by kind" : "Frames sent to chargers, by kind", m::Type::Counter, {"kind"});
    for (int cmd = 0; cmd < 256; ++cmd) {
      int64_t v = 0;
      for (int i = 0; i < n; ++i) v += (dir == 0 ? b[i].frames_in[cmd] : b[i].frames_out[cmd]).load(std::memory_order_relaxed);
      if (!v) continue;
      std::string name = proto::is_known_cmd(static_cast<uint8_t>(cmd)) ? std::string(proto::cmd_name(static_cast<proto::Cmd>(cmd)))
                                                                        : "cmd" + std::to_string(cmd);
      w.sample({name}, static_cast<double>(v));
    }
  }
  one("chargehub_bridge_bad_frames_total", "Frames refused by the decoder, or with a body that does not decode", m::Type::Counter,
      sum(&C::bad_frames));
  one("chargehub_bridge_dropped_bytes_total", "Bytes skipped while resynchronising on a frame start", m::Type::Counter, sum(&C::dropped_bytes));
  one("chargehub_bridge_unexpected_frames_total", "Responses matching nothing, or commands sent by a charger", m::Type::Counter,
      sum(&C::unexpected_frames));
  one("chargehub_bridge_not_logged_in_frames_total", "Frames from a device not logged in on that link", m::Type::Counter, sum(&C::not_logged_in));
  one("chargehub_bridge_rate_limited_frames_total", "Frames dropped by the per-link rate limit", m::Type::Counter, sum(&C::rate_limited));
  one("chargehub_bridge_links_overflowed_total", "Links closed for too many unsent bytes", m::Type::Counter, sum(&C::links_overflowed));
  one("chargehub_bridge_silent_closed_total", "Chargers closed after three silent heartbeat intervals", m::Type::Counter, sum(&C::silent_closed));
  one("chargehub_bridge_takeovers_total", "Chargers that logged in again on another link (the old one closed)", m::Type::Counter,
      sum(&C::takeovers));
  one("chargehub_bridge_mqtt_lost_total", "Chargers' MQTT connections lost (then reconnected)", m::Type::Counter, sum(&C::mqtt_lost));
  w.family("chargehub_bridge_commands_total",
           "Commands from the core, by outcome: sent, replied, timeout, expired, bad, offline, cached (a repeat answered from cache)",
           m::Type::Counter, {"outcome"});
  w.sample({"sent"}, sum(&C::cmds));
  w.sample({"replied"}, sum(&C::cmd_replies));
  w.sample({"timeout"}, sum(&C::cmd_timeouts));
  w.sample({"expired"}, sum(&C::cmd_expired));
  w.sample({"bad"}, sum(&C::cmd_bad));
  w.sample({"offline"}, sum(&C::cmd_offline));
  w.sample({"cached"}, sum(&C::cmd_cached));
  w.family("chargehub_bridge_reports_total", "Reports (stop records, cards, alarms) published to the core, and acknowledged by it",
           m::Type::Counter, {"state"});
  w.sample({"published"}, sum(&C::reports));
  w.sample({"acked"}, sum(&C::reports_acked));
  one("chargehub_bridge_disk_queue_records", "Up-messages waiting on disk for their charger's MQTT connection", m::Type::Gauge,
      sum(&C::queue_records));
  one("chargehub_bridge_disk_queue_bytes", "Bytes of the on-disk queue", m::Type::Gauge, sum(&C::queue_bytes));
  one("chargehub_bridge_disk_queue_dropped_total", "Up-messages dropped because the on-disk queue was full", m::Type::Counter,
      sum(&C::queue_dropped));
  m::write_process_metrics(w);
  return w.take();
}

}  // namespace chargehub::bridge
