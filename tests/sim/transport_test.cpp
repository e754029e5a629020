// chargehub-sim as a real process over its transports: a pty pair for a serial line shared by two
// chargers, a TCP journal that survives a kill -9, and fleet mode against a TCP frame server.
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>

#include "chargehub/messages.hpp"
#include "frame_server.hpp"
#include "testsupport.hpp"

using namespace chargehub;
using namespace chargehub::proto;
using namespace chargehub::testing;
using namespace std::chrono_literals;

namespace {
const std::string kToken = "000102030405060708090a0b0c0d0e0f";
bool is(const Frame& f, Cmd c) { return f.cmd == c && !f.is_response(); }

// The bridge's end of a serial line: the master side of a pty.
struct SerialPeer {
  int master = -1, slave = -1;
  std::string path;
  FrameDecoder dec;
  std::vector<Frame> got;
  SerialPeer() {
    char name[128];
    termios t{};
    cfmakeraw(&t);
    if (openpty(&master, &slave, name, &t, nullptr) != 0) throw std::runtime_error("openpty");
    path = name;
  }
  ~SerialPeer() {
    ::close(master);
    ::close(slave);
  }
  void write(const Frame& f) {
    auto b = encode_frame(f);
    (void)!::write(master, b.data(), b.size());
  }
  // Reads until pred matches a new frame; answers LOGIN and HEARTBEAT of every device on the way.
  std::optional<Frame> wait(const std::function<bool(const Frame&)>& pred, std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{master, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      uint8_t buf[4096];
      ssize_t n = ::read(master, buf, sizeof buf);
      if (n <= 0) continue;
      dec.feed({buf, static_cast<size_t>(n)});
      while (auto f = dec.next()) {
        got.push_back(*f);
        if (is(*f, Cmd::Login)) write(make_response(*f, LoginResp{LoginResult::Ok, 1795500000, 60}.encode()));
        if (is(*f, Cmd::Heartbeat)) write(make_response(*f, ServerTime{1795500000}.encode()));
        if (is(*f, Cmd::SessionEnd)) write(make_response(*f, Result{0}.encode()));
        if (pred(*f)) return f;
      }
    }
    return std::nullopt;
  }
};
}  // namespace

