#include "counters.hpp"

#include <sys/mman.h>

#include <boost/json.hpp>
#include <new>
#include <stdexcept>

#include "chargehub/frame.hpp"
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

}  // namespace chargehub::bridge
