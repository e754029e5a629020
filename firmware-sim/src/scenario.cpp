#include "chargehub/sim/scenario.hpp"

#include <boost/json.hpp>
#include <cmath>
#include <stdexcept>

#include "chargehub/sim/crypto.hpp"

namespace chargehub::sim {
namespace json = boost::json;
using namespace chargehub::proto;

namespace {
[[noreturn]] void bad(const std::string& field, const std::string& why) {
  throw std::invalid_argument("scenario: " + field + ": " + why);
}
double num(const json::object& o, const char* k, double def, double lo, double hi, const std::string& ctx = "") {
  auto* v = o.if_contains(k);
  if (!v) return def;
  if (!v->is_number()) bad(ctx + k, "expected a number");
  double d = v->to_number<double>();
  if (d < lo || d > hi) bad(ctx + k, "out of range " + std::to_string(lo) + ".." + std::to_string(hi));
  return d;
}
std::string str(const json::object& o, const char* k, std::string def, const std::string& ctx = "") {
  auto* v = o.if_contains(k);
  if (!v) return def;
  if (!v->is_string()) bad(ctx + k, "expected a string");
  return std::string(v->as_string());
}
bool boolean(const json::object& o, const char* k, bool def, const std::string& ctx = "") {
  auto* v = o.if_contains(k);
  if (!v) return def;
  if (!v->is_bool()) bad(ctx + k, "expected true or false");
  return v->as_bool();
}
const json::object* obj(const json::object& o, const char* k) {
  auto* v = o.if_contains(k);
  if (!v) return nullptr;
  if (!v->is_object()) bad(k, "expected an object");
  return &v->as_object();
}
void range2(const json::object& o, const char* k, double& a, double& b, double lo, double hi, const std::string& ctx) {
  auto* v = o.if_contains(k);
  if (!v) return;
  if (!v->is_array() || v->as_array().size() != 2 || !v->as_array()[0].is_number() || !v->as_array()[1].is_number())
    bad(ctx + k, "expected [min, max]");
  a = v->as_array()[0].to_number<double>();
  b = v->as_array()[1].to_number<double>();
  if (a > b || a < lo || b > hi) bad(ctx + k, "expected lo <= min <= max <= hi");
}
}  // namespace

int Scenario::total() const {
  int n = 0;
  for (auto& g : chargers) n += g.count;
  return n;
}

Scenario parse_scenario(std::string_view text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) bad("file", "not a JSON object");
  auto& o = v.as_object();
  static const char* known[] = {"name", "seed", "time_scale", "duration_s", "transport", "device_base", "chargers",
                                "tokens", "riders", "batteries", "faults", "retry_ms", "ambient_c", "tick_ms",
                                "rider_tick_ms", "connect_rate", "journal_dir", "comment"};
  for (auto& kv : o) {
    bool ok = false;
    for (auto* k : known) ok |= kv.key() == k;
    if (!ok) bad(std::string(kv.key()), "unknown field");
  }
  Scenario s;
  s.name = str(o, "name", s.name);
  s.seed = static_cast<uint64_t>(num(o, "seed", 1, 0, 1e18));
  s.time_scale = num(o, "time_scale", s.time_scale, 0.001, 1e6);
  s.duration_s = num(o, "duration_s", s.duration_s, 0, 1e9);
  s.retry_ms = static_cast<int64_t>(num(o, "retry_ms", 5000, 10, 600000));
  s.ambient_c = num(o, "ambient_c", 25, -40, 80);
  s.tick_ms = static_cast<int64_t>(num(o, "tick_ms", 100, 1, 10000));
  s.rider_tick_ms = static_cast<int64_t>(num(o, "rider_tick_ms", 1000, 10, 60000));
  s.connect_rate = num(o, "connect_rate", 5000, 1, 1e6);
  s.journal_dir = str(o, "journal_dir", "");
  if (auto* d = o.if_contains("device_base")) {
    std::optional<DeviceId> id;
    if (d->is_string()) id = parse_device_id(d->as_string());
    else if (d->is_number()) id = parse_device_id(std::to_string(d->to_number<uint64_t>()));
    if (!id) bad("device_base", "expected a device id (1-16 digits)");
    s.device_base = *id;
  }
  if (auto* t = obj(o, "transport")) {
    s.transport = str(*t, "kind", "tcp", "transport.");
    if (s.transport != "tcp" && s.transport != "mqtt") bad("transport.kind", "tcp or mqtt");
    s.bridge = str(*t, "bridge", s.bridge, "transport.");
    s.mqtt_uri = str(*t, "uri", s.mqtt_uri, "transport.");
    if (auto* ips = t->if_contains("local_ips")) {
      if (!ips->is_array()) bad("transport.local_ips", "expected a list of addresses");
      for (auto& ip : ips->as_array()) s.local_ips.emplace_back(ip.as_string());
    }
  }
  auto* ch = o.if_contains("chargers");
  if (!ch || !ch->is_array() || ch->as_array().empty()) bad("chargers", "expected a non-empty list of {model, count}");
  for (auto& g : ch->as_array()) {
    if (!g.is_object()) bad("chargers", "expected objects");
    auto& go = g.as_object();
    ChargerGroup cg;
    cg.model = static_cast<Model>(static_cast<int>(num(go, "model", 5, 1, 5, "chargers[].")));
    cg.count = static_cast<int>(num(go, "count", 1, 0, 1e6, "chargers[]."));
    auto fw = Version::parse(str(go, "fw", "1.0.0", "chargers[]."));
    if (!fw) bad("chargers[].fw", "expected MAJOR.MINOR.PATCH");
    cg.fw = *fw;
    s.chargers.push_back(cg);
  }
  if (auto* t = obj(o, "tokens")) {
    if (t->contains("file")) {
      s.tokens.kind = TokenSource::File;
      s.tokens.file = str(*t, "file", "", "tokens.");
    } else if (t->contains("hex")) {
      s.tokens.kind = TokenSource::Fixed;
      s.tokens.hex = str(*t, "hex", "", "tokens.");
    } else {
      s.tokens.kind = TokenSource::Derive;
      s.tokens.secret = str(*t, "secret", s.tokens.secret, "tokens.");
      s.tokens.bytes = static_cast<int>(num(*t, "bytes", 16, 16, 32, "tokens."));
    }
  }
  if (auto* r = obj(o, "riders")) {
    auto& rc = s.riders;
    const std::string c = "riders.";
    rc.arrivals_per_port_per_hour = num(*r, "arrivals_per_port_per_hour", rc.arrivals_per_port_per_hour, 0, 1000, c);
    rc.self_start = boolean(*r, "self_start", rc.self_start, c);
    rc.card_share = num(*r, "card_share", rc.card_share, 0, 1, c);
    rc.unplug_early_share = num(*r, "unplug_early_share", rc.unplug_early_share, 0, 1, c);
    range2(*r, "soc", rc.soc_min, rc.soc_max, 0, 1, c);
    range2(*r, "dwell_s", rc.dwell_min_s, rc.dwell_max_s, 0, 1e7, c);
    rc.give_up_s = num(*r, "give_up_s", rc.give_up_s, 0, 1e7, c);
  }
  if (auto* b = o.if_contains("batteries")) {
    if (!b->is_array() || b->as_array().empty()) bad("batteries", "expected a non-empty list");
    s.batteries.clear();
    for (auto& x : b->as_array()) {
      if (!x.is_object()) bad("batteries", "expected objects");
      BatteryChoice bc;
      bc.pack = str(x.as_object(), "pack", "li48", "batteries[].");
      try {
        packs::by_name(bc.pack);
      } catch (const std::exception& e) {
        bad("batteries[].pack", e.what());
      }
      bc.brick_a = num(x.as_object(), "brick_a", 3.5, 0.5, 60, "batteries[].");
      bc.weight = num(x.as_object(), "weight", 1, 0, 1e9, "batteries[].");
      s.batteries.push_back(bc);
    }
  }
  if (auto* f = obj(o, "faults")) {
    auto& ff = s.faults;
    const std::string c = "faults.";
    ff.frames = str(*f, "frames", "", c);
    ff.frames_in = str(*f, "frames_in", "", c);
    try {
      parse_fault_rates(ff.frames);
      parse_fault_rates(ff.frames_in);
    } catch (const std::exception& e) {
      bad("faults.frames", e.what());
    }
    ff.faulty_brick_share = num(*f, "faulty_brick_share", 0, 0, 1, c);
    ff.overload_share = num(*f, "overload_share", 0, 0, 1, c);
    ff.link_cuts_per_hour = num(*f, "link_cuts_per_hour", 0, 0, 1e6, c);
    ff.reboots_per_hour = num(*f, "reboots_per_hour", 0, 0, 1e6, c);
    ff.power_losses_per_hour = num(*f, "power_losses_per_hour", 0, 0, 1e6, c);
    ff.clock_skew_s = num(*f, "clock_skew_s", 0, 0, 1e7, c);
  }
  if (s.total() <= 0) bad("chargers", "no chargers");
  return s;
}

