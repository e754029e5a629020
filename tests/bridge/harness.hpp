// Test harness of the edge bridge's integration tests: a plain Mosquitto (or the plugin broker), the
// bridge as a real process, a "core" MQTT client that records what the bridge publishes, and fake
// chargers speaking frames over TCP or a pseudo-terminal with the domain codec.
#pragma once
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "chargehub/frame.hpp"
#include "chargehub/messages.hpp"
#include "testsupport.hpp"

struct mosquitto;

namespace chargehub::bridgetest {

using namespace std::chrono_literals;
using chargehub::testing::TempDir;
using chargehub::testing::Process;
namespace fs = std::filesystem;
namespace json = boost::json;

// Mosquitto with anonymous access on a free loopback port (no plugin), restartable on the same port.
class PlainBroker {
 public:
  explicit PlainBroker(const TempDir& dir, std::string extra = "");
  ~PlainBroker();
  int port() const { return port_; }
  void stop();
  void start();
 private:
  fs::path conf_, log_;
  int port_;
  std::unique_ptr<Process> proc_;
};

struct Msg {
  std::string topic;
  std::string payload;
  bool retained = false;
  json::value json() const;
};

// The core's side: a libmosquitto client on its own thread that records every message it receives.
class CoreClient {
 public:
  CoreClient(int port, std::vector<std::string> subs = {"chg/v1/+/up/#", "chg/v1/+/status", "svc/#"},
             std::string user = "", std::string pass = "", std::string client_id = "", bool persistent = false);
  ~CoreClient();
  void publish(const std::string& topic, const std::string& payload, int qos = 1, bool retain = false);
  void publish_bytes(const std::string& topic, const std::vector<uint8_t>& payload, int qos = 1);
  // First message (not yet taken) on topic matching pred, within timeout; removed from the inbox.
  std::optional<Msg> wait(const std::string& topic, std::chrono::milliseconds timeout = 5s,
                          const std::function<bool(const Msg&)>& pred = nullptr);
  std::vector<Msg> all(const std::string& topic);   // every message so far on topic (not removed)
  size_t count(const std::string& topic);
  bool connected() const { return connected_; }
  bool wait_connected(std::chrono::milliseconds t = 5s);

 private:
  static void on_message(mosquitto*, void*, const void*);
  static void on_connect(mosquitto*, void*, int);
  mosquitto* m_;
  std::vector<std::string> subs_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Msg> inbox_;
  std::vector<bool> taken_;
  std::atomic<bool> connected_{false};
};

// A charger's end of a link: blocking socket (or pty fd) with a frame decoder.
class FakeLink {
 public:
  // A TCP link to the bridge, from `bind_address` (e.g. 127.0.0.2) when given.
  static std::unique_ptr<FakeLink> tcp(int port, const std::string& bind_address = "");
  static std::unique_ptr<FakeLink> fd(int fd);   // takes ownership
  ~FakeLink();
  void send_raw(const std::vector<uint8_t>& bytes);
  void send(const proto::Frame& f) { send_raw(proto::encode_frame(f)); }
  // Next frame (optionally only for device / with cmd), within timeout.
  std::optional<proto::Frame> recv(std::chrono::milliseconds timeout = 3s,
                                   std::optional<proto::DeviceId> device = std::nullopt);
  // True if the peer closed the connection within timeout.
  bool closed_within(std::chrono::milliseconds timeout);
  void close();

 private:
  explicit FakeLink(int fd) : fd_(fd) {}
  int fd_;
  proto::FrameDecoder dec_;
  std::deque<proto::Frame> pending_;
};

// A charger on a FakeLink: logs in, keeps its own seq.
struct FakeCharger {
  FakeLink& link;
  proto::DeviceId id;
  uint16_t seq = 1;
  std::vector<uint8_t> token = std::vector<uint8_t>(16, 0x42);

  proto::Frame frame(proto::Cmd cmd, std::vector<uint8_t> body) { return {id, seq++, cmd, 0, std::move(body)}; }
  // Sends LOGIN and returns its response body.
  std::optional<proto::LoginResp> login(std::chrono::milliseconds timeout = 5s);
  // Sends a frame and returns the response with the same seq and cmd.
  std::optional<proto::Frame> request(proto::Cmd cmd, std::vector<uint8_t> body, std::chrono::milliseconds timeout = 3s);
};

// The bridge process with its options; "--listen" on a free port and "--queue-dir" in the temp dir
// unless given.
class BridgeProcess {
 public:
  BridgeProcess(const TempDir& dir, int broker_port, std::vector<std::string> extra = {}, bool with_listen = true,
                std::string log_name = "bridge.log");
  ~BridgeProcess();
  int port() const { return port_; }
  int pid() const { return proc_->pid(); }
  std::string log() const { return chargehub::testing::read_file(log_); }
  int stop(int sig = 15) { return proc_->stop(sig); }
  void kill9() { proc_->kill9(); }
  bool running() { return proc_->running(); }
  bool wait_log(const std::string& needle, std::chrono::milliseconds t = 5s) const;

 private:
  int port_ = 0;
  fs::path log_;
  std::unique_ptr<Process> proc_;
};

// Standard bodies for tests.
std::vector<uint8_t> login_body(const std::vector<uint8_t>& token, uint8_t model = 1);
std::vector<uint8_t> heartbeat_body();
std::vector<uint8_t> session_end_body(uint32_t session, uint32_t energy_wh = 812);
std::string topic(proto::DeviceId id, const std::string& rest);   // chg/v1/<id>/<rest>

}  // namespace chargehub::bridgetest
