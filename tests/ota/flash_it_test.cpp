// Direct flashing on the bench: `chargehub-ota flash` on one serial line, a simulated charger on the
// other, joined by a null-modem made of two pseudo-terminals (openpty) and a relay thread.
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "fixture.hpp"

using namespace chargehub;
using namespace chargehub::otatest;

namespace {

struct Pty {
  int master = -1, slave = -1;
  std::string path;
  Pty() {
    char name[128];
    termios t{};
    cfmakeraw(&t);
    if (openpty(&master, &slave, name, &t, nullptr) != 0) throw std::runtime_error("openpty failed");
    path = name;
  }
  ~Pty() {
    ::close(slave);
    ::close(master);
  }
};

// Copies bytes both ways between the two masters, like a null-modem cable between two serial ports.
class NullModem {
 public:
  NullModem() : thread_([this] { run(); }) {}
  ~NullModem() {
    stop_ = true;
    thread_.join();
  }
  Pty a, b;
  std::atomic<uint64_t> bytes{0};

 private:
  void run() {
    pollfd fds[2] = {{a.master, POLLIN, 0}, {b.master, POLLIN, 0}};
    char buf[4096];
    while (!stop_) {
      if (::poll(fds, 2, 50) <= 0) continue;
      for (int i = 0; i < 2; ++i) {
        if (!(fds[i].revents & POLLIN)) continue;
        ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
        if (n <= 0) continue;
        bytes += static_cast<uint64_t>(n);
        int to = fds[1 - i].fd;
        for (ssize_t off = 0; off < n;) {
          ssize_t w = ::write(to, buf + off, static_cast<size_t>(n - off));
          if (w <= 0) break;
          off += w;
        }
      }
    }
  }
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

struct DirectFlash : ::testing::Test {
  TempDir dir{"ota-flash"};
  firmware::KeyPair key = firmware::generate_key();
  fs::path pub = dir / "firmware.pub", pkg = dir / "fw.chfw";
  NullModem line;
  const std::string device = "861234567890123";

  void SetUp() override {
    write_file(pub, firmware::public_to_pem(key.pub));
    write_file(pkg, firmware::package_to_json(firmware::make_package(image(20000), {1, {1, 1, 0}, {1, 0, 0}, "", 0}, key.priv)));
  }
  std::unique_ptr<Process> sim(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{bin("chargehub-sim").string(), "--serial", line.a.path, "--device", device,
                                  "--token-hex", "000102030405060708090a0b0c0d0e0f", "--tick-ms", "20", "--retry-ms", "1000",
                                  "--plug-in", "none"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return std::make_unique<Process>(argv, dir / "sim.log");
  }
  int flash(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{bin("chargehub-ota").string(), "flash", pkg.string(), "--serial", line.b.path, "--timeout", "30"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    Process p(argv, dir / "flash.log");
    return p.wait();
  }
  std::string logs() { return "\n--- flash\n" + read_file(dir / "flash.log") + "\n--- sim\n" + read_file(dir / "sim.log"); }
};

}  // namespace

TEST_F(DirectFlash, AChargerOnASerialLineIsFlashedAndBootsTheNewVersion) {
  auto s = sim({"--firmware-key", pub.string()});
  EXPECT_EQ(flash(), 0) << logs();
  auto out = read_file(dir / "flash.log");
  EXPECT_NE(out.find("logged in: model 1, fw 1.0.0"), std::string::npos) << logs();
  EXPECT_NE(out.find("event=flash.progress pct=100 "), std::string::npos) << logs();
  EXPECT_NE(out.find("installed: the charger booted 1.1.0"), std::string::npos) << logs();
  EXPECT_NE(read_file(dir / "sim.log").find("booted firmware 1.1.0"), std::string::npos) << logs();
  EXPECT_GT(line.bytes.load(), 20000u);
}

TEST_F(DirectFlash, AnImageThatFailsToBootExitsWith6) {
  auto s = sim({"--firmware-key", pub.string(), "--ota-boot-fails"});
  EXPECT_EQ(flash(), 6) << logs();
  EXPECT_NE(read_file(dir / "flash.log").find("rolled_back"), std::string::npos) << logs();
}

TEST_F(DirectFlash, AChargerWithAnotherPlatformKeyRejectsTheOfferExit3) {
  auto other = dir / "other.pub";
  write_file(other, firmware::public_to_pem(firmware::generate_key().pub));
  auto s = sim({"--firmware-key", other.string()});
  EXPECT_EQ(flash(), 3) << logs();
  EXPECT_NE(read_file(dir / "flash.log").find("rejected"), std::string::npos) << logs();
}

TEST_F(DirectFlash, APackageThatDoesNotVerifyIsNeverOffered) {
  auto other = dir / "other.pub";
  write_file(other, firmware::public_to_pem(firmware::generate_key().pub));
  EXPECT_EQ(flash({"--pubkey", other.string()}), 2) << logs();
}

TEST_F(DirectFlash, AChargerDialingInOverTcpIsFlashedAcrossItsReboot) {
  // The installer points the charger's server address at the laptop; it dials in as it dials the bridge,
  // and again after the reboot.
  int port = free_port();
  Process tool({bin("chargehub-ota").string(), "flash", pkg.string(), "--listen", "127.0.0.1:" + std::to_string(port), "--timeout", "30"},
               dir / "flash.log");
  ASSERT_TRUE(wait_for_port(port)) << logs();
  Process s({bin("chargehub-sim").string(), "--bridge", "127.0.0.1:" + std::to_string(port), "--device", device, "--token-hex",
             "000102030405060708090a0b0c0d0e0f", "--tick-ms", "20", "--retry-ms", "1000", "--plug-in", "none", "--firmware-key",
             pub.string()},
            dir / "sim.log");
  EXPECT_EQ(tool.wait(), 0) << logs();
  EXPECT_NE(read_file(dir / "flash.log").find("installed: the charger booted 1.1.0"), std::string::npos) << logs();
}
