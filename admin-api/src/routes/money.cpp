// Price plans, recharge offers, riders and their wallets, IC cards.
#include "chargehub/plan_json.hpp"
#include "routes/routes.hpp"
#include "routes/views.hpp"

namespace chargehub::api {

namespace {

struct NewRiderBody {
  std::string name;
  optional<std::string> phone;
};
BOOST_DESCRIBE_STRUCT(NewRiderBody, (), (name, phone))

struct TopupBody {
  optional<int64_t> offer_id;     // a recharge offer: its amount and bonus
  optional<int64_t> amount_fen;   // or an amount (fen) ...
  optional<int64_t> bonus_fen;    // ... and a bonus
  optional<std::string> note;
};
BOOST_DESCRIBE_STRUCT(TopupBody, (), (offer_id, amount_fen, bonus_fen, note))

struct NewCardBody {
  std::string uid;               // 8-20 hex digits as the charger reads it
  optional<int64_t> rider_id;    // without it the card gets a wallet of its own
};
BOOST_DESCRIBE_STRUCT(NewCardBody, (), (uid, rider_id))

struct CardStateBody {
  std::string state;   // active | lost | blocked
};
BOOST_DESCRIBE_STRUCT(CardStateBody, (), (state))

struct NewOfferBody {
  std::string name;
  int64_t amount_fen;
  optional<int64_t> bonus_fen;
};
BOOST_DESCRIBE_STRUCT(NewOfferBody, (), (name, amount_fen, bonus_fen))

// Plans take the pricing module's own JSON shape (docs/pricing.md), so the schema is written here.
json::value plan_schema() {
  return json::object{{"type", "object"},
                      {"required", json::array{"name", "kind"}},
                      {"properties", json::object{{"name", json::object{{"type", "string"}}},
                                                  {"kind", json::object{{"type", "string"}, {"enum", json::array{"energy", "time", "power_tier", "free"}}}},
                                                  {"id", json::object{{"type", "integer"}}},
                                                  {"version", json::object{{"type", "integer"}}},
                                                  {"created_at", json::object{{"type", "integer"}}}}},
                      {"additionalProperties", true},
                      {"description", "kind and its integer prices as in docs/pricing.md"}};
}

std::string text(const optional<std::string>& v, std::string_view field, size_t max, bool required = false) {
  if (required) need(v && !v->empty(), "missing_field", field, std::string(field) + " is required");
  if (!v) return "";
  need(v->size() <= max, "bad_field", field, std::string(field) + " must be at most " + std::to_string(max) + " bytes");
  return *v;
}

CardView card_view(core::App& app, const core::CardRow& c) {
  auto r = app.wallets.rider(core::Scope::platform(), c.rider_id);   // the card is in scope: its wallet shows
  return CardView{c.uid, c.rider_id, std::string(name(c.state)), c.created_at, r ? r->balance_fen : 0, r ? r->available_fen() : 0};
}

std::optional<json::value> rider_snapshot(Ctx& c, const std::string& id) {
  auto r = c.app.wallets.rider(c.scope(), std::stoll(id));
  if (!r) return std::nullopt;
  return json::value_from(rider_view(*r));
}
std::optional<json::value> card_snapshot(Ctx& c, const std::string& uid) {
  auto card = c.app.cards.get(c.scope(), uid);
  if (!card) return std::nullopt;
  return json::value_from(card_view(c.app, *card));
}

}  // namespace

std::vector<Route> money_routes() {
  std::vector<Route> r;
  // ---- price plans ----
  Route create_plan{"POST", "/api/v1/plans", "plans.edit", Scope::Platform, "Create a price plan",
                    [](Ctx& c) {
                      auto b = c.json_body();
                      auto* n = b.if_contains("name");
                      need(n && n->is_string() && !n->get_string().empty() && n->get_string().size() <= 200 && utf8_ok(n->get_string()),
                           "bad_name", "name", "name is required (UTF-8, at most 200 bytes)");
                      auto plan = pricing::plan_from_json(b);
                      need(plan.has_value(), "bad_plan", "kind", "kind must be energy, time, power_tier or free, with integer prices");
                      auto res = c.app.plans.create(std::string(n->get_string()), *plan, c.now);
                      if (!res) return refuse(res.refusal);
                      return ok(plan_json(*res.value), 201);
                    }};
  create_plan.request_schema = plan_schema();
  create_plan.response_schema = plan_schema();
  r.push_back(std::move(create_plan.answers(201).may_refuse({"bad_plan"}).audited("plan.create", "plan")));
  Route list_plans{"GET", "/api/v1/plans", "plans.view", Scope::Platform, "List price plans",
                   [](Ctx& c) {
                     auto p = c.page({});
                     return ok(page_json(page_of(c.app.plans.list(), p), p, plan_json));
                   }};
  list_plans.response_schema = page_schema(plan_schema());
  list_plans.paged = true;
  r.push_back(std::move(list_plans));

  // ---- recharge offers ----
  r.push_back(Route{"POST", "/api/v1/recharge-offers", "offers.edit", Scope::Platform, "Create a recharge offer (amount and bonus)",
                    [](Ctx& c) {
                      auto b = c.body<NewOfferBody>();
                      auto name = text(b.name, "name", 200, true);
                      int64_t bonus = b.bonus_fen.value_or(0);
                      need(b.amount_fen >= 1 && b.amount_fen <= 10'000'000, "bad_amount", "amount_fen", "amount_fen must be 1..10000000 (fen)");
                      need(bonus >= 0 && bonus <= b.amount_fen, "bad_amount", "bonus_fen", "bonus_fen must be 0..amount_fen");
                      return ok(json::value_from(offer_view(c.app.plans.create_offer(name, b.amount_fen, bonus, c.now))), 201);
                    }}
                  .with_request<NewOfferBody>()
                  .with_response<OfferView>()
                  .answers(201)
                  .audited("offer.create", "offer"));
  r.push_back(Route{"GET", "/api/v1/recharge-offers", "offers.view", Scope::Platform, "Active recharge offers, cheapest first",
                    [](Ctx& c) {
                      auto p = c.page({});
                      return ok(page_json(page_of(c.app.plans.offers(), p), p, offer_view));
                    }}
                  .with_page<OfferView>());

  // ---- riders and wallets ----
  r.push_back(Route{"POST", "/api/v1/riders", "riders.create", Scope::Platform, "Register a rider with an empty wallet",
                    [](Ctx& c) {
                      auto b = c.body<NewRiderBody>();
                      auto name = text(b.name, "name", 200, true);
                      auto phone = text(b.phone, "phone", 32);
                      return ok(json::value_from(rider_view(c.app.wallets.create_rider(c.scope(), name, phone, c.now))), 201);
                    }}
                  .with_request<NewRiderBody>()
                  .with_response<RiderView>()
                  .answers(201)
                  .audited("rider.create", "rider"));
  r.push_back(Route{"GET", "/api/v1/riders", "riders.view", Scope::Platform, "List riders (q: part of the name or phone)",
                    [](Ctx& c) {
                      auto p = c.page({"id", "created_at", "balance_fen"});
                      return ok(page_json(c.app.wallets.riders(c.scope(), c.query("q"), p), p, rider_view));
                    }}
                  .with_page<RiderView>()
                  .with_query({"q"}));
  r.push_back(Route{"GET", "/api/v1/riders/{id}", "riders.view", Scope::Platform, "A rider and the wallet's balance",
                    [](Ctx& c) {
                      auto rd = c.app.wallets.rider(c.scope(), c.id("id"));
                      if (!rd) return fail(404, "rider_not_found", "no rider with this id");
                      return ok(json::value_from(rider_view(*rd)));
                    }}
                  .with_response<RiderView>()
                  .may_refuse({"rider_not_found"}));
  r.push_back(Route{"POST", "/api/v1/riders/{id}/topups", "riders.recharge", Scope::Platform,
                    "Top up a wallet by hand (an amount and bonus, or a recharge offer)",
                    [](Ctx& c) {
                      auto b = c.body<TopupBody>();
                      int64_t amount = b.amount_fen.value_or(0), bonus = b.bonus_fen.value_or(0);
                      auto note = text(b.note, "note", 200);
                      if (b.offer_id) {
                        need(*b.offer_id > 0, "bad_field", "offer_id", "offer_id must be a positive integer");
                        auto o = c.app.plans.offer(*b.offer_id);
                        if (!o || !o->active) return fail(404, "offer_not_found", "no active recharge offer with this id");
                        amount = o->amount_fen;
                        bonus = o->bonus_fen;
                        if (note.empty()) note = o->name;
                      } else {
                        need(b.amount_fen.has_value(), "missing_field", "amount_fen", "give amount_fen or offer_id");
                      }
                      need(amount >= 1 && amount <= 10'000'000, "bad_amount", "amount_fen", "amount_fen must be an integer 1..10000000 (fen)");
                      need(bonus >= 0 && bonus <= 10'000'000, "bad_amount", "bonus_fen", "bonus_fen must be an integer 0..10000000 (fen)");
                      return result(c.app.wallets.topup(c.scope(), c.id("id"), amount, bonus, note, c.now), 200, rider_view);
                    }}
                  .with_request<TopupBody>()
                  .with_response<RiderView>()
                  .may_refuse({"rider_not_found", "offer_not_found", "bad_amount"})
                  .audited("rider.topup", "rider", "id", rider_snapshot));
  r.push_back(Route{"GET", "/api/v1/riders/{id}/ledger", "riders.view", Scope::Platform, "A wallet's ledger, newest first",
                    [](Ctx& c) {
                      auto p = c.page({"id"});
                      if (!c.app.wallets.rider(c.scope(), c.id("id"))) return fail(404, "rider_not_found", "no rider with this id");
                      return ok(page_json(c.app.wallets.ledger_page(c.scope(), c.id("id"), p), p, ledger_view));
                    }}
                  .with_page<LedgerView>());

  // ---- IC cards ----
  r.push_back(Route{"POST", "/api/v1/cards", "cards.edit", Scope::Platform, "Register an IC card",
                    [](Ctx& c) {
                      auto b = c.body<NewCardBody>();
                      std::string uid = b.uid;
                      for (auto& ch : uid) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
                      need(b.uid.size() >= 8 && b.uid.size() <= 20, "bad_uid", "uid", "uid must be 8-20 hex digits");
                      need(!b.rider_id || *b.rider_id > 0, "bad_field", "rider_id", "rider_id must be a positive integer");
                      auto res = c.app.cards.create(c.scope(), uid, b.rider_id, c.now);
                      if (!res) return refuse(res.refusal);
                      c.audit_target = res.value->uid;
                      return ok(json::value_from(card_view(c.app, *res.value)), 201);
                    }}
                  .with_request<NewCardBody>()
                  .with_response<CardView>()
                  .answers(201)
                  .may_refuse({"bad_uid", "rider_not_found", "card_exists"})
                  .audited("card.create", "card"));
  r.push_back(Route{"GET", "/api/v1/cards/{uid}", "cards.view", Scope::Platform, "An IC card and its wallet's balance",
                    [](Ctx& c) {
                      auto card = c.app.cards.get(c.scope(), c.param("uid"));
                      if (!card) return fail(404, "card_not_found", "no card with this uid");
                      return ok(json::value_from(card_view(c.app, *card)));
                    }}
                  .with_response<CardView>()
                  .may_refuse({"card_not_found"}));
  r.push_back(Route{"PUT", "/api/v1/cards/{uid}/state", "cards.edit", Scope::Platform, "Block, report lost or reactivate an IC card",
                    [](Ctx& c) {
                      auto b = c.body<CardStateBody>();
                      auto res = c.app.cards.set_state(c.scope(), c.param("uid"), b.state);
                      if (!res) return refuse(res.refusal);
                      return ok(json::value_from(card_view(c.app, *res.value)));
                    }}
                  .with_request<CardStateBody>()
                  .with_response<CardView>()
                  .may_refuse({"card_not_found", "bad_state"})
                  .audited("card.state", "card", "uid", card_snapshot));
  return r;
}

}  // namespace chargehub::api
