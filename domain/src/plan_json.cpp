#include "chargehub/plan_json.hpp"

namespace chargehub::pricing {

namespace json = boost::json;

json::object plan_to_json(const Plan& p) {
  json::object o{{"kind", plan_kind_name(p.kind)}};
  switch (p.kind) {
    case PlanKind::Energy:
      o["fen_per_kwh"] = p.fen_per_kwh;
      o["service_fen_per_kwh"] = p.service_fen_per_kwh;
      break;
    case PlanKind::Time:
      o["fen_per_block"] = p.fen_per_block;
      o["block_minutes"] = p.block_minutes;
      break;
    case PlanKind::PowerTier: {
      json::array tiers;
      for (auto& t : p.tiers) tiers.push_back(json::object{{"up_to_w", t.up_to_w}, {"fen_per_hour", t.fen_per_hour}});
      o["tiers"] = std::move(tiers);
      o["block_minutes"] = p.block_minutes;
      break;
    }
    case PlanKind::Free:
      break;
  }
  o["min_fen"] = p.min_fen;
  o["cap_fen"] = p.cap_fen;
  o["max_duration_s"] = p.max_duration_s;
  return o;
}

namespace {
std::optional<int64_t> num(const json::object& o, std::string_view k, int64_t def, int64_t lo, int64_t hi) {
  auto* v = o.if_contains(k);
  if (!v) return def;
  int64_t x;
  if (v->is_int64()) x = v->get_int64();
  else if (v->is_uint64() && v->get_uint64() <= static_cast<uint64_t>(hi)) x = static_cast<int64_t>(v->get_uint64());
  else return std::nullopt;
  if (x < lo || x > hi) return std::nullopt;
  return x;
}
}  // namespace

std::optional<Plan> plan_from_json(const json::value& v) {
  if (!v.is_object()) return std::nullopt;
  auto& o = v.get_object();
  auto* k = o.if_contains("kind");
  if (!k || !k->is_string()) return std::nullopt;
  auto kind = parse_plan_kind(std::string_view(k->get_string()));
  if (!kind) return std::nullopt;
  constexpr int64_t kMaxFen = 100'000'000;
  Plan p;
  p.kind = *kind;
  auto fk = num(o, "fen_per_kwh", 0, 0, kMaxFen), sk = num(o, "service_fen_per_kwh", 0, 0, kMaxFen),
       fb = num(o, "fen_per_block", 0, 0, kMaxFen), bm = num(o, "block_minutes", 60, 1, 1440),
       mn = num(o, "min_fen", 0, 0, kMaxFen), cp = num(o, "cap_fen", 0, 0, kMaxFen),
       md = num(o, "max_duration_s", 12 * 3600, 60, 72 * 3600);
  if (!fk || !sk || !fb || !bm || !mn || !cp || !md) return std::nullopt;
  p.fen_per_kwh = *fk;
  p.service_fen_per_kwh = *sk;
  p.fen_per_block = *fb;
  p.block_minutes = static_cast<uint32_t>(*bm);
  p.min_fen = *mn;
  p.cap_fen = *cp;
  p.max_duration_s = static_cast<uint32_t>(*md);
  if (auto* t = o.if_contains("tiers")) {
    if (!t->is_array() || t->get_array().size() > 16) return std::nullopt;
    for (auto& tv : t->get_array()) {
      if (!tv.is_object()) return std::nullopt;
      auto up = num(tv.get_object(), "up_to_w", -1, 0, 100000), fh = num(tv.get_object(), "fen_per_hour", -1, 0, kMaxFen);
      if (!up || !fh || *up < 0 || *fh < 0) return std::nullopt;
      p.tiers.push_back({static_cast<uint32_t>(*up), *fh});
    }
  }
  return p;
}

}  // namespace chargehub::pricing
