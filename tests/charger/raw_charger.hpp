// A "raw charger" for integration tests: one charger speaking mqtt.md JSON directly over libmosquitto,
// independent of the project's firmware simulator, with knobs to misbehave the way real chargers do.
//
//   RawCharger c({.port = broker_port, .device = "861234567890123", .password = "tok:AAECAwQ..."});
//   ASSERT_TRUE(c.connect());            // status online (retained) + up/boot, subscribed to down/#
//   c.drop_start_replies(99, true);      // the next START copies act but their replies are lost
//   ... core sends start ...             // the port charges; the core must resend / QUERY_PORTS
//   c.set_port(3, {PortState::Charging, 1001, 200, 13, 240});
//   c.meter();                           // up/meter from the ports' current figures
//   auto msg = c.session_end({.port = 3, .session = 1001, .reason = 1, .energy_wh = 400000, ...});
//   auto ack = c.wait_ack(msg);          // down/ack for it
//
// Commands (down/cmd) are answered on up/reply with payloads::reply(), exactly as the edge bridge maps a
// framed charger's response. A repeated command id is answered again with the first answer and never
// acted on twice (mqtt.md) — unless its first copy was dropped without acting (the charger "missed" it),
// in which case the repeat is the first copy the charger sees. A command past its `expires` gets
// {"id","error":"expired"} and is not executed. Everything is thread-safe; callbacks run on
// libmosquitto's network thread of this charger.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <mosquitto.h>

#include "chargehub/messages.hpp"
#include "chargehub/payloads.hpp"


namespace chargehub::testing {

using namespace std::chrono_literals;
class Process;   // testsupport.hpp

// "tok:<base64>" for a token given as bytes or as hex (what POST /devices returns as token_hex).
std::string token_password(const std::vector<uint8_t>& token);
std::string token_password_hex(const std::string& token_hex);

class RawCharger {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    int port = 1883;
    std::string device;          // device id text; also the MQTT client id and username
    std::string password;        // "tok:<base64>" (token_password) or anything, to test refusals
    int protocol = 5;            // 5 = MQTT v5, 4 = 3.1.1
    proto::Login boot = {};      // up/boot payload (model, ports, fw, ...); its ports sets the port count
    bool announce = true;        // on connect: retained status online and up/boot
    uint16_t start_power_w = 200;  // power of a port after an accepted START
    bool auto_session_end = true;  // an accepted STOP publishes the port's SESSION_END (reason 3) once,
                                   // after the reply; session_end_until_acked() resends one like firmware
  };
  explicit RawCharger(Options o);
  ~RawCharger();
  RawCharger(const RawCharger&) = delete;
  RawCharger& operator=(const RawCharger&) = delete;

  // Connects and waits for CONNACK and the down/# subscription; true when both came. connack() tells
  // the reason code otherwise (-1: none).
  bool connect(std::chrono::milliseconds timeout = 5s);
  void disconnect();             // a clean disconnect (no will)
  void drop_link();              // the link dies without DISCONNECT: the broker publishes the will
  int connack() const;
  bool connected() const;
  const std::string& device() const { return o_.device; }

  // ---- uplink (payloads built by domain/payloads.hpp) ----
  bool status(bool online);                      // retained, QoS 1
  bool boot();                                   // up/boot from Options::boot
  bool heartbeat(int16_t temp_dc = 285, uint16_t mains_dv = 2205);   // port states from the ports
  bool meter();                                  // every charging port's current figures
  bool meter(const proto::Meter& m);             // arbitrary (absurd) readings
  // up/session_end; msg defaults to payloads::make_msg(device, SESSION_END, session). Returns the msg.
  std::string session_end(const proto::SessionEnd& e, std::string msg = "");
  // As a charger does: the record again every `every` until its ack arrives; the ack, or nothing by `t`.
  std::optional<payloads::Ack> session_end_until_acked(const proto::SessionEnd& e, std::string msg = "",
                                                       std::chrono::milliseconds every = 1s,
                                                       std::chrono::milliseconds t = 10s);
  std::string card(const proto::Card& c, std::string msg = "");
  std::string alarm(const proto::Alarm& a, std::string msg = "");
  // Any payload on up/<kind> (or on the status topic when kind is "status").
  bool publish_raw(const std::string& kind, const std::string& payload, int qos = 1, bool retain = false);

