// Native MQTT firmware (mqtt.md): the same charger model, its frames mapped to topics and JSON with the
// domain's payloads. Client id = username = device id; password `tok:<base64 token>` (or
// `ed25519:<unix ms>:<base64 signature>`); the will marks the charger offline. Commands arrive on
// down/cmd and are answered on up/reply; session_end, card and alarm are answered on down/ack; OTA
// chunks are requested on up/ota and arrive on down/ota (offset u32 LE, then the bytes).
//
// Paho calls back on its own thread: every callback only posts to the asio loop.
#include <mqtt/async_client.h>

#include <map>

#include "chargehub/credentials.hpp"
#include "chargehub/payloads.hpp"
#include "chargehub/sim/crypto.hpp"
#include "chargehub/topics.hpp"
#include "host.hpp"

namespace chargehub::sim::io {
using namespace chargehub::proto;
namespace pl = chargehub::payloads;
namespace json = boost::json;

namespace {
class MqttLink : public Link, public virtual mqtt::callback {
 public:
  MqttLink(asio::io_context& io, const SimClock& clock, Station& s, MqttOptions o)
      : io_(io), clock_(clock), station_(s), opt_(std::move(o)), timer_(io), backoff_(opt_.backoff_min_ms),
        id_(device_id_text(s.device())) {
    station_.frame_writer = [this](const Frame& f) { on_charger_frame(f); };
    client_ = std::make_unique<mqtt::async_client>(opt_.uri, id_, mqtt::create_options(MQTTVERSION_3_1_1, 1000));
    client_->set_callback(*this);
  }
  ~MqttLink() override { stop(); }

  void start() override { connect(); }
  void stop() override {
    if (stopped_) return;
    stopped_ = true;
    timer_.cancel();
    try {
      if (client_->is_connected()) client_->disconnect(std::chrono::milliseconds(500))->wait_for(1000);
    } catch (...) {
    }
  }
  bool connected() const override { return up_; }
  void cut(const Now& now, int64_t after_ms) override { drop(now, after_ms); }
  void poll(const Now& now) override {
    if (auto r = station_.charger().take_link_request()) drop(now, r->reconnect_after_ms);
  }

  // ---- Paho thread ----
  void connected(const std::string&) override {
    auto gen = gen_.load();
    asio::post(io_, [this, gen] { if (gen == gen_) on_connected(); });
  }
  void connection_lost(const std::string&) override {
    auto gen = gen_.load();
    asio::post(io_, [this, gen] { if (gen == gen_) on_lost(); });
  }
  void message_arrived(mqtt::const_message_ptr m) override {
    auto gen = gen_.load();
    asio::post(io_, [this, gen, m] { if (gen == gen_) on_message(m); });
  }

 private:
  struct FailListener : mqtt::iaction_listener {
    MqttLink* self;
    explicit FailListener(MqttLink* s) : self(s) {}
    void on_failure(const mqtt::token&) override {
      auto gen = self->gen_.load();
      asio::post(self->io_, [s = self, gen] { if (gen == s->gen_) s->on_lost(); });
    }
    void on_success(const mqtt::token&) override {}
  };

