// Helpers of the metrics tests: scraping over HTTP, promtool, and reading values.
#pragma once
#include <gtest/gtest.h>

#include <httplib.h>

#include <cstdlib>
#include <string>

#include "chargehub/metrics.hpp"
#include "testsupport.hpp"

namespace chargehub::testing {

struct Scrape {
  int status = 0;
  std::string content_type;
  std::string body;
};

inline Scrape scrape(int port, const std::string& path, const std::string& bearer = "") {
  httplib::Client cli("127.0.0.1", port);
  cli.set_connection_timeout(5);
  cli.set_read_timeout(10);
  httplib::Headers h;
  if (!bearer.empty()) h.emplace("Authorization", "Bearer " + bearer);
  auto r = cli.Get(path.c_str(), h);
  Scrape out;
  if (!r) return out;
  out.status = r->status;
  out.content_type = r->get_header_value("Content-Type");
  out.body = r->body;
  return out;
}

// Runs a promtool command (Debian 12's `prometheus` package) in dir, which it leaves as it was; its
// output, or the failure.
inline ::testing::AssertionResult promtool(const std::string& args, const fs::path& dir, const std::string& stdin_text = "") {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0)
    return ::testing::AssertionFailure() << "promtool is not installed (apt-get install prometheus; scripts/install-deps.sh)";
  TempDir io{"promtool"};
  auto in = io.path() / "in", out = io.path() / "out";
  write_file(in, stdin_text);
  std::string cmd = "cd '" + dir.string() + "' && promtool " + args + " < '" + in.string() + "' > '" + out.string() + "' 2>&1";
  int rc = std::system(cmd.c_str());
  if (rc != 0) return ::testing::AssertionFailure() << "promtool " << args << " failed:\n" << read_file(out);
  return ::testing::AssertionSuccess() << read_file(out);
}

// A scrape is what Prometheus accepts: our strict reader and `promtool check metrics` (which also lints
// names, units and HELP).
inline void expect_valid(const std::string& text, const fs::path& dir) {
  EXPECT_EQ(metrics::check_text(text), std::nullopt);
  EXPECT_TRUE(promtool("check metrics", dir, text));
}

// Every family of a scrape is in docs/metrics.md (as `name`).
inline void expect_documented(const std::string& text) {
  const std::string docs = read_file(source("docs/metrics.md"));
  size_t pos = 0;
  int n = 0;
  while ((pos = text.find("# TYPE ", pos)) != std::string::npos) {
    pos += 7;
    std::string name = text.substr(pos, text.find(' ', pos) - pos);
    ++n;
    EXPECT_NE(docs.find("`" + name + "`"), std::string::npos) << name << " is not in docs/metrics.md";
  }
  EXPECT_GT(n, 5);
}

inline double value(const std::string& text, const std::string& series) {
  auto v = metrics::find_value(text, series);
  EXPECT_TRUE(v.has_value()) << "no series " << series;
  return v.value_or(-1);
}

}  // namespace chargehub::testing
