#include "charger.hpp"

#include <algorithm>
#include <random>

#include "bridge.hpp"
#include "chargehub/credentials.hpp"
#include "chargehub/payloads.hpp"
#include "chargehub/topics.hpp"
#include "link.hpp"
#include "util.hpp"

namespace chargehub::bridge {

using namespace chargehub::proto;
namespace json = boost::json;
namespace pl = chargehub::payloads;

namespace {
constexpr size_t kMaxReports = 64;    // unacknowledged reports per charger; more wait for the charger's retry
constexpr size_t kMaxCmds = 32;       // commands in flight per charger
constexpr size_t kRecent = 32;        // command ids remembered for repeats
constexpr int64_t kRecentMs = 15 * 60 * 1000;

uint16_t random_seq() {
  static std::mt19937 rng{std::random_device{}()};
  return static_cast<uint16_t>(rng());
}

std::string error_reply(const std::string& id, std::string_view error) {
  return json::serialize(json::object{{"id", id}, {"error", error}});
}

// MQTT v5 CONNACK reasons that mean "these credentials are not admitted" (LOGIN result 2); the broker
// does not say whether the device is unknown, its credentials wrong, or it is disabled.
bool is_auth_refusal(int rc) {
  return rc == 0x85 || rc == 0x86 || rc == 0x87 || rc == 0x8A || rc == 0x8C || rc == 4 || rc == 5;
}
}  // namespace

Charger::Charger(Bridge& b, Link& link, const Frame& f, const Login& login)
    : br_(b),
      link_(link),
      device_(f.device),
      id_(device_id_text(f.device)),
      login_seq_(f.seq),
      next_seq_(random_seq()),
      login_ms_(unix_ms()),
      last_rx_ms_(mono_ms()),
      timer_(b.io()) {
  boot_ = json::serialize(pl::boot(login));
}

Charger::~Charger() {
  if (mqtt_) {
    mqtt_->detach();
    br_.bury(std::move(mqtt_));
  }
}

void Charger::start(const Login& login) {
  MqttOptions o;
  o.host = br_.cfg().broker_host;
  o.port = br_.cfg().broker_port;
  o.client_id = id_;
  o.username = id_;
  // The charger's own credentials, in the MQTT password format of domain's credentials.hpp (the frame
  // decoder has checked the sizes: a token of 16-64 bytes, or 8 bytes of time and a 64-byte signature).
  try {
    if (login.auth_kind == AuthKind::Token) {
      o.password = credentials::token_password(login.auth);
    } else {
      uint64_t ms = 0;
      for (int i = 7; i >= 0; --i) ms = (ms << 8) | login.auth[static_cast<size_t>(i)];
      o.password = credentials::ed25519_password(static_cast<int64_t>(ms),
                                                 std::span(login.auth).subspan<8, credentials::kSignatureBytes>());
    }
  } catch (const std::invalid_argument&) {
    o.password.clear();  // not a password the plugin could accept (a time past int64): refused there
  }
  o.keepalive_s = br_.cfg().mqtt_keepalive_s;
  o.will_topic = topics::status(id_);
  o.will_payload = R"({"online":false})";
  mqtt_ = MqttClient::create(br_.io(), o, this);
  std::fill(o.password.begin(), o.password.end(), '\0');
  timer_.expires_after(std::chrono::milliseconds(br_.cfg().login_timeout_ms));
  timer_.async_wait([w = weak_from_this()](const asio::error_code& ec) {
    auto self = w.lock();
    if (ec || !self || !self->connecting()) return;
    log(Level::Info, "login_timeout", "device", self->id_);
    self->finish_login(LoginResult::Busy);
  });
  if (!mqtt_->connect()) {
    // Could not even start (broker address refused at once): busy, try later.
    asio::post(br_.io(), [w = weak_from_this()] {
      if (auto self = w.lock(); self && self->connecting()) self->finish_login(LoginResult::Busy);
    });
  }
}

void Charger::respond(const Frame& req, std::vector<uint8_t> body) { link_.send(make_response(req, std::move(body))); }

void Charger::finish_login(LoginResult r) {
  timer_.cancel();
  Frame req{device_, login_seq_, Cmd::Login, 0, {}};
  LoginResp resp{r, static_cast<uint32_t>(unix_s()), static_cast<uint16_t>(br_.cfg().heartbeat_s)};
  respond(req, resp.encode());
  if (r == LoginResult::Ok) return;
  if (r == LoginResult::Busy) ++br_.counters().logins_busy;
  else ++br_.counters().logins_refused;
  log(Level::Info, "login_refused", "device", id_, "result", static_cast<int>(r), "link", link_.id());
  close(CloseReason::Refused);
}

void Charger::on_connect(int rc) {
  if (state_ == State::Closed) return;
  if (state_ == State::Connecting) {
    if (rc != 0) {
      bool refused = is_auth_refusal(rc);
      if (refused) br_.login_throttle_.failure(id_, peer_address(link_.peer()), mono_ms());
      finish_login(refused ? LoginResult::BadCredentials : LoginResult::Busy);
      return;
    }
    br_.login_throttle_.success(id_, peer_address(link_.peer()));
    state_ = State::Online;
    timer_.cancel();
    ++br_.counters().logins_ok;
    ++br_.counters().chargers;
    counted_ = true;
    br_.set_online(*this);
    log(Level::Info, "login_ok", "device", id_, "link", link_.id(), "peer", link_.peer());
    connected();
    finish_login(LoginResult::Ok);
    return;
  }
  // Reconnecting while online.
  if (rc == 0) {
    reconnect_delay_ms_ = 500;
    log(Level::Info, "mqtt_reconnected", "device", id_);
    connected();
  } else if (is_auth_refusal(rc)) {
    // Disabled or deleted meanwhile, or a time-limited signature no longer valid: the charger must log in again.
    log(Level::Info, "mqtt_reconnect_refused", "device", id_, "rc", rc);
    close(CloseReason::LinkClosed);
  } else {
    schedule_reconnect();
  }
}

void Charger::connected() {
  // Subscribe first: the broker handles one connection's packets in order, so once the core sees the
  // online status, commands it sends in answer (QUERY_PORTS reconciliation) find the subscription.
  mqtt_->subscribe(topics::device_down_filter(id_), 1);
  mqtt_->publish(topics::status(id_), json::serialize(json::object{{"online", true}, {"ts", unix_s()}}), 1, true);
  if (!boot_.empty()) {
    mqtt_->publish(topics::up_topic(id_, topics::up::kBoot), boot_, 1, false);
    boot_.clear();
    boot_.shrink_to_fit();
  }
  // What waited on disk first, in order; then reports still waiting for their ack.
  if (queued_ || br_.queue().has(id_)) {
    auto recs = br_.queue().take(id_);
    // QoS 1 for all of them: they were held because delivery failed once; QoS 0 would let a broker that
    // restarted drop them for a core that is not yet back (its persistent session keeps QoS 1 only).
    for (auto& r : recs) mqtt_->publish(topics::up_topic(id_, r.kind), r.payload, 1, false);
    if (!recs.empty()) log(Level::Info, "queue_delivered", "device", id_, "records", recs.size());
    queued_ = false;
  }
  int64_t now = mono_ms();
  for (auto& r : reports_) {
    if (!r.on_disk) {
      std::string_view kind = r.cmd == Cmd::SessionEnd ? topics::up::kSessionEnd
                              : r.cmd == Cmd::Card     ? topics::up::kCard
                              : r.cmd == Cmd::Alarm    ? topics::up::kAlarm
                                                       : topics::up::kOta;
      mqtt_->publish(topics::up_topic(id_, kind), r.payload, 1, false);
    }
    r.on_disk = false;
    r.published_ms = now;
  }
}

void Charger::schedule_reconnect() {
  if (state_ != State::Online) return;
  timer_.expires_after(std::chrono::milliseconds(reconnect_delay_ms_));
  reconnect_delay_ms_ = std::min(reconnect_delay_ms_ * 2, 30000);
  timer_.async_wait([w = weak_from_this()](const asio::error_code& ec) {
    auto self = w.lock();
    if (ec || !self || !self->online()) return;
    if (!self->mqtt_->reconnect()) self->schedule_reconnect();
  });
}

void Charger::on_disconnect(int reason) {
  if (state_ != State::Online) return;
  if (reason == MqttClient::kTakenOver) {
    log(Level::Info, "taken_over", "device", id_, "link", link_.id());
    ++br_.counters().takeovers;
    close(CloseReason::TakenOver);
    return;
  }
  ++br_.counters().mqtt_lost;
  log(Level::Warn, "mqtt_lost", "device", id_, "reason", reason);
  schedule_reconnect();
}

bool Charger::up(std::string_view kind, std::string payload, int qos) {
  if (mqtt_ && mqtt_->connected() && !queued_) {
    if (mqtt_->publish(topics::up_topic(id_, kind), payload, qos, false) >= 0) return true;
  }
  if (br_.queue().append(id_, QueuedMessage{static_cast<uint8_t>(qos), std::string(kind), std::move(payload)}))
    queued_ = true;
  return false;
}

void Charger::report(const Frame& f, std::string_view kind, std::string msg, std::string payload) {
  int64_t now = mono_ms();
  for (auto& r : reports_) {
    if (r.msg != msg) continue;
    r.seq = f.seq;   // answer the latest copy
    if (now - r.published_ms > br_.cfg().report_republish_s * 1000LL && mqtt_->connected()) {
      mqtt_->publish(topics::up_topic(id_, kind), r.payload, 1, false);
      r.published_ms = now;
    }
    return;
  }
  if (reports_.size() >= kMaxReports) return;   // the charger retries; nothing is lost
  Report r{msg, f.cmd, f.seq, 0, now, false, payload};
  if (f.cmd == Cmd::OtaChunkReq) r.offset = OtaChunkReq::decode(f.body)->offset;
  ++br_.counters().reports;
  r.on_disk = !up(kind, std::move(payload), 1);
  reports_.push_back(std::move(r));
}

void Charger::on_frame(const Frame& f) {
  last_rx_ms_ = mono_ms();
  auto& cnt = br_.counters();
  if (f.is_response()) {
    on_response(f);
    return;
  }
  switch (f.cmd) {
    case Cmd::Heartbeat: {
      auto h = Heartbeat::decode(f.body);
      if (!h) break;
      up(topics::up::kHeartbeat, json::serialize(pl::heartbeat(*h)), 0);
      respond(f, ServerTime{static_cast<uint32_t>(unix_s())}.encode());
      return;
    }
    case Cmd::Meter: {
      auto m = Meter::decode(f.body);
      if (!m) break;
      up(topics::up::kMeter, json::serialize(pl::meter(*m)), 0);
      return;
    }
    case Cmd::SessionEnd: {
      auto s = SessionEnd::decode(f.body);
      if (!s) break;
      auto msg = pl::make_msg(device_, Cmd::SessionEnd, s->session);
      report(f, topics::up::kSessionEnd, msg, json::serialize(pl::session_end(*s, msg)));
      return;
    }
    case Cmd::Card: {
      auto c = Card::decode(f.body);
      if (!c) break;
      auto msg = pl::make_msg(device_, Cmd::Card, link_key(f.seq));
      report(f, topics::up::kCard, msg, json::serialize(pl::card(*c, msg)));
      return;
    }
    case Cmd::Alarm: {
      auto a = Alarm::decode(f.body);
      if (!a) break;
      auto msg = pl::make_msg(device_, Cmd::Alarm, link_key(f.seq));
      report(f, topics::up::kAlarm, msg, json::serialize(pl::alarm(*a, msg)));
      return;
    }
    case Cmd::OtaStatus: {
      auto s = OtaStatus::decode(f.body);
      if (!s) break;
      up(topics::up::kOta, json::serialize(pl::ota_status(*s)), 1);
      respond(f, {});
      return;
    }
    case Cmd::OtaChunkReq: {
      auto r = OtaChunkReq::decode(f.body);
      if (!r) break;
      auto msg = pl::make_msg(device_, Cmd::OtaChunkReq, link_key(f.seq));
      report(f, topics::up::kOta, msg, json::serialize(pl::ota_chunk_req(*r, msg)));
      return;
    }
    default:
      ++cnt.unexpected_frames;   // a command only the server sends
      return;
  }
  ++cnt.bad_frames;   // a body that does not decode
  log(Level::Debug, "bad_body", "device", id_, "cmd", static_cast<int>(f.cmd));
}

// ---- MQTT messages from the core ----
void Charger::on_message(std::string_view topic, std::span<const uint8_t> payload) {
  if (state_ != State::Online) return;
  auto t = topics::parse(topic);
  if (!t || t->dir != topics::Direction::Down || t->device != id_) return;
  if (t->kind == topics::down::kCmd) on_cmd(payload);
  else if (t->kind == topics::down::kAck) on_ack(payload);
  else if (t->kind == topics::down::kOta) on_ota(payload);
}

void Charger::reply(const std::string& id, std::string j, bool cache) {
  if (cache) {
    if (recent_.size() >= kRecent) recent_.erase(recent_.begin());
    recent_.push_back(Recent{id, j, mono_ms()});
  }
  up(topics::up::kReply, std::move(j), 1);
}

void Charger::on_cmd(std::span<const uint8_t> payload) {
  auto& cnt = br_.counters();
  auto v = pl::parse_json(std::string_view(reinterpret_cast<const char*>(payload.data()), payload.size()));
  std::optional<pl::Command> c;
  if (v) c = pl::parse_command(*v);
  if (!c) {
    ++cnt.cmd_bad;
    // Answer if we can find an id at all.
    if (v && v->is_object()) {
      if (auto* id = v->get_object().if_contains("id"); id && id->is_string() && id->get_string().size() <= 128)
        reply(std::string(id->get_string()), error_reply(std::string(id->get_string()), "bad_command"), false);
    }
    return;
  }
  // A repeat: answered again from cache, never re-sent; one still in flight is answered when done.
  int64_t now = mono_ms();
  std::erase_if(recent_, [&](const Recent& r) { return now - r.at_ms > kRecentMs; });
  for (auto& r : recent_)
    if (r.id == c->id) {
      ++cnt.cmd_cached;
      up(topics::up::kReply, r.reply, 1);
      return;
    }
  for (auto& p : cmds_)
    if (p.id == c->id) return;
  if (c->expires != 0 && c->expires < unix_s()) {
    ++cnt.cmd_expired;
    reply(c->id, error_reply(c->id, "expired"));
    return;
  }
  auto fb = pl::command_to_frame(*c);
  if (!fb) {
    ++cnt.cmd_bad;
    reply(c->id, error_reply(c->id, "bad_command"));
    return;
  }
  if (cmds_.size() >= kMaxCmds) {
    reply(c->id, error_reply(c->id, "busy"), false);
    return;
  }
  ++cnt.cmds;
  PendingCmd p{c->id, fb->cmd, next_seq_++, 0, std::move(fb->body), std::make_unique<asio::steady_timer>(br_.io())};
  cmds_.push_back(std::move(p));
  send_cmd(cmds_.back());
}

void Charger::send_cmd(PendingCmd& p) {
  ++p.attempts;
  link_.send(Frame{device_, p.seq, p.cmd, 0, p.body});
  p.timer->expires_after(std::chrono::milliseconds(br_.cfg().cmd_retry_ms));
  p.timer->async_wait([w = weak_from_this(), id = p.id](const asio::error_code& ec) {
    auto self = w.lock();
    if (ec || !self || self->closed()) return;
    auto it = std::find_if(self->cmds_.begin(), self->cmds_.end(), [&](auto& x) { return x.id == id; });
    if (it == self->cmds_.end()) return;
    if (it->attempts <= self->br_.cfg().cmd_retries) {
      self->send_cmd(*it);   // same seq
      return;
    }
    ++self->br_.counters().cmd_timeouts;
    self->reply(id, error_reply(id, "timeout"));
    self->cmds_.erase(it);
  });
}

void Charger::on_response(const Frame& f) {
  auto it = std::find_if(cmds_.begin(), cmds_.end(), [&](auto& p) { return p.seq == f.seq && p.cmd == f.cmd; });
  if (it == cmds_.end()) {
    ++br_.counters().unexpected_frames;   // late duplicate or nothing we sent
    return;
  }
  auto r = pl::reply(it->id, f.cmd, f.body);
  ++br_.counters().cmd_replies;
  if (r) reply(it->id, json::serialize(*r));
  else {
    ++br_.counters().bad_frames;
    reply(it->id, error_reply(it->id, "bad_response"));
  }
  it->timer->cancel();
  cmds_.erase(it);
}

void Charger::on_ack(std::span<const uint8_t> payload) {
  auto v = pl::parse_json(std::string_view(reinterpret_cast<const char*>(payload.data()), payload.size()));
  if (!v) return;
  auto a = pl::parse_ack(*v);
  if (!a) return;
  auto it = std::find_if(reports_.begin(), reports_.end(), [&](auto& r) { return r.msg == a->re && r.cmd != Cmd::OtaChunkReq; });
  if (it == reports_.end()) return;   // already answered, or from another link
  link_.send(Frame{device_, it->seq, it->cmd, kFlagResp, pl::ack_to_body(it->cmd, *a)});
  ++br_.counters().reports_acked;
  reports_.erase(it);
}

void Charger::on_ota(std::span<const uint8_t> payload) {
  if (payload.size() < 4 || payload.size() - 4 > kMaxBody - 6) return;
  uint32_t offset = payload[0] | (payload[1] << 8) | (payload[2] << 16) | (static_cast<uint32_t>(payload[3]) << 24);
  auto it = std::find_if(reports_.begin(), reports_.end(), [&](auto& r) { return r.cmd == Cmd::OtaChunkReq && r.offset == offset; });
  if (it == reports_.end()) return;
  OtaChunk chunk{offset, Bytes(payload.begin() + 4, payload.end())};
  link_.send(Frame{device_, it->seq, Cmd::OtaChunkReq, kFlagResp, chunk.encode()});
  reports_.erase(it);
}

void Charger::tick(int64_t now_ms) {
  if (state_ != State::Online) return;
  if (now_ms - last_rx_ms_ > 3LL * br_.cfg().heartbeat_s * 1000) {
    ++br_.counters().silent_closed;
    log(Level::Info, "charger_silent", "device", id_, "link", link_.id());
    close(CloseReason::Silent);
    return;
  }
  if (mqtt_) mqtt_->tick();
}

void Charger::close(CloseReason why) {
  if (state_ == State::Closed) return;
  bool was_online = state_ == State::Online;
  state_ = State::Closed;
  timer_.cancel();
  for (auto& p : cmds_) p.timer->cancel();
  if (mqtt_) {
    if (was_online && mqtt_->connected()) {
      for (auto& p : cmds_) {
        ++br_.counters().cmd_offline;
        mqtt_->publish(topics::up_topic(id_, topics::up::kReply), error_reply(p.id, "offline"), 1, false);
      }
      if (why != CloseReason::TakenOver)
        mqtt_->publish(topics::status(id_), R"({"online":false})", 1, true);
    }
    mqtt_->detach();
    mqtt_->disconnect();
    br_.bury(std::move(mqtt_));
  }
  cmds_.clear();
  if (counted_) {
    --br_.counters().chargers;
    counted_ = false;
  }
  br_.set_offline(*this);
  log(Level::Debug, "charger_closed", "device", id_, "why", static_cast<int>(why));
  // A TCP link serves one charger: it goes when its charger goes (after the refusal reached it).
  auto self = shared_from_this();
  auto link = link_.shared_from_this();
  if (!link_.multi_drop() && why != CloseReason::LinkClosed && why != CloseReason::Relogin) {
    if (why == CloseReason::Refused) link->close_after(br_.cfg().refuse_close_ms, "login_refused");
    else link->close(why == CloseReason::Silent ? "silent" : why == CloseReason::TakenOver ? "taken_over" : "closed");
  }
  asio::post(br_.io(), [self, link] { link->remove(self.get()); });
}

}  // namespace chargehub::bridge
