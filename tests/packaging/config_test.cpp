// The configuration file of every program (common/config.*, docs/packages.md): every flag settable
// there, the command line wins, unknown keys refused, sections per command, UTF-8 values.
#include <gtest/gtest.h>

#include "chargehub/config.hpp"
#include "testsupport.hpp"

namespace {

using chargehub::testing::TempDir;
using chargehub::testing::write_file;

// A program shaped like ours: global flags, a `serve` command, a `migrate` command sharing --db,
// a nested `rollout create`, an option group, a repeatable option and a flag.
struct Prog {
  CLI::App app{"test program"};
  std::string level = "info", db = "default.db", broker = "tcp://x", name = "main", api;
  int workers = 1;
  bool quiet = false;
  std::vector<std::string> proxies;
  int firmware = 0;
  CLI::App *serve, *migrate, *rollout, *create;
  Prog() {
    app.add_option("--log-level", level);
    app.add_flag("--quiet,-q", quiet);
    serve = app.add_subcommand("serve");
    serve->add_option("--db", db);
    serve->add_option("--broker", broker);
    serve->add_option("--name", name);
    serve->add_option("--trusted-proxy", proxies);
    auto* g = serve->add_option_group("HTTP");
    g->add_option("--workers", workers)->check(CLI::Range(1, 64));
    migrate = app.add_subcommand("migrate");
    migrate->add_option("--db", db);
    rollout = app.add_subcommand("rollout");
    create = rollout->add_subcommand("create");
    create->add_option("--firmware", firmware)->required();
    create->add_option("--api", api);
    chargehub::config::add_config_option(app);
  }
  void parse(std::vector<std::string> args) {
    std::vector<const char*> argv{"prog"};
    for (auto& a : args) argv.push_back(a.c_str());
    app.parse(static_cast<int>(argv.size()), const_cast<char**>(argv.data()));
  }
};

TEST(ConfigFile, EveryKindOfFlagIsSetFromTheFile) {
  TempDir dir("config");
  write_file(dir / "p.toml",
             "# comment\nlog-level = \"debug\"\nq = true\ndb = \"/var/lib/chargehub/core.db\"\n"
             "[serve]\nbroker = \"tcp://127.0.0.1:1883\"\ntrusted-proxy = [\"10.0.0.1\", \"10.0.0.2\"]\nworkers = 8\n");
  Prog p;
  p.parse({"serve", "--config", (dir / "p.toml").string()});
  EXPECT_EQ(p.level, "debug");
  EXPECT_TRUE(p.quiet);
  EXPECT_EQ(p.db, "/var/lib/chargehub/core.db");
  EXPECT_EQ(p.broker, "tcp://127.0.0.1:1883");
  EXPECT_EQ(p.proxies, (std::vector<std::string>{"10.0.0.1", "10.0.0.2"}));
  EXPECT_EQ(p.workers, 8);   // an option inside an option group
}

TEST(ConfigFile, TheCommandLineWinsOverTheFile) {
  TempDir dir("config");
  write_file(dir / "p.toml", "log-level = \"debug\"\n[serve]\nbroker = \"tcp://file:1\"\ntrusted-proxy = [\"10.0.0.1\"]\n");
  Prog p;
  p.parse({"--config", (dir / "p.toml").string(), "--log-level", "warn", "serve", "--broker", "tcp://cli:2",
           "--trusted-proxy", "192.0.2.1"});
  EXPECT_EQ(p.level, "warn");
  EXPECT_EQ(p.broker, "tcp://cli:2");
  EXPECT_EQ(p.proxies, std::vector<std::string>{"192.0.2.1"});
}

TEST(ConfigFile, UnknownKeyIsRefusedWithItsName) {
  TempDir dir("config");
  write_file(dir / "p.toml", "[serve]\nbrokr = \"tcp://127.0.0.1:1883\"\n");
  Prog p;
  try {
    p.parse({"serve", "--config", (dir / "p.toml").string()});
    FAIL() << "an unknown key was accepted";
  } catch (const CLI::ConfigError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("unknown key \"brokr\" in [serve]"), std::string::npos) << m;
    EXPECT_NE(m.find("p.toml"), std::string::npos) << m;
  }
}

TEST(ConfigFile, UnknownTopLevelKeyAndUnknownSectionAreRefused) {
  TempDir dir("config");
  write_file(dir / "a.toml", "no-such-flag = 1\n");
  write_file(dir / "b.toml", "[serv]\ndb = \"x\"\n");
  write_file(dir / "c.toml", "config = \"/etc/other.toml\"\n");
  for (auto f : {"a.toml", "b.toml", "c.toml"}) {
    Prog p;
    EXPECT_THROW(p.parse({"serve", "--config", (dir / f).string()}), CLI::ConfigError) << f;
  }
}

TEST(ConfigFile, AKeyOfAnotherSectionIsCheckedButNotApplied) {
  TempDir dir("config");
  // `migrate` runs: [serve]'s db (the same variable) must not leak into it; a typo there still fails.
  write_file(dir / "ok.toml", "db = \"/shared.db\"\n[serve]\nname = \"edge\"\ndb = \"/serve-only.db\"\n");
  write_file(dir / "typo.toml", "[serve]\nnaem = \"edge\"\n");
  Prog p;
  p.parse({"migrate", "--config", (dir / "ok.toml").string()});
  EXPECT_EQ(p.db, "/shared.db");
  EXPECT_EQ(p.name, "main");
  Prog q;
  EXPECT_THROW(q.parse({"migrate", "--config", (dir / "typo.toml").string()}), CLI::ConfigError);
}

TEST(ConfigFile, TopLevelKeysReachNestedCommandsAndRequiredOptions) {
  TempDir dir("config");
  write_file(dir / "p.toml", "api = \"http://127.0.0.1:8080\"\n[rollout.create]\nfirmware = 7\n");
  Prog p;
  p.parse({"rollout", "create", "--config", (dir / "p.toml").string()});
  EXPECT_EQ(p.api, "http://127.0.0.1:8080");
  EXPECT_EQ(p.firmware, 7);   // a required option satisfied by the file
}

TEST(ConfigFile, Utf8ValuesArrivePristine) {
  TempDir dir("config");
  write_file(dir / "p.toml", "[serve]\nname = \"东门车棚 1号桩 — ü\"\ntrusted-proxy = [\"é\", \"车\"]\n");
  Prog p;
  p.parse({"serve", "--config", (dir / "p.toml").string()});
  EXPECT_EQ(p.name, "东门车棚 1号桩 — ü");
  EXPECT_EQ(p.proxies, (std::vector<std::string>{"é", "车"}));
}

TEST(ConfigFile, BadValueAndMissingFileAreErrors) {
  TempDir dir("config");
  write_file(dir / "p.toml", "[serve]\nworkers = 1000\n");   // outside the option's range
  Prog p;
  EXPECT_THROW(p.parse({"serve", "--config", (dir / "p.toml").string()}), CLI::ValidationError);
  Prog q;
  EXPECT_THROW(q.parse({"serve", "--config", (dir / "missing.toml").string()}), CLI::FileError);
}

}  // namespace
