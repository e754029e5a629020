// http::Server (admin-api/src/http/server.hpp) against real loopback sockets: one rule per test, each
// with its own server on a free port and deadlines shrunk so the whole file runs in a few seconds.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <thread>

#include "raw_client.hpp"
#include "server.hpp"

namespace chargehub::http {
namespace {

using namespace std::chrono_literals;
using chargehub::testing::RawClient;
namespace json = boost::json;

// The handler every test serves: echoes what the server made of the request.
//   /slow?ms=N  sleeps N ms first (fills the pool);  /throw  throws;  /upload  accepts chunked bodies.
struct Fixture {
  std::atomic<int> slow_started{0};
  std::unique_ptr<Server> server;

  explicit Fixture(Settings s = {}) {
    s.host = "127.0.0.1";
    s.port = 0;
    server = std::make_unique<Server>(
        s,
        [this](Request& r) {
          if (r.path == "/throw") throw std::runtime_error("secret table users_pwd");
          if (r.path == "/slow") {
            ++slow_started;
            std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(r.param("ms").value_or("300"))));
          }
          json::array query;
          for (auto& [k, v] : r.query) query.push_back(json::array{json::string(k), json::string(v)});
          Response res;
          res.body = json::serialize(json::object{{"method", r.method},
                                                  {"path", r.path},
                                                  {"target", r.target},
                                                  {"query", query},
                                                  {"body_length", r.body.size()},
                                                  {"remote", r.remote},
                                                  {"x_test", r.header("x-test")}});
          return res;
        },
        [](std::string_view method, std::string_view path) -> std::optional<BodyPolicy> {
          if (path == "/upload") return BodyPolicy{1024, true};
          if (path == "/big") return BodyPolicy{64 * 1024, false};
          return std::nullopt;
        });
    server->start();
  }
  uint16_t port() const { return server->port(); }
  const ServerStats& stats() const { return server->stats(); }
};

Settings small() {
  Settings s;
  s.workers = 2;
  s.io_threads = 1;
  s.default_body.max_body = 1024;
  s.max_headers = 16;
  s.max_head_bytes = 2048;
  s.head_deadline = 1000ms;
  s.idle_timeout = 500ms;
  s.body_deadline = 1000ms;
  return s;
}

// A counter the server bumps just after it closed the socket the client watched: wait for it a little.
template <typename T>
T settled(const std::atomic<T>& counter, T expected) {
  for (int i = 0; i < 100 && counter.load() != expected; ++i) std::this_thread::sleep_for(5ms);
  return counter.load();
}

json::object body_of(const chargehub::testing::RawResponse& r) { return json::parse(r.body).as_object(); }

std::string get(std::string_view target, std::string_view extra = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: t\r\n" + std::string(extra) + "\r\n";
}

TEST(HttpServer, KeepAliveServesSeveralRequestsOnOneConnection) {
  Fixture f(small());
  RawClient c(f.port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send(get("/a", "X-Test: " + std::to_string(i) + "\r\n")));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(body_of(*r)["x_test"].as_string(), std::to_string(i));
    EXPECT_EQ(r->header("content-type"), "application/json; charset=utf-8");
  }
  ASSERT_TRUE(c.send(get("/a", "Connection: close\r\n")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_TRUE(c.wait_closed(1s));
  EXPECT_EQ(f.stats().accepted, 1u);
  EXPECT_EQ(f.stats().requests, 4u);
}

TEST(HttpServer, PipelinedRequestsAreAnsweredInOrder) {
  Fixture f(small());
  RawClient c(f.port());
  ASSERT_TRUE(c.send(get("/one") + get("/two")));
  auto a = c.read_response(), b = c.read_response();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(body_of(*a)["path"].as_string(), "/one");
  EXPECT_EQ(body_of(*b)["path"].as_string(), "/two");
}

TEST(HttpServer, MaxRequestsPerConnectionClosesAfterTheLast) {
  auto s = small();
  s.max_requests_per_connection = 2;
  Fixture f(s);
  RawClient c(f.port());
  ASSERT_TRUE(c.send(get("/a")));
  auto r1 = c.read_response();
  ASSERT_TRUE(r1);
  EXPECT_NE(r1->header("connection"), "close");
  ASSERT_TRUE(c.send(get("/a")));
  auto r2 = c.read_response();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->header("connection"), "close");
  EXPECT_TRUE(c.wait_closed(1s));
}

