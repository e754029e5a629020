#include "cards.hpp"

#include "chargehub/fields.hpp"

#include <algorithm>
#include <climits>

namespace chargehub::core {

namespace {
// A card uid's one text form, by the same rule the chargers' reports are checked with.
bool valid_uid(const std::string& uid) { return fields::card_uid_from_text(uid).has_value(); }
int32_t shown(int64_t fen) { return static_cast<int32_t>(std::clamp<int64_t>(fen, INT32_MIN, INT32_MAX)); }
}  // namespace

std::optional<CardRow> Cards::get(const Scope& scope, const std::string& uid) {
  sql::Lock lock(r_.db);
  return r_.cards.get(scope, uid);
}

Result<CardRow> Cards::create(const Scope& scope, const std::string& uid, std::optional<int64_t> rider_id, int64_t now) {
  using R = Result<CardRow>;
  if (!valid_uid(uid)) return R::no("bad_uid", "uid must be 4 to 10 bytes as upper-case hex");
  sql::Tx tx(r_.db);
  if (r_.cards.get(uid)) return R::no("card_exists", "this card is registered already");
  int64_t rid;
  if (rider_id) {
    if (!r_.wallets.get(scope, *rider_id)) return R::no("rider_not_found", "no rider with this id");
    rid = *rider_id;
  } else {
    rid = r_.wallets.insert_rider("IC卡 " + uid, "", scope.agent_id(), now);
  }
  CardRow c{uid, rid, CardState::Active, now, scope.agent_id()};
  r_.cards.insert(c);
  tx.commit();
  return R::ok(c);
}

Result<CardRow> Cards::set_state(const Scope& scope, const std::string& uid, const std::string& state) {
  auto s = parse_card_state(state);
  if (!s) return Result<CardRow>::no("bad_state", "state must be active, lost or blocked");
  sql::Tx tx(r_.db);
  if (!r_.cards.get(scope, uid)) return Result<CardRow>::no("card_not_found", "no card with this uid");
  if (!r_.cards.set_state(uid, *s)) return Result<CardRow>::no("card_not_found", "no card with this uid");
  auto c = r_.cards.get(uid);
  tx.commit();
  return Result<CardRow>::ok(*c);
}

SwipeOutcome Cards::swipe(const std::string& device_id, const std::string& msg, const proto::Card& c, int64_t now,
                          const rules::CardRules& rules, int64_t command_ttl_s) {
  using A = rules::SwipeDecision::Action;
  sql::Tx tx(r_.db);
  SwipeOutcome out;
  if (auto seen = r_.reports.processed(msg)) {
    out.ack = *seen;
    return out;
  }
  rules::SwipeFacts f;
  f.uid = c.uid_text();
  auto card = r_.cards.get(f.uid);
  std::optional<SessionRow> on_port;
  if (card) {
    f.card = card->state;
    if (auto w = r_.wallets.get(card->rider_id)) f.available_fen = w->available_fen();
    on_port = r_.sessions.holding_port(device_id, c.port);
    if (on_port) f.on_port = rules::SessionOnPort{on_port->id, on_port->card_uid, on_port->prepaid_fen};
  }
  auto d = rules::decide_swipe(f, rules);
  out.ack = payloads::Ack{msg, static_cast<uint8_t>(d.result), shown(d.balance_fen)};
  if (d.action == A::StopOwnSession) {
    if (auto stop = sessions_.stop_in_tx(on_port->id, Origin{"card:" + f.uid, "card_swipe"}, now, 60)) out.follow.commands.push_back(*stop);
  } else if (d.action == A::Start) {
    OpenRequest req{device_id, c.port, card->rider_id, d.prepay_fen, false, 0, Origin{"card:" + f.uid, "card_swipe"}, command_ttl_s, f.uid};
    auto t = sessions_.open_in_tx(req, now);
    if (!t) {
      out.ack.result = static_cast<uint8_t>(rules::card_result_for(t.refusal));
      out.ack.balance_fen = shown(f.available_fen);
    } else {
      out.follow.commands.push_back(t->command);
      out.ack.balance_fen = shown(r_.wallets.get(card->rider_id)->available_fen());
    }
  }
  r_.reports.record(msg, device_id, "card", out.ack, now);
  tx.commit();
  return out;
}

}  // namespace chargehub::core