  std::string password() {
    auto& cfg = station_.charger().config();
    if (cfg.auth_kind == AuthKind::Token) return credentials::token_password(cfg.token);
    int64_t ms = clock_.now().unix_ms + cfg.clock_skew_ms;
    std::string text = credentials::ed25519_login_message(id_, ms);
    auto sig = crypto::ed25519_sign(cfg.private_key, {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
    return credentials::ed25519_password(ms, sig);
  }

  void connect() {
    if (stopped_) return;
    auto opts = mqtt::connect_options_builder()
                    .user_name(id_)
                    .password(password())
                    .clean_session(true)
                    .keep_alive_interval(std::chrono::seconds(opt_.keepalive_s))
                    .will(mqtt::message(topics::status(id_), std::string(R"({"online":false})"), 1, true))
                    .finalize();
    try {
      client_->connect(opts, nullptr, fail_);
    } catch (const std::exception&) {
      on_lost();
    }
  }
  void on_connected() {
    up_ = true;
    ++connects;
    backoff_ = opt_.backoff_min_ms;
    auto now = clock_.now();
    publish(topics::status(id_), json::object{{"online", true}, {"ts", now.unix_ms / 1000}}, 1, true);
    try {
      client_->subscribe(topics::device_down_filter(id_), 1);
    } catch (...) {
    }
    station_.charger().link_up(now);   // its LOGIN becomes up/boot (the MQTT login was the real one)
    station_.flush(now);
  }
  void on_lost() {
    bool was = up_;
    up_ = false;
    if (was) station_.charger().link_down(clock_.now());
    if (stopped_) return;
    redial(backoff_);
    backoff_ = std::min(backoff_ * 2, opt_.backoff_max_ms);
  }
  void drop(const Now& now, int64_t after_ms) {
    ++gen_;
    up_ = false;
    station_.charger().link_down(now);
    try {
      if (client_->is_connected()) client_->disconnect(std::chrono::milliseconds(0));
    } catch (...) {
    }
    redial(after_ms);
  }
  void redial(int64_t after_ms) {
    auto gen = ++gen_;
    timer_.expires_after(std::chrono::milliseconds(after_ms));
    timer_.async_wait([this, gen](std::error_code ec) {
      if (ec || gen != gen_ || stopped_) return;
      if (client_->is_connected()) {   // still connected from before the drop: disconnect first
        try {
          client_->disconnect(std::chrono::milliseconds(0))->wait_for(1000);
        } catch (...) {
        }
      }
      connect();
    });
  }
  void publish(const std::string& topic, const json::object& o, int qos, bool retained = false) {
    publish_raw(topic, json::serialize(o), qos, retained);
  }
  void publish_raw(const std::string& topic, const std::string& payload, int qos, bool retained = false) {
    if (!up_) return;
    bytes_out += payload.size();
    try {
      client_->publish(topic, payload.data(), payload.size(), qos, retained);
    } catch (const std::exception&) {
    }
  }
  void respond(const Frame& req, Bytes body) {
    auto f = make_response(req, std::move(body));
    asio::post(io_, [this, f, gen = gen_.load()] {
      if (gen == gen_) station_.deliver(f, clock_.now());
    });
  }

  // A frame from the charger, as MQTT.
  void on_charger_frame(const Frame& f) {
    auto now = clock_.now();
    if (f.is_response()) {   // the answer to a down/cmd
      auto it = cmd_of_seq_.find(f.seq);
      if (it == cmd_of_seq_.end()) return;
      if (auto r = pl::reply(it->second, f.cmd, f.body)) publish(topics::up_topic(id_, topics::up::kReply), *r, 1);
      return;
    }
    switch (f.cmd) {
      case Cmd::Login: {
        auto l = Login::decode(f.body);
        if (l) publish(topics::up_topic(id_, topics::up::kBoot), pl::boot(*l), 1);
        respond(f, LoginResp{LoginResult::Ok, static_cast<uint32_t>(now.unix_ms / 1000), 0}.encode());
        break;
      }
      case Cmd::Heartbeat:
        if (auto h = Heartbeat::decode(f.body)) publish(topics::up_topic(id_, topics::up::kHeartbeat), pl::heartbeat(*h), 0);
        respond(f, ServerTime{static_cast<uint32_t>(now.unix_ms / 1000)}.encode());
        break;
      case Cmd::Meter:
        if (auto m = Meter::decode(f.body)) publish(topics::up_topic(id_, topics::up::kMeter), pl::meter(*m), 0);
        break;
      case Cmd::SessionEnd:
        if (auto s = SessionEnd::decode(f.body)) {
          auto msg = pl::make_msg(station_.device(), Cmd::SessionEnd, s->session);
          pending_[msg] = {f, Cmd::SessionEnd};
          publish(topics::up_topic(id_, topics::up::kSessionEnd), pl::session_end(*s, msg), 1);
        }
        break;
      case Cmd::Card:
        if (auto c = Card::decode(f.body)) {
          auto msg = pl::make_msg(station_.device(), Cmd::Card, (epoch_ << 16) | f.seq);
          pending_[msg] = {f, Cmd::Card};
          publish(topics::up_topic(id_, topics::up::kCard), pl::card(*c, msg), 1);
        }
        break;
      case Cmd::Alarm:
        if (auto a = Alarm::decode(f.body)) {
          auto msg = pl::make_msg(station_.device(), Cmd::Alarm, (epoch_ << 16) | f.seq);
          pending_[msg] = {f, Cmd::Alarm};
          publish(topics::up_topic(id_, topics::up::kAlarm), pl::alarm(*a, msg), 1);
        }
        break;
      case Cmd::OtaStatus:
        if (auto s = OtaStatus::decode(f.body)) publish(topics::up_topic(id_, topics::up::kOta), pl::ota_status(*s), 1);
        respond(f, {});
        break;
      case Cmd::OtaChunkReq:
        if (auto r = OtaChunkReq::decode(f.body)) {
          auto msg = pl::make_msg(station_.device(), Cmd::OtaChunkReq, r->offset);
          chunk_reqs_[r->offset] = f;
          publish(topics::up_topic(id_, topics::up::kOta), pl::ota_chunk_req(*r, msg), 1);
        }
        break;
      default:
        break;
    }
    if (pending_.size() > 4096) pending_.erase(pending_.begin());
  }

  // A message from the core.
  void on_message(const mqtt::const_message_ptr& m) {
    auto t = topics::parse(m->get_topic());
    if (!t || t->device != id_ || t->dir != topics::Direction::Down) return;
    bytes_in += m->get_payload().size();
    auto now = clock_.now();
    if (t->kind == topics::down::kOta) {
      const auto& p = m->get_payload();
      if (p.size() < 4) return;
      uint32_t off = static_cast<uint8_t>(p[0]) | static_cast<uint8_t>(p[1]) << 8 | static_cast<uint8_t>(p[2]) << 16 |
                     static_cast<uint32_t>(static_cast<uint8_t>(p[3])) << 24;
      auto it = chunk_reqs_.find(off);
      if (it == chunk_reqs_.end()) return;
      OtaChunk c{off, Bytes(p.begin() + 4, p.end())};
      auto req = it->second;
      chunk_reqs_.erase(it);
      station_.deliver(make_response(req, c.encode()), now);
      return;
    }
    auto v = pl::parse_json(m->get_payload_str());
    if (!v) { ++bad_frames; return; }
    if (t->kind == topics::down::kAck) {
      auto a = pl::parse_ack(*v);
      if (!a) { ++bad_frames; return; }
      auto it = pending_.find(a->re);
      if (it == pending_.end()) return;   // a late copy: already answered
      auto [req, cmd] = it->second;
      pending_.erase(it);
      station_.deliver(make_response(req, pl::ack_to_body(cmd, *a)), now);
      return;
    }
    if (t->kind != topics::down::kCmd) return;
    auto c = pl::parse_command(*v);
    if (!c) { ++bad_frames; return; }
    if (c->expires && c->expires < now.unix_ms / 1000) return;   // past its expiry: not executed
    auto fb = pl::command_to_frame(*c);
    if (!fb) {
      publish(topics::up_topic(id_, topics::up::kReply), json::object{{"id", c->id}, {"error", "bad command"}}, 1);
      return;
    }
    // A repeated id gets the same seq, so the charger answers again without acting twice.
    uint16_t seq;
    auto known = seq_of_cmd_.find(c->id);
    if (known != seq_of_cmd_.end()) {
      seq = known->second;
    } else {
      if (++next_seq_ == 0) next_seq_ = 1;
      seq = next_seq_;
      seq_of_cmd_[c->id] = seq;
      cmd_of_seq_[seq] = c->id;
      order_.push_back(c->id);
      if (order_.size() > 256) {
        seq_of_cmd_.erase(order_.front());
        order_.pop_front();
      }
    }
    station_.deliver(Frame{station_.device(), seq, fb->cmd, 0, fb->body}, now);
  }

  asio::io_context& io_;
  const SimClock& clock_;
  Station& station_;
  MqttOptions opt_;
  asio::steady_timer timer_;
  int64_t backoff_;
  std::string id_;
  std::unique_ptr<mqtt::async_client> client_;
  std::shared_ptr<FailListener> fail_holder_ = std::make_shared<FailListener>(this);
  FailListener& fail_ = *fail_holder_;
  std::atomic<uint64_t> gen_{0};
  bool up_ = false, stopped_ = false;
  std::map<std::string, std::pair<Frame, Cmd>> pending_;   // msg -> the report it answers
  std::map<uint32_t, Frame> chunk_reqs_;                    // offset -> OTA_CHUNK_REQ
  std::map<std::string, uint16_t> seq_of_cmd_;
  std::map<uint16_t, std::string> cmd_of_seq_;
  std::deque<std::string> order_;
  uint16_t next_seq_ = 0;
  // Keys of card and alarm msgs: the link's start second and the frame's seq, so a retry keeps its msg.
  uint64_t epoch_ = static_cast<uint64_t>(std::time(nullptr));
};
}  // namespace

std::unique_ptr<Link> make_mqtt_link(asio::io_context& io, const SimClock& clock, Station& s, MqttOptions o) {
  return std::make_unique<MqttLink>(io, clock, s, std::move(o));
}

}  // namespace chargehub::sim::io
