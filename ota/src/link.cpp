#include "link.hpp"

#include "chargehub/log.hpp"

#include <asio.hpp>
#include <array>
#include <memory>

namespace chargehub::otacli {

namespace {
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
}

std::pair<std::string, std::string> host_port(const std::string& s) {
  auto c = s.rfind(':');
  if (c == std::string::npos) throw std::runtime_error("expected HOST:PORT, got " + s);
  return {s.substr(0, c), s.substr(c + 1)};
}

class Runner {
 public:
  Runner(const LinkSpec& spec, flash::FlashRun& s, std::chrono::seconds timeout, const RunHooks& hooks)
      : spec_(spec), s_(s), timeout_(timeout), hooks_(hooks), timer_(io_) {}

  void run() {
    open();
    last_progress_ = Clock::now();
    tick();
    io_.run();
  }

 private:
  // One structured event (chargehub/log.hpp) per notable thing on the link.
  void log(std::string_view event, chargehub::log::Fields fields, chargehub::log::Level level = chargehub::log::Level::Info) {
    if (!chargehub::log::enabled(level)) return;
    if (hooks_.before_log) hooks_.before_log();
    chargehub::log::emit(level, event, fields);
  }

  void open() {
    if (spec_.kind == LinkSpec::Serial) {
      serial_ = std::make_unique<asio::serial_port>(io_);
      asio::error_code ec;
      serial_->open(spec_.where, ec);
      if (ec) throw std::runtime_error("cannot open serial port " + spec_.where + ": " + ec.message());
      serial_->set_option(asio::serial_port_base::baud_rate(spec_.baud));
      serial_->set_option(asio::serial_port_base::character_size(8));
      serial_->set_option(asio::serial_port_base::parity(asio::serial_port_base::parity::none));
      serial_->set_option(asio::serial_port_base::stop_bits(asio::serial_port_base::stop_bits::one));
      serial_->set_option(asio::serial_port_base::flow_control(asio::serial_port_base::flow_control::none));
      log("flash.serial_open", {{"port", spec_.where}, {"baud", spec_.baud}});
      read();
    } else if (spec_.kind == LinkSpec::Connect) {
      connect();
    } else {
      auto [h, p] = host_port(spec_.where);
      tcp::resolver r(io_);
      auto ep = *r.resolve(h, p).begin();
      acceptor_ = std::make_unique<tcp::acceptor>(io_);
      acceptor_->open(ep.endpoint().protocol());
      acceptor_->set_option(tcp::acceptor::reuse_address(true));
      asio::error_code ec;
      acceptor_->bind(ep.endpoint(), ec);
      if (ec) throw std::runtime_error("cannot listen on " + spec_.where + ": " + ec.message());
      acceptor_->listen();
      log("flash.listening", {{"address", spec_.where}});   // for the charger to dial in
      accept();
    }
  }

  void connect() {
    auto [h, p] = host_port(spec_.where);
    sock_ = std::make_unique<tcp::socket>(io_);
    tcp::resolver r(io_);
    asio::error_code ec;
    auto eps = r.resolve(h, p, ec);
    if (!ec) asio::connect(*sock_, eps, ec);
    if (ec) {
      if (!connected_once_) throw std::runtime_error("cannot connect to " + spec_.where + ": " + ec.message());
      sock_.reset();
      return;   // tick() tries again
    }
    sock_->set_option(tcp::no_delay(true));
    if (!connected_once_) log("flash.connected", {{"address", spec_.where}});
    connected_once_ = true;
    read();
  }

  void accept() {
    acceptor_->async_accept([this](asio::error_code ec, tcp::socket s) {
      if (ec) return;
      s.set_option(tcp::no_delay(true));
      log("flash.charger_connected", {{"from", s.remote_endpoint().address().to_string()}});
      sock_ = std::make_unique<tcp::socket>(std::move(s));
      dec_ = proto::FrameDecoder{};
      read();
    });
  }

  void read() {
    auto handler = [this](asio::error_code ec, size_t n) {
      if (ec) {
        if (spec_.kind == LinkSpec::Serial) {
          log("flash.serial_error", {{"error", ec.message()}}, chargehub::log::Level::Error);
          io_.stop();
          return;
        }
        log("flash.link_closed", {{"error", ec.message()}}, chargehub::log::Level::Warn);   // waits for the charger
        sock_.reset();
        if (spec_.kind == LinkSpec::Listen) accept();
        return;
      }
      dec_.feed(std::span<const uint8_t>(buf_.data(), n));
      while (auto f = dec_.next()) {
        if (spec_.frames) log("flash.frame", {{"dir", "in"}, {"hex", proto::to_hex(proto::encode_frame(*f), true)}});
        send(s_.on_frame(*f, now_ms()));
      }
      after();
      if (!s_.done()) read();
    };
    if (serial_) serial_->async_read_some(asio::buffer(buf_), handler);
    else if (sock_) sock_->async_read_some(asio::buffer(buf_), handler);
  }

  void send(const std::vector<proto::Frame>& frames) {
    for (auto& f : frames) {
      auto w = proto::encode_frame(f);
      if (spec_.frames) log("flash.frame", {{"dir", "out"}, {"hex", proto::to_hex(w, true)}});
      asio::error_code ec;
      if (serial_) asio::write(*serial_, asio::buffer(w), ec);
      else if (sock_) asio::write(*sock_, asio::buffer(w), ec);
    }
  }

  // Progress, events, the end, and the timeout without progress.
  void after() {
    for (auto& e : s_.take_events()) log("flash.event", {{"what", e}});
    if (s_.bytes() != last_bytes_ || s_.phase() != last_phase_) {
      last_bytes_ = s_.bytes();
      last_phase_ = s_.phase();
      last_progress_ = Clock::now();
    }
    if (s_.done()) io_.stop();
  }

  void tick() {
    timer_.expires_after(std::chrono::milliseconds(100));
    timer_.async_wait([this](asio::error_code ec) {
      if (ec) return;
      if (spec_.kind == LinkSpec::Connect && !sock_ && ++redial_ % 10 == 0) connect();
      send(s_.on_tick(now_ms()));
      after();
      if (hooks_.progress) hooks_.progress(s_);
      if (s_.done()) return;
      if (Clock::now() - last_progress_ > timeout_) {
        log("flash.no_progress", {{"timeout_s", timeout_.count()}}, chargehub::log::Level::Warn);   // giving up
        io_.stop();
        return;
      }
      tick();
    });
  }

  const LinkSpec& spec_;
  flash::FlashRun& s_;
  std::chrono::seconds timeout_;
  const RunHooks& hooks_;
  asio::io_context io_;
  asio::steady_timer timer_;
  std::unique_ptr<asio::serial_port> serial_;
  std::unique_ptr<tcp::socket> sock_;
  std::unique_ptr<tcp::acceptor> acceptor_;
  proto::FrameDecoder dec_;
  std::array<uint8_t, 4096> buf_{};
  bool connected_once_ = false;
  int redial_ = 0;
  uint32_t last_bytes_ = 0;
  flash::Phase last_phase_ = flash::Phase::WaitingForLogin;
  Clock::time_point last_progress_;
};
}  // namespace

void run_flash(const LinkSpec& link, flash::FlashRun& s, std::chrono::seconds timeout, const RunHooks& hooks) {
  Runner r(link, s, timeout, hooks);
  r.run();
}

}  // namespace chargehub::otacli