TEST(SerialLine, TwoChargersShareOnePtyEachAnswersOnlyItsOwnFrames) {
  TempDir dir("sim-serial");
  SerialPeer line;
  const DeviceId a = 861234567890123ULL, b = 861234567890124ULL;
  Process sim({bin("chargehub-sim").string(), "--serial", line.path, "--device", "861234567890123", "--device",
               "861234567890124", "--token-hex", kToken, "--time-scale", "600", "--retry-ms", "500"},
              dir / "sim.log");
  std::set<DeviceId> logged;
  ASSERT_TRUE(line.wait([&](const Frame& f) {
    if (is(f, Cmd::Login)) logged.insert(f.device);
    return logged.size() == 2;
  }));
  // START to b only: b answers, a stays silent about it.
  line.write(Frame{b, 40, Cmd::Start, 0, StartCmd{2, 555, 0, 0, 0}.encode()});
  auto r = line.wait([&](const Frame& f) { return f.cmd == Cmd::Start && f.is_response(); });
  ASSERT_TRUE(r);
  EXPECT_EQ(r->device, b);
  EXPECT_EQ(Result::decode(r->body)->result, 0);
  auto m = line.wait([&](const Frame& f) { return is(f, Cmd::Meter); });
  ASSERT_TRUE(m);
  EXPECT_EQ(m->device, b);
  EXPECT_EQ(Meter::decode(m->body)->ports[0].session, 555u);
  auto hb = line.wait([&](const Frame& f) { return is(f, Cmd::Heartbeat) && f.device == a; });
  ASSERT_TRUE(hb);
  EXPECT_EQ(Heartbeat::decode(hb->body)->ports[1], 0);   // a's port 2 is idle
  // Garbage on the line is skipped.
  uint8_t junk[] = {0x5a, 0x5a, 0xa5, 0x00, 0x13, 0x37};
  (void)!::write(line.master, junk, sizeof junk);
  line.write(Frame{a, 41, Cmd::Stop, 0, StopCmd{2, 555}.encode()});
  auto s = line.wait([&](const Frame& f) { return f.cmd == Cmd::Stop && f.is_response(); });
  ASSERT_TRUE(s);
  EXPECT_EQ(s->device, a);
  EXPECT_EQ(Result::decode(s->body)->result, 1);   // not a's session
  line.write(Frame{b, 42, Cmd::Stop, 0, StopCmd{2, 555}.encode()});
  auto e = line.wait([&](const Frame& f) { return is(f, Cmd::SessionEnd); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->device, b);
  EXPECT_EQ(SessionEnd::decode(e->body)->reason, 3);
  for (auto& f : line.got)
    if (f.is_response()) EXPECT_TRUE(f.cmd != Cmd::Start || f.device == b);
  EXPECT_EQ(sim.stop(SIGTERM), 0);
}

TEST(FileJournal, SessionEndSurvivesKillNineAndIsSentAfterRestart) {
  TempDir dir("sim-journal");
  FrameServer server;
  server.ack_session_end = false;
  auto args = std::vector<std::string>{bin("chargehub-sim").string(), "--bridge", "127.0.0.1:" + std::to_string(server.port()),
                                       "--device", "861234567890123", "--token-hex", kToken, "--time-scale", "600",
                                       "--retry-ms", "300", "--journal-dir", (dir / "j").string()};
  {
    Process sim(args, dir / "sim1.log");
    ASSERT_TRUE(server.wait_for([](auto& f) { return is(f, Cmd::Heartbeat); }, 10s));
    auto seq = server.send_command(861234567890123ULL, Cmd::Start, StartCmd{5, 4242, 0, 0, 0}.encode());
    ASSERT_TRUE(server.wait_response(Cmd::Start, seq));
    auto stop = server.send_command(861234567890123ULL, Cmd::Stop, StopCmd{5, 4242}.encode());
    ASSERT_TRUE(server.wait_response(Cmd::Stop, stop));
    ASSERT_TRUE(server.wait_for([](auto& f) { return is(f, Cmd::SessionEnd); }, 5s));
    sim.kill9();   // power cut: nothing after the journal's last write survives
  }
  auto before = server.count([](auto& f) { return is(f, Cmd::SessionEnd); });
  server.ack_session_end = true;
  Process sim(args, dir / "sim2.log");
  ASSERT_TRUE(wait_until([&] { return server.count([](auto& f) { return is(f, Cmd::SessionEnd); }) > before; }, 10s));
  ASSERT_TRUE(wait_until([&] { return read_file(dir / "sim2.log").find("session_end acked port 5 session 4242") != std::string::npos; }, 5s))
      << read_file(dir / "sim2.log");
  auto all = server.frames();
  for (auto& f : all)
    if (is(f, Cmd::SessionEnd)) {
      EXPECT_EQ(SessionEnd::decode(f.body)->session, 4242u);
      EXPECT_EQ(SessionEnd::decode(f.body)->reason, 3);
    }
  EXPECT_EQ(sim.stop(SIGTERM), 0);
}

TEST(Fleet, ScenarioRunsAndSummarises) {
  TempDir dir("sim-fleet");
  FrameServer server;
  write_file(dir / "s.json", R"({
    "name": "test", "seed": 3, "time_scale": 1200, "duration_s": 4,
    "device_base": "861500000000000",
    "chargers": [{"model": 5, "count": 3}, {"model": 4, "count": 2}],
    "tokens": {"secret": "s3cret"},
    "riders": {"arrivals_per_port_per_hour": 2, "self_start": true, "soc": [0.7, 0.9]},
    "batteries": [{"pack": "li48", "brick_a": 3.5, "weight": 1}],
    "faults": {"frames": "dup=0.05"},
    "retry_ms": 300, "tick_ms": 20, "rider_tick_ms": 100
  })");
  Process sim({bin("chargehub-sim").string(), "fleet", "--scenario", (dir / "s.json").string(), "--bridge",
               "127.0.0.1:" + std::to_string(server.port()), "--summary-json", (dir / "sum.json").string()},
              dir / "fleet.log");
  ASSERT_EQ(sim.wait(), 0) << read_file(dir / "fleet.log");
  auto v = boost::json::parse(read_file(dir / "sum.json")).as_object();
  EXPECT_EQ(v.at("chargers").as_int64(), 5);
  EXPECT_EQ(v.at("ports").as_int64(), 5 * 0 + 3 * 20 + 2 * 10);
  EXPECT_GE(v.at("logins").as_int64(), 5);
  EXPECT_GT(v.at("sessions_started").as_int64(), 5);
  EXPECT_GT(v.at("sessions_ended").as_int64(), 0);
  EXPECT_GT(v.at("ended_by_reason").as_object().at("full").as_int64(), 0);
  EXPECT_GT(v.at("frames_sent").as_int64(), 50);
  EXPECT_EQ(v.at("bad_frames").as_int64(), 0);
  // Tokens derived as documented: HMAC-SHA256(secret, device id text), first 16 bytes.
  std::set<DeviceId> devs;
  for (auto& f : server.frames())
    if (is(f, Cmd::Login)) {
      devs.insert(f.device);
      EXPECT_EQ(Login::decode(f.body)->auth.size(), 16u);
    }
  EXPECT_EQ(devs.size(), 5u);
  EXPECT_TRUE(devs.count(861500000000000ULL));
  EXPECT_TRUE(devs.count(861500000000004ULL));
  auto log = read_file(dir / "fleet.log");
  EXPECT_NE(log.find("sessions: started"), std::string::npos) << log;
}
