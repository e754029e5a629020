// One charger behind the bridge: its own MQTT connection (its credentials, its topics) and the state of
// the frame protocol with it: pending reports waiting for the core's down/ack, commands waiting for the
// charger's response, OTA chunk requests waiting for down/ota.
//
// Life: created on LOGIN -> Connecting (CONNACK awaited) -> Online -> Closed. While Online its MQTT
// connection may drop and come back; up-messages meanwhile go to the on-disk queue.
#pragma once
#include <asio.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "chargehub/frame.hpp"
#include "chargehub/messages.hpp"
#include "mqtt_client.hpp"

namespace chargehub::bridge {

class Bridge;
class Link;

enum class CloseReason {
  LinkClosed,   // the transport went away: publish offline
  Silent,       // 3 heartbeat intervals without a frame: publish offline
  TakenOver,    // the same device logged in on another link: no offline (the new one is online)
  Refused,      // its LOGIN was refused: never online
  Relogin,      // a new LOGIN on the same link replaces it
  Shutdown,     // bridge stopping: publish offline
};

class Charger final : public MqttHandler, public std::enable_shared_from_this<Charger> {
 public:
  Charger(Bridge& b, Link& link, const proto::Frame& login_frame, const proto::Login& login);
  ~Charger() override;

  void start(const proto::Login& login);   // opens the MQTT connection with the LOGIN's credentials
  void on_frame(const proto::Frame& f);    // any frame after LOGIN from this device on its link
  // Ends this charger; its removal from the link is posted (safe from inside callbacks).
  void close(CloseReason why);
  void tick(int64_t now_ms);               // once a second: silence, MQTT keepalive

  proto::DeviceId device() const { return device_; }
  const std::string& id() const { return id_; }
  uint16_t login_seq() const { return login_seq_; }
  bool online() const { return state_ == State::Online; }
  bool connecting() const { return state_ == State::Connecting; }
  bool closed() const { return state_ == State::Closed; }
  Link& link() { return link_; }

  // MqttHandler
  void on_connect(int rc) override;
  void on_disconnect(int reason) override;
  void on_message(std::string_view topic, std::span<const uint8_t> payload) override;

 private:
  enum class State : uint8_t { Connecting, Online, Closed };
  struct Report {            // SESSION_END, CARD, ALARM waiting for down/ack; OTA_CHUNK_REQ for down/ota
    std::string msg;
    proto::Cmd cmd;
    uint16_t seq;            // seq of the latest copy (the response carries it)
    uint32_t offset = 0;     // OTA_CHUNK_REQ
    int64_t published_ms;
    bool on_disk = false;
    std::string payload;     // JSON, for republishing
  };
  struct PendingCmd {
    std::string id;
    proto::Cmd cmd;
    uint16_t seq;
    int attempts = 0;
    std::vector<uint8_t> body;
    std::unique_ptr<asio::steady_timer> timer;
  };
  struct Recent {            // replies to recent command ids, answered again on a repeat
    std::string id;
    std::string reply;
    int64_t at_ms;
  };

  void finish_login(proto::LoginResult r);
  void connected();                    // CONNACK ok: status, subscription, queue drain, republish
  void schedule_reconnect();
  void respond(const proto::Frame& req, std::vector<uint8_t> body);
  // Publishes on up/<kind>, or queues on disk while the MQTT connection is down. True if published.
  bool up(std::string_view kind, std::string payload, int qos);
  void report(const proto::Frame& f, std::string_view kind, std::string msg, std::string payload);
  void on_response(const proto::Frame& f);
  void on_cmd(std::span<const uint8_t> payload);
  void on_ack(std::span<const uint8_t> payload);
  void on_ota(std::span<const uint8_t> payload);
  void send_cmd(PendingCmd& p);
  void reply(const std::string& id, std::string json, bool cache = true);
  void finish_cmd(const std::string& id);
  uint64_t link_key(uint16_t seq) const { return static_cast<uint64_t>(login_ms_) * 65536u + seq; }

  Bridge& br_;
  Link& link_;
  proto::DeviceId device_;
  std::string id_;
  State state_ = State::Connecting;
  uint16_t login_seq_;
  uint16_t next_seq_;
  int64_t login_ms_;
  int64_t last_rx_ms_;
  int reconnect_delay_ms_ = 500;
  bool counted_ = false;               // in Counters::chargers
  bool queued_ = false;                // records may be waiting on disk
  std::string boot_;                   // up/boot payload until published
  std::shared_ptr<MqttClient> mqtt_;
  asio::steady_timer timer_;           // login timeout, then reconnect back-off
  std::vector<Report> reports_;
  std::vector<PendingCmd> cmds_;
  std::vector<Recent> recent_;
};

}  // namespace chargehub::bridge
