// The HTTP/1.1 server under the admin API (Boost.Beast on asio): it owns sockets, parsing, limits and
// deadlines, and hands each complete request to one handler on a bounded pool of worker threads.
// It knows nothing of routes, JSON or accounts (admin-api/src/kernel/ does).
//
// Built to face hostile clients (issue 19): the whole request head must arrive within a deadline that
// a trickle of bytes cannot extend; heads are limited in bytes and header count; bodies are limited per
// route (BodyPolicy) and chunked bodies are refused except where a route allows them; idle keep-alive
// connections are closed after a short timeout; connections are limited in total and per address; when
// the workers' queue is full a request is answered 503 at once instead of waiting. Waiting connections
// cost a socket and a few KiB, never a thread.
//
//   http::Server srv(settings, [&](http::Request& r) { return kernel.handle(r); },
//                    [](std::string_view method, std::string_view path) -> std::optional<http::BodyPolicy> {...});
//   srv.start();   // binds (throws std::runtime_error if it cannot), returns at once
//   ...
//   srv.stop();
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chargehub::http {

struct Request {
  std::string method;   // upper case as sent: GET, POST, PUT, PATCH, DELETE, ...
  std::string target;   // as sent: /api/v1/devices?page=2
  std::string path;     // percent-decoded path without the query: /api/v1/devices
  std::vector<std::pair<std::string, std::string>> query;     // decoded, in order
  std::vector<std::pair<std::string, std::string>> headers;   // names lower-cased, in order
  std::string body;
  std::string remote;   // the peer's IP address as text (127.0.0.1, ::1)

  // The first header with this lower-case name, or "".
  std::string header(std::string_view lower_name) const;
  // The first query parameter with this name.
  std::optional<std::string> param(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;   // extra headers (Retry-After, Cache-Control, ...)
  std::string body;
};

// What a route accepts as a body, decided from the request head before any body byte is read.
struct BodyPolicy {
  size_t max_body = 64 * 1024;   // Content-Length above this, or a body growing past it: 413
  bool allow_chunked = false;    // a chunked body where not allowed: 411 (the connection is closed)
};

struct Settings {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;                        // 0: any free port (see Server::port())
  int io_threads = 2;                          // socket I/O and parsing
  int workers = 16;                            // threads running the handler
  size_t max_queue = 512;                      // requests waiting for a worker; beyond: 503 + Retry-After: 1
  size_t max_connections = 10000;              // open connections; beyond: accepted and closed at once
  size_t max_connections_per_address = 1000;   // per peer address; beyond: closed at once
  size_t max_head_bytes = 16 * 1024;           // request line + headers; beyond: 431
  size_t max_headers = 64;                     // header fields; beyond: 431
  std::chrono::milliseconds head_deadline{5000};    // the whole head, from the first byte (or from accept)
  std::chrono::milliseconds body_deadline{30000};   // the whole body, from the end of the head
  std::chrono::milliseconds idle_timeout{5000};     // keep-alive: waiting for the next request's first byte
  std::chrono::milliseconds write_deadline{30000};  // sending one response
  size_t max_requests_per_connection = 1000;
  BodyPolicy default_body;                     // routes the policy callback does not name
  // Request bodies held at once over all connections (bytes received, until their answer is sent);
  // beyond: 503 + Retry-After: 1 and the connection is closed. Bounds memory under a body flood:
  // without it, a thousand connections each sending 8 MiB minus one byte to the firmware route would
  // hold 8 GB.
  size_t max_body_bytes_in_flight = 32 * 1024 * 1024;
};

// Counters since start (all monotonic except the gauges).
struct ServerStats {
  std::atomic<uint64_t> accepted{0}, requests{0}, refused_connections{0}, shed{0}, head_timeouts{0},
      body_timeouts{0}, idle_closed{0}, too_large{0}, bad_requests{0}, handler_errors{0};
  std::atomic<int64_t> open_connections{0}, queued{0};   // gauges
  // Added with the body budget: requests refused 503 because the budget was spent, and its gauge.
  std::atomic<uint64_t> body_budget_shed{0};
  std::atomic<int64_t> body_bytes{0};
};

class Server {
 public:
  using Handler = std::function<Response(Request&)>;   // may throw: answered 500 {"error":"internal"}
  using Policy = std::function<std::optional<BodyPolicy>(std::string_view method, std::string_view path)>;

  Server(Settings settings, Handler handler, Policy policy = {});
  ~Server();   // stops
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void start();
  void stop();   // closes the listener and every connection, joins the threads
  uint16_t port() const;
  const ServerStats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chargehub::http
