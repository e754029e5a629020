#include "attack.hpp"

#include <thread>

namespace chargehub::hostile {

using boost::system::error_code;

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::SlowHeader: return "slow-header";
    case Kind::Idle: return "idle";
    case Kind::SlowBody: return "slow-body";
    case Kind::BigBody: return "big-body";
    case Kind::HeaderFlood: return "header-flood";
    case Kind::ChunkedFlood: return "chunked-flood";
  }
  return "?";
}

std::map<int, uint64_t> AttackCounters::status_counts() const {
  std::map<int, uint64_t> out;
  for (size_t i = 0; i < statuses.size(); ++i)
    if (auto n = statuses[i].load()) out[static_cast<int>(i)] = n;
  return out;
}

// One attacking connection. Reads everything the server sends (counting the first status line), and on
// close or error reconnects after a short pause while the attack runs.
struct Attack::Conn : std::enable_shared_from_this<Attack::Conn> {
  Conn(Attack& a, Kind k) : attack(a), kind(k), socket(a.io_), timer(a.io_) {}

  Attack& attack;
  Kind kind;
  tcp::socket socket;
  asio::steady_timer timer;
  std::array<char, 4096> in{};
  std::string first_bytes;   // of the server's answer, to read its status
  std::string out;           // what is being written
  bool connected = false;
  uint64_t generation = 0;   // bumped per connection so stale handlers of a previous one do nothing

  AttackCounters& counters() { return attack.counters_; }
  const AttackConfig& config() { return attack.config_; }
  bool running() { return attack.running_.load(); }

  void connect() {
    if (!running()) return;
    ++generation;
    error_code ec;
    socket = tcp::socket(attack.io_);
    socket.open(tcp::v4(), ec);
    if (!ec && config().spread_sources) socket.bind(attack.next_source(), ec);
    if (ec) return retry_later(std::chrono::milliseconds(200), true);
    first_bytes.clear();
    socket.async_connect(config().target, [self = shared_from_this(), gen = generation](error_code ec) {
      if (gen != self->generation) return;
      if (ec) return self->retry_later(std::chrono::milliseconds(100), true);
      self->connected = true;
      ++self->counters().connects;
      ++self->counters().open;
      self->read();
      self->begin();
    });
  }

