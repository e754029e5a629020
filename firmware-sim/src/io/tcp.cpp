// Frames over TCP to the edge bridge, one connection per charger, re-dialled with back-off.
#include <array>

#include "host.hpp"

namespace chargehub::sim::io {
using namespace chargehub::proto;
using asio::ip::tcp;

namespace {
class TcpLink : public Link {
 public:
  TcpLink(asio::io_context& io, const SimClock& clock, Station& s, TcpOptions o)
      : io_(io), clock_(clock), station_(s), opt_(std::move(o)), sock_(io), timer_(io), backoff_(opt_.backoff_min_ms) {
    station_.writer = [this](std::vector<uint8_t> b) { write(std::move(b)); };
  }
  void start() override { connect(); }
  void stop() override {
    stopped_ = true;
    close();
  }
  bool connected() const override { return connected_; }

  void cut(const Now& now, int64_t after_ms) override {
    if (!connected_) return;
    close();
    station_.charger().link_down(now);
    station_.clear_faults();
    redial(after_ms);
  }
  void poll(const Now& now) override {
    if (auto r = station_.charger().take_link_request()) {
      close();
      station_.charger().link_down(now);
      station_.clear_faults();
      redial(r->reconnect_after_ms);
    }
  }

 private:
  void connect() {
    if (stopped_) return;
    ++gen_;
    auto gen = gen_;
    std::error_code ec;
    sock_ = tcp::socket(io_);
    auto addr = asio::ip::make_address(opt_.host, ec);
    if (ec) {   // a host name: resolve synchronously (once per dial; loopback in tests)
      tcp::resolver res(io_);
      auto r = res.resolve(opt_.host, std::to_string(opt_.port), ec);
      if (ec || r.empty()) return fail(gen);
      addr = r.begin()->endpoint().address();
    }
    if (!opt_.local_ip.empty()) {
      sock_.open(addr.is_v4() ? tcp::v4() : tcp::v6(), ec);
      sock_.bind(tcp::endpoint(asio::ip::make_address(opt_.local_ip, ec), 0), ec);
    }
    sock_.async_connect(tcp::endpoint(addr, opt_.port), [this, gen](std::error_code ec) {
      if (gen != gen_) return;
      if (ec) return fail(gen);
      connected_ = true;
      ++connects;
      backoff_ = opt_.backoff_min_ms;
      sock_.set_option(tcp::no_delay(true), ec);
      decoder_ = FrameDecoder{};
      auto now = clock_.now();
      station_.charger().link_up(now);
      station_.flush(now);
      read(gen);
    });
  }
  void fail(uint64_t gen) {
    if (gen != gen_) return;
    bool was = connected_;
    close();
    if (was) station_.charger().link_down(clock_.now());
    redial(backoff_);
    backoff_ = std::min(backoff_ * 2, opt_.backoff_max_ms);
  }
  void redial(int64_t after_ms) {
    if (stopped_) return;
    auto gen = ++gen_;
    timer_.expires_after(std::chrono::milliseconds(after_ms));
    timer_.async_wait([this, gen](std::error_code ec) {
      if (!ec && gen == gen_) connect();
    });
  }
  void close() {
    ++gen_;
    connected_ = writing_ = false;
    wq_.clear();
    queued_ = 0;
    std::error_code ec;
    sock_.shutdown(tcp::socket::shutdown_both, ec);
    sock_.close(ec);
  }
  void read(uint64_t gen) {
    sock_.async_read_some(asio::buffer(rbuf_), [this, gen](std::error_code ec, size_t n) {
      if (gen != gen_) return;
      if (ec) return fail(gen);
      bytes_in += n;
      decoder_.feed({rbuf_.data(), n});
      auto now = clock_.now();
      while (auto f = decoder_.next()) {
        station_.deliver(*f, now);
        if (gen != gen_) return;
      }
      bad_frames = decoder_.stats().bad_frames;
      read(gen);
    });
  }
  void write(std::vector<uint8_t> b) {
    if (!connected_) return;
    if (queued_ + b.size() > kMaxQueued) {   // the peer does not keep up: shed, like a full modem buffer
      ++dropped_writes;
      return;
    }
    bytes_out += b.size();
    queued_ += b.size();
    wq_.push_back(std::move(b));
    if (!writing_) write_next(gen_);
  }
  // Everything queued goes out in one gather write.
  void write_next(uint64_t gen) {
    if (wq_.empty()) { writing_ = false; return; }
    writing_ = true;
    inflight_.clear();
    while (!wq_.empty()) {
      inflight_.push_back(std::move(wq_.front()));
      wq_.pop_front();
    }
    bufs_.clear();
    for (auto& b : inflight_) bufs_.emplace_back(asio::buffer(b));
    asio::async_write(sock_, bufs_, [this, gen](std::error_code ec, size_t n) {
      if (gen != gen_) return;
      if (ec) return fail(gen);
      queued_ -= std::min(queued_, n);
      write_next(gen);
    });
  }

  asio::io_context& io_;
  const SimClock& clock_;
  Station& station_;
  TcpOptions opt_;
  tcp::socket sock_;
  asio::steady_timer timer_;
  FrameDecoder decoder_;
  std::array<uint8_t, 2048> rbuf_{};
  std::deque<std::vector<uint8_t>> wq_;
  std::vector<std::vector<uint8_t>> inflight_;
  std::vector<asio::const_buffer> bufs_;
  size_t queued_ = 0;
  static constexpr size_t kMaxQueued = 256 * 1024;
  bool connected_ = false, writing_ = false, stopped_ = false;
  uint64_t gen_ = 0;
  int64_t backoff_;
};
}  // namespace

std::unique_ptr<Link> make_tcp_link(asio::io_context& io, const SimClock& clock, Station& s, TcpOptions o) {
  return std::make_unique<TcpLink>(io, clock, s, std::move(o));
}

}  // namespace chargehub::sim::io
