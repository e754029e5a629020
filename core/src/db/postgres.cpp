// The PostgreSQL backend on libpq: one connection; statements prepared once per connection under
// generated names and cached per SQL text like the SQLite backend's; parameters and results in text
// format (integers travel as decimal text, which is what PostgreSQL's text I/O is for).
//
// Secrets: the conninfo may hold a password. It is parsed once; messages name the host, port, database
// and user only, and anything libpq says is scrubbed of the password before it goes into an Error.
#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <unordered_map>
#include <vector>

#include "../log.hpp"
#include "backends.hpp"
#include "pg_placeholders.hpp"

namespace chargehub::core::sql {

PgSql pg_placeholders(std::string_view sql) {
  PgSql out;
  out.text.reserve(sql.size() + 8);
  size_t i = 0, n = sql.size();
  auto copy_until = [&](size_t end) {   // copies sql[i, end) and moves i there
    out.text.append(sql.substr(i, end - i));
    i = end;
  };
  while (i < n) {
    char c = sql[i];
    if (c == '\'' || c == '"') {   // a literal or identifier; '' and "" inside are two toggles: same result
      size_t close = sql.find(c, i + 1);
      copy_until(close == std::string_view::npos ? n : close + 1);
    } else if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      size_t eol = sql.find('\n', i);
      copy_until(eol == std::string_view::npos ? n : eol);
    } else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
      size_t close = sql.find("*/", i + 2);
      copy_until(close == std::string_view::npos ? n : close + 2);
    } else if (c == '?') {
      size_t j = i + 1;
      while (j < n && sql[j] >= '0' && sql[j] <= '9') ++j;
      int num = out.params + 1;
      if (j > i + 1) {
        auto [p, ec] = std::from_chars(sql.data() + i + 1, sql.data() + j, num);
        if (ec != std::errc() || num < 1 || num > 65535) throw Error("sql: bad placeholder " + std::string(sql.substr(i, j - i)));
      }
      if (num > 65535) throw Error("sql: more than 65535 parameters");
      out.params = std::max(out.params, num);
      out.text += '$';
      out.text += std::to_string(num);
      i = j;
    } else {
      out.text += c;
      ++i;
    }
  }
  return out;
}

namespace {

Error::Kind kind_of(const char* sqlstate) {
  std::string_view s = sqlstate ? sqlstate : "";
  if (s.starts_with("23")) return Error::Kind::Constraint;                // integrity_constraint_violation
  if (s == "40001" || s == "40P01" || s == "55P03") return Error::Kind::Busy;   // serialization failure, deadlock, lock_timeout
  return Error::Kind::Other;
}

// What one conninfo says, parsed once: the parameters to connect with, the passwords to scrub from
// messages, and a description of the target without them.
struct ConnParams {
  std::vector<std::string> keys, values;
  std::vector<std::string> secrets;   // password, sslpassword
  std::string target;
};

ConnParams parse_conninfo(const std::string& conninfo) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  if (!opts) {
    // libpq's parse errors may quote the string, password included: say only what kind of mistake.
    PQfreemem(err);
    throw Error("cannot open PostgreSQL: the connection string is not valid (libpq keywords or a postgresql:// URI)");
  }
  ConnParams p;
  std::string options;
  for (auto* o = opts; o->keyword; ++o) {
    if (!o->val || !*o->val) continue;
    std::string k = o->keyword, v = o->val;
    if (k == "password" || k == "sslpassword") p.secrets.push_back(v);
    if (k == "options") {   // kept, with our settings appended below
      options = v;
      continue;
    }
    if (k == "host" || k == "hostaddr" || k == "port" || k == "dbname" || k == "user")
      p.target += (p.target.empty() ? "" : " ") + k + "=" + v;
    p.keys.push_back(k);
    p.values.push_back(v);
  }
  PQconninfoFree(opts);
  // Given as connection parameters rather than SET commands so that a PQreset keeps them. Times are
  // unix seconds bound from code; UTC only matters for anything the server formats.
  p.keys.push_back("client_encoding");
  p.values.push_back("UTF8");
  p.keys.push_back("options");
  p.values.push_back(options + (options.empty() ? "" : " ") + "-c TimeZone=UTC");
  p.keys.push_back("fallback_application_name");
  p.values.push_back("chargehub");
  return p;
}

class PgDb;

