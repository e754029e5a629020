// The text format library (common/include/chargehub/metrics.hpp): exposition rules, escaping,
// histograms, cardinality bound, callbacks, thread safety, the strict checker and process metrics.
#include <gtest/gtest.h>

#include <cmath>
#include <ctime>
#include <thread>

#include "chargehub/metrics.hpp"

using namespace chargehub::metrics;

TEST(MetricsRegistry, CounterFamilyHasOneHelpAndTypeAndSortedSeries) {
  Registry reg;
  auto& f = reg.counter("chargehub_x_total", "Things done", {"kind"});
  f.with({"b"}).inc(2);
  f.with({"a"}).inc();
  f.with({"b"}).inc();
  EXPECT_EQ(reg.expose(),
            "# HELP chargehub_x_total Things done\n"
            "# TYPE chargehub_x_total counter\n"
            "chargehub_x_total{kind=\"a\"} 1\n"
            "chargehub_x_total{kind=\"b\"} 3\n");
}

TEST(MetricsRegistry, FamiliesAreSortedByNameAndUnlabelledSeriesHaveNoBraces) {
  Registry reg;
  reg.gauge("z_gauge", "Z").get().set(1.5);
  reg.counter("a_total", "A").get().inc(7);
  EXPECT_EQ(reg.expose(), "# HELP a_total A\n# TYPE a_total counter\na_total 7\n# HELP z_gauge Z\n# TYPE z_gauge gauge\nz_gauge 1.5\n");
}

TEST(MetricsRegistry, LabelValuesAreEscapedAndMadeUtf8) {
  Registry reg;
  reg.gauge("g", "help with \\ and\nnewline", {"v"}).with({"a\\b\"c\nd"}).set(1);
  reg.gauge("h", "H", {"v"}).with({std::string("ok\xff") + "东"}).set(2);
  auto text = reg.expose();
  EXPECT_NE(text.find("# HELP g help with \\\\ and\\nnewline\n"), std::string::npos) << text;
  EXPECT_NE(text.find("g{v=\"a\\\\b\\\"c\\nd\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("h{v=\"ok\xEF\xBF\xBD东\"} 2\n"), std::string::npos) << text;
  EXPECT_EQ(check_text(text), std::nullopt);
}

TEST(MetricsRegistry, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Registry reg;
  auto& h = reg.histogram("req_seconds", "Time", {"route"}, {0.1, 1, 10});
  auto& r = h.with({"/x"});
  for (double v : {0.05, 0.1, 0.5, 2.0, 20.0}) r.observe(v);
  EXPECT_EQ(reg.expose(),
            "# HELP req_seconds Time\n# TYPE req_seconds histogram\n"
            "req_seconds_bucket{route=\"/x\",le=\"0.1\"} 2\n"
            "req_seconds_bucket{route=\"/x\",le=\"1\"} 3\n"
            "req_seconds_bucket{route=\"/x\",le=\"10\"} 4\n"
            "req_seconds_bucket{route=\"/x\",le=\"+Inf\"} 5\n"
            "req_seconds_sum{route=\"/x\"} 22.65\n"
            "req_seconds_count{route=\"/x\"} 5\n");
  EXPECT_EQ(check_text(reg.expose()), std::nullopt);
}

TEST(MetricsRegistry, NamesAreCheckedWhenRegistered) {
  Registry reg;
  EXPECT_THROW(reg.counter("no_suffix", "x"), std::logic_error);       // counters end in _total
  EXPECT_THROW(reg.gauge("g_total", "x"), std::logic_error);           // only counters do
  EXPECT_THROW(reg.gauge("9bad", "x"), std::logic_error);
  EXPECT_THROW(reg.gauge("g", "x", {"__reserved"}), std::logic_error);
  EXPECT_THROW(reg.gauge("g", "x", {"a", "a"}), std::logic_error);
  EXPECT_THROW(reg.histogram("h", "x", {"le"}, {1}), std::logic_error);
  EXPECT_THROW(reg.histogram("h", "x", {}, {2, 1}), std::logic_error);
  reg.gauge("g", "x");
  EXPECT_THROW(reg.gauge("g", "again"), std::logic_error);
  reg.histogram("lat_seconds", "x", {}, {1});
  EXPECT_THROW(reg.gauge("lat_seconds_count", "clash"), std::logic_error);
  auto& f = reg.gauge("two", "x", {"a", "b"});
  EXPECT_THROW(f.with({"only one"}), std::logic_error);
}

TEST(MetricsRegistry, CardinalityIsBoundedByAnOtherSeries) {
  Registry reg;
  auto& f = reg.counter("c_total", "x", {"k"}, 3);
  for (int i = 0; i < 10; ++i) f.with({std::to_string(i)}).inc();
  auto text = reg.expose();
  EXPECT_EQ(find_value(text, "c_total{k=\"_other\"}"), 7.0) << text;
  EXPECT_EQ(find_value(text, "c_total{k=\"0\"}"), 1.0);
  EXPECT_EQ(find_value(text, "c_total{k=\"5\"}"), std::nullopt);
}

TEST(MetricsRegistry, CallbackFamiliesAreReadAtScrapeTimeWithoutRepeatsAndSkippedWhenTheyThrow) {
  Registry reg;
  double depth = 3;
  reg.gauge_fn("queue_depth", "Waiting", {"q"}, [&] { return Samples{{{"b"}, depth}, {{"a"}, 1}, {{"b"}, 99}}; });
  reg.counter_fn("broken_total", "Throws", {}, []() -> Samples { throw std::runtime_error("db down"); });
  reg.gauge_fn("wrong_labels", "Mismatched", {"x"}, [] { return Samples{{{}, 1}}; });
  depth = 8;
  auto text = reg.expose();
  EXPECT_EQ(find_value(text, "queue_depth{q=\"b\"}"), 8.0) << text;
  EXPECT_EQ(find_value(text, "queue_depth{q=\"a\"}"), 1.0);
  EXPECT_EQ(text.find("broken_total"), std::string::npos);
  EXPECT_EQ(text.find("wrong_labels"), std::string::npos);
  EXPECT_EQ(check_text(text), std::nullopt) << text;
}

TEST(MetricsRegistry, AppendedTextFollowsTheFamilies) {
  Registry reg;
  reg.gauge("a", "x").get().set(1);
  reg.append([] { return std::string("# HELP other_x y\n# TYPE other_x gauge\nother_x 2\n"); });
  auto text = reg.expose();
  EXPECT_TRUE(text.ends_with("other_x 2\n")) << text;
  EXPECT_EQ(check_text(text), std::nullopt);
}

TEST(MetricsRegistry, ConcurrentIncrementsAreAllCounted) {
  Registry reg;
  auto& c = reg.counter("n_total", "x", {"t"});
  auto& h = reg.histogram("d_seconds", "x", {}, {0.5}).get();
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      auto& mine = c.with({t % 2 ? "odd" : "even"});
      for (int i = 0; i < 100000; ++i) {
        mine.inc();
        h.observe(i % 2 ? 0.25 : 1.0);
      }
    });
  for (int i = 0; i < 20; ++i) EXPECT_EQ(check_text(reg.expose()), std::nullopt);   // scrapes while counting
  for (auto& t : ts) t.join();
  auto text = reg.expose();
  EXPECT_EQ(find_value(text, "n_total{t=\"odd\"}"), 200000.0);
  EXPECT_EQ(find_value(text, "d_seconds_count"), 400000.0);
  EXPECT_EQ(find_value(text, "d_seconds_bucket{le=\"0.5\"}"), 200000.0);
  EXPECT_EQ(find_value(text, "d_seconds_sum"), 200000 * 0.25 + 200000 * 1.0);
}

