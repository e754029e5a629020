// The HTTP/1.1 server of server.hpp on Boost.Beast. One Connection per socket, running on its own strand
// of the io_context; complete requests go to the WorkerPool; answers come back to the strand.
//
// Deadlines (Settings) are absolute: beast::tcp_stream keeps the time point set by expires_after across
// every read of an operation, so bytes arriving slowly never move it.
//   first request   the head must be complete within head_deadline of accept;
//   keep-alive      idle_timeout for the first byte of the next request, then head_deadline for the head
//                   from that byte (a client that pipelines skips the idle wait);
//   body            body_deadline from the end of the head;
//   response        write_deadline.
// Nothing is read while a request is with a worker, so a connection holds at most one request.
#include "server.hpp"

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "decode.hpp"
#include "worker_pool.hpp"

namespace chargehub::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

std::string Request::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers)
    if (name == lower_name) return value;
  return {};
}

std::optional<std::string> Request::param(std::string_view name) const {
  for (const auto& [key, value] : query)
    if (key == name) return value;
  return std::nullopt;
}

namespace {

// Every refusal the server itself makes has the API's error shape.
Response error_response(int status, std::string_view error, std::string_view message) {
  Response r;
  r.status = status;
  r.body = boost::json::serialize(boost::json::object{{"error", error}, {"message", message}});
  return r;
}

bool is_parse_error(const error_code& ec) {
  static const auto& http_category = bhttp::make_error_code(bhttp::error::bad_method).category();
  return ec.category() == http_category;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
  return out;
}

// The body type of requests. Beast's string_body reserves the whole Content-Length as soon as the head
// arrives: a thousand heads announcing 8 MiB would reserve 8 GB before a single body byte. This one grows
// with the bytes that actually arrive, which is what the body budget (Settings) counts.
struct GrowingBody {
  using value_type = std::string;
  static std::uint64_t size(const value_type& v) { return v.size(); }

  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(bhttp::header<isRequest, Fields>&, value_type& body) : body_(body) {}
    void init(const boost::optional<std::uint64_t>&, error_code& ec) { ec = {}; }
    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, error_code& ec) {
      size_t n = 0;
      for (auto b : beast::buffers_range_ref(buffers)) {
        body_.append(static_cast<const char*>(b.data()), b.size());
        n += b.size();
      }
      ec = {};
      return n;
    }
    void finish(error_code& ec) { ec = {}; }

   private:
    value_type& body_;
  };
};

// How long a connection we are closing is still read (and the bytes dropped) after its last response:
// closing a socket with unread bytes sends a RST, which can destroy the response (a 413 to a client still
// sending its body) before the client has read it. Like nginx's lingering close, bounded in time (and
// here in bytes): enough for a refused firmware upload of a few MiB to finish sending on a fast link and
// read its 413; a client that keeps sending longer is cut off.
constexpr auto kLingerTime = std::chrono::milliseconds(2000);
constexpr size_t kLingerBytes = 16u << 20;

}  // namespace

class Connection;

// Everything the server shares with its connections (Server::Impl is private to Server, so it is this).
struct ServerState {
  Settings settings;
  Server::Handler handler;
  Server::Policy policy;
  ServerStats stats;
  std::atomic<bool> stopping{false};
  bool started = false;
  uint16_t bound_port = 0;

  std::mutex addr_mu;   // the connection counts: total (stats.open_connections) and per address
  std::unordered_map<std::string, size_t> per_address;

  std::mutex reg_mu;    // live connections, for stop()
  std::unordered_map<Connection*, std::weak_ptr<Connection>> connections;

  std::unique_ptr<detail::WorkerPool> pool;

  // Declared after everything a Connection uses: destroying the io_context destroys the handlers that
  // still own connections, and their destructors use the members above.
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  asio::steady_timer accept_retry{ioc};
  // Keeps the io threads running in stop() while a worker still has a request whose answer it will post.
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::thread> io_threads;

  ServerState(Settings s, Server::Handler h, Server::Policy p) : settings(std::move(s)), handler(std::move(h)), policy(std::move(p)) {}

  bool admit(const std::string& address) {
    std::lock_guard lock(addr_mu);
    if (static_cast<size_t>(stats.open_connections.load()) >= settings.max_connections) return false;
    size_t& n = per_address[address];
    if (n >= settings.max_connections_per_address) {
      if (n == 0) per_address.erase(address);
      return false;
    }
    ++n;
    ++stats.open_connections;
    return true;
  }

  void release(const std::string& address) {
    std::lock_guard lock(addr_mu);
    auto it = per_address.find(address);
    if (it != per_address.end() && --it->second == 0) per_address.erase(it);
    --stats.open_connections;
  }

