#include <gtest/gtest.h>
#include <sqlite3.h>

#include "broker.hpp"
#include "db_loader.hpp"
#include "testsupport.hpp"

using namespace chargehub::auth;
using chargehub::testing::TempDir;

namespace {
void exec(const std::filesystem::path& db, const std::string& sql) {
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(h);
}
}  // namespace

TEST(DbLoader, MissingDatabaseIsReportedAndRetried) {
  TempDir dir("plugin-db");
  DbLoader loader((dir / "core.db").string());
  EXPECT_EQ(loader.poll(-1, false).status, DbLoader::Status::missing);
  chargehub::testing::create_auth_tables(dir / "core.db");
  auto r = loader.poll(-1, false);
  EXPECT_EQ(r.status, DbLoader::Status::loaded);
  EXPECT_EQ(r.table->rev, 1);
}

TEST(DbLoader, LoadsRowsAndReloadsOnlyWhenRevChanges) {
  TempDir dir("plugin-db");
  auto db = dir / "core.db";
  chargehub::testing::create_auth_tables(db);
  std::string h(64, 'a');
  exec(db, "INSERT INTO device (id, token_hash, prev_token_hash, prev_token_until, pubkey, enabled, deleted_at) VALUES"
           "('7','" + h + "',NULL,NULL,NULL,1,NULL),"
           "('8',NULL,'" + h + "',99,'" + std::string(64, 'b') + "',0,NULL),"
           "('9','" + h + "',NULL,NULL,NULL,1,12345),"
           "('010','" + h + "',NULL,NULL,NULL,1,NULL),"     // not a device id: skipped
           "('11','NOTHEX',NULL,NULL,NULL,1,NULL)");         // malformed hash: no token
  DbLoader loader(db.string());
  auto r = loader.poll(-1, false);
  ASSERT_EQ(r.status, DbLoader::Status::loaded);
  const DeviceTable& t = *r.table;
  EXPECT_EQ(t.devices.size(), 4u);
  EXPECT_EQ(t.bad_rows, 2u);
  EXPECT_TRUE(t.find("7")->token_hash && t.find("7")->usable());
  EXPECT_FALSE(t.find("8")->enabled);
  EXPECT_EQ(t.find("8")->prev_token_until, 99);
  EXPECT_TRUE(t.find("8")->pubkey);
  EXPECT_TRUE(t.find("9")->deleted);
  EXPECT_FALSE(t.find("11")->token_hash);
  EXPECT_EQ(loader.poll(1, false).status, DbLoader::Status::unchanged);
  EXPECT_EQ(loader.poll(1, true).status, DbLoader::Status::loaded);
  exec(db, "UPDATE device SET enabled=0 WHERE id='7'; UPDATE auth_state SET rev=2");
  r = loader.poll(1, false);
  ASSERT_EQ(r.status, DbLoader::Status::loaded);
  EXPECT_EQ(r.table->rev, 2);
  EXPECT_FALSE(r.table->find("7")->enabled);
}

TEST(DbLoader, MissingTablesAreAnErrorNotACrash) {
  TempDir dir("plugin-db");
  auto db = dir / "core.db";
  exec(db, "CREATE TABLE other (x)");
  DbLoader loader(db.string());
  auto r = loader.poll(-1, false);
  EXPECT_EQ(r.status, DbLoader::Status::error);
  EXPECT_FALSE(r.message.empty());
}
