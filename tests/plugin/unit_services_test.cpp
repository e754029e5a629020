#include <gtest/gtest.h>

#include "services.hpp"

using namespace chargehub::auth;

TEST(ServicesFile, ParsesLinesCommentsAndBlanks) {
  auto a = make_service_account("core", Role::core, "s1");
  auto b = make_service_account("bridge-x", Role::bridge, "s2");
  std::string text = "# comment\n\n" + format_service_line(a) + "\r\n   \n" + format_service_line(b);
  auto p = parse_services(text);
  EXPECT_TRUE(p.errors.empty());
  ASSERT_EQ(p.table.accounts.size(), 2u);
  EXPECT_EQ(p.table.find("core")->role, Role::core);
  EXPECT_TRUE(verify_service_secret(*p.table.find("core"), "s1"));
  EXPECT_FALSE(verify_service_secret(*p.table.find("core"), "s2"));
  EXPECT_TRUE(verify_service_secret(*p.table.find("bridge-x"), "s2"));
}

TEST(ServicesFile, HashIsSha256OfSaltThenSecret) {
  // salt 0001020304050607, secret "abc": SHA-256(00..07 || "abc") computed independently with
  // python3 -c 'import hashlib;print(hashlib.sha256(bytes(range(8))+b"abc").hexdigest())'
  auto p = parse_services(
      "core core sha256$0001020304050607$c2df5ec72ddd8af38976e86b32390f15224a3a9928f0079e3038b1b0b8b8fafa\n");
  ASSERT_EQ(p.table.accounts.size(), 1u);
  EXPECT_TRUE(verify_service_secret(*p.table.find("core"), "abc"));
  EXPECT_FALSE(verify_service_secret(*p.table.find("core"), "abd"));
}

TEST(ServicesFile, SkipsBadLinesWithReasons) {
  auto good = format_service_line(make_service_account("core", Role::core, "s"));
  std::string text = "core\n"                                  // too few fields
                     "x admin sha256$0011223344556677$" + std::string(64, 'a') + "\n"  // bad role
                     "bridgeless bridge sha256$0011223344556677$" + std::string(64, 'a') + "\n"  // bridge name
                     "12345 core sha256$0011223344556677$" + std::string(64, 'a') + "\n"  // digits = device id
                     "m monitor md5$00$00\n"
                     "m monitor sha256$00$" + std::string(64, 'a') + "\n"  // salt too short
                     "m monitor sha256$0011223344556677$ABCD\n" +
                     good + "\n" + good + "\n";  // duplicate
  auto p = parse_services(text);
  EXPECT_EQ(p.errors.size(), 8u);
  EXPECT_EQ(p.table.accounts.size(), 1u);
}

TEST(ServicesFile, UsernameRules) {
  EXPECT_TRUE(valid_service_username("core", Role::core));
  EXPECT_TRUE(valid_service_username("bridge-site1", Role::bridge));
  EXPECT_FALSE(valid_service_username("site1", Role::bridge));
  EXPECT_FALSE(valid_service_username("bridge-", Role::bridge));
  EXPECT_FALSE(valid_service_username("861234567890123", Role::core));
  EXPECT_FALSE(valid_service_username("a b", Role::core));
  EXPECT_FALSE(valid_service_username("a/b", Role::core));
  EXPECT_FALSE(valid_service_username("", Role::core));
  EXPECT_FALSE(valid_service_username(std::string(65, 'a'), Role::core));
}
