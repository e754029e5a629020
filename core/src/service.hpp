// The fleet adapter: turns the chargers' MQTT messages into use cases (a table from message kind to
// handler, each kind parsed into its typed payload once), publishes what they ask for (acks after the
// commit of what they acknowledge, commands, credential pushes to the broker plugin), and runs the
// housekeeping. It owns no sockets: messages arrive through on_message(), downlinks leave through the
// Publisher it is given.
#pragma once
#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "app/app.hpp"
#include "chargehub/rules/card_swipe.hpp"
#include "chargehub/rules/command_retry.hpp"
#include "chargehub/rules/telemetry.hpp"
#include "publisher.hpp"

namespace chargehub::core {

// Firmware distribution (OTA) plugs into the service here: the service hands it what it needs and
// keeps no OTA state of its own (app/ota.*).
class OtaHooks {
 public:
  virtual ~OtaHooks() = default;
  // chg/v1/<id>/up/ota: a status or a chunk request (payload already parsed as JSON).
  virtual void on_ota_message(const std::string& device, const boost::json::value& v) = 0;
  // A boot report: the firmware version the device runs now.
  virtual void on_boot(const std::string& device, const std::string& fw) = 0;
  // A heartbeat: port states (frames.md), to offer firmware only to idle chargers.
  virtual void on_heartbeat(const std::string& device, const std::vector<uint8_t>& port_states) = 0;
  virtual void on_online(const std::string& device, bool online) = 0;
  // Called about once a second from the housekeeping thread. `housekeeping`: this core instance runs the
  // planner (the leading one of several, docs/scale-out.md); every instance applies what its hooks saw.
  virtual void tick(bool housekeeping) = 0;
};

struct ServiceConfig {
  int64_t start_timeout_s = 90;      // a START never published by then is given up (funds released)
  rules::RetryPolicy start_retry;    // a published START without reply: resend, QUERY_PORTS, give up (<= 30 s)
  int64_t charger_time_scale = 1;    // charger seconds per server second (simulated fleets); the meter check's window
  int64_t offline_after_s = 180;     // three missed heartbeats at the default 60 s
  int64_t command_ttl_s = 60;        // `expires` of a downlink command
  rules::TelemetryRules telemetry;
  rules::CardRules cards;
  int64_t full_resolution_s = 7 * 86400;   // meter samples newer than this keep full resolution
  int64_t downsample_interval_s = 300;     // older ones keep one sample per interval
};

struct Counters {
  std::atomic<uint64_t> messages{0}, bad_messages{0}, unknown_topics{0}, sessions_settled{0}, duplicate_reports{0},
      commands_published{0}, publish_failures{0},
      retried{0},        // messages applied again after colliding with another core instance's transaction
      bursts_split{0};   // bursts rolled back and applied message by message (rows held by another instance)
};

class Service {
 public:
  using Clock = std::function<int64_t()>;   // unix seconds
  Service(App& app, Publisher& pub, ServiceConfig cfg = {}, Clock clock = {});

  // A message from the fleet (topic under chg/v1/). Never throws for bad input: it is counted and dropped.
  void on_message(const std::string& topic, std::string_view payload);
  // A burst of messages in one transaction; what they publish (acks, commands) goes out after the commit.
  void on_messages(const std::vector<std::pair<std::string, std::string>>& batch);
  // Periodic housekeeping: give up unanswered STARTs, mark silent devices offline, send queued commands,
  // thin old samples, plan rollouts. With several core instances only the leading one does it
  // (`housekeeping` false on the others: they only hand what their OTA hooks saw to the tables).
  void tick(bool housekeeping = true);
  // Whether the last tick() ran the housekeeping (this instance leads); set before the first tick.
  bool housekeeping() const { return housekeeping_; }
  void set_housekeeping(bool leads) { housekeeping_ = leads; }
  // After (re)connecting to the broker: send what is still queued and reconcile every online device.
  void on_connected();
  void flush_commands();

  // Use cases that publish: the command goes out at once.
  Result<StartTicket> start_session(const Scope& scope, const OpenRequest& r);
  // From the API: the target is loaded within the caller's scope first (outside it: *_not_found).
  Result<CommandRow> stop_session(const Scope& scope, int64_t session_id, const Origin& origin);
  Result<CommandRow> send_command(const Scope& scope, const std::string& device_id, const std::string& op, const boost::json::object& args,
                                  const Origin& origin);

  // Device credentials and enablement: stored, then pushed to the broker plugin at once
  // ($CONTROL/chargehub-auth/v1), which admits a new device and kicks a disabled or deleted one within a
  // second.
  Result<Device> create_device(const NewDevice& d);
  Result<Device> set_enabled(const Scope& scope, const std::string& device_id, bool enabled);
  Result<Device> delete_device(const Scope& scope, const std::string& device_id);
  Result<Device> rotate_token(const Scope& scope, const std::string& device_id, const std::string& token_hash, int64_t grace_s);

  void set_ota(OtaHooks* ota) { ota_ = ota; }

  App& app() { return app_; }
  const Counters& counters() const { return counters_; }
  int64_t now() const { return clock_(); }

 private:
  using Handler = void (Service::*)(const std::string& device, const boost::json::value& v);
  static const std::unordered_map<std::string_view, Handler>& handlers();
  void on_boot(const std::string& device, const boost::json::value& v);
  void on_heartbeat(const std::string& device, const boost::json::value& v);
  void on_meter(const std::string& device, const boost::json::value& v);
  void on_session_end(const std::string& device, const boost::json::value& v);
  void on_reply(const std::string& device, const boost::json::value& v);
  void on_alarm(const std::string& device, const boost::json::value& v);
  void on_card(const std::string& device, const boost::json::value& v);
  void on_ota(const std::string& device, const boost::json::value& v);
  void on_status(const std::string& device, std::string_view payload);
  void malformed(const std::string& device, std::string_view kind);

  void publish_command(const CommandRow& c);
  void ack(const std::string& device, const payloads::Ack& a);
  // Credentials to the broker plugin ($CONTROL/chargehub-auth/v1, docs/broker-plugin.md): a snapshot of
  // every device when the plugin asks (and when we connect), and each change with its revision.
  void publish_snapshot(const std::string& why);
  void push_device(const std::string& device_id);
  bool publish(const std::string& topic, const std::string& payload, int qos, const std::string& command_id = "");
  bool publish_now(const std::string& topic, const std::string& payload, int qos, const std::string& command_id);
  struct Deferred {
    std::string topic, payload;
    int qos;
    std::string command_id;
  };
  std::vector<Deferred>* deferred_ = nullptr;
  // Messages of the burst under way that collided with another core instance's transaction (a deadlock,
  // or a copy of the same report committed there first): applied again once the burst committed.
  std::vector<std::pair<std::string, std::string>>* collided_ = nullptr;
  bool abandon_on_busy_ = false;   // a Busy error abandons the whole burst (it is applied message by message)
  int64_t last_split_log_ = 0;
  static constexpr int kBurstLockWaitMs = 100;
  // One transaction; false when it was abandoned (`whole`: on a row held too long by another instance).
  bool apply_burst(const std::vector<std::pair<std::string, std::string>>& batch, std::vector<std::pair<std::string, std::string>>* collided,
                   bool whole);
  std::atomic<bool> housekeeping_{true};
  void follow_up(const FollowUp& f);
  void query_ports(const std::string& device, const std::string& why);
  int64_t last_downsample_ = 0;

  App& app_;
  Publisher& pub_;
  ServiceConfig cfg_;
  Clock clock_;
  Counters counters_;
  OtaHooks* ota_ = nullptr;
};

}  // namespace chargehub::core
