#include "metrics_http.hpp"

#include <string_view>

#include "chargehub/metrics.hpp"
#include "util.hpp"

namespace chargehub::bridge {

struct MetricsHttp::Conn : std::enable_shared_from_this<Conn> {
  Conn(asio::io_context& io, std::shared_ptr<int> open) : socket(io), deadline(io), buf(kMaxHead), open(std::move(open)) { ++*this->open; }
  ~Conn() { --*open; }
  asio::ip::tcp::socket socket;
  asio::steady_timer deadline;
  asio::streambuf buf;
  std::shared_ptr<int> open;
  std::string out;

  void close() {
    asio::error_code ec;
    deadline.cancel();
    socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    socket.close(ec);
  }

  void answer(int status, std::string_view reason, std::string_view type, std::string body) {
    out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\nContent-Type: " + std::string(type) +
          "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n" + body;
    auto self = shared_from_this();
    asio::async_write(socket, asio::buffer(out), [self](const asio::error_code&, size_t) { self->close(); });
  }

  void run(const std::function<std::string()>& render) {
    auto self = shared_from_this();
    deadline.expires_after(std::chrono::milliseconds(kDeadlineMs));
    deadline.async_wait([self](const asio::error_code& ec) {
      if (!ec) self->close();   // the head (or our answer) did not get through in time
    });
    asio::async_read_until(socket, buf, "\r\n\r\n", [self, render](const asio::error_code& ec, size_t n) {
      if (ec == asio::error::not_found) return self->answer(431, "Request Header Fields Too Large", "text/plain", "head too large\n");
      if (ec) return self->close();
      std::string head(asio::buffers_begin(self->buf.data()), asio::buffers_begin(self->buf.data()) + static_cast<std::ptrdiff_t>(n));
      auto eol = head.find("\r\n");
      std::string_view line(head.data(), eol);
      auto sp1 = line.find(' ');
      auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
      if (sp2 == std::string_view::npos || !line.substr(sp2 + 1).starts_with("HTTP/1."))
        return self->answer(400, "Bad Request", "text/plain", "bad request\n");
      auto method = line.substr(0, sp1);
      auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
      auto path = target.substr(0, target.find('?'));
      if (path != "/metrics") return self->answer(404, "Not Found", "text/plain", "not found: GET /metrics\n");
      if (method != "GET") return self->answer(405, "Method Not Allowed", "text/plain", "only GET\n");
      std::string body;
      try {
        body = render();
      } catch (const std::exception& e) {
        log(Level::Error, "metrics_failed", "error", e.what());
        return self->answer(500, "Internal Server Error", "text/plain", "internal error\n");
      }
      self->answer(200, "OK", metrics::kContentType, std::move(body));
    });
  }
};

MetricsHttp::MetricsHttp(asio::io_context& io, std::string host, uint16_t port, std::function<std::string()> render)
    : io_(io), host_(std::move(host)), port_(port), render_(std::move(render)), acceptor_(io), retry_(io) {}

void MetricsHttp::start() {
  try {
    asio::ip::tcp::endpoint ep(asio::ip::make_address(host_), port_);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
  } catch (const std::exception& e) {
    throw std::runtime_error("--metrics " + host_ + ":" + std::to_string(port_) + ": " + e.what());
  }
  log(Level::Info, "metrics_listening", "address", host_ + ":" + std::to_string(port()));
  accept();
}

void MetricsHttp::stop() {
  stopped_ = true;
  asio::error_code ec;
  acceptor_.close(ec);
  retry_.cancel();
}

uint16_t MetricsHttp::port() const {
  asio::error_code ec;
  auto ep = acceptor_.local_endpoint(ec);
  return ec ? port_ : ep.port();
}

void MetricsHttp::accept() {
  if (stopped_) return;
  auto c = std::make_shared<Conn>(io_, open_);
  acceptor_.async_accept(c->socket, [this, c](const asio::error_code& ec) {
    if (stopped_ || ec == asio::error::operation_aborted) return;
    if (ec) {   // out of descriptors, say: try again shortly instead of spinning
      retry_.expires_after(std::chrono::milliseconds(100));
      retry_.async_wait([this](const asio::error_code& e) {
        if (!e) accept();
      });
      return;
    }
    if (*open_ > kMaxConnections) c->close();
    else c->run(render_);
    accept();
  });
}

}  // namespace chargehub::bridge