TEST(MetricsFormat, NumbersAreWrittenAsTheFormatReadsThem) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(42), "42");
  EXPECT_EQ(format_value(-3), "-3");
  EXPECT_EQ(format_value(0.005), "0.005");
  EXPECT_EQ(format_value(1e20), "1e+20");
  EXPECT_EQ(format_value(1.0 / 0.0), "+Inf");
  EXPECT_EQ(format_value(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
}

TEST(MetricsCheck, RefusesWhatScrapersRefuse) {
  EXPECT_EQ(check_text(""), std::nullopt);
  EXPECT_NE(check_text("a 1"), std::nullopt);                                           // no final newline
  EXPECT_NE(check_text("a{b=\"x} 1\n"), std::nullopt);                                  // unterminated
  EXPECT_NE(check_text("a{b=\"\\t\"} 1\n"), std::nullopt);                              // bad escape
  EXPECT_NE(check_text("a{b=\"1\",b=\"2\"} 1\n"), std::nullopt);                        // label twice
  EXPECT_NE(check_text("a 1\na 2\n"), std::nullopt);                                    // repeated series
  EXPECT_NE(check_text("a 1\nb 1\na{x=\"y\"} 1\n"), std::nullopt);                      // split family
  EXPECT_NE(check_text("# TYPE a gauge\n# TYPE a gauge\n"), std::nullopt);              // TYPE twice
  EXPECT_NE(check_text("a one\n"), std::nullopt);                                       // bad value
  EXPECT_NE(check_text("# TYPE c_total counter\nc_total -1\n"), std::nullopt);          // negative counter
  EXPECT_NE(check_text("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n"), std::nullopt);
  EXPECT_NE(check_text("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_count 2\n"), std::nullopt);   // no +Inf
  EXPECT_NE(check_text("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 3\n"), std::nullopt);
  EXPECT_NE(check_text("x_y 1\n", "chargehub_plugin_"), std::nullopt);
  EXPECT_EQ(check_text("# a comment\nchargehub_plugin_a{k=\"v\",} 1 1700000000000\n", "chargehub_plugin_"), std::nullopt);
}

TEST(MetricsProcess, ProcessMetricsAreRead) {
  Registry reg;
  add_process_metrics(reg);
  auto text = reg.expose();
  EXPECT_EQ(check_text(text), std::nullopt) << text;
  EXPECT_GT(find_value(text, "process_resident_memory_bytes").value_or(0), 100000.0);
  EXPECT_GT(find_value(text, "process_open_fds").value_or(0), 2.0);
  auto start = find_value(text, "process_start_time_seconds").value_or(0);
  EXPECT_GT(start, 1.7e9);
  EXPECT_LT(start, static_cast<double>(time(nullptr)) + 1);
  EXPECT_GE(find_value(text, "process_cpu_seconds_total").value_or(-1), 0.0);
}
