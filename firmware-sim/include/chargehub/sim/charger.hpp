// The charger firmware, as a pure state machine: frames in, frames out, time passed in. No I/O.
//
//   MemoryJournal nv;
//   Charger c{cfg, nv, out};            // out: a ChargerOutput that sends frames and records events
//   c.plug(3, Load{...});               // a rider plugs an e-bike into port 3
//   c.link_up(now);                     // the transport connected: LOGIN goes out
//   c.receive(frame, now);              // every frame addressed to this charger
//   c.tick(now);                        // often (every 10-200 ms real): physics, timers, retries
//   if (auto r = c.take_link_request()) // the firmware wants the link dropped / re-dialled
//
// Two clocks travel in `Now`: `sim_ms`, the simulated unix time in ms (physics, meter and heartbeat
// intervals, started_at), and `real_ms`, a real monotonic time in ms (protocol retries, back-off, login
// timestamps). Tests advance both by hand.
#pragma once
#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "chargehub/frame.hpp"
#include "chargehub/messages.hpp"
#include "chargehub/sim/battery.hpp"
#include "chargehub/sim/journal.hpp"

namespace chargehub::sim {

struct Now {
  int64_t sim_ms = 0;    // simulated unix time, ms
  int64_t real_ms = 0;   // real time, ms (monotonic; only differences matter, plus unix_ms for auth)
  int64_t unix_ms = 0;   // real unix time, ms (LOGIN signature timestamp); 0 = use real_ms
};

struct ChargerConfig {
  proto::DeviceId device = 861234567890123ULL;
  proto::Model model = proto::Model::Scan10;
  uint8_t hw = 1;
  proto::Version fw{1, 0, 0};           // factory firmware (the journal's version wins once saved)
  std::string iccid = "89860000000000000001";
  uint8_t csq = 20;
  proto::AuthKind auth_kind = proto::AuthKind::Token;
  proto::Bytes token;                   // auth_kind 1
  std::array<uint8_t, 32> private_key{};   // auth_kind 2 (raw Ed25519 seed)
  std::optional<std::array<uint8_t, 32>> firmware_key;   // platform OTA public key; no key = reject offers
  int64_t retry_ms = 5000;              // real time between retries of a frame that expects a response
  int retries = 3;                      // at most this many retries (SESSION_END: until answered)
  int64_t step_ms = 5000;               // firmware evaluation step, simulated ms
  double ambient_c = 25.0;
  double temp_c_per_w = 0.008;          // chassis heating: steady state = ambient + k * total power
  double temp_tau_s = 600;
  int64_t clock_skew_ms = 0;            // added to every timestamp the charger reports
  int64_t commissioning_s = 60;         // duration of the START 0xFF test, simulated
  int64_t reboot_ms = 300;              // real time a reboot keeps the link down
  uint32_t max_image = 4u << 20;        // largest OTA image accepted
  bool ota_boot_fails = false;          // scenario: the next installed image fails to boot (rollback)
  uint64_t seed = 1;
};

// What the charger reports to its host (logs, fleet counters).
struct Event {
  enum Kind {
    LoginSent, LoginOk, LoginRefused, Started, StartRefused, Ended, EndAcked, Alarm, Card, CardAnswer,
    Locate, Params, Rebooting, PowerLoss, Booted, Ota, Unplugged, Timeout, Dropped,
  } kind;
  int port = 0;
  uint32_t session = 0;
  int reason = 0;       // end reason, refusal result, alarm code, login result, OTA status ...
  int64_t value = 0;    // energy Wh, alarm value, balance fen, bytes ...
  std::string text;     // one human line, already formatted
};

class ChargerOutput {
 public:
  virtual ~ChargerOutput() = default;
  virtual void send(const proto::Frame& f) = 0;
  virtual void event(const Event& e) { (void)e; }
};

struct LinkRequest {
  int64_t reconnect_after_ms = 0;   // drop the link now, dial again after this (real) delay
};

struct PortView {
  proto::PortState state = proto::PortState::Idle;
  uint32_t session = 0;
  double power_w = 0, energy_wh = 0;
  int64_t elapsed_s = 0;
  bool plugged = false;
  bool local = false;               // started locally (fleet self-start), not by START
  const Load* load = nullptr;
};

struct Counters {
  uint64_t frames_sent = 0, frames_received = 0, retries = 0, duplicates = 0, unknown = 0;
  uint64_t sessions_started = 0, sessions_ended = 0, alarms = 0, logins = 0;
  std::array<uint64_t, 11> ended_by_reason{};
  double energy_wh = 0;
};

class Charger {
 public:
  Charger(ChargerConfig cfg, Journal& nv, ChargerOutput& out);

  // ---- the transport ----
  void link_up(const Now& now);               // sends LOGIN
  void link_down(const Now& now);             // drops pending responses (SESSION_END stays journaled)
  void receive(const proto::Frame& f, const Now& now);
  void tick(const Now& now);
  std::optional<LinkRequest> take_link_request();
  bool logged_in() const { return logged_in_; }

  // ---- the physical world ----
  void plug(int port, Load load);             // port is 1-based
  void unplug(int port, const Now& now);      // while charging: SESSION_END reason 7
  void swipe(int port, const proto::Bytes& uid, const Now& now);   // card models only
  bool local_start(int port, const Now& now, uint8_t mode = 0, uint32_t limit = 0);   // fleet self-start
  void reboot(const Now& now);                // graceful: sessions end with reason 8 now
  void power_loss(const Now& now);            // abrupt: sessions end with reason 8 at the next boot,
                                              // with the energy of the last checkpoint
  void set_clock_skew_ms(int64_t ms) { cfg_.clock_skew_ms = ms; }
  void set_ambient_c(double c) { cfg_.ambient_c = c; }