TEST(HttpServer, PathAndQueryArePercentDecodedIncludingChineseUtf8) {
  Fixture f(small());
  RawClient c(f.port());
  ASSERT_TRUE(c.send(get("/api/v1/riders/%E5%BC%A0%E4%B8%89/a+b?name=%E4%B8%AD&q=x+y%2Bz&flag&&empty=")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  auto b = body_of(*r);
  EXPECT_EQ(b["path"].as_string(), "/api/v1/riders/张三/a+b");   // '+' is a space only in a query
  EXPECT_EQ(b["target"].as_string(), "/api/v1/riders/%E5%BC%A0%E4%B8%89/a+b?name=%E4%B8%AD&q=x+y%2Bz&flag&&empty=");
  EXPECT_EQ(json::serialize(b["query"]), R"([["name","中"],["q","x y+z"],["flag",""],["empty",""]])");
}

TEST(HttpServer, BadEncodingsAndNulAre400) {
  Fixture f(small());
  for (const char* target : {"/a%00b", "/a%G1", "/a%4", "/ok?x=%ZZ", "/ok?x=%00", "no-slash"}) {
    RawClient c(f.port());
    ASSERT_TRUE(c.send(get(target)));
    auto r = c.read_response();
    ASSERT_TRUE(r) << target;
    EXPECT_EQ(r->status, 400) << target;
    EXPECT_EQ(body_of(*r)["error"].as_string(), "bad_request") << target;
  }
}

TEST(HttpServer, MalformedRequestIs400AndClosed) {
  Fixture f(small());
  RawClient c(f.port());
  ASSERT_TRUE(c.send("HELLO THERE\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(c.wait_closed(2s));
  EXPECT_EQ(f.stats().bad_requests, 1u);
}

TEST(HttpServer, TooManyHeaderFieldsIs431) {
  Fixture f(small());   // max_headers 16
  RawClient c(f.port());
  std::string extra;
  for (int i = 0; i < 20; ++i) extra += "X-H" + std::to_string(i) + ": v\r\n";
  ASSERT_TRUE(c.send(get("/a", extra)));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_EQ(body_of(*r)["error"].as_string(), "header_too_large");
  EXPECT_TRUE(c.wait_closed(2s));
}

TEST(HttpServer, HugeHeadIs431WithoutReadingItAll) {
  Fixture f(small());   // max_head_bytes 2048
  RawClient c(f.port());
  c.send(get("/a", "X-Big: " + std::string(100 * 1024, 'x') + "\r\n"));   // may fail half way: we close
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_EQ(f.stats().too_large, 1u);
}

TEST(HttpServer, ContentLengthAboveTheLimitIs413BeforeTheBody) {
  Fixture f(small());   // default body 1024
  RawClient c(f.port());
  ASSERT_TRUE(c.send("POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n"));
  auto r = c.read_response(2s);   // answered without waiting for a single body byte
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(body_of(*r)["error"].as_string(), "body_too_large");
  EXPECT_EQ(r->header("connection"), "close");
}

TEST(HttpServer, BodyWithinTheLimitReachesTheHandler) {
  Fixture f(small());
  RawClient c(f.port());
  ASSERT_TRUE(c.send("POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 1024\r\n\r\n" + std::string(1024, 'b')));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(body_of(*r)["body_length"].as_int64(), 1024);
}

TEST(HttpServer, ExpectContinueGets100ThenTheAnswer) {
  Fixture f(small());
  RawClient c(f.port());
  ASSERT_TRUE(c.send("POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(c.send("hello"));
  auto r = c.read_response();   // skips the 100
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(body_of(*r)["body_length"].as_int64(), 5);
}

std::string chunk(size_t n) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", n);
  return size + std::string(n, 'c') + "\r\n";
}

TEST(HttpServer, ChunkedBodyWhereNotAllowedIs411AndClosed) {
  Fixture f(small());
  RawClient c(f.port());
  ASSERT_TRUE(c.send("POST /a HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk(10)));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 411);
  EXPECT_TRUE(c.wait_closed(2s));
}

TEST(HttpServer, ChunkedBodyIsAcceptedWhereTheRouteAllowsIt) {
  Fixture f(small());
  RawClient c(f.port());
  ASSERT_TRUE(c.send("POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk(300) +
                     chunk(300) + "0\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(body_of(*r)["body_length"].as_int64(), 600);
}

TEST(HttpServer, ChunkedBodyGrowingPastTheRouteLimitIs413) {
  Fixture f(small());   // /upload: 1024, chunked
  RawClient c(f.port());
  ASSERT_TRUE(c.send("POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"));
  bool refused = false;
  std::optional<chargehub::testing::RawResponse> r;
  for (int i = 0; i < 100 && !refused; ++i) {   // a never-ending body, 512 bytes at a time
    if (!c.send(chunk(512))) break;
    r = c.read_response(20ms);
    refused = r.has_value();
  }
  if (!r) r = c.read_response(1s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(f.stats().too_large, 1u);
}

TEST(HttpServer, TricklingCannotExtendTheHeadDeadline) {
  Fixture f(small());   // head_deadline 1 s
  RawClient c(f.port());
  std::string head = get("/a", "X-Pad: " + std::string(200, 'p') + "\r\n");
  auto start = std::chrono::steady_clock::now();
  std::optional<std::chrono::milliseconds> closed_after;
  for (char ch : head) {   // one byte every 200 ms: each read is fast, the head never completes in time
    if (!c.send(std::string_view(&ch, 1))) break;
    if (auto closed = c.wait_closed(200ms)) {
      closed_after = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
      break;
    }
  }
  if (!closed_after && c.wait_closed(2s))
    closed_after = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  ASSERT_TRUE(closed_after);
  EXPECT_GE(closed_after->count(), 900);
  EXPECT_LE(closed_after->count(), 1500);
  EXPECT_EQ(settled(f.stats().head_timeouts, uint64_t{1}), 1u);
}

TEST(HttpServer, ConnectionThatSendsNothingIsClosedAtTheHeadDeadline) {
  Fixture f(small());
  RawClient c(f.port());
  auto closed = c.wait_closed(3s);
  ASSERT_TRUE(closed);
  EXPECT_GE(closed->count(), 900);
  EXPECT_LE(closed->count(), 1500);
  EXPECT_EQ(settled(f.stats().idle_closed, uint64_t{1}), 1u);
}

TEST(HttpServer, IdleKeepAliveConnectionIsClosedAfterIdleTimeout) {
  Fixture f(small());   // idle 500 ms, head 1 s
  RawClient c(f.port());
  ASSERT_TRUE(c.send(get("/a")));
  ASSERT_TRUE(c.read_response());
  auto closed = c.wait_closed(3s);
  ASSERT_TRUE(closed);
  EXPECT_GE(closed->count(), 400);
  EXPECT_LE(closed->count(), 900);
  EXPECT_EQ(settled(f.stats().idle_closed, uint64_t{1}), 1u);
}

TEST(HttpServer, SlowBodyIsCutAtTheBodyDeadline) {
  Fixture f(small());   // body 1 s
  RawClient c(f.port());
  ASSERT_TRUE(c.send("POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n"));
  auto start = std::chrono::steady_clock::now();
  bool closed = false;
  for (int i = 0; i < 20 && !closed; ++i) {
    c.send("x");
    closed = c.wait_closed(150ms).has_value();
  }
  ASSERT_TRUE(closed);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  EXPECT_LE(took.count(), 1500);
  EXPECT_EQ(settled(f.stats().body_timeouts, uint64_t{1}), 1u);
}

TEST(HttpServer, FullQueueIsShedWith503AndRetryAfter) {
  auto s = small();
  s.workers = 1;
  s.max_queue = 1;
  s.idle_timeout = 5s;   // the shed connection waits for the slow ones before its next request
  Fixture f(s);
  RawClient busy(f.port()), waiting(f.port()), shed(f.port());
  ASSERT_TRUE(busy.send(get("/slow?ms=600")));
  for (int i = 0; i < 200 && f.slow_started == 0; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(waiting.send(get("/slow?ms=10")));
  for (int i = 0; i < 200 && f.stats().queued == 0; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(f.stats().queued, 1);
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(shed.send(get("/a")));
  auto r = shed.read_response();
  ASSERT_TRUE(r);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 200ms);   // at once, not after the slow one
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->header("retry-after"), "1");
  EXPECT_EQ(body_of(*r)["error"].as_string(), "overloaded");
  EXPECT_EQ(f.stats().shed, 1u);
  auto b = busy.read_response(), w = waiting.read_response();
  ASSERT_TRUE(b && w);
  EXPECT_EQ(b->status, 200);
  EXPECT_EQ(w->status, 200);
  ASSERT_TRUE(shed.send(get("/a")));   // the shed connection stays usable
  auto again = shed.read_response();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

TEST(HttpServer, BodiesBeyondTheServersBodyBudgetAre503) {
  auto s = small();
  s.max_body_bytes_in_flight = 16000;
  Fixture f(s);
  std::string head = "POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: 10000\r\n\r\n";
  RawClient a(f.port()), b(f.port());
  ASSERT_TRUE(a.send(head + std::string(6000, 'a')));   // held by the server, within the budget
  for (int i = 0; i < 200 && f.stats().body_bytes < 6000; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(b.send(head + std::string(11000, 'b')));   // the two together exceed it
  auto r = b.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->header("retry-after"), "1");
  EXPECT_EQ(body_of(*r)["error"].as_string(), "overloaded");
  EXPECT_EQ(f.stats().body_budget_shed, 1u);
  ASSERT_TRUE(a.send(std::string(4000, 'a')));
  auto ok = a.read_response();
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(body_of(*ok)["body_length"].as_int64(), 10000);
  EXPECT_EQ(settled(f.stats().body_bytes, int64_t{0}), 0);   // answered: the budget is whole again
}

TEST(HttpServer, HandlerExceptionIs500WithoutItsText) {
  Fixture f(small());
  RawClient c(f.port());
  ASSERT_TRUE(c.send(get("/throw")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body, R"({"error":"internal","message":"internal error"})");
  EXPECT_EQ(r->body.find("secret"), std::string::npos);
  EXPECT_EQ(f.stats().handler_errors, 1u);
  ASSERT_TRUE(c.send(get("/a")));   // the connection survives
  EXPECT_TRUE(c.read_response());
}

TEST(HttpServer, HeadGetsTheLengthWithoutABody) {
  Fixture f(small());
  RawClient c(f.port());
  c.expect_head_response(true);
  ASSERT_TRUE(c.send("HEAD /a HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_GT(std::stoi(r->header("content-length")), 0);
  c.expect_head_response(false);
  ASSERT_TRUE(c.send(get("/a")));   // no stray body bytes before the next response
  auto next = c.read_response();
  ASSERT_TRUE(next);
  EXPECT_EQ(body_of(*next)["method"].as_string(), "GET");
}

TEST(HttpServer, ConnectionsPerAddressAreLimited) {
  auto s = small();
  s.max_connections_per_address = 2;
  Fixture f(s);
  RawClient a(f.port()), b(f.port()), c(f.port());
  auto closed = c.wait_closed(1s);
  ASSERT_TRUE(closed);
  EXPECT_LT(closed->count(), 500);
  EXPECT_EQ(f.stats().refused_connections, 1u);
  ASSERT_TRUE(a.send(get("/a")));
  EXPECT_TRUE(a.read_response());
  RawClient other(f.port(), "127.0.0.2");   // another address has its own allowance
  ASSERT_TRUE(other.send(get("/a")));
  auto r = other.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(body_of(*r)["remote"].as_string(), "127.0.0.2");
}

TEST(HttpServer, TotalConnectionsAreLimited) {
  auto s = small();
  s.max_connections = 2;
  Fixture f(s);
  RawClient a(f.port()), b(f.port(), "127.0.0.3"), c(f.port(), "127.0.0.4");
  EXPECT_TRUE(c.wait_closed(1s));
  EXPECT_EQ(f.stats().refused_connections, 1u);
}

TEST(HttpServer, StopClosesOpenConnectionsAndReturnsPromptly) {
  auto s = small();
  s.idle_timeout = 10s;
  s.head_deadline = 10s;
  Fixture f(s);
  RawClient idle(f.port()), kept(f.port()), slow(f.port());
  ASSERT_TRUE(kept.send(get("/a")));
  ASSERT_TRUE(kept.read_response());
  ASSERT_TRUE(slow.send(get("/slow?ms=300")));
  for (int i = 0; i < 200 && f.slow_started == 0; ++i) std::this_thread::sleep_for(5ms);
  auto start = std::chrono::steady_clock::now();
  f.server->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
  EXPECT_TRUE(idle.wait_closed(1s));
  EXPECT_TRUE(kept.wait_closed(1s));
  EXPECT_TRUE(slow.wait_closed(1s));
  EXPECT_EQ(settled(f.stats().open_connections, int64_t{0}), 0);
  f.server->stop();   // twice is harmless
}

TEST(HttpServer, StartThrowsWhenThePortIsTaken) {
  Fixture f(small());
  Settings s = small();
  s.port = f.port();
  Server second(s, [](Request&) { return Response{}; });
  EXPECT_THROW(second.start(), std::runtime_error);
}

}  // namespace
}  // namespace chargehub::http
