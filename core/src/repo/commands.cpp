#include "commands.hpp"

#include <openssl/rand.h>

#include "chargehub/frame.hpp"
#include "chargehub/payloads.hpp"

namespace chargehub::core {

namespace json = boost::json;

namespace {
constexpr const char* kCols =
    "id, device_id, op, args, state, result, reply, error, session_id, actor, reason, created_at, sent_at, replied_at, expires_at, sends, queries, "
    "last_sent_at, query_for";

std::optional<json::object> object_of(const std::string& text) {
  auto v = payloads::parse_json(text, 1 << 20);
  if (v && v->is_object()) return v->get_object();
  return std::nullopt;
}

CommandRow read(sql::Stmt& st) {
  CommandRow c;
  c.id = st.text(0);
  c.device_id = st.text(1);
  c.op = st.text(2);
  if (auto a = object_of(st.text(3))) c.args = std::move(*a);
  c.state = parse_command_state(st.text(4)).value_or(CommandState::Failed);
  c.result = st.opt_i64(5);
  if (auto r = st.opt_text(6)) c.reply = object_of(*r);
  c.error = st.opt_text(7);
  c.session_id = st.opt_i64(8);
  c.origin = Origin{st.text(9), st.text(10)};
  c.created_at = st.i64(11);
  c.sent_at = st.opt_i64(12);
  c.replied_at = st.opt_i64(13);
  c.expires_at = st.i64(14);
  c.sends = st.i64(15);
  c.queries = st.i64(16);
  c.last_sent_at = st.opt_i64(17);
  c.query_for = st.opt_text(18);
  return c;
}
std::string sel() { return std::string("SELECT ") + kCols + " FROM command "; }
std::string st_name(CommandState s) { return std::string(name(s)); }
}  // namespace

std::string new_command_id() {
  unsigned char b[12];
  RAND_bytes(b, sizeof b);
  return "c" + proto::to_hex(std::span<const uint8_t>(b, sizeof b));
}

void CommandRepo::insert(const CommandRow& c) {
  db_.prepare("INSERT INTO command (id, device_id, op, args, state, session_id, actor, reason, created_at, expires_at, query_for) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .args(c.id, c.device_id, c.op, json::serialize(c.args), st_name(c.state), c.session_id, c.origin.actor, c.origin.reason,
            c.created_at, c.expires_at, c.query_for)
      .run();
}

std::optional<CommandRow> CommandRepo::get(const std::string& id) {
  auto st = db_.prepare(sel() + "WHERE id = ?");
  st.args(id);
  if (!st.step()) return std::nullopt;
  return read(st);
}

std::optional<CommandRow> CommandRepo::lock(const std::string& id) {
  auto st = db_.prepare(sel() + (db_.dialect() == sql::Dialect::Postgres ? "WHERE id = ? FOR UPDATE" : "WHERE id = ?"));
  st.args(id);
  if (!st.step()) return std::nullopt;
  return read(st);
}

std::vector<CommandRow> CommandRepo::for_device(const std::string& device_id, int64_t limit) {
  auto st = db_.prepare(sel() + "WHERE device_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?");
  st.args(device_id, limit);
  std::vector<CommandRow> out;
  while (st.step()) out.push_back(read(st));
  return out;
}

Page<CommandRow> CommandRepo::page_for_device(const std::string& device_id, const PageRequest& p) {
  Page<CommandRow> out;
  {
    auto st = db_.prepare("SELECT count(*) FROM command WHERE device_id = ?");
    st.args(device_id);
    if (st.step()) out.total = st.i64(0);
  }
  auto st = db_.prepare(sel() + "WHERE device_id = ? ORDER BY created_at" + (p.desc || p.sort.empty() ? " DESC" : "") +
                        ", rowid DESC LIMIT ? OFFSET ?");
  st.args(device_id, p.size, p.offset());
  while (st.step()) out.items.push_back(read(st));
  return out;
}

bool CommandRepo::mark_sent(const std::string& id, int64_t now) {
  db_.prepare("UPDATE command SET state = ?, sent_at = ?, last_sent_at = ?, sends = 1 WHERE id = ? AND state = ?")
      .args(st_name(CommandState::Sent), now, now, id, st_name(CommandState::Queued))
      .run();
  return db_.changes() > 0;
}

void CommandRepo::set_outcome(const std::string& id, CommandState state, std::optional<int64_t> result, const std::string& reply_json,
                              const std::optional<std::string>& error, int64_t now) {
  db_.prepare("UPDATE command SET state = ?, result = ?, reply = ?, error = ?, replied_at = ? WHERE id = ?")
      .args(st_name(state), result, reply_json, error, now, id)
      .run();
}

std::vector<CommandRow> CommandRepo::queued(int64_t now) {
  db_.prepare("UPDATE command SET state = ?, error = 'expired before it was sent' WHERE state = ? AND expires_at <= ?")
      .args(st_name(CommandState::Expired), st_name(CommandState::Queued), now)
      .run();
  auto st = db_.prepare(sel() + "WHERE state = ? ORDER BY created_at, rowid");
  st.args(st_name(CommandState::Queued));
  std::vector<CommandRow> out;
  while (st.step()) out.push_back(read(st));
  return out;
}

int64_t CommandRepo::fail_unanswered(int64_t before) {
  db_.prepare("UPDATE command SET state = ?, error = 'no reply' WHERE state = ? AND expires_at < ?")
      .args(st_name(CommandState::Failed), st_name(CommandState::Sent), before)
      .run();
  return db_.changes();
}

void CommandRepo::fail_open_start(int64_t session_id) {
  db_.prepare("UPDATE command SET state = ?, error = 'no reply' WHERE session_id = ? AND op = 'start' AND state IN (?, ?)")
      .args(st_name(CommandState::Failed), session_id, st_name(CommandState::Queued), st_name(CommandState::Sent))
      .run();
}

std::vector<CommandRow> CommandRepo::unanswered_starts() {
  auto st = db_.prepare(sel() + "WHERE state = ? AND op = 'start' ORDER BY sent_at, rowid");
  st.args(st_name(CommandState::Sent));
  std::vector<CommandRow> out;
  while (st.step()) out.push_back(read(st));
  return out;
}

void CommandRepo::count_resend(const std::string& id, int64_t now) {
  db_.prepare("UPDATE command SET sends = sends + 1, last_sent_at = ? WHERE id = ?").args(now, id).run();
}

void CommandRepo::count_query(const std::string& id, int64_t now) {
  db_.prepare("UPDATE command SET queries = queries + 1, last_sent_at = ? WHERE id = ?").args(now, id).run();
}

void CommandRepo::resolve(const std::string& id, CommandState state, const std::optional<std::string>& error, int64_t now) {
  db_.prepare("UPDATE command SET state = ?, error = ?, replied_at = ? WHERE id = ?").args(st_name(state), error, now, id).run();
}

}  // namespace chargehub::core