  // ---- downlink seen ----
  // The ack for `msg` (waits); every copy of a report gets its own ack, `nth` picks one (0 = first).
  std::optional<payloads::Ack> wait_ack(const std::string& msg, std::chrono::milliseconds t = 5s, size_t nth = 0);
  std::vector<payloads::Ack> acks(const std::string& msg);
  // The `nth` (0-based) copy received of a command with op `op` (waits).
  std::optional<payloads::Command> wait_command(const std::string& op, std::chrono::milliseconds t = 5s, size_t nth = 0);
  std::vector<payloads::Command> commands();     // every copy received, in order
  size_t copies(const std::string& command_id);  // copies received of one id
  size_t executions(const std::string& op);      // commands of `op` acted on (repeats and dropped-unacted excluded)
  std::vector<std::string> replies();            // every up/reply payload sent, in order

  // ---- knobs ----
  // The next `n` START copies get no reply; `act`: the charger still acts on them (its reply is lost)
  // or not (it missed the command). A later copy of the same id is answered normally.
  void drop_start_replies(int n, bool act);
  // Answer nothing at all (commands are still recorded); acting stays as configured above.
  void set_silent(bool silent);
  // Force the result of the next accepted-looking STARTs (e.g. 2 = no load); nothing = decide from ports.
  void set_start_result(std::optional<uint8_t> result);
  // The state the charger reports for a port (QUERY_PORTS, heartbeat, meter): 1-based port.
  void set_port(uint8_t port, const proto::PortStatus& s);
  proto::PortStatus port(uint8_t port);
  // Every charging port runs `seconds` more at its power: elapsed_s and energy_wh grow (then meter()).
  void advance(uint32_t seconds);
  uint8_t port_count() const { return o_.boot.ports; }

 private:
  static void on_connect(mosquitto*, void*, int, int, const mosquitto_property*);
  static void on_disconnect(mosquitto*, void*, int, const mosquitto_property*);
  static void on_subscribe(mosquitto*, void*, int, int, const int*, const mosquitto_property*);
  static void on_message(mosquitto*, void*, const mosquitto_message*, const mosquitto_property*);
  bool publish(const std::string& topic, const std::string& payload, int qos, bool retain);
  void handle_command(const payloads::Command& c);   // under mu_
  // The response body of a command that is acted on, per frames.md (under mu_).
  proto::Bytes execute(const payloads::Command& c, proto::Cmd cmd);
  void reply(const std::string& json);                // under mu_

  Options o_;
  mosquitto* m_ = nullptr;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int connack_ = -1;
  bool subscribed_ = false, up_ = false;
  int sub_mid_ = -1;
  std::vector<proto::PortStatus> ports_;
  std::vector<uint64_t> ws_;                         // per port: watt-seconds below one Wh (advance)
  std::vector<payloads::Command> received_;
  std::map<std::string, std::string> answered_;      // id -> the reply sent (or that would have been sent)
  std::map<std::string, bool> acted_;                // id -> acted on
  std::map<std::string, size_t> executions_;         // op -> count
  std::vector<std::string> replies_;
  std::vector<std::string> pending_ends_;            // SESSION_END payloads of a STOP, sent after its reply
  std::vector<std::pair<std::string, payloads::Ack>> acks_;
  int drop_starts_ = 0;
  bool drop_act_ = true, silent_ = false;
  std::optional<uint8_t> start_result_;
};

// A plain Mosquitto (no plugin) for the fixture's self-test: a password file and a per-user ACL that
// confine each charger to its own topics the way mqtt.md says, and a "core" account for the test's peer.
class PlainBroker {
 public:
  // users: username -> password. Chargers get chg/v1/<user>/up/#, status (write) and down/# (read);
  // "core" gets everything under chg/v1/.
  PlainBroker(const std::filesystem::path& dir, const std::map<std::string, std::string>& users);
  ~PlainBroker();
  int port() const { return port_; }
  std::string log_text() const;

 private:
  int port_ = 0;
  std::filesystem::path log_;
  std::unique_ptr<Process> process_;
};

// A plain MQTT client (libmosquitto) standing in for the core in the self-test: publishes and records.
class Peer {
 public:
  Peer(int port, const std::string& client_id, const std::string& user, const std::string& password);
  ~Peer();
  bool ok() const;
  bool subscribe(const std::string& filter);
  bool publish(const std::string& topic, const std::string& payload, int qos = 1, bool retain = false);
  // Waits for the `nth` message on `topic` (exact) and returns its payload.
  std::optional<std::string> wait(const std::string& topic, std::chrono::milliseconds t = 5s, size_t nth = 0);
  size_t count(const std::string& topic);

 private:
  static void on_message(mosquitto*, void*, const mosquitto_message*, const mosquitto_property*);
  static void on_subscribe(mosquitto*, void*, int, int, const int*, const mosquitto_property*);
  mosquitto* m_ = nullptr;
  bool ok_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int> subacks_;
  std::vector<std::pair<std::string, std::string>> messages_;
};

}  // namespace chargehub::testing