class PgStmt final : public StmtImpl {
 public:
  PgStmt(PgDb* db, std::string key, int params) : db_(db), key_(std::move(key)), params_(params) {}
  ~PgStmt() override { PQclear(res_); }
  void bind_i64(int i, int64_t v) override { slot(i) = std::to_string(v); }
  void bind_text(int i, std::string_view v) override {
    // Text-format parameters are C strings; PostgreSQL text cannot hold a NUL either.
    if (v.find('\0') != std::string_view::npos) throw Error("bind: text parameter " + std::to_string(i) + " contains a NUL byte");
    slot(i) = std::string(v);
  }
  void bind_null(int i) override { slot(i).reset(); }
  bool step() override;
  void reset() override {
    PQclear(res_);
    res_ = nullptr;
    row_ = -1;
    for (auto& p : params_) p.reset();
  }
  int64_t i64(int col) const override;
  std::string text(int col) const override {
    check(col);
    return std::string(PQgetvalue(res_, row_, col), static_cast<size_t>(PQgetlength(res_, row_, col)));
  }
  bool is_null(int col) const override {
    check(col);
    return PQgetisnull(res_, row_, col);
  }

 private:
  std::optional<std::string>& slot(int i) {
    if (i < 1 || i > static_cast<int>(params_.size()))
      throw Error("bind: parameter " + std::to_string(i) + " out of range (the statement has " + std::to_string(params_.size()) + ")");
    return params_[static_cast<size_t>(i - 1)];
  }
  void check(int col) const {
    if (!res_ || row_ < 0 || row_ >= PQntuples(res_)) throw Error("sql: no current row");
    if (col < 0 || col >= PQnfields(res_)) throw Error("sql: column " + std::to_string(col) + " out of range");
  }

  PgDb* db_;
  std::string key_;   // the SQL text as the repository wrote it: the connection's cache key
  std::vector<std::optional<std::string>> params_;
  PGresult* res_ = nullptr;
  int row_ = -1;
};

class PgDb final : public Db {
 public:
  explicit PgDb(const std::string& conninfo) : params_(parse_conninfo(conninfo)) {
    std::vector<const char*> k, v;
    for (size_t i = 0; i < params_.keys.size(); ++i) {
      k.push_back(params_.keys[i].c_str());
      v.push_back(params_.values[i].c_str());
    }
    k.push_back(nullptr);
    v.push_back(nullptr);
    conn_ = PQconnectdbParams(k.data(), v.data(), 0);
    if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
      std::string msg = conn_ ? scrub(PQerrorMessage(conn_)) : "out of memory";
      PQfinish(conn_);
      conn_ = nullptr;
      throw Error("cannot connect to PostgreSQL (" + params_.target + "): " + msg);
    }
    PQsetNoticeReceiver(conn_, &PgDb::on_notice, nullptr);
  }
  ~PgDb() override {
    cache_.clear();
    PQfinish(conn_);
  }

  Dialect dialect() const override { return Dialect::Postgres; }

  void exec(std::string_view sql) override {
    ensure_connected();
    PGresult* r = PQexec(conn_, std::string(sql).c_str());
    finish(r, "sql");
    PQclear(r);
  }

  Stmt prepare(std::string_view sql) override {
    std::string key(sql);
    auto it = cache_.find(key);
    if (it != cache_.end() && !it->second.empty()) {
      StmtImpl* st = it->second.back().release();
      it->second.pop_back();
      return Stmt(this, std::move(key), st);
    }
    ensure_connected();
    const Prepared& p = prepared(key);
    return Stmt(this, key, new PgStmt(this, key, p.params));
  }

  int64_t changes() const override { return changes_; }

  void begin() override { exec("BEGIN ISOLATION LEVEL READ COMMITTED"); }
  void commit() override { exec("COMMIT"); }
  void rollback() override {
    // On a lost connection the server has already discarded the transaction: nothing to roll back, and
    // no reset here (the next transaction's BEGIN resets).
    if (PQstatus(conn_) != CONNECTION_OK) return;
    exec("ROLLBACK");
  }

  // For PgStmt: runs the statement prepared for `key` (preparing it again after a reconnect).
  PGresult* run(const std::string& key, const std::vector<std::optional<std::string>>& args) {
    ensure_connected();
    const Prepared& p = prepared(key);
    std::vector<const char*> values;
    values.reserve(args.size());
    for (auto& a : args) values.push_back(a ? a->c_str() : nullptr);
    PGresult* r = PQexecPrepared(conn_, p.name.c_str(), static_cast<int>(values.size()), values.data(), nullptr, nullptr, 0);
    try {
      finish(r, "step");
    } catch (...) {
      PQclear(r);
      throw;
    }
    return r;
  }

 protected:
  void give_back(const std::string& sql, StmtImpl* impl) override {
    impl->reset();
    cache_[sql].emplace_back(impl);
  }

 private:
  struct Prepared {
    std::string name;
    int params;
  };

  static void on_notice(void*, const PGresult* r) {
    // NOTICEs (e.g. "relation already exists, skipping") are chatter; WARNINGs are worth a line.
    const char* sev = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
    if (sev && std::string_view(sev) == "WARNING")
      log::warn("db.postgresql_notice", {{"message", PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)}});
  }

  // The server-side statement for `key`, prepared on first use on this connection.
  const Prepared& prepared(const std::string& key) {
    auto it = prepared_.find(key);
    if (it != prepared_.end()) return it->second;
    PgSql pg = pg_placeholders(key);
    std::string name = "chs" + std::to_string(++names_);
    PGresult* r = PQprepare(conn_, name.c_str(), pg.text.c_str(), 0, nullptr);
    try {
      finish(r, "prepare");
    } catch (const Error& e) {
      PQclear(r);
      // The SQL text (never parameter values) helps find the statement.
      throw Error(std::string(e.what()) + " in: " + key.substr(0, 300), e.kind);
    }
    PQclear(r);
    return prepared_.emplace(key, Prepared{std::move(name), pg.params}).first->second;
  }

  // A lost connection is reset once, but only between transactions: inside one, its work is gone and
  // the caller must see the error (the Tx rolls back; the next one starts on a fresh connection).
  void ensure_connected() {
    if (PQstatus(conn_) == CONNECTION_OK) return;
    if (depth_ > 0) throw Error("postgresql: the connection was lost inside a transaction (" + params_.target + ")");
    PQreset(conn_);
    prepared_.clear();   // server-side statements died with the old session
    if (PQstatus(conn_) != CONNECTION_OK)
      throw Error("postgresql: connection lost and could not be re-established (" + params_.target + "): " + scrub(PQerrorMessage(conn_)));
    log::warn("db.reconnected", {{"target", params_.target}});
  }

  // Throws unless `r` is a success; notes rows affected by INSERT, UPDATE, DELETE (like sqlite3_changes,
  // which other statements leave alone).
  void finish(PGresult* r, const char* what) {
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) {
      std::string_view tag = PQcmdStatus(r);
      if (tag.starts_with("INSERT") || tag.starts_with("UPDATE") || tag.starts_with("DELETE") || tag.starts_with("MERGE")) {
        const char* n = PQcmdTuples(r);
        changes_ = 0;
        std::from_chars(n, n + std::char_traits<char>::length(n), changes_);
      }
      return;
    }
    if (PQstatus(conn_) != CONNECTION_OK)
      throw Error(std::string(what) + ": connection to PostgreSQL lost (" + params_.target + "): " + scrub(PQerrorMessage(conn_)));
    const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    const char* primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    std::string msg = std::string(what) + ": " + (primary ? primary : scrub(PQerrorMessage(conn_)));
    if (state) msg += std::string(" (SQLSTATE ") + state + ")";
    throw Error(scrub(msg), kind_of(state));
  }

  std::string scrub(std::string msg) const {
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    for (char& c : msg)   // libpq's multi-line messages on one log line
      if (c == '\n' || c == '\t') c = ' ';
    for (auto& secret : params_.secrets)
      for (size_t at; (at = msg.find(secret)) != std::string::npos;) msg.replace(at, secret.size(), "***");
    return msg;
  }

  ConnParams params_;
  PGconn* conn_ = nullptr;
  int64_t changes_ = 0;
  uint64_t names_ = 0;
  std::unordered_map<std::string, Prepared> prepared_;
  std::unordered_map<std::string, std::vector<std::unique_ptr<StmtImpl>>> cache_;
};

