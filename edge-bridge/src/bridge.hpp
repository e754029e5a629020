// The bridge of one worker process: the TCP listener and serial lines, the links and chargers on them,
// the registry of online chargers (takeover), the once-a-second supervision, and graceful shutdown.
#pragma once
#include <asio.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "chargehub/frame.hpp"
#include "config.hpp"
#include "counters.hpp"
#include "disk_queue.hpp"
#include "login_throttle.hpp"
#include "mqtt_client.hpp"

namespace chargehub::bridge {

class Link;
class Charger;
enum class CloseReason;

class Bridge {
 public:
  Bridge(asio::io_context& io, const Config& cfg, Counters& counters, int worker);
  ~Bridge();
  // Opens the listener (SO_REUSEPORT when several workers) and, on worker 0, the serial lines.
  void start();
  // Closes everything (chargers go offline), then calls done once MQTT goodbyes are out (or after 2 s).
  void shutdown(std::function<void()> done);

  asio::io_context& io() { return io_; }
  const Config& cfg() const { return cfg_; }
  Counters& counters() { return c_; }
  DiskQueue& queue() { return queue_; }

  // ---- used by links and chargers ----
  void on_frame(Link& link, proto::Frame f);
  void link_closed(Link& link);
  // A charger's CONNACK succeeded: it becomes the device's online charger; an older one is taken over.
  void set_online(Charger& c);
  void set_offline(Charger& c);
  // Keeps a closing MQTT client alive until its DISCONNECT is out.
  void bury(std::shared_ptr<MqttClient> c);
  uint64_t next_link_id() { return ++link_ids_; }

 private:
  void accept();
  void open_serial(const SerialPortConfig& sp);
  void on_login(Link& link, const proto::Frame& f);
  void tick();

  asio::io_context& io_;
  const Config& cfg_;
  Counters& c_;
  int worker_;
  DiskQueue queue_;
  std::unique_ptr<asio::ip::tcp::acceptor> acceptor_;
  asio::steady_timer tick_timer_;
  asio::steady_timer accept_retry_;
  std::unordered_map<uint64_t, std::shared_ptr<Link>> links_;
  std::unordered_map<proto::DeviceId, Charger*> online_;
  std::vector<std::pair<std::shared_ptr<MqttClient>, int64_t>> graveyard_;
  uint64_t link_ids_ = 0;
  int64_t chargers_here_ = 0;
  bool stopping_ = false;
  LoginThrottle login_throttle_;   // failed logins per (device, peer address) and per peer address
  friend class Charger;
};

// The bridge's own service connection (bridge-<name>): publishes the summed counters on
// svc/v1/bridge-<name>/status every status_s, with a retained will {"online":false}.
class StatusPublisher : public MqttHandler {
 public:
  StatusPublisher(asio::io_context& io, const Config& cfg, const Counters* blocks, int n,
                  std::function<int()> workers_alive);
  void start();
  void stop();
  std::string snapshot() const;

  void on_connect(int rc) override;
  void on_disconnect(int reason) override;
  void on_message(std::string_view, std::span<const uint8_t>) override {}

 private:
  void publish();
  void schedule(int ms);
  asio::io_context& io_;
  const Config& cfg_;
  const Counters* blocks_;
  int n_;
  std::function<int()> alive_;
  std::shared_ptr<MqttClient> mqtt_;
  asio::steady_timer timer_;
  std::string topic_;
  int backoff_ms_ = 500;
  bool stopping_ = false;
};

}  // namespace chargehub::bridge
