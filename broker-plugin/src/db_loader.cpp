#include "db_loader.hpp"

#include "identity.hpp"

#include <sqlite3.h>
#include <sys/stat.h>

namespace chargehub::auth {
namespace {

struct Stmt {
  sqlite3_stmt* s = nullptr;
  ~Stmt() { sqlite3_finalize(s); }
};

std::string text_col(sqlite3_stmt* s, int i) {
  auto p = sqlite3_column_text(s, i);
  return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(s, i)) : std::string();
}

}  // namespace

DbLoader::~DbLoader() { close(); }

void DbLoader::close() {
  if (db_) sqlite3_close_v2(db_);
  db_ = nullptr;
}

DbLoader::Result DbLoader::poll(std::int64_t known_rev, bool force) {
  Result r;
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    close();
    r.status = Status::missing;
    r.message = "database " + path_ + " does not exist (yet)";
    return r;
  }
  if (!db_) {
    if (sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
      r.message = "cannot open " + path_ + ": " + (db_ ? sqlite3_errmsg(db_) : "out of memory");
      close();
      return r;
    }
    sqlite3_busy_timeout(db_, 2000);
  }
  auto fail = [&](const std::string& what) {
    r.status = Status::error;
    r.message = what + ": " + sqlite3_errmsg(db_);
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    close();  // reopen next time: the file may have been replaced
    return r;
  };
  if (sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) return fail("BEGIN");

  std::int64_t rev = -1;
  {
    Stmt st;
    if (sqlite3_prepare_v2(db_, "SELECT rev FROM auth_state WHERE id = 1", -1, &st.s, nullptr) != SQLITE_OK)
      return fail("reading auth_state");
    int rc = sqlite3_step(st.s);
    if (rc == SQLITE_ROW) rev = sqlite3_column_int64(st.s, 0);
    else if (rc != SQLITE_DONE) return fail("reading auth_state");
    else rev = 0;  // no row yet: treat as revision 0
  }
  if (rev == known_rev && !force) {
    sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
    r.status = Status::unchanged;
    return r;
  }
  auto table = std::make_shared<DeviceTable>();
  table->rev = rev;
  {
    Stmt st;
    const char* sql =
        "SELECT id, token_hash, prev_token_hash, prev_token_until, pubkey, enabled, deleted_at FROM device";
    if (sqlite3_prepare_v2(db_, sql, -1, &st.s, nullptr) != SQLITE_OK) return fail("reading device");
    int rc;
    while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
      std::string id = text_col(st.s, 0);
      if (!is_device_id(id)) {
        ++table->bad_rows;
        continue;
      }
      DeviceRecord d;
      auto hash_col = [&](int i, std::optional<Digest>& out) {
        if (sqlite3_column_type(st.s, i) == SQLITE_NULL) return;
        out = parse_hex32(text_col(st.s, i));
        if (!out) ++table->bad_rows;  // malformed: treated as no credential
      };
      hash_col(1, d.token_hash);
      hash_col(2, d.prev_token_hash);
      d.prev_token_until = sqlite3_column_int64(st.s, 3);
      hash_col(4, d.pubkey);
      d.enabled = sqlite3_column_int64(st.s, 5) != 0;
      d.deleted = sqlite3_column_type(st.s, 6) != SQLITE_NULL;
      table->devices.emplace(std::move(id), d);
    }
    if (rc != SQLITE_DONE) return fail("reading device");
  }
  sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
  r.status = Status::loaded;
  r.table = std::move(table);
  return r;
}

}  // namespace chargehub::auth