  void do_accept();
  void on_accept(error_code ec, tcp::socket socket);
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(ServerState& srv, tcp::socket socket, std::string remote)
      : srv_(srv), stream_(std::move(socket)), remote_(std::move(remote)) {}

  ~Connection() {
    {
      std::lock_guard lock(srv_.reg_mu);
      srv_.connections.erase(this);
    }
    release_body();
    srv_.release(remote_);
  }

  void start() {
    {
      std::lock_guard lock(srv_.reg_mu);
      srv_.connections.emplace(this, weak_from_this());
    }
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (self->srv_.stopping) return self->close();   // accepted while stop() was taking its snapshot
      // The first request's head is due within head_deadline of accept: a client that connects and
      // sends nothing, or one byte at a time, is gone by then.
      self->stream_.expires_after(self->srv_.settings.head_deadline);
      self->read_head();
    });
  }

  // From stop(), on any thread: closes the socket on the connection's strand; pending operations end.
  void close_from_outside() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] { self->close(); });
  }

 private:
  const Settings& settings() const { return srv_.settings; }

  void close() {
    if (closed_) return;
    closed_ = true;
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  // Keep-alive: wait up to idle_timeout for the next request's first byte.
  void wait_next_request() {
    if (srv_.stopping) return close();
    if (buffer_.size() > 0) {   // pipelined: the next head has begun
      stream_.expires_after(settings().head_deadline);
      return read_head();
    }
    stream_.expires_after(settings().idle_timeout);
    stream_.async_read_some(buffer_.prepare(512), [self = shared_from_this()](error_code ec, size_t n) {
      if (ec) {
        if (ec == beast::error::timeout) ++self->srv_.stats.idle_closed;
        return self->close();
      }
      self->buffer_.commit(n);
      self->stream_.expires_after(self->settings().head_deadline);
      self->read_head();
    });
  }

  void read_head() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(std::min<size_t>(settings().max_head_bytes, UINT32_MAX)));
    // No body limit while the head is read: Beast would refuse a large Content-Length before the route's
    // policy is known. on_head applies the policy.
    parser_->body_limit(boost::none);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = shared_from_this()](error_code ec, size_t) { self->on_head(ec); });
  }

  void on_head(error_code ec) {
    if (ec) {
      bool got_bytes = parser_->got_some() || buffer_.size() > 0;
      if (ec == beast::error::timeout) {
        ++(got_bytes ? srv_.stats.head_timeouts : srv_.stats.idle_closed);
        return close();
      }
      if (ec == bhttp::error::header_limit) {
        ++srv_.stats.too_large;
        return refuse(431, "header_too_large", "the request head is larger than allowed");
      }
      if (is_parse_error(ec) && ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
        ++srv_.stats.bad_requests;
        return refuse(400, "bad_request", "malformed request");
      }
      return close();   // the peer closed or reset: nothing to answer
    }
    ++srv_.stats.requests;
    const auto& head = parser_->get();
    if (static_cast<size_t>(std::distance(head.begin(), head.end())) > settings().max_headers) {
      ++srv_.stats.too_large;
      return refuse(431, "header_too_large", "too many header fields");
    }
    std::string_view target = head.target();
    std::string_view raw_path = target.substr(0, target.find('?'));
    auto path = raw_path.starts_with('/') ? detail::decode_path(raw_path) : std::nullopt;
    if (!path) {
      ++srv_.stats.bad_requests;
      return refuse(400, "bad_request", "invalid request target");
    }
    path_ = std::move(*path);

    std::optional<BodyPolicy> route;
    if (srv_.policy) route = srv_.policy(head.method_string(), path_);
    BodyPolicy body = route.value_or(settings().default_body);
    if (parser_->chunked() && !body.allow_chunked) {
      ++srv_.stats.bad_requests;
      return refuse(411, "length_required", "a chunked body is not accepted here; send Content-Length");
    }
    if (auto length = parser_->content_length(); length && *length > body.max_body) {
      ++srv_.stats.too_large;
      return refuse(413, "body_too_large", "the body is larger than this route accepts");
    }
    parser_->body_limit(body.max_body);   // counts chunked bodies as they grow
    if (parser_->is_done()) return dispatch();

    stream_.expires_after(settings().body_deadline);
    auto expect = head[bhttp::field::expect];
    if (head.version() >= 11 && beast::iequals(expect, "100-continue")) {
      // The client waits for this before sending its body (curl does for bodies above 1 MiB).
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      return asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                               [self = shared_from_this()](error_code ec, size_t) {
                                 if (ec) return self->close();
                                 self->read_body();
                               });
    }
    read_body();
  }

  // The body a piece at a time, so that what it holds is charged to the server's body budget as it
  // grows: past Settings::max_body_bytes_in_flight over all connections, 503.
  void read_body() {
    bhttp::async_read_some(stream_, buffer_, *parser_, [self = shared_from_this()](error_code ec, size_t) {
      if (ec) return self->on_body(ec);
      if (!self->charge_body()) {
        ++self->srv_.stats.body_budget_shed;
        return self->refuse(503, "overloaded", "too many request bodies in progress; retry in a second",
                            "1");
      }
      if (self->parser_->is_done()) return self->dispatch();
      self->read_body();
    });
  }

  // Charges the growth of the body's allocation; false once the budget of all connections is exceeded.
  bool charge_body() {
    size_t held = parser_->get().body().capacity();
    if (held <= charged_) return true;
    size_t delta = held - charged_;
    charged_ = held;
    return static_cast<size_t>(srv_.stats.body_bytes.fetch_add(static_cast<int64_t>(delta))) + delta <=
           settings().max_body_bytes_in_flight;
  }

  // The body is gone (answered, or the connection ends): its bytes leave the budget.
  void release_body() {
    srv_.stats.body_bytes -= static_cast<int64_t>(charged_);
    charged_ = 0;
  }

  void on_body(error_code ec) {
    if (ec == beast::error::timeout) {
      ++srv_.stats.body_timeouts;
      return close();
    }
    if (ec == bhttp::error::body_limit) {
      ++srv_.stats.too_large;
      return refuse(413, "body_too_large", "the body is larger than this route accepts");
    }
    if (is_parse_error(ec) && ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
      ++srv_.stats.bad_requests;
      return refuse(400, "bad_request", "malformed request body");
    }
    release_body();
    close();
  }

  // A complete request: to a worker, or 503 at once when the queue is full.
  void dispatch() {
    auto message = parser_->release();
    parser_.reset();
    version_ = message.version();
    is_head_ = message.method() == bhttp::verb::head;
    keep_alive_ = message.keep_alive() && served_ + 1 < settings().max_requests_per_connection;

    Request req;
    std::string_view target = message.target();
    if (size_t q = target.find('?'); q != std::string_view::npos) {
      auto query = detail::decode_query(target.substr(q + 1));
      if (!query) {
        ++srv_.stats.bad_requests;
        return respond(error_response(400, "bad_request", "invalid query string"));
      }
      req.query = std::move(*query);
    }
    req.method = std::string(message.method_string());
    req.target = std::string(target);
    req.path = std::move(path_);
    for (const auto& field : message) req.headers.emplace_back(lower(field.name_string()), std::string(field.value()));
    req.body = std::move(message.body());
    req.remote = remote_;

    stream_.expires_never();   // nothing is read or written while a worker has the request
    bool queued = srv_.pool->try_post([self = shared_from_this(), req = std::move(req)]() mutable {
      Response res;
      try {
        res = self->srv_.handler(req);
      } catch (...) {
        // Never the exception's text: it may carry SQL, paths or secrets.
        ++self->srv_.stats.handler_errors;
        res = error_response(500, "internal", "internal error");
      }
      asio::post(self->stream_.get_executor(),
                 [self, res = std::move(res)]() mutable { self->respond(std::move(res)); });
    });
    if (!queued) {
      ++srv_.stats.shed;
      auto res = error_response(503, "overloaded", "the server is busy; retry in a second");
      res.headers.emplace_back("Retry-After", "1");
      respond(std::move(res));
    }
  }

  // An answer before the request was read to its end: the connection cannot be reused.
  void refuse(int status, std::string_view error, std::string_view message, const char* retry_after = nullptr) {
    keep_alive_ = false;
    is_head_ = false;
    version_ = parser_ && parser_->is_header_done() ? parser_->get().version() : 11;
    parser_.reset();   // with whatever body it held
    auto res = error_response(status, error, message);
    if (retry_after) res.headers.emplace_back("Retry-After", retry_after);
    respond(std::move(res));
  }

  void respond(Response r) {
    if (closed_) return;
    if (srv_.stopping) keep_alive_ = false;
    response_.emplace();
    auto& res = *response_;
    res.version(version_ >= 10 ? version_ : 11);
    res.result(static_cast<unsigned>(r.status));
    if (!r.content_type.empty()) res.set(bhttp::field::content_type, r.content_type);
    for (auto& [name, value] : r.headers) res.insert(name, value);
    res.keep_alive(keep_alive_);
    if (is_head_) {
      res.content_length(r.body.size());   // what a GET would have sent, without the body
    } else {
      res.body() = std::move(r.body);
      res.prepare_payload();
    }
    stream_.expires_after(settings().write_deadline);
    bhttp::async_write(stream_, res, [self = shared_from_this()](error_code ec, size_t) {
      self->response_.reset();
      self->release_body();
      if (ec) return self->close();
      ++self->served_;
      if (self->keep_alive_ && !self->srv_.stopping) return self->wait_next_request();
      self->linger();
    });
  }

  void linger() {
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close();
    buffer_.clear();
    stream_.expires_after(kLingerTime);
    drain();
  }

  void drain() {
    if (srv_.stopping) return close();
    stream_.async_read_some(buffer_.prepare(64 * 1024), [self = shared_from_this()](error_code ec, size_t n) {
      self->lingered_ += n;
      if (ec || self->lingered_ > kLingerBytes) return self->close();
      self->drain();
    });
  }

  ServerState& srv_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<GrowingBody>> parser_;
  std::optional<bhttp::response<bhttp::string_body>> response_;
  std::string remote_;
  std::string path_;   // the decoded path of the request being read
  size_t served_ = 0;
  size_t lingered_ = 0;
  size_t charged_ = 0;   // bytes of this connection's request body in the body budget
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool is_head_ = false;
  bool closed_ = false;
};

