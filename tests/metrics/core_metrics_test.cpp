// GET /metrics of the core and of the bridge after real activity through real processes (Mosquitto with
// our plugin, the core, the bridge, a simulated charger): the values moved as the activity says, the
// route label is the route's pattern, the endpoints are protected, and promtool accepts the text.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "scrape.hpp"
#include "stack.hpp"

using namespace chargehub::testing;
namespace json = boost::json;

namespace {
const std::string kDevice = "861234567890123";

std::string key_with_role(const Stack& s, const std::string& name, const std::string& role) {
  return run_capture(bin("chargehub-core").string() + " api-key --name " + name + " --role " + role + " --db '" + s.db_url() + "'");
}

// A raw TCP connection to 127.0.0.1:port (-1 on failure).
int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string http_exchange(int port, const std::string& request) {
  int fd = connect_to(port);
  if (fd < 0) return "";
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}
}  // namespace

TEST(CoreMetrics, AfterASettledSessionATopupAndHttpCallsTheValuesMovedAndPromtoolAcceptsBothScrapes) {
  TempDir dir{"metrics"};
  Stack stack{dir, {"--charger-time-scale", "36000"}};
  const std::string prometheus = key_with_role(stack, "prometheus", "service_metrics");
  const std::string ota = key_with_role(stack, "ota", "service_ota");

  // Protected: no credential, an unknown one, and one without system.metrics.
  EXPECT_EQ(scrape(stack.http_port(), "/api/v1/metrics").status, 401);
  EXPECT_EQ(scrape(stack.http_port(), "/api/v1/metrics", "not-a-key").status, 401);
  EXPECT_EQ(scrape(stack.http_port(), "/api/v1/metrics", ota).status, 403);
  // Prometheus's default path is the same route: protected alike, the same answer.
  EXPECT_EQ(scrape(stack.http_port(), "/metrics").status, 401);
  EXPECT_EQ(scrape(stack.http_port(), "/metrics", ota).status, 403);
  auto root = scrape(stack.http_port(), "/metrics", prometheus);
  EXPECT_EQ(root.status, 200);
  EXPECT_NE(root.body.find("# TYPE chargehub_sessions gauge"), std::string::npos) << root.body.substr(0, 400);
  // And the metrics key opens nothing else.
  EXPECT_EQ(stack.call("GET", "/devices", prometheus).status, 403);

  // Activity: a device, a rider with a top-up and a bonus, a charge started and stopped from the API.
  auto d = stack.api("POST", "/devices", json::object{{"id", kDevice}, {"name", "东门车棚"}, {"ports", 10}});
  ASSERT_EQ(d.status, 201);
  auto r = stack.api("POST", "/riders", json::object{{"name", "张三"}});
  int64_t rider = r.obj().at("id").as_int64();
  ASSERT_EQ(stack.api("POST", "/riders/" + std::to_string(rider) + "/topups", json::object{{"amount_fen", 1000}, {"bonus_fen", 100}}).status, 200);
  int bridge_metrics = free_port();
  stack.start_bridge({"--heartbeat-s", "60", "--metrics", "127.0.0.1:" + std::to_string(bridge_metrics)});
  stack.start_sim(kDevice, std::string(d.obj().at("token_hex").as_string()), {"--time-scale", "60", "--retry-ms", "500", "--seed", "3"});
  auto logs = [&] { return "\n--- core\n" + stack.core_log() + "\n--- bridge\n" + stack.bridge_log(); };
  ASSERT_TRUE(wait_until([&] { return stack.api("GET", "/devices/" + kDevice).obj().at("online").as_bool(); }, std::chrono::seconds(20)))
      << logs();
  auto s = stack.api("POST", "/sessions", json::object{{"device_id", kDevice}, {"port", 5}, {"rider_id", rider}, {"amount_fen", 800}});
  ASSERT_EQ(s.status, 201);
  int64_t id = s.obj().at("id").as_int64();
  auto session = [&] { return stack.api("GET", "/sessions/" + std::to_string(id)).obj(); };
  // At least 15 Wh (15 fen at the default 1.00 yuan/kWh) so that the charge is money.
  ASSERT_TRUE(wait_until([&] { return session().at("energy_wh").as_int64() >= 15; }, std::chrono::seconds(30))) << logs();
  // While it charges, the open sessions show it.
  auto during = scrape(stack.http_port(), "/api/v1/metrics", prometheus).body;
  EXPECT_EQ(value(during, R"(chargehub_sessions{state="charging"})"), 1);
  EXPECT_EQ(value(during, R"(chargehub_settlements_total{cause="stop_record"})"), 0);
  ASSERT_EQ(stack.api("POST", "/sessions/" + std::to_string(id) + "/stop").status, 202);
  ASSERT_TRUE(wait_until([&] { return session().at("state").as_string() == "settled"; }, std::chrono::seconds(30))) << logs();
  int64_t fen = session().at("amount_fen").as_int64();
  ASSERT_GT(fen, 0);
  EXPECT_EQ(stack.api("GET", "/no/such/route").status, 404);
  EXPECT_EQ(stack.api("GET", "/no/such/route").status, 404);

  auto m = scrape(stack.http_port(), "/api/v1/metrics", prometheus);
  ASSERT_EQ(m.status, 200) << m.body;
  EXPECT_EQ(m.content_type, "text/plain; version=0.0.4; charset=utf-8");
  const std::string& t = m.body;
  expect_valid(t, dir.path());
  expect_documented(t);

  // Money: the top-up and its bonus, and the charge of the settled session.
  EXPECT_EQ(value(t, R"(chargehub_payments_total{kind="topup"})"), 1);
  EXPECT_EQ(value(t, R"(chargehub_payments_fen_total{kind="topup"})"), 1000);
  EXPECT_EQ(value(t, R"(chargehub_payments_fen_total{kind="bonus"})"), 100);
  EXPECT_EQ(value(t, R"(chargehub_payments_total{kind="charge"})"), 1);
  EXPECT_EQ(value(t, R"(chargehub_payments_fen_total{kind="charge"})"), fen);
  // Sessions: settled once from the stop record; the database's count by state.
  EXPECT_EQ(value(t, R"(chargehub_settlements_total{cause="stop_record"})"), 1);
  EXPECT_EQ(value(t, R"(chargehub_settlement_errors_total{outcome="orphan"})"), 0);
  EXPECT_EQ(value(t, R"(chargehub_sessions{state="charging"})"), 0);   // open sessions only
  EXPECT_EQ(t.find(R"(chargehub_sessions{state="settled"})"), std::string::npos);
  EXPECT_EQ(value(t, R"(chargehub_devices{state="online"})"), 1);
  EXPECT_EQ(value(t, R"(chargehub_devices{state="offline"})"), 0);
  // Commands: START and STOP went out and came back.
  EXPECT_GE(value(t, R"(chargehub_command_round_trip_seconds_count{op="start"})"), 1);
  EXPECT_GE(value(t, R"(chargehub_command_round_trip_seconds_count{op="stop"})"), 1);
  EXPECT_GT(value(t, R"(chargehub_command_round_trip_seconds_sum{op="start"})"), 0);
  EXPECT_GE(value(t, R"(chargehub_command_outcomes_total{outcome="replied"})"), 2);
  EXPECT_GE(value(t, "chargehub_commands_published_total"), 2);
  // Ingest: messages by kind, the link's queue.
  EXPECT_GE(value(t, R"(chargehub_ingest_messages_total{kind="boot"})"), 1);
  EXPECT_GE(value(t, R"(chargehub_ingest_messages_total{kind="meter"})"), 1);
  EXPECT_GE(value(t, R"(chargehub_ingest_messages_total{kind="session_end"})"), 1);
  EXPECT_GE(value(t, R"(chargehub_ingest_messages_total{kind="reply"})"), 2);
  EXPECT_EQ(value(t, "chargehub_ingest_shed_total"), 0);
  EXPECT_GE(value(t, "chargehub_ingest_queue_depth"), 0);
  EXPECT_EQ(value(t, "chargehub_mqtt_connected"), 1);
  // HTTP: by the route's pattern, never the raw path; unknown paths as one label.
  EXPECT_EQ(value(t, R"(chargehub_http_requests_total{route="unmatched",method="GET",status="404"})"), 2);
  EXPECT_GE(value(t, R"(chargehub_http_requests_total{route="/api/v1/sessions/{id}",method="GET",status="200"})"), 2);
  EXPECT_EQ(value(t, R"(chargehub_http_requests_total{route="/api/v1/sessions",method="POST",status="201"})"), 1);
  // (/metrics counts as the route it is: one 403 and one 401 of these came through it)
  EXPECT_EQ(value(t, R"(chargehub_http_requests_total{route="/api/v1/metrics",method="GET",status="403"})"), 2);
  EXPECT_EQ(value(t, R"(chargehub_http_requests_total{route="/api/v1/metrics",method="GET",status="401"})"), 3);
  EXPECT_GE(value(t, R"(chargehub_http_request_seconds_count{route="/api/v1/sessions/{id}"})"), 2);
  EXPECT_EQ(t.find("/api/v1/sessions/" + std::to_string(id) + "\""), std::string::npos);
  EXPECT_EQ(t.find("/no/such"), std::string::npos);
  // Database time and the process.
  EXPECT_GT(value(t, R"(chargehub_db_statement_seconds_count{kind="insert"})"), 0);
  EXPECT_GT(value(t, R"(chargehub_db_statement_seconds_count{kind="select"})"), 0);
  EXPECT_GT(value(t, R"(chargehub_db_transaction_seconds_count{outcome="commit"})"), 0);
  EXPECT_GT(value(t, "process_resident_memory_bytes"), 1e6);
  EXPECT_GT(value(t, "process_open_fds"), 5);
  EXPECT_GT(value(t, R"(chargehub_http_server_events_total{event="accepted"})"), 10);

  // A later scrape sees the earlier one.
  auto m2 = scrape(stack.http_port(), "/api/v1/metrics", prometheus);
  EXPECT_EQ(value(m2.body, R"(chargehub_http_requests_total{route="/api/v1/metrics",method="GET",status="200"})"), 3);

  // The bridge, over its own socket: links, logins, frames by kind, the disk queue.
  auto b = scrape(bridge_metrics, "/metrics");
  ASSERT_EQ(b.status, 200);
  EXPECT_EQ(b.content_type, "text/plain; version=0.0.4; charset=utf-8");
  expect_valid(b.body, dir.path());
  expect_documented(b.body);
  EXPECT_EQ(value(b.body, "chargehub_bridge_links"), 1);
  EXPECT_EQ(value(b.body, "chargehub_bridge_chargers"), 1);
  EXPECT_GE(value(b.body, R"(chargehub_bridge_logins_total{result="ok"})"), 1);
  EXPECT_GE(value(b.body, R"(chargehub_bridge_frames_in_total{kind="login"})"), 1);
  EXPECT_GE(value(b.body, R"(chargehub_bridge_frames_in_total{kind="meter"})"), 1);
  EXPECT_GE(value(b.body, R"(chargehub_bridge_frames_in_total{kind="session_end"})"), 1);
  EXPECT_GE(value(b.body, R"(chargehub_bridge_frames_out_total{kind="start"})"), 1);
  EXPECT_EQ(value(b.body, "chargehub_bridge_bad_frames_total"), 0);
  EXPECT_EQ(value(b.body, "chargehub_bridge_disk_queue_records"), 0);
  EXPECT_EQ(value(b.body, "chargehub_bridge_disk_queue_bytes"), 0);
  EXPECT_GT(value(b.body, "process_resident_memory_bytes"), 1e6);
}

