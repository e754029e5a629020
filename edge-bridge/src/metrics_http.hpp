// The bridge's GET /metrics (--metrics HOST:PORT): a tiny plain-HTTP server on the bridge's own
// io_context, for Prometheus on a trusted network (docs/metrics.md). One request per connection: the
// head must arrive whole within 5 s and 8 KiB; GET /metrics is answered 200 with the text format,
// another path 404, another method 405, anything malformed 400; then the connection is closed. At most
// 32 connections at once (more are closed at once), so a slow or hostile client costs a socket and a
// timer, never the bridge's own work. Rendering sums the counters in memory: microseconds.
#pragma once
#include <asio.hpp>
#include <functional>
#include <memory>
#include <string>

namespace chargehub::bridge {

class MetricsHttp {
 public:
  MetricsHttp(asio::io_context& io, std::string host, uint16_t port, std::function<std::string()> render);
  void start();   // binds (throws std::runtime_error naming the address if it cannot) and accepts
  void stop();
  uint16_t port() const;

  static constexpr size_t kMaxHead = 8192;
  static constexpr int kMaxConnections = 32;
  static constexpr int kDeadlineMs = 5000;

 private:
  struct Conn;
  void accept();
  asio::io_context& io_;
  std::string host_;
  uint16_t port_;
  std::function<std::string()> render_;
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer retry_;
  std::shared_ptr<int> open_ = std::make_shared<int>(0);
  bool stopped_ = false;
};

}  // namespace chargehub::bridge
