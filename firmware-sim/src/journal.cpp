#include "chargehub/sim/journal.hpp"

#include <boost/json.hpp>

namespace chargehub::sim {
namespace json = boost::json;
using namespace chargehub::proto;

namespace {
json::array bytes_arr(ByteView b) { return json::array(b.begin(), b.end()); }
json::object end_obj(const SessionEnd& e) {
  return {{"port", e.port}, {"session", e.session}, {"reason", e.reason}, {"started_at", e.started_at},
          {"duration_s", e.duration_s}, {"energy_wh", e.energy_wh}, {"max_power_w", e.max_power_w}};
}
SessionEnd end_from(const json::object& o) {
  SessionEnd e;
  e.port = static_cast<uint8_t>(o.at("port").to_number<int64_t>());
  e.session = static_cast<uint32_t>(o.at("session").to_number<int64_t>());
  e.reason = static_cast<uint8_t>(o.at("reason").to_number<int64_t>());
  e.started_at = static_cast<uint32_t>(o.at("started_at").to_number<int64_t>());
  e.duration_s = static_cast<uint32_t>(o.at("duration_s").to_number<int64_t>());
  e.energy_wh = static_cast<uint32_t>(o.at("energy_wh").to_number<int64_t>());
  e.max_power_w = static_cast<uint16_t>(o.at("max_power_w").to_number<int64_t>());
  return e;
}
Bytes bytes_from(const json::value& v) {
  Bytes out;
  for (auto& x : v.as_array()) out.push_back(static_cast<uint8_t>(x.to_number<int64_t>()));
  return out;
}
}  // namespace

std::string to_json(const NvState& s) {
  json::object o;
  o["fw"] = s.fw.text();
  o["prev_fw"] = s.prev_fw.text();
  o["params"] = bytes_arr(s.params.encode());
  o["next_local_session"] = s.next_local_session;
  o["next_record"] = s.next_record;
  json::array un;
  for (auto& r : s.unacked) {
    auto e = end_obj(r.end);
    e["id"] = r.id;
    un.push_back(std::move(e));
  }
  o["unacked"] = std::move(un);
  json::array act;
  for (auto& a : s.active) act.push_back(end_obj(a));
  o["active"] = std::move(act);
  if (s.ota) {
    o["ota"] = json::object{{"offer", bytes_arr(s.ota->offer.encode())}, {"image", bytes_arr(s.ota->image)},
                            {"deferred", s.ota->deferred}, {"installing", s.ota->installing}};
  }
  if (s.ota_report) o["ota_report"] = bytes_arr(s.ota_report->encode());
  return json::serialize(o);
}

std::optional<NvState> nv_from_json(std::string_view text) {
  try {
    auto v = json::parse(text);
    auto& o = v.as_object();
    NvState s;
    auto fw = Version::parse(o.at("fw").as_string());
    auto prev = Version::parse(o.at("prev_fw").as_string());
    auto params = Params::decode(bytes_from(o.at("params")));
    if (!fw || !prev || !params) return std::nullopt;
    s.fw = *fw;
    s.prev_fw = *prev;
    s.params = *params;
    s.next_local_session = static_cast<uint32_t>(o.at("next_local_session").to_number<int64_t>());
    s.next_record = o.at("next_record").to_number<uint64_t>();
    for (auto& r : o.at("unacked").as_array())
      s.unacked.push_back({r.as_object().at("id").to_number<uint64_t>(), end_from(r.as_object())});
    for (auto& a : o.at("active").as_array()) s.active.push_back(end_from(a.as_object()));
    if (auto* ota = o.if_contains("ota")) {
      auto& oo = ota->as_object();
      auto offer = OtaOffer::decode(bytes_from(oo.at("offer")));
      if (!offer) return std::nullopt;
      s.ota = OtaNv{*offer, bytes_from(oo.at("image")), oo.at("deferred").as_bool(), oo.at("installing").as_bool()};
    }
    if (auto* r = o.if_contains("ota_report")) s.ota_report = OtaStatus::decode(bytes_from(*r));
    return s;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace chargehub::sim