  void retry_later(std::chrono::milliseconds pause, bool failed_connect) {
    if (failed_connect) ++counters().connect_failures;
    if (!running()) return;
    timer.expires_after(pause);
    timer.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->connect();
    });
  }

  // The server closed (or reset) this connection.
  void lost() {
    if (!connected) return;
    connected = false;
    --counters().open;
    if (running()) ++counters().closed_by_server;
    error_code ec;
    socket.close(ec);
    timer.cancel();
    retry_later(std::chrono::milliseconds(10), false);
  }

  void read() {
    socket.async_read_some(asio::buffer(in), [self = shared_from_this(), gen = generation](error_code ec, size_t n) {
      if (gen != self->generation) return;
      if (ec) return self->lost();
      self->note_status(n);
      self->read();
    });
  }

  void note_status(size_t n) {
    if (first_bytes.size() >= 12) return;
    first_bytes.append(in.data(), std::min(n, 12 - first_bytes.size()));
    if (first_bytes.size() == 12 && first_bytes.starts_with("HTTP/1.")) {
      int status = std::atoi(first_bytes.c_str() + 9);
      if (status > 0 && status < 600) ++counters().statuses[static_cast<size_t>(status)];
    }
  }

  void write(std::string data, std::function<void()> then) {
    out = std::move(data);
    asio::async_write(socket, asio::buffer(out),
                      [self = shared_from_this(), gen = generation, then = std::move(then)](error_code ec, size_t n) {
                        if (gen != self->generation) return;
                        self->counters().bytes_sent += n;
                        if (ec) return self->lost();
                        if (then) then();
                      });
  }

  void begin() {
    const auto& c = config();
    std::string host = "Host: " + c.host_header + "\r\n";
    switch (kind) {
      case Kind::Idle:
        return;   // connected, nothing sent
      case Kind::SlowHeader:
        ++counters().requests_sent;
        return write("GET " + c.slow_header_path + " HTTP/1.1\r\n" + host + "X-Slow: ", [this] { trickle(); });
      case Kind::SlowBody:
        ++counters().requests_sent;
        return write("POST " + c.slow_body_path + " HTTP/1.1\r\n" + host +
                         "Content-Type: application/octet-stream\r\nContent-Length: " +
                         std::to_string(c.slow_body_length) + "\r\n\r\n",
                     [this] { trickle(); });
      case Kind::BigBody:
        // Nearly the most a server can be made to hold per connection: the route's whole body but its
        // last KiB, which then trickles (and so never completes within any deadline).
        ++counters().requests_sent;
        return write("POST " + c.slow_body_path + " HTTP/1.1\r\n" + host +
                         "Content-Type: application/octet-stream\r\nContent-Length: " +
                         std::to_string(c.big_body_length) + "\r\n\r\n" +
                         std::string(c.big_body_length > 1024 ? c.big_body_length - 1024 : 0, 'b'),
                     [this] { trickle(); });
      case Kind::HeaderFlood:
        return flood_headers();
      case Kind::ChunkedFlood:
        ++counters().requests_sent;
        return write("POST " + c.chunked_path + " HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n",
                     [this] { flood_chunks(); });
    }
  }

  // One byte, then wait: each byte is a successful read for the server, none finishes anything.
  void trickle() {
    timer.expires_after(config().trickle_interval);
    timer.async_wait([self = shared_from_this(), gen = generation](error_code ec) {
      if (ec || gen != self->generation || !self->running()) return;
      self->write("a", [self] { self->trickle(); });
    });
  }

  // Requests whose heads are too many or too large, back to back while the connection lasts.
  void flood_headers() {
    const auto& c = config();
    std::string req = "GET " + c.slow_header_path + " HTTP/1.1\r\nHost: " + c.host_header + "\r\n";
    if (counters().requests_sent++ % 2 == 0) {
      for (size_t i = 0; i < c.flood_headers; ++i) req += "X-Flood-" + std::to_string(i) + ": 0123456789abcdef\r\n";
    } else {
      req += "X-Huge: " + std::string(c.flood_header_bytes, 'h') + "\r\n";
    }
    req += "\r\n";
    write(std::move(req), [this] { flood_headers(); });
  }

  // A chunked body that never ends, as fast as the server takes it.
  void flood_chunks() {
    static const std::string chunk = [] {
      std::string body(16 * 1024, 'c');
      return "4000\r\n" + body + "\r\n";
    }();
    write(chunk, [this] { flood_chunks(); });
  }

  void shutdown() {
    ++generation;
    error_code ec;
    timer.cancel();
    if (connected) {
      connected = false;
      --counters().open;
    }
    socket.close(ec);
  }
};

Attack::Attack(AttackConfig config, AttackCounters& counters) : config_(std::move(config)), counters_(counters) {}

Attack::~Attack() { stop(); }

tcp::endpoint Attack::next_source() {
  unsigned last = 2 + (next_source_++ % 253);   // 127.0.0.2 .. 127.0.0.254
  return tcp::endpoint(asio::ip::make_address_v4("127.0.0." + std::to_string(last)), 0);
}

void Attack::add(Kind kind, size_t count) {
  for (size_t i = 0; i < count; ++i) conns_.push_back(std::make_shared<Conn>(*this, kind));
}

void Attack::run() {
  running_ = true;
  for (auto& c : conns_) asio::post(io_, [c] { c->connect(); });
  thread_ = std::thread([this] {
    auto guard = asio::make_work_guard(io_);
    io_.run();
  });
}

void Attack::stop() {
  if (!thread_.joinable()) return;
  running_ = false;
  asio::post(io_, [this] {
    for (auto& c : conns_) c->shutdown();
  });
  // Let the closes run, then end the loop (handlers left over belong to closed sockets).
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  io_.stop();
  thread_.join();
  conns_.clear();
}

}  // namespace chargehub::hostile