void ServerState::do_accept() {
  acceptor.async_accept(asio::make_strand(ioc),
                        [this](error_code ec, tcp::socket socket) { on_accept(ec, std::move(socket)); });
}

void ServerState::on_accept(error_code ec, tcp::socket socket) {
  if (stopping || !acceptor.is_open()) return;
  if (ec) {
    // Out of file descriptors (EMFILE) or the like: try again shortly instead of spinning.
    accept_retry.expires_after(std::chrono::milliseconds(50));
    accept_retry.async_wait([this](error_code wait_ec) {
      if (!wait_ec && !stopping) do_accept();
    });
    return;
  }
  ++stats.accepted;
  error_code addr_ec;
  auto endpoint = socket.remote_endpoint(addr_ec);
  std::string remote = addr_ec ? std::string() : endpoint.address().to_string();
  if (addr_ec || !admit(remote)) {
    ++stats.refused_connections;
    socket.close(addr_ec);
  } else {
    socket.set_option(tcp::no_delay(true), addr_ec);   // else a small response waits ~40 ms (Nagle)
    std::make_shared<Connection>(*this, std::move(socket), std::move(remote))->start();
  }
  do_accept();
}

struct Server::Impl : ServerState {
  using ServerState::ServerState;
};

Server::Server(Settings settings, Handler handler, Policy policy)
    : impl_(std::make_unique<Impl>(std::move(settings), std::move(handler), std::move(policy))) {}