Bytes derive_token(const std::string& secret, DeviceId id, int bytes) {
  auto text = device_id_text(id);
  auto mac = crypto::hmac_sha256({reinterpret_cast<const uint8_t*>(secret.data()), secret.size()},
                                 {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
  mac.resize(static_cast<size_t>(std::clamp(bytes, 16, 32)));
  return mac;
}

Riders::Riders(RiderConfig cfg, std::vector<BatteryChoice> mix, FleetFaults faults, uint64_t seed)
    : cfg_(cfg), mix_(std::move(mix)), faults_(std::move(faults)), rng_(seed) {
  for (auto& b : mix_) {
    packs_.push_back(packs::by_name(b.pack));
    weight_sum_ += b.weight;
  }
}

Load Riders::make_load(bool high_power_port) {
  size_t i = 0;
  double x = uniform(0, weight_sum_);
  for (; i + 1 < mix_.size() && x >= mix_[i].weight; ++i) x -= mix_[i].weight;
  auto& pack = packs_[i];
  auto brick = bricks::for_pack(pack, mix_[i].brick_a);
  LoadFaults f;
  if (chance(faults_.faulty_brick_share)) f.stuck_w = 8;
  if (chance(faults_.overload_share)) {
    f.overload_w = high_power_port ? 4000 : 720;
    f.overload_after_s = uniform(60, 900);
  }
  return Load{pack, brick, uniform(cfg_.soc_min, cfg_.soc_max), f};
}

void Riders::tick(Charger& c, std::vector<PortPlan>& plans, const Now& now, double dt_s) {
  if (plans.size() != static_cast<size_t>(c.ports())) plans.resize(static_cast<size_t>(c.ports()));
  double p_arrive = 1.0 - std::exp(-cfg_.arrivals_per_port_per_hour * dt_s / 3600.0);
  bool card_reader = c.config().model != Model::Scan10;
  for (int port = 1; port <= c.ports(); ++port) {
    auto& plan = plans[static_cast<size_t>(port - 1)];
    auto v = c.port(port);
    if (!v.plugged) {
      if (v.state != PortState::Idle || !chance(p_arrive)) continue;
      ++arrivals_;
      c.plug(port, make_load(c.high_power_port(port)));
      plan = PortPlan{};
      plan.leave_at_ms = now.sim_ms + static_cast<int64_t>(cfg_.give_up_s * 1000);
      if (card_reader && chance(cfg_.card_share)) {
        ++swipes_;
        proto::Bytes uid(4);
        for (auto& b : uid) b = static_cast<uint8_t>(rng_());
        c.swipe(port, uid, now);
      } else if (cfg_.self_start && c.logged_in()) {
        c.local_start(port, now);
      }
      continue;
    }
    switch (v.state) {
      case PortState::Charging:
        if (!plan.started) {
          plan.started = true;
          if (chance(cfg_.unplug_early_share)) plan.unplug_at_ms = now.sim_ms + static_cast<int64_t>(uniform(600, 7200) * 1000);
        }
        if (plan.unplug_at_ms >= 0 && now.sim_ms >= plan.unplug_at_ms) {
          c.unplug(port, now);
          plan = PortPlan{};
        }
        break;
      case PortState::Finished:
        if (plan.return_at_ms < 0) plan.return_at_ms = now.sim_ms + static_cast<int64_t>(uniform(cfg_.dwell_min_s, cfg_.dwell_max_s) * 1000);
        if (now.sim_ms >= plan.return_at_ms) {
          c.unplug(port, now);
          plan = PortPlan{};
        }
        break;
      case PortState::Idle:
        if (plan.started || (plan.leave_at_ms >= 0 && now.sim_ms >= plan.leave_at_ms)) {
          c.unplug(port, now);   // nobody started it, or a reboot cleared it: the rider leaves
          plan = PortPlan{};
        } else if (plan.leave_at_ms < 0) {
          plan.leave_at_ms = now.sim_ms + static_cast<int64_t>(cfg_.give_up_s * 1000);
        }
        break;
      default:
        break;
    }
  }
}

}  // namespace chargehub::sim
