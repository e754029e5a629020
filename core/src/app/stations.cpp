#include "app/stations.hpp"

#include "chargehub/text.hpp"

#include <algorithm>

#include "app/repos.hpp"
#include "log.hpp"

namespace chargehub::core {

namespace {

// China's bounding box in microdegrees: Zengmu Ansha (3.9 °N) to Mohe (53.6 °N), Pamir (73.5 °E) to the
// Wusuli (135.1 °E), rounded outwards.
constexpr int64_t kLatMin = 3'000'000, kLatMax = 54'000'000, kLngMin = 73'000'000, kLngMax = 136'000'000;
constexpr size_t kMaxPhotos = 9;

bool url_ok(const std::string& u) {
  if (!(u.starts_with("https://") || u.starts_with("http://")) || u.size() > 1000) return false;
  size_t host = u.find("://") + 3;
  if (host >= u.size()) return false;
  return std::none_of(u.begin(), u.end(), [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; });
}

std::optional<Refusal> check(const StationRow& s) {
  auto bad = [](std::string m) { return Refusal{"bad_station", std::move(m)}; };
  if (utf8_length(s.name) < 1 || utf8_length(s.name) > 64) return bad("a station's name has 1 to 64 characters");
  if (utf8_length(s.address) > 200) return bad("an address has at most 200 characters");
  if (s.lat_e6.has_value() != s.lng_e6.has_value()) return bad("give lat_e6 and lng_e6 together");
  if (s.lat_e6 && (*s.lat_e6 < kLatMin || *s.lat_e6 > kLatMax || *s.lng_e6 < kLngMin || *s.lng_e6 > kLngMax))
    return bad("coordinates are GCJ-02 microdegrees within China: lat_e6 3000000..54000000, lng_e6 73000000..136000000");
  if (utf8_length(s.open_hours) > 64) return bad("opening hours have at most 64 characters");
  if (s.photos.size() > kMaxPhotos) return bad("a station has at most 9 photos");
  for (const auto& p : s.photos)
    if (!url_ok(p)) return bad("a photo is an http:// or https:// URL of at most 1000 bytes, without spaces");
  return std::nullopt;
}

}  // namespace

Result<StationRow> Stations::create(const Scope& scope, const NewStation& n, int64_t now) {
  using R = Result<StationRow>;
  StationRow s;
  s.agent_id = n.agent_id ? n.agent_id : scope.agent_id();
  s.name = n.name;
  s.address = n.address;
  s.lat_e6 = n.lat_e6;
  s.lng_e6 = n.lng_e6;
  s.open_hours = n.open_hours;
  s.photos = n.photos;
  s.created_at = s.updated_at = now;
  if (auto bad = check(s)) return no<StationRow>(*bad);
  sql::Tx tx(r_.db);
  if (s.agent_id && !r_.agents.get(scope, *s.agent_id)) return R::no("agent_not_found", "no agent with this id");
  s.id = r_.stations.insert(s);
  auto out = *r_.stations.get(scope, s.id);
  tx.commit();
  return R::ok(std::move(out));
}

std::optional<StationRow> Stations::get(const Scope& scope, int64_t id) {
  sql::Lock lock(r_.db);
  return r_.stations.get(scope, id);
}

Page<StationRow> Stations::list(const Scope& scope, const StationQuery& q, const PageRequest& p) {
  sql::Lock lock(r_.db);
  return r_.stations.list(scope, q, p);
}

Result<StationRow> Stations::update(const Scope& scope, int64_t id, const StationChange& c, int64_t now) {
  using R = Result<StationRow>;
  sql::Tx tx(r_.db);
  auto cur = r_.stations.get(scope, id);
  if (!cur) return R::no("station_not_found", "no station with this id");
  StationRow s = *cur;
  if (c.name) s.name = *c.name;
  if (c.address) s.address = *c.address;
  if (c.open_hours) s.open_hours = *c.open_hours;
  if (c.clear_location) s.lat_e6 = s.lng_e6 = std::nullopt;
  if (c.lat_e6 || c.lng_e6) {
    s.lat_e6 = c.lat_e6;
    s.lng_e6 = c.lng_e6;
  }
  if (c.photos) s.photos = *c.photos;
  if (auto bad = check(s)) return no<StationRow>(*bad);
  s.updated_at = now;
  r_.stations.update(s);
  auto out = *r_.stations.get(scope, id);
  tx.commit();
  return R::ok(std::move(out));
}

Result<StationRow> Stations::remove(const Scope& scope, int64_t id) {
  using R = Result<StationRow>;
  sql::Tx tx(r_.db);
  auto cur = r_.stations.get(scope, id);
  if (!cur) return R::no("station_not_found", "no station with this id");
  if (int64_t n = r_.stations.device_count(id))
    return R::no("station_in_use", std::to_string(n) + " device(s) are installed there; move them first");
  r_.stations.remove(id);
  tx.commit();
  return R::ok(std::move(*cur));
}

Result<StationRow> Stations::move(const Scope& scope, int64_t id, std::optional<int64_t> agent_id, int64_t now) {
  using R = Result<StationRow>;
  sql::Tx tx(r_.db);
  auto cur = r_.stations.get(scope, id);
  if (!cur) return R::no("station_not_found", "no station with this id");
  if (!agent_id && !scope.is_platform()) return R::no("bad_target", "only the platform takes stations over itself; name an agent");
  if (agent_id && !r_.agents.get(scope, *agent_id)) return R::no("agent_not_found", "no agent with this id");
  // Sessions keep session.agent_id (the owner when they started) and settle to it: nothing here touches
  // them, nor the agent ledger.
  r_.stations.move(id, agent_id, now);
  auto out = *r_.stations.get(Scope::platform(), id);
  tx.commit();
  log::info("station.moved", {{"station", id}, {"agent", agent_id}});   // no agent: the platform
  return R::ok(std::move(out));
}

Result<std::vector<Placement>> Stations::assign(const Scope& scope, const std::vector<std::string>& device_ids, const Target& t, int64_t) {
  using R = Result<std::vector<Placement>>;
  if (t.station_id.has_value() == t.agent_id.has_value()) return R::no("bad_target", "give station_id or agent_id (one of them)");
  if (device_ids.empty()) return R::no("bad_target", "name at least one device");
  sql::Tx tx(r_.db);
  std::optional<StationRow> station;
  if (t.station_id) {
    station = r_.stations.get(scope, *t.station_id);
    if (!station) return R::no("station_not_found", "no station with this id");
  } else if (!r_.agents.get(scope, *t.agent_id)) {
    return R::no("agent_not_found", "no agent with this id");
  }
  std::vector<Placement> out;
  for (const auto& id : device_ids) {
    auto p = r_.stations.placement(scope, id);
    if (!p) return R::no("device_not_found", "no device " + id.substr(0, 32));   // all or none: the rollback undoes the others
    if (station) {
      p->station_id = station->id;
      p->agent_id = station->agent_id;
    } else {
      // Leaving a station that is not the new agent's: a device stands at a station of its own agent.
      if (p->station_id) {
        auto at = r_.stations.get(Scope::platform(), *p->station_id);
        if (!at || at->agent_id != t.agent_id) p->station_id = std::nullopt;
      }
      p->agent_id = t.agent_id;
    }
    r_.stations.place(*p);
    out.push_back(*p);
  }
  tx.commit();
  return R::ok(std::move(out));
}

}  // namespace chargehub::core