Server::~Server() { stop(); }

void Server::start() {
  auto& s = *impl_;
  if (s.started) throw std::logic_error("http::Server::start called twice");
  error_code ec;
  auto address = asio::ip::make_address(s.settings.host, ec);
  if (ec) throw std::runtime_error("http server: bad host '" + s.settings.host + "': " + ec.message());
  tcp::endpoint endpoint(address, s.settings.port);
  s.acceptor.open(endpoint.protocol(), ec);
  if (!ec) s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(endpoint, ec);
  if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    error_code ignored;
    s.acceptor.close(ignored);
    throw std::runtime_error("http server: cannot listen on " + s.settings.host + ":" +
                             std::to_string(s.settings.port) + ": " + ec.message());
  }
  s.bound_port = s.acceptor.local_endpoint().port();
  s.pool = std::make_unique<detail::WorkerPool>(std::max(1, s.settings.workers), s.settings.max_queue,
                                                s.stats.queued);
  s.started = true;
  s.work.emplace(s.ioc.get_executor());
  s.do_accept();
  for (int i = 0; i < std::max(1, s.settings.io_threads); ++i) s.io_threads.emplace_back([&s] { s.ioc.run(); });
}

void Server::stop() {
  auto& s = *impl_;
  if (!s.started || s.stopping.exchange(true)) return;
  asio::post(s.ioc, [&s] {
    error_code ec;
    s.acceptor.close(ec);
    s.accept_retry.cancel();
  });
  std::vector<std::shared_ptr<Connection>> open;
  {
    std::lock_guard lock(s.reg_mu);
    for (auto& [ptr, weak] : s.connections)
      if (auto c = weak.lock()) open.push_back(std::move(c));
  }
  for (auto& c : open) c->close_from_outside();
  open.clear();
  s.pool->stop();   // a running handler finishes; its answer finds the connection closed
  // Closed connections end as their pending operations complete; give them a moment, then stop anyway.
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (s.stats.open_connections.load() > 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  s.work.reset();
  s.ioc.stop();
  for (auto& t : s.io_threads)
    if (t.joinable()) t.join();
  s.io_threads.clear();
}

uint16_t Server::port() const { return impl_->bound_port; }

const ServerStats& Server::stats() const { return impl_->stats; }

}  // namespace chargehub::http
