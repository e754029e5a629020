// The auth cache file: the device table kept across broker restarts, hashes only, written atomically.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "cache.hpp"
#include "testsupport.hpp"

using namespace chargehub::auth;
using chargehub::testing::TempDir;
namespace ac = chargehub::auth_control;

TEST(Cache, RoundTripsRecordsRevsAndTombstones) {
  DeviceTable t;
  apply_snapshot(t, {5, {{"1", std::string(64, 'a'), std::string(64, 'c'), 1795500000, std::string(64, 'b'), true},
                         {"2", std::nullopt, std::nullopt, 0, std::nullopt, false}}});
  ac::SetDevice s;
  s.id = "3";
  s.token_hash = ac::Field<std::string>::set(std::string(64, 'd'));
  s.rev = 7;
  apply_set_device(t, s);
  apply_delete_device(t, {"4", 8});
  std::string error;
  auto back = parse_cache(cache_json(t), error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(back->rev, 5);
  EXPECT_EQ(back->devices, t.devices);
  EXPECT_EQ(back->find("3")->rev, 7);
  EXPECT_TRUE(back->find("4")->deleted);
}

TEST(Cache, HoldsNoSecretOnlyHashes) {
  DeviceTable t;
  apply_snapshot(t, {1, {{"1", std::string(64, 'a'), std::nullopt, 0, std::nullopt, true}}});
  std::string j = cache_json(t);
  EXPECT_NE(j.find(std::string(64, 'a')), std::string::npos);
  EXPECT_EQ(j.find("tok:"), std::string::npos);
}

TEST(Cache, CorruptOrForeignFilesAreRefused) {
  std::string error;
  for (std::string bad : std::vector<std::string>{"", "{", "[]", R"({"format":"other","rev":1,"devices":[],"deleted":[]})",
                                                  R"({"format":"chargehub-auth-cache/1","devices":[],"deleted":[]})",
                                                  R"({"format":"chargehub-auth-cache/1","rev":1,"devices":{},"deleted":[]})"}) {
    EXPECT_FALSE(parse_cache(bad, error)) << bad;
    EXPECT_FALSE(error.empty());
  }
}

TEST(Cache, WrittenAtomicallyWithMode0600) {
  TempDir dir("plugin-cache");
  std::string path = (dir / "auth.cache").string();
  DeviceTable t;
  apply_snapshot(t, {3, {{"1", std::string(64, 'a'), std::nullopt, 0, std::nullopt, true}}});
  std::string error;
  ASSERT_TRUE(write_file_atomically(path, cache_json(t), error)) << error;
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  DeviceTable back;
  ASSERT_TRUE(read_cache_file(path, back, error)) << error;
  EXPECT_EQ(back.devices, t.devices);
  EXPECT_FALSE(read_cache_file((dir / "missing").string(), back, error));
  EXPECT_FALSE(write_file_atomically((dir / "no-such-dir" / "x").string(), "x", error));
  EXPECT_FALSE(error.empty());
}
