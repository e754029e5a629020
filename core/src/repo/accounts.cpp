#include "accounts.hpp"

#include <algorithm>

namespace chargehub::core {

namespace {
constexpr const char* kAccountCols =
    "a.id, a.name, a.display_name, a.phone, a.kind, a.password_hash, a.key_hash, a.key_prefix, a.agent_id, a.frozen, "
    "a.must_change_password, a.created_at, a.updated_at, a.last_login_at";

AccountRow account_of(const sql::Stmt& st) {
  AccountRow a;
  a.id = st.i64(0);
  a.name = st.text(1);
  a.display_name = st.text(2);
  a.phone = st.text(3);
  a.kind = st.text(4);
  a.password_hash = st.opt_text(5);
  a.key_hash = st.opt_text(6);
  a.key_prefix = st.opt_text(7);
  a.agent_id = st.opt_i64(8);
  a.frozen = st.boolean(9);
  a.must_change_password = st.boolean(10);
  a.created_at = st.i64(11);
  a.updated_at = st.i64(12);
  a.last_login_at = st.opt_i64(13);
  return a;
}

constexpr const char* kRoleCols = "id, key, name, builtin, agent_id";
RoleRow role_of(const sql::Stmt& st) { return RoleRow{st.i64(0), st.text(1), st.text(2), st.boolean(3), st.opt_i64(4)}; }

constexpr const char* kTokenCols = "id, account_id, access_expires_at, refresh_expires_at, revoked_at, created_at, address";
TokenRow token_of(const sql::Stmt& st) {
  return TokenRow{st.i64(0), st.i64(1), st.i64(2), st.i64(3), st.opt_i64(4), st.i64(5), st.text(6)};
}

// A LIKE pattern that finds `q` anywhere, its own % _ and \ taken literally (ESCAPE '\').
std::string contains_pattern(const std::string& q) {
  std::string p = "%";
  for (char c : q) {
    if (c == '%' || c == '_' || c == '\\') p += '\\';
    p += c;
  }
  return p + "%";
}
std::string lower_ascii(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}
}  // namespace

std::optional<int64_t> AccountRepo::insert(const AccountRow& a) {
  auto st = db_.prepare(
      "INSERT INTO account (name, display_name, phone, kind, password_hash, key_hash, key_prefix, agent_id, frozen, "
      "must_change_password, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT (name) DO NOTHING RETURNING id");
  st.args(a.name, a.display_name, a.phone, a.kind, a.password_hash, a.key_hash, a.key_prefix, a.agent_id, a.frozen,
          a.must_change_password, a.created_at, a.updated_at);
  if (!st.step()) return std::nullopt;
  int64_t id = st.i64(0);
  st.run();
  return id;
}

std::optional<AccountRow> AccountRepo::get(int64_t id) {
  auto st = db_.prepare(std::string("SELECT ") + kAccountCols + " FROM account a WHERE a.id = ?");
  st.args(id);
  if (!st.step()) return std::nullopt;
  return account_of(st);
}

std::optional<AccountRow> AccountRepo::by_name(const std::string& name) {
  auto st = db_.prepare(std::string("SELECT ") + kAccountCols + " FROM account a WHERE a.name = ?");
  st.args(name);
  if (!st.step()) return std::nullopt;
  return account_of(st);
}

std::optional<AccountRow> AccountRepo::by_key_hash(const std::string& key_hash) {
  auto st = db_.prepare(std::string("SELECT ") + kAccountCols + " FROM account a WHERE a.key_hash = ?");
  st.args(key_hash);
  if (!st.step()) return std::nullopt;
  return account_of(st);
}

Page<AccountRow> AccountRepo::list(const AccountQuery& q, const PageRequest& p) {
  // Each filter is a fixed fragment with its own placeholders: a handful of statement texts, all prepared.
  std::string where = " WHERE 1 = 1";
  // Case-insensitive for ASCII on both databases (SQLite's LIKE already is, PostgreSQL's is not).
  std::string pattern;
  if (q.q) {
    pattern = lower_ascii(contains_pattern(*q.q));
    where += " AND (lower(a.name) LIKE ?1 ESCAPE '\\' OR lower(a.display_name) LIKE ?1 ESCAPE '\\' OR lower(a.phone) LIKE ?1 ESCAPE '\\')";
  }
  if (q.role)
    where += " AND EXISTS (SELECT 1 FROM account_role ar JOIN role r ON r.id = ar.role_id WHERE ar.account_id = a.id AND r.key = ?)";
  if (q.frozen) where += " AND a.frozen = ?";
  if (q.kind) where += " AND a.kind = ?";
  if (q.agent_id) where += " AND a.agent_id = ?";
  auto bind_filters = [&](sql::Stmt& st) {
    int i = 0;
    if (q.q) st.bind(++i, pattern);
    if (q.role) st.bind(++i, *q.role);
    if (q.frozen) st.bind(++i, *q.frozen);
    if (q.kind) st.bind(++i, *q.kind);
    if (q.agent_id) st.bind(++i, *q.agent_id);
    return i;
  };

  Page<AccountRow> page;
  {
    auto st = db_.prepare("SELECT count(*) FROM account a" + where);
    bind_filters(st);
    if (st.step()) page.total = st.i64(0);
    st.run();
  }
  std::string order = "a.id";
  if (p.sort == "name") order = "a.name";
  else if (p.sort == "created_at") order = "a.created_at";
  else if (p.sort == "last_login_at") order = "coalesce(a.last_login_at, 0)";
  std::string dir = p.desc ? " DESC" : " ASC";
  auto st = db_.prepare(std::string("SELECT ") + kAccountCols + " FROM account a" + where + " ORDER BY " + order + dir + ", a.id" + dir +
                        " LIMIT ? OFFSET ?");
  int i = bind_filters(st);
  int64_t size = std::clamp<int64_t>(p.size, 1, 200);
  st.bind(++i, size);
  st.bind(++i, (std::max<int64_t>(p.page, 1) - 1) * size);
  while (st.step()) page.items.push_back(account_of(st));
  return page;
}

bool AccountRepo::update_profile(int64_t id, const std::optional<std::string>& display_name, const std::optional<std::string>& phone,
                                 int64_t now) {
  db_.prepare(
         "UPDATE account SET display_name = coalesce(CAST(? AS TEXT), display_name), phone = coalesce(CAST(? AS TEXT), phone), "
         "updated_at = ? WHERE id = ?")
      .args(display_name, phone, now, id)
      .run();
  return db_.changes() > 0;
}

bool AccountRepo::set_password(int64_t id, const std::string& hash, bool must_change, int64_t now) {
  db_.prepare("UPDATE account SET password_hash = ?, must_change_password = ?, updated_at = ? WHERE id = ? AND kind = 'person'")
      .args(hash, must_change, now, id)
      .run();
  return db_.changes() > 0;
}

bool AccountRepo::set_frozen(int64_t id, bool frozen, int64_t now) {
  db_.prepare("UPDATE account SET frozen = ?, updated_at = ? WHERE id = ?").args(frozen, now, id).run();
  return db_.changes() > 0;
}

bool AccountRepo::clear_key(int64_t id, int64_t now) {
  db_.prepare("UPDATE account SET key_hash = NULL, frozen = 1, updated_at = ? WHERE id = ? AND kind = 'service'").args(now, id).run();
  return db_.changes() > 0;
}

void AccountRepo::touch_login(int64_t id, int64_t now) {
  db_.prepare("UPDATE account SET last_login_at = ? WHERE id = ?").args(now, id).run();
}

std::vector<std::string> AccountRepo::permissions(int64_t account_id) {
  auto st = db_.prepare(
      "SELECT DISTINCT rp.permission FROM account_role ar JOIN role_permission rp ON rp.role_id = ar.role_id "
      "WHERE ar.account_id = ? ORDER BY rp.permission");
  st.args(account_id);
  std::vector<std::string> out;
  while (st.step()) out.push_back(st.text(0));
  return out;
}

std::vector<std::string> AccountRepo::role_keys(int64_t account_id) {
  auto st = db_.prepare("SELECT r.key FROM account_role ar JOIN role r ON r.id = ar.role_id WHERE ar.account_id = ? ORDER BY r.key");
  st.args(account_id);
  std::vector<std::string> out;
  while (st.step()) out.push_back(st.text(0));
  return out;
}

void AccountRepo::set_roles(int64_t account_id, const std::vector<int64_t>& role_ids) {
  db_.prepare("DELETE FROM account_role WHERE account_id = ?").args(account_id).run();
  for (int64_t r : role_ids)
    db_.prepare("INSERT INTO account_role (account_id, role_id) VALUES (?, ?) ON CONFLICT (account_id, role_id) DO NOTHING")
        .args(account_id, r)
        .run();
}

std::optional<RoleRow> AccountRepo::role(int64_t id) {
  auto st = db_.prepare(std::string("SELECT ") + kRoleCols + " FROM role WHERE id = ?");
  st.args(id);
  if (!st.step()) return std::nullopt;
  return role_of(st);
}

std::optional<RoleRow> AccountRepo::role_by_key(const std::string& key) {
  auto st = db_.prepare(std::string("SELECT ") + kRoleCols + " FROM role WHERE key = ?");
  st.args(key);
  if (!st.step()) return std::nullopt;
  return role_of(st);
}

std::vector<RoleRow> AccountRepo::roles(std::optional<int64_t> agent_id) {
  auto st = db_.prepare(std::string("SELECT ") + kRoleCols +
                        " FROM role WHERE agent_id IS NULL OR agent_id = CAST(? AS BIGINT) ORDER BY builtin DESC, key");
  st.args(agent_id);
  std::vector<RoleRow> out;
  while (st.step()) out.push_back(role_of(st));
  return out;
}

std::vector<std::string> AccountRepo::role_permissions(int64_t role_id) {
  auto st = db_.prepare("SELECT permission FROM role_permission WHERE role_id = ? ORDER BY permission");
  st.args(role_id);
  std::vector<std::string> out;
  while (st.step()) out.push_back(st.text(0));
  return out;
}

std::optional<int64_t> AccountRepo::insert_role(const RoleRow& r) {
  auto st = db_.prepare("INSERT INTO role (key, name, builtin, agent_id) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO NOTHING RETURNING id");
  st.args(r.key, r.name, r.builtin, r.agent_id);
  if (!st.step()) return std::nullopt;
  int64_t id = st.i64(0);
  st.run();
  return id;
}

int64_t AccountRepo::upsert_builtin_role(const std::string& key, const std::string& name) {
  auto st = db_.prepare(
      "INSERT INTO role (key, name, builtin, agent_id) VALUES (?, ?, 1, NULL) "
      "ON CONFLICT (key) DO UPDATE SET name = excluded.name, builtin = 1, agent_id = NULL RETURNING id");
  st.args(key, name);
  st.step();
  int64_t id = st.i64(0);
  st.run();
  return id;
}

void AccountRepo::set_role_permissions(int64_t role_id, const std::vector<std::string>& permissions) {
  db_.prepare("DELETE FROM role_permission WHERE role_id = ?").args(role_id).run();
  for (const auto& p : permissions)
    db_.prepare("INSERT INTO role_permission (role_id, permission) VALUES (?, ?) ON CONFLICT (role_id, permission) DO NOTHING")
        .args(role_id, p)
        .run();
}

bool AccountRepo::rename_role(int64_t id, const std::string& name) {
  db_.prepare("UPDATE role SET name = ? WHERE id = ?").args(name, id).run();
  return db_.changes() > 0;
}

int64_t AccountRepo::role_holders(int64_t role_id) {
  auto st = db_.prepare("SELECT count(*) FROM account_role WHERE role_id = ?");
  st.args(role_id);
  int64_t n = st.step() ? st.i64(0) : 0;
  st.run();
  return n;
}

bool AccountRepo::delete_role(int64_t id) {
  db_.prepare("DELETE FROM role_permission WHERE role_id = ?").args(id).run();
  db_.prepare("DELETE FROM role WHERE id = ?").args(id).run();
  return db_.changes() > 0;
}

int64_t AccountRepo::insert_token(int64_t account_id, const std::string& access_hash, const std::string& refresh_hash,
                                  int64_t access_expires_at, int64_t refresh_expires_at, int64_t now, const std::string& address) {
  auto st = db_.prepare(
      "INSERT INTO auth_token (account_id, access_hash, refresh_hash, access_expires_at, refresh_expires_at, created_at, address) "
      "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id");
  st.args(account_id, access_hash, refresh_hash, access_expires_at, refresh_expires_at, now, address);
  st.step();
  int64_t id = st.i64(0);
  st.run();
  return id;
}

std::optional<TokenRow> AccountRepo::token_by_access(const std::string& access_hash) {
  auto st = db_.prepare(std::string("SELECT ") + kTokenCols + " FROM auth_token WHERE access_hash = ?");
  st.args(access_hash);
  if (!st.step()) return std::nullopt;
  return token_of(st);
}

std::optional<TokenRow> AccountRepo::token_by_refresh(const std::string& refresh_hash) {
  auto st = db_.prepare(std::string("SELECT ") + kTokenCols + " FROM auth_token WHERE refresh_hash = ?");
  st.args(refresh_hash);
  if (!st.step()) return std::nullopt;
  return token_of(st);
}

bool AccountRepo::revoke_token(int64_t id, int64_t now) {
  db_.prepare("UPDATE auth_token SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL").args(now, id).run();
  return db_.changes() > 0;
}

int64_t AccountRepo::revoke_tokens_of_agent(int64_t agent_id, int64_t now) {
  db_.prepare(
         "UPDATE auth_token SET revoked_at = ?1 WHERE revoked_at IS NULL AND account_id IN "
         "(SELECT a.id FROM account a JOIN agent g ON g.id = a.agent_id WHERE g.id = ?2 OR g.parent_id = ?2)")
      .bind(1, now)
      .bind(2, agent_id)
      .run();
  return db_.changes();
}

int64_t AccountRepo::revoke_tokens_of(int64_t account_id, int64_t now) {
  db_.prepare("UPDATE auth_token SET revoked_at = ? WHERE account_id = ? AND revoked_at IS NULL").args(now, account_id).run();
  return db_.changes();
}

int64_t AccountRepo::delete_tokens_expired_before(int64_t t) {
  db_.prepare("DELETE FROM auth_token WHERE refresh_expires_at < ?").args(t).run();
  return db_.changes();
}

}  // namespace chargehub::core
