// chargehub-sim-sink: the simplest edge-bridge stand-in for load tests of the simulator. Accepts any
// number of chargers over TCP, answers every request frame (LOGIN ok, HEARTBEAT, SESSION_END 0, CARD
// accepted then a START for that port, ALARM, OTA_STATUS) and counts frames. One thread, asio.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <array>
#include <asio.hpp>
#include <chrono>
#include <cstdio>
#include <deque>
#include <fstream>
#include <memory>

#include "chargehub/frame.hpp"
#include "chargehub/messages.hpp"

using namespace chargehub::proto;
using asio::ip::tcp;

namespace {
struct Stats {
  uint64_t conns = 0, open = 0, frames_in = 0, frames_out = 0, bad = 0, logins = 0, session_ends = 0, meters = 0;
};

class Conn : public std::enable_shared_from_this<Conn> {
 public:
  Conn(tcp::socket s, Stats& st, bool start_on_card) : sock_(std::move(s)), st_(st), start_on_card_(start_on_card) {}
  void start() { read(); }

 private:
  void read() {
    auto self = shared_from_this();
    sock_.async_read_some(asio::buffer(buf_), [this, self](std::error_code ec, size_t n) {
      if (ec) {
        --st_.open;
        return;
      }
      dec_.feed({buf_.data(), n});
      while (auto f = dec_.next()) on_frame(*f);
      st_.bad = std::max(st_.bad, dec_.stats().bad_frames);
      read();
    });
  }
  void on_frame(const Frame& f) {
    ++st_.frames_in;
    if (f.is_response()) return;
    auto now = static_cast<uint32_t>(::time(nullptr));
    switch (f.cmd) {
      case Cmd::Login: ++st_.logins; send(make_response(f, LoginResp{LoginResult::Ok, now, 60}.encode())); break;
      case Cmd::Heartbeat: send(make_response(f, ServerTime{now}.encode())); break;
      case Cmd::Meter: ++st_.meters; break;
      case Cmd::SessionEnd: ++st_.session_ends; send(make_response(f, Result{0}.encode())); break;
      case Cmd::Card: {
        send(make_response(f, CardResp{0, 1000}.encode()));
        auto c = Card::decode(f.body);
        if (start_on_card_ && c) send(Frame{f.device, ++seq_, Cmd::Start, 0, StartCmd{c->port, ++session_, 0, 0, 0}.encode()});
        break;
      }
      case Cmd::Alarm: case Cmd::OtaStatus: send(make_response(f, {})); break;
      default: break;
    }
  }
  void send(const Frame& f) {
    ++st_.frames_out;
    bool idle = wq_.empty();
    wq_.push_back(encode_frame(f));
    if (idle) write();
  }
  void write() {
    auto self = shared_from_this();
    asio::async_write(sock_, asio::buffer(wq_.front()), [this, self](std::error_code ec, size_t) {
      if (ec) return;
      wq_.pop_front();
      if (!wq_.empty()) write();
    });
  }
  tcp::socket sock_;
  Stats& st_;
  bool start_on_card_;
  FrameDecoder dec_{4096};
  std::array<uint8_t, 2048> buf_{};
  std::deque<std::vector<uint8_t>> wq_;
  uint16_t seq_ = 0;
  uint32_t session_ = 0;
};
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"chargehub-sim-sink: accepts simulated chargers over TCP and answers every request (load tests)"};
  std::string bind = "127.0.0.1";
  uint16_t port = 9000;
  std::string port_file;
  bool start_on_card = true;
  double every = 5;
  app.add_option("--bind", bind, "Address to listen on")->capture_default_str();
  app.add_option("--port", port, "TCP port (0: any free port)")->capture_default_str();
  app.add_option("--port-file", port_file, "Write the bound port to this file");
  app.add_option("--stats-s", every, "Seconds between stats lines (0: only at exit)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  asio::io_context io;
  tcp::acceptor acc(io);
  tcp::endpoint ep(asio::ip::make_address(bind), port);
  acc.open(ep.protocol());
  acc.set_option(tcp::acceptor::reuse_address(true));
  acc.bind(ep);
  acc.listen(4096);
  if (!port_file.empty()) std::ofstream(port_file) << acc.local_endpoint().port() << "\n";
  std::fprintf(stderr, "sink listening on %s:%u\n", bind.c_str(), acc.local_endpoint().port());
  Stats st;
  std::function<void()> accept = [&] {
    acc.async_accept([&](std::error_code ec, tcp::socket s) {
      if (!ec) {
        ++st.conns;
        ++st.open;
        s.set_option(tcp::no_delay(true), ec);
        std::make_shared<Conn>(std::move(s), st, start_on_card)->start();
      }
      accept();
    });
  };
  accept();
  auto t0 = std::chrono::steady_clock::now();
  auto print = [&](const char* what) {
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "%s %.1fs: open %llu (accepted %llu), logins %llu, frames in %llu (%.0f/s) out %llu, "
                 "meters %llu, session_ends %llu, bad %llu\n", what, s, (unsigned long long)st.open,
                 (unsigned long long)st.conns, (unsigned long long)st.logins, (unsigned long long)st.frames_in,
                 st.frames_in / std::max(s, 0.001), (unsigned long long)st.frames_out, (unsigned long long)st.meters,
                 (unsigned long long)st.session_ends, (unsigned long long)st.bad);
  };
  asio::steady_timer timer(io);
  std::function<void()> tick = [&] {
    if (every <= 0) return;
    timer.expires_after(std::chrono::milliseconds(static_cast<int64_t>(every * 1000)));
    timer.async_wait([&](std::error_code ec) {
      if (ec) return;
      print("sink");
      tick();
    });
  };
  tick();
  asio::signal_set sig(io, SIGINT, SIGTERM);
  sig.async_wait([&](std::error_code, int) { io.stop(); });
  io.run();
  print("sink done");
  return 0;
}