  // ---- inspection ----
  int ports() const { return static_cast<int>(ports_.size()); }
  PortView port(int port) const;
  double temperature_c() const { return temp_c_; }
  double total_power_w() const;
  const proto::Params& params() const { return nv_.params; }
  proto::Version firmware() const { return nv_.fw; }
  const NvState& nv() const { return nv_; }
  const Counters& counters() const { return counters_; }
  const ChargerConfig& config() const { return cfg_; }
  std::string id_text() const { return id_text_; }
  bool high_power_port(int port) const;
  double port_limit_w(int port) const;        // configured overload threshold of a port

 private:
  struct Port {
    proto::PortState state = proto::PortState::Idle;
    std::optional<Load> load;
    uint32_t session = 0;
    uint8_t mode = 0;
    uint32_t limit = 0;
    uint16_t max_power_w = 0;
    int64_t start_sim_ms = 0;
    uint64_t order = 0;         // start order, for "newest first"
    double energy_wh = 0, power_w = 0, max_power_seen = 0;
    int64_t below_since_ms = -1;
    bool local = false, test = false;
    proto::Bytes card;          // card that started the session
    proto::Bytes card_pending;  // accepted card waiting for its START
    int64_t card_pending_until = 0;
  };
  struct Pending {
    uint16_t seq = 0;
    proto::Cmd cmd{};
    proto::Frame frame;
    int attempts = 1;
    int64_t next_ms = 0;
    uint64_t record = 0;        // SESSION_END journal record id
    int port = 0;               // CARD: port
  };
  struct Answered {             // recently answered server commands (duplicate detection)
    proto::Cmd cmd{};
    uint16_t seq = 0;
    proto::Bytes body, resp;
  };

  void boot(const Now& now);
  uint16_t next_seq();
  void send(proto::Cmd cmd, proto::Bytes body, const Now& now, uint64_t record = 0, int port = 0);
  void send_response(const proto::Frame& req, proto::Bytes body);
  void on_response(const proto::Frame& f, const Now& now);
  void on_command(const proto::Frame& f, const Now& now);
  std::optional<proto::Bytes> handle(const proto::Frame& f, const Now& now);
  uint8_t do_start(const proto::StartCmd& s, const Now& now, bool local);
  uint8_t do_stop(const proto::StopCmd& s, const Now& now);
  uint8_t do_adjust(const proto::AdjustCmd& a, const Now& now);
  uint8_t do_set_params(proto::ByteView body);
  uint8_t do_ota_offer(proto::ByteView body, const Now& now);
  void step(double dt_s, const Now& at);
  void end_session(int port, proto::EndReason reason, const Now& now);
  void send_session_end(const NvState::Record& r, const Now& now);
  void alarm(proto::AlarmCode code, int port, int32_t value, const Now& now);
  void heartbeat(const Now& now);
  void meter(const Now& now, bool checkpoint_only);
  void checkpoint(const Now& now);
  void ota_pull(const Now& now);
  void ota_status(uint8_t status, uint32_t bytes, const Now& now);
  void ota_chunk(const proto::OtaChunk& c, const Now& now);
  void emit(Event::Kind k, int port, uint32_t session, int reason, int64_t value, std::string text);
  void save() { nv_store_.save(nv_); }
  uint32_t unix_s(const Now& now) const;
  bool any_charging() const;
  bool valid_limit(uint8_t mode, uint32_t limit) const;
  void request_link(int64_t after_ms) { link_request_ = LinkRequest{after_ms}; }

  ChargerConfig cfg_;
  Journal& nv_store_;
  ChargerOutput& out_;
  NvState nv_;
  std::string id_text_;
  std::vector<Port> ports_;
  std::mt19937_64 rng_;
  bool linked_ = false, logged_in_ = false, login_sent_ = false;
  uint16_t seq_ = 0;
  std::vector<Pending> pending_;
  std::map<uint16_t, uint64_t> end_seqs_;     // seq of every SESSION_END copy -> record
  std::map<uint64_t, int64_t> end_next_ms_;   // record -> next resend (real ms)
  std::deque<Answered> answered_;
  std::optional<LinkRequest> link_request_;
  int login_refusals_ = 0;
  int missed_heartbeats_ = 0;
  int64_t last_sim_ms_ = -1;
  int64_t next_heartbeat_ms_ = 0, next_meter_ms_ = 0, next_checkpoint_ms_ = 0;
  uint16_t heartbeat_s_ = 60;
  uint64_t start_order_ = 0;
  double temp_c_ = 25;
  bool warned_ = false, cut_ = false;
  int64_t test_until_ms_ = -1;
  std::optional<int64_t> reboot_at_real_;
  bool ota_requesting_ = false;
  uint32_t ota_last_report_ = 0;
  std::vector<proto::Alarm> held_alarms_;      // raised while offline, sent after login (at most 16)
  bool in_command_ = false;                    // SESSION_ENDs caused by a command follow its response
  std::vector<uint64_t> deferred_ends_;
  Counters counters_;
};

// Human names for logs.
std::string reason_name(int reason);

}  // namespace chargehub::sim
