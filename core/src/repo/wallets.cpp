#include "wallets.hpp"

#include "metrics.hpp"

namespace chargehub::core {

namespace {
// A rider r is in the scope bound as ?n when an agent in it registered the rider or owns one of its sessions.
std::string rider_scope_sql(int n) {
  std::string p = "?" + std::to_string(n);
  return "(CAST(" + p + " AS BIGINT) IS NULL OR " + scope_sql("r.agent_id", n) +
         " OR EXISTS (SELECT 1 FROM session s WHERE s.rider_id = r.id AND " + scope_sql("s.agent_id", n) + "))";
}
}  // namespace

int64_t WalletRepo::insert_rider(const std::string& name, const std::string& phone, std::optional<int64_t> agent_id, int64_t now) {
  auto st = db_.prepare("INSERT INTO rider (name, phone, agent_id, created_at) VALUES (?, ?, ?, ?) RETURNING id");
  st.args(name, phone, agent_id, now);
  st.step();
  int64_t id = st.i64(0);
  st.reset();
  db_.prepare("INSERT INTO wallet (rider_id) VALUES (?)").args(id).run();
  return id;
}

std::optional<Rider> WalletRepo::get(int64_t rider_id) {
  auto st = db_.prepare(
      "SELECT r.id, r.name, r.phone, w.balance_fen, w.held_fen, r.created_at, r.agent_id FROM rider r JOIN wallet w ON w.rider_id = r.id "
      "WHERE r.id = ?");
  st.args(rider_id);
  if (!st.step()) return std::nullopt;
  return Rider{st.i64(0), st.text(1), st.text(2), st.i64(3), st.i64(4), st.i64(5), st.opt_i64(6)};
}

std::optional<Rider> WalletRepo::get(const Scope& scope, int64_t rider_id) {
  auto st = db_.prepare(
      "SELECT r.id, r.name, r.phone, w.balance_fen, w.held_fen, r.created_at, r.agent_id FROM rider r JOIN wallet w ON w.rider_id = r.id "
      "WHERE r.id = ?2 AND " + rider_scope_sql(1));
  st.bind(1, scope.bind()).bind(2, rider_id);
  if (!st.step()) return std::nullopt;
  return Rider{st.i64(0), st.text(1), st.text(2), st.i64(3), st.i64(4), st.i64(5), st.opt_i64(6)};
}

void WalletRepo::post(int64_t rider_id, LedgerKind kind, int64_t amount_fen, std::optional<int64_t> session_id,
                      const std::string& note, int64_t now) {
  db_.prepare("INSERT INTO ledger (rider_id, kind, amount_fen, session_id, note, created_at) VALUES (?, ?, ?, ?, ?, ?)")
      .args(rider_id, std::string(name(kind)), amount_fen, session_id, note, now)
      .run();
  db_.prepare("UPDATE wallet SET balance_fen = balance_fen + ? WHERE rider_id = ?").args(amount_fen, rider_id).run();
  db_.after_commit([kind, amount_fen] { core_metrics().payment(name(kind), amount_fen); });   // metrics: once it is durable
}

void WalletRepo::hold(int64_t rider_id, int64_t fen) {
  db_.prepare("UPDATE wallet SET held_fen = held_fen + ? WHERE rider_id = ?").args(fen, rider_id).run();
}

void WalletRepo::release(int64_t rider_id, int64_t fen) {
  db_.prepare("UPDATE wallet SET held_fen = held_fen - ? WHERE rider_id = ?").args(fen, rider_id).run();
}

std::vector<LedgerEntry> WalletRepo::ledger(int64_t rider_id, int64_t limit) {
  auto st = db_.prepare(
      "SELECT id, rider_id, amount_fen, created_at, kind, note, session_id FROM ledger WHERE rider_id = ? ORDER BY id DESC LIMIT ?");
  st.args(rider_id, limit);
  std::vector<LedgerEntry> out;
  while (st.step())
    out.push_back(LedgerEntry{st.i64(0), st.i64(1), st.i64(2), st.i64(3), parse_ledger_kind(st.text(4)).value_or(LedgerKind::Adjustment),
                              st.text(5), st.opt_i64(6)});
  return out;
}

Page<LedgerEntry> WalletRepo::ledger_page(int64_t rider_id, const PageRequest& p) {
  Page<LedgerEntry> out;
  {
    auto st = db_.prepare("SELECT count(*) FROM ledger WHERE rider_id = ?");
    st.args(rider_id);
    if (st.step()) out.total = st.i64(0);
  }
  auto st = db_.prepare(std::string("SELECT id, rider_id, amount_fen, created_at, kind, note, session_id FROM ledger WHERE rider_id = ? ORDER BY id") +
                        (p.sort.empty() || p.desc ? " DESC" : "") + " LIMIT ? OFFSET ?");
  st.args(rider_id, p.size, p.offset());
  while (st.step())
    out.items.push_back(LedgerEntry{st.i64(0), st.i64(1), st.i64(2), st.i64(3), parse_ledger_kind(st.text(4)).value_or(LedgerKind::Adjustment),
                                    st.text(5), st.opt_i64(6)});
  return out;
}

Page<Rider> WalletRepo::riders(const Scope& scope, const std::optional<std::string>& q, const PageRequest& p) {
  static const std::string kWhere =
      " FROM rider r JOIN wallet w ON w.rider_id = r.id WHERE (CAST(?1 AS TEXT) IS NULL OR r.name LIKE ?1 ESCAPE '\\' OR r.phone LIKE ?1 ESCAPE '\\') "
      "AND " + rider_scope_sql(2) + " ";
  std::optional<std::string> like;
  if (q) like = "%" + like_escape(*q) + "%";
  Page<Rider> out;
  {
    auto st = db_.prepare("SELECT count(*)" + kWhere);
    st.bind(1, like).bind(2, scope.bind());
    if (st.step()) out.total = st.i64(0);
  }
  std::string key = p.sort == "created_at" ? "r.created_at" : p.sort == "balance_fen" ? "w.balance_fen" : "r.id";
  auto st = db_.prepare("SELECT r.id, r.name, r.phone, w.balance_fen, w.held_fen, r.created_at, r.agent_id" + kWhere + "ORDER BY " + key +
                        (p.desc ? " DESC" : "") + ", r.id LIMIT ?3 OFFSET ?4");
  st.bind(1, like).bind(2, scope.bind()).bind(3, p.size).bind(4, p.offset());
  while (st.step()) out.items.push_back(Rider{st.i64(0), st.text(1), st.text(2), st.i64(3), st.i64(4), st.i64(5), st.opt_i64(6)});
  return out;
}

int64_t WalletRepo::ledger_sum(int64_t rider_id) {
  auto st = db_.prepare("SELECT coalesce(sum(amount_fen), 0) FROM ledger WHERE rider_id = ?");
  st.args(rider_id);
  st.step();
  return st.i64(0);
}

}  // namespace chargehub::core
