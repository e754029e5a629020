// One libmosquitto client instance driven by the process's asio loop (no threads of its own):
// its socket is watched with asio, and libmosquitto's read/write/misc steps run on readiness.
// Why libmosquitto and not Paho: see docs/edge-bridge.md (Design): a Paho client per charger costs a
// thread-shared callback queue and several times the CPU per message; libmosquitto instances cost about
// 1-2 KiB each and no thread.
//
//   auto c = MqttClient::create(io, opts, handler);   // handler outlives c, or c is closed first
//   c->connect();                                       // async; handler.on_connect(rc) follows
//   c->publish("t", payload, 1, false);
//   c->disconnect();                                    // clean; then destroy once closed() (or at once)
//
// Rules: never destroy a client inside one of its own callbacks (post the destruction instead).
#pragma once
#include <asio.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

struct mosquitto;

namespace chargehub::bridge {

struct MqttOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 1883;
  std::string client_id;
  std::string username;
  std::string password;       // kept only inside libmosquitto's instance, for reconnects; never logged
  int keepalive_s = 60;
  std::string will_topic;     // "" = no will
  std::string will_payload;
  int will_qos = 1;
  bool will_retain = true;
};

class MqttHandler {
 public:
  virtual ~MqttHandler() = default;
  // rc: 0 accepted, else an MQTT v5 CONNACK reason code (0x86 bad credentials, 0x87 not authorised, ...)
  // or kConnectFailed when the broker could not be reached.
  virtual void on_connect(int rc) = 0;
  // reason: MQTT v5 DISCONNECT reason from the broker (0x8E session taken over), or kConnectionLost.
  virtual void on_disconnect(int reason) = 0;
  virtual void on_message(std::string_view topic, std::span<const uint8_t> payload) = 0;
  virtual void on_publish_done(int mid, int reason) {}
};

class MqttClient : public std::enable_shared_from_this<MqttClient> {
 public:
  static constexpr int kConnectFailed = -1;
  static constexpr int kConnectionLost = -2;
  static constexpr int kTakenOver = 0x8E;

  static std::shared_ptr<MqttClient> create(asio::io_context& io, const MqttOptions& o, MqttHandler* h);
  ~MqttClient();
  MqttClient(const MqttClient&) = delete;
  MqttClient& operator=(const MqttClient&) = delete;

  // Starts connecting (non-blocking). Returns false if it could not even start (then on_connect is not called).
  bool connect();
  bool reconnect();
  // Queue a publish; returns the mid (>0) for QoS 1, 0 for QoS 0, -1 on error (not connected, too big).
  int publish(std::string_view topic, std::span<const uint8_t> payload, int qos, bool retain);
  int publish(std::string_view topic, std::string_view payload, int qos, bool retain) {
    return publish(topic, std::span(reinterpret_cast<const uint8_t*>(payload.data()), payload.size()), qos, retain);
  }
  bool subscribe(std::string_view filter, int qos);
  void disconnect();                 // clean DISCONNECT (no will)
  void detach() { handler_ = nullptr; }   // no more callbacks (owner going away)
  void tick();                       // keepalive and timeouts; call about once a second
  bool connected() const { return connected_; }
  bool closed() const;               // no socket any more
  void flush() { sync(); }

 private:
  MqttClient(asio::io_context& io, MqttHandler* h);
  void sync();                       // (re)register the socket with asio, arm waits
  void after(int rc);

  static void cb_connect(mosquitto*, void*, int, int, const void*);
  static void cb_disconnect(mosquitto*, void*, int, const void*);
  static void cb_message(mosquitto*, void*, const void*, const void*);
  static void cb_publish(mosquitto*, void*, int, int, const void*);

  asio::io_context& io_;
  MqttHandler* handler_;
  mosquitto* m_ = nullptr;
  std::optional<asio::posix::stream_descriptor> desc_;
  int fd_ = -1;
  uint32_t gen_ = 0;
  bool reading_ = false, writing_ = false, connected_ = false;
  bool connack_seen_ = false;
  std::string host_;
  int port_ = 1883;
  int keepalive_ = 60;
};

// Once per process, before any client.
void mqtt_global_init();

}  // namespace chargehub::bridge
