// Frames over a serial device (a pty in tests, RS-485 in the field): one line, several chargers
// (multi-drop). Every charger sees every frame and keeps the ones addressed to it.
#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <map>

#include "host.hpp"

namespace chargehub::sim::io {
using namespace chargehub::proto;

namespace {
speed_t speed_of(unsigned baud) {
  switch (baud) {
    case 9600: return B9600;
    case 19200: return B19200;
    case 38400: return B38400;
    case 57600: return B57600;
    case 230400: return B230400;
    default: return B115200;
  }
}

class SerialLine : public Link {
 public:
  SerialLine(asio::io_context& io, const SimClock& clock, std::vector<Station*> stations, std::string path, unsigned baud)
      : io_(io), clock_(clock), stations_(std::move(stations)), path_(std::move(path)), baud_(baud), fd_(io), timer_(io) {
    for (auto* s : stations_) {
      by_id_[s->device()] = s;
      s->writer = [this](std::vector<uint8_t> b) { write(std::move(b)); };
    }
  }
  void start() override { open(); }
  void stop() override {
    stopped_ = true;
    close();
  }
  bool connected() const override { return open_; }

  void poll(const Now& now) override {
    for (auto* s : stations_) {
      if (auto r = s->charger().take_link_request()) {
        // The line stays; only this charger goes quiet, then logs in again.
        s->charger().link_down(now);
        s->clear_faults();
        auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(r->reconnect_after_ms));
        t->async_wait([this, s, t](std::error_code ec) {
          if (ec || !open_) return;
          auto n = clock_.now();
          s->charger().link_up(n);
          s->flush(n);
        });
      }
    }
  }

 private:
  void open() {
    if (stopped_) return;
    int fd = ::open(path_.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
      timer_.expires_after(std::chrono::seconds(1));
      timer_.async_wait([this](std::error_code ec) { if (!ec) open(); });
      return;
    }
    termios t{};
    if (tcgetattr(fd, &t) == 0) {
      cfmakeraw(&t);
      cfsetispeed(&t, speed_of(baud_));
      cfsetospeed(&t, speed_of(baud_));
      t.c_cflag |= CLOCAL | CREAD;
      tcsetattr(fd, TCSANOW, &t);
    }
    fd_.assign(fd);
    open_ = true;
    ++connects;
    auto now = clock_.now();
    for (auto* s : stations_) {
      s->charger().link_up(now);
      s->flush(now);
    }
    read();
  }
  void close() {
    open_ = false;
    std::error_code ec;
    if (fd_.is_open()) fd_.close(ec);
  }
  void read() {
    fd_.async_read_some(asio::buffer(rbuf_), [this](std::error_code ec, size_t n) {
      if (ec) {
        if (stopped_) return;
        close();
        auto now = clock_.now();
        for (auto* s : stations_) s->charger().link_down(now);
        timer_.expires_after(std::chrono::seconds(1));
        timer_.async_wait([this](std::error_code e) { if (!e) open(); });
        return;
      }
      bytes_in += n;
      decoder_.feed({rbuf_.data(), n});
      auto now = clock_.now();
      while (auto f = decoder_.next()) {
        auto it = by_id_.find(f->device);
        if (it != by_id_.end()) it->second->deliver(*f, now);
      }
      bad_frames = decoder_.stats().bad_frames;
      read();
    });
  }
  void write(std::vector<uint8_t> b) {
    if (!open_) return;
    bytes_out += b.size();
    wq_.push_back(std::move(b));
    if (!writing_) write_next();
  }
  void write_next() {
    if (wq_.empty()) { writing_ = false; return; }
    writing_ = true;
    asio::async_write(fd_, asio::buffer(wq_.front()), [this](std::error_code ec, size_t) {
      if (ec) { writing_ = false; wq_.clear(); return; }
      wq_.pop_front();
      write_next();
    });
  }

  asio::io_context& io_;
  const SimClock& clock_;
  std::vector<Station*> stations_;
  std::map<DeviceId, Station*> by_id_;
  std::string path_;
  unsigned baud_;
  asio::posix::stream_descriptor fd_;
  asio::steady_timer timer_;
  FrameDecoder decoder_;
  std::array<uint8_t, 2048> rbuf_{};
  std::deque<std::vector<uint8_t>> wq_;
  bool open_ = false, writing_ = false, stopped_ = false;
};
}  // namespace

std::unique_ptr<Link> make_serial_link(asio::io_context& io, const SimClock& clock, std::vector<Station*> stations,
                                       std::string path, unsigned baud) {
  return std::make_unique<SerialLine>(io, clock, std::move(stations), std::move(path), baud);
}

}  // namespace chargehub::sim::io