bool PgStmt::step() {
  // A step after the last row runs the statement again with the same bindings, as sqlite3_step does.
  if (res_ && row_ >= PQntuples(res_)) {
    PQclear(res_);
    res_ = nullptr;
  }
  if (!res_) {
    res_ = db_->run(key_, params_);
    row_ = -1;
  }
  ++row_;
  return row_ < PQntuples(res_);
}

int64_t PgStmt::i64(int col) const {
  check(col);
  if (PQgetisnull(res_, row_, col)) return 0;   // as sqlite3_column_int64 does for NULL
  std::string_view s(PQgetvalue(res_, row_, col), static_cast<size_t>(PQgetlength(res_, row_, col)));
  if (s == "t") return 1;   // booleans (e.g. `x IS NOT NULL`) read as 0/1 as on SQLite
  if (s == "f") return 0;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  // A numeric with a fraction (avg(), a division of numerics) truncates toward zero, as SQLite's does.
  bool fraction = ec == std::errc() && end < s.data() + s.size() && *end == '.' &&
                  std::all_of(end + 1, s.data() + s.size(), [](char c) { return c >= '0' && c <= '9'; });
  if (ec != std::errc() || (end != s.data() + s.size() && !fraction))
    throw Error("sql: column " + std::to_string(col) + " is not a 64-bit integer: '" + std::string(s.substr(0, 40)) + "'");
  return v;
}

}  // namespace

std::unique_ptr<Db> open_postgres(const std::string& conninfo) { return std::make_unique<PgDb>(conninfo); }

}  // namespace chargehub::core::sql
