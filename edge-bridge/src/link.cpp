#include "link.hpp"

#include <algorithm>

#include "bridge.hpp"
#include "charger.hpp"
#include "util.hpp"

namespace chargehub::bridge {

using proto::Frame;

namespace {
// One read buffer per process: a link holds no read buffer of its own between reads.
std::array<uint8_t, 64 * 1024> g_read_buf;
constexpr size_t kFeedChunk = 2048;   // the decoder never holds more than a chunk plus one partial frame
}  // namespace

Link::Link(Bridge& b, uint64_t id, bool multi_drop, std::string peer)
    : bridge_(b), id_(id), multi_drop_(multi_drop), peer_(std::move(peer)), dec_(4 * 1024) {
  ++b.counters().links;
  ++b.counters().links_total;
  idle_since_ms_ = mono_ms();
  refill_ms_ = idle_since_ms_;
  tokens_ = 2.0 * b.cfg().max_frames_per_s;
}

Link::~Link() = default;

Charger* Link::find(proto::DeviceId d) const {
  for (auto& c : chargers_)
    if (c->device() == d) return c.get();
  return nullptr;
}

void Link::add(std::shared_ptr<Charger> c) {
  chargers_.push_back(std::move(c));
  idle_since_ms_ = 0;
}

void Link::remove(Charger* c) {
  auto it = std::find_if(chargers_.begin(), chargers_.end(), [&](auto& p) { return p.get() == c; });
  if (it == chargers_.end()) return;
  auto keep = *it;   // destroyed when this function returns
  chargers_.erase(it);
  if (chargers_.empty()) idle_since_ms_ = mono_ms();
}

void Link::on_bytes(std::span<const uint8_t> bytes) {
  auto& cnt = bridge_.counters();
  auto self = shared_from_this();   // a frame may close this link
  while (!bytes.empty() && open_) {
    auto chunk = bytes.first(std::min(bytes.size(), kFeedChunk));
    bytes = bytes.subspan(chunk.size());
    dec_.feed(chunk);
    while (open_) {
      auto f = dec_.next();
      if (!f) break;
      // Rate limit: token bucket per link, sized by the chargers on it (burst twice the rate).
      int64_t now = mono_ms();
      double rate = static_cast<double>(bridge_.cfg().max_frames_per_s) * static_cast<double>(std::max<size_t>(1, chargers_.size()));
      tokens_ = std::min(2.0 * rate, tokens_ + rate * static_cast<double>(now - refill_ms_) / 1000.0);
      refill_ms_ = now;
      if (tokens_ < 1.0) {
        ++cnt.rate_limited;
        continue;
      }
      tokens_ -= 1.0;
      bridge_.on_frame(*this, std::move(*f));
    }
    auto& st = dec_.stats();
    cnt.bad_frames += static_cast<int64_t>(st.bad_frames - decoder_bad_seen_);
    cnt.dropped_bytes += static_cast<int64_t>(st.dropped_bytes - decoder_dropped_seen_);
    decoder_bad_seen_ = st.bad_frames;
    decoder_dropped_seen_ = st.dropped_bytes;
  }
}

void Link::send(const Frame& f) {
  if (!open_) return;
  auto wire = proto::encode_frame(f);
  ++bridge_.counters().frames_out[static_cast<uint8_t>(f.cmd)];
  if (out_.size() + writing_.size() + wire.size() > static_cast<size_t>(bridge_.cfg().max_out_kb) * 1024) {
    ++bridge_.counters().links_overflowed;
    log(Level::Warn, "link_overflow", "link", id_, "peer", peer_);
    close("overflow");
    return;
  }
  out_.insert(out_.end(), wire.begin(), wire.end());
  if (!write_busy_) {
    writing_.swap(out_);
    out_.clear();
    write_busy_ = true;
    transport_write(writing_);
  }
}

void Link::write_done(const asio::error_code& ec) {
  write_busy_ = false;
  if (ec) {
    if (open_) close("write_error");
    return;
  }
  writing_.clear();
  if (writing_.capacity() > 4096) writing_.shrink_to_fit();
  if (!out_.empty() && open_) {
    writing_.swap(out_);
    write_busy_ = true;
    transport_write(writing_);
  }
}

void Link::close(const char* why) {
  if (!open_) return;
  open_ = false;
  auto self = shared_from_this();
  log(Level::Debug, "link_closed", "link", id_, "peer", peer_, "why", why);
  auto chargers = chargers_;   // Charger::close posts its removal
  for (auto& c : chargers) c->close(CloseReason::LinkClosed);
  chargers_.clear();
  if (close_timer_) close_timer_->cancel();
  transport_close();
  --bridge_.counters().links;
  bridge_.link_closed(*this);
}

void Link::close_after(int ms, const char* why) {
  if (!open_) return;
  if (!close_timer_) close_timer_ = std::make_unique<asio::steady_timer>(bridge_.io());
  close_timer_->expires_after(std::chrono::milliseconds(ms));
  close_timer_->async_wait([self = shared_from_this(), why](const asio::error_code& ec) {
    if (!ec) self->close(why);
  });
}

// ---- TCP ----
TcpLink::TcpLink(Bridge& b, uint64_t id, asio::ip::tcp::socket s, std::string peer)
    : Link(b, id, false, std::move(peer)), sock_(std::move(s)) {}

void TcpLink::start() {
  asio::error_code ec;
  sock_.set_option(asio::ip::tcp::no_delay(true), ec);
  sock_.set_option(asio::socket_base::keep_alive(true), ec);
  // Half-open links: keepalive probes after 60 s idle, every 10 s, 3 times (plus the silence rule).
  int fd = sock_.native_handle();
  int idle = 60, intvl = 10, cnt = 3;
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
  sock_.non_blocking(true, ec);
  wait_read();
}

void TcpLink::wait_read() {
  sock_.async_wait(asio::ip::tcp::socket::wait_read, [self = shared_from_this(), this](const asio::error_code& ec) {
    if (ec || !open_) return;
    for (int i = 0; i < 4 && open_; ++i) {
      asio::error_code rec;
      size_t n = sock_.read_some(asio::buffer(g_read_buf), rec);
      if (rec == asio::error::would_block) break;
      if (rec) {
        close(rec == asio::error::eof ? "eof" : "read_error");
        return;
      }
      on_bytes(std::span(g_read_buf.data(), n));
      if (n < g_read_buf.size()) break;
    }
    if (open_) wait_read();
  });
}

void TcpLink::transport_write(std::span<const uint8_t> bytes) {
  asio::async_write(sock_, asio::buffer(bytes.data(), bytes.size()),
                    [self = shared_from_this(), this](const asio::error_code& ec, size_t) { write_done(ec); });
}

void TcpLink::transport_close() {
  asio::error_code ec;
  sock_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  sock_.close(ec);
}

// ---- serial ----
SerialLink::SerialLink(Bridge& b, uint64_t id, asio::serial_port p, std::string path)
    : Link(b, id, true, std::move(path)), port_(std::move(p)) {}

void SerialLink::start() { read(); }

void SerialLink::read() {
  port_.async_read_some(asio::buffer(buf_), [self = shared_from_this(), this](const asio::error_code& ec, size_t n) {
    if (!open_) return;
    if (ec) {
      close("serial_error");
      return;
    }
    on_bytes(std::span(buf_.data(), n));
    if (open_) read();
  });
}

void SerialLink::transport_write(std::span<const uint8_t> bytes) {
  asio::async_write(port_, asio::buffer(bytes.data(), bytes.size()),
                    [self = shared_from_this(), this](const asio::error_code& ec, size_t) { write_done(ec); });
}

void SerialLink::transport_close() {
  asio::error_code ec;
  port_.close(ec);
}

}  // namespace chargehub::bridge
