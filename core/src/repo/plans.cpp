#include "plans.hpp"

#include "chargehub/payloads.hpp"
#include "chargehub/plan_json.hpp"

namespace chargehub::core {

namespace json = boost::json;

namespace {
std::optional<pricing::Plan> parse_spec(const std::string& spec) {
  auto v = payloads::parse_json(spec);
  return v ? pricing::plan_from_json(*v) : std::nullopt;
}
RechargeOffer read_offer(sql::Stmt& st) { return RechargeOffer{st.i64(0), st.text(1), st.i64(2), st.i64(3), st.boolean(4), st.i64(5)}; }
}  // namespace

int64_t PlanRepo::insert(const std::string& name, const pricing::Plan& p, int64_t now) {
  auto st = db_.prepare("INSERT INTO price_plan (name, kind, spec, version, created_at) VALUES (?, ?, ?, 1, ?) RETURNING id");
  st.args(name, pricing::plan_kind_name(p.kind), json::serialize(pricing::plan_to_json(p)), now);
  st.step();
  return st.i64(0);
}

bool PlanRepo::exists(int64_t id) {
  auto st = db_.prepare("SELECT 1 FROM price_plan WHERE id = ?");
  st.args(id);
  return st.step();
}

std::optional<PlanRepo::Loaded> PlanRepo::get(int64_t id) {
  auto st = db_.prepare("SELECT id, name, spec, version, created_at FROM price_plan WHERE id = ?");
  st.args(id);
  if (!st.step()) return std::nullopt;
  Loaded l;
  l.row = PlanRow{st.i64(0), st.i64(3), st.i64(4), st.text(1), {}, st.text(2)};
  auto p = parse_spec(l.row.spec);
  l.readable = p.has_value();
  if (p) l.row.plan = *p;
  return l;
}

std::vector<PlanRow> PlanRepo::list() {
  auto st = db_.prepare("SELECT id, name, spec, version, created_at FROM price_plan ORDER BY id");
  std::vector<PlanRow> out;
  while (st.step())
    if (auto p = parse_spec(st.text(2))) out.push_back(PlanRow{st.i64(0), st.i64(3), st.i64(4), st.text(1), *p, st.text(2)});
  return out;
}

int64_t PlanRepo::insert_offer(const std::string& name, int64_t amount_fen, int64_t bonus_fen, int64_t now) {
  auto st = db_.prepare("INSERT INTO recharge_offer (name, amount_fen, bonus_fen, created_at) VALUES (?, ?, ?, ?) RETURNING id");
  st.args(name, amount_fen, bonus_fen, now);
  st.step();
  return st.i64(0);
}

std::optional<RechargeOffer> PlanRepo::offer(int64_t id) {
  auto st = db_.prepare("SELECT id, name, amount_fen, bonus_fen, active, created_at FROM recharge_offer WHERE id = ?");
  st.args(id);
  if (!st.step()) return std::nullopt;
  return read_offer(st);
}

std::vector<RechargeOffer> PlanRepo::active_offers() {
  auto st = db_.prepare("SELECT id, name, amount_fen, bonus_fen, active, created_at FROM recharge_offer WHERE active = 1 ORDER BY amount_fen, id");
  std::vector<RechargeOffer> out;
  while (st.step()) out.push_back(read_offer(st));
  return out;
}

}  // namespace chargehub::core