TEST(BridgeMetrics, TheServerAnswersOnlyGetMetricsAndASlowClientDoesNotBlockIt) {
  TempDir dir{"metrics-bridge"};
  Stack stack{dir};
  int port = free_port();
  stack.start_bridge({"--metrics", "127.0.0.1:" + std::to_string(port)});
  ASSERT_TRUE(wait_for_port(port));
  // A client that sends half a head and waits holds its connection, and blocks nobody.
  int slow = connect_to(port);
  ASSERT_GE(slow, 0);
  ::send(slow, "GET /metr", 9, MSG_NOSIGNAL);
  EXPECT_EQ(scrape(port, "/metrics").status, 200);
  EXPECT_EQ(scrape(port, "/other").status, 404);
  EXPECT_TRUE(http_exchange(port, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").starts_with("HTTP/1.1 405 "));
  EXPECT_TRUE(http_exchange(port, "garbage\r\n\r\n").starts_with("HTTP/1.1 400 "));
  EXPECT_TRUE(http_exchange(port, "GET /metrics HTTP/1.1\r\nX: " + std::string(10000, 'a') + "\r\n\r\n").starts_with("HTTP/1.1 431 "));
  // Many connections at once: the excess is closed, the bridge and later scrapes go on.
  std::vector<int> many;
  for (int i = 0; i < 60; ++i) many.push_back(connect_to(port));
  for (int fd : many)
    if (fd >= 0) ::close(fd);
  ::close(slow);
  EXPECT_TRUE(wait_until([&] { return scrape(port, "/metrics").status == 200; }, std::chrono::seconds(5)));
  // A bridge without --metrics serves nothing but chargers; a bad --metrics is refused at start.
  Process bad({bin("chargehub-bridge").string(), "--listen", "127.0.0.1:" + std::to_string(free_port()), "--metrics", "nonsense",
               "--queue-dir", (dir.path() / "q2").string()},
              dir.path() / "bad.log");
  EXPECT_EQ(bad.wait(), 2);
}

TEST(BridgeMetrics, WithSeveralWorkersTheSupervisorServesTheirSum) {
  TempDir dir{"metrics-workers"};
  Stack stack{dir};
  int port = free_port();
  stack.start_bridge({"--workers", "2", "--metrics", "127.0.0.1:" + std::to_string(port)});
  ASSERT_TRUE(wait_for_port(port));
  // Two links, whichever workers the kernel gives them to.
  int a = connect_to(stack.bridge_port()), b = connect_to(stack.bridge_port());
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  std::string text;
  EXPECT_TRUE(wait_until([&] {
    text = scrape(port, "/metrics").body;
    return chargehub::metrics::find_value(text, "chargehub_bridge_links") == 2.0;
  }, std::chrono::seconds(5))) << text;
  EXPECT_EQ(value(text, "chargehub_bridge_workers"), 2);
  EXPECT_GE(value(text, "chargehub_bridge_links_opened_total"), 2);
  expect_valid(text, dir.path());
  ::close(a);
  ::close(b);
}

class CoreMetricsDb : public ::testing::TestWithParam<Database> {};

TEST_P(CoreMetricsDb, DatabaseGaugesAndTimesOnEitherDatabase) {
  TempDir dir{"metrics-db"};
  Stack stack{dir, {}, {"all"}, GetParam()};
  const std::string prometheus = key_with_role(stack, "prometheus", "service_metrics");
  ASSERT_EQ(stack.api("POST", "/devices", json::object{{"id", kDevice}, {"ports", 10}}).status, 201);
  ASSERT_EQ(stack.api("POST", "/devices", json::object{{"id", "861234567890124"}, {"ports", 10}}).status, 201);
  ASSERT_EQ(stack.api("POST", "/devices/861234567890124/disable").status, 200);
  auto m = scrape(stack.http_port(), "/api/v1/metrics", prometheus);
  ASSERT_EQ(m.status, 200) << m.body;
  expect_valid(m.body, dir.path());
  EXPECT_EQ(value(m.body, R"(chargehub_devices{state="offline"})"), 1);
  EXPECT_EQ(value(m.body, R"(chargehub_devices{state="disabled"})"), 1);
  EXPECT_EQ(value(m.body, R"(chargehub_sessions{state="charging"})"), 0);
  EXPECT_GT(value(m.body, R"(chargehub_db_statement_seconds_count{kind="insert"})"), 0);
  EXPECT_GT(value(m.body, R"(chargehub_db_transaction_seconds_count{outcome="commit"})"), 0);
}

INSTANTIATE_TEST_SUITE_P(Db, CoreMetricsDb, ::testing::Values(Database::Sqlite, Database::Postgres),
                         [](const auto& i) { return database_name(i.param); });
