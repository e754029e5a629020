#include "raw_charger.hpp"

#include <openssl/evp.h>

#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <ctime>
#include <stdexcept>

#include "chargehub/topics.hpp"
#include "testsupport.hpp"

namespace chargehub::testing {

namespace json = boost::json;
namespace pl = chargehub::payloads;
using proto::Cmd;
using proto::PortState;

namespace {

void lib_init() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

int64_t unix_now() { return static_cast<int64_t>(std::time(nullptr)); }

std::string base64(const std::vector<uint8_t>& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string error_reply(const std::string& id, const std::string& error) {
  return json::serialize(json::object{{"id", id}, {"error", error}});
}

}  // namespace

std::string token_password(const std::vector<uint8_t>& token) { return "tok:" + base64(token); }

std::string token_password_hex(const std::string& hex) {
  if (hex.size() % 2) throw std::invalid_argument("token hex of odd length");
  std::vector<uint8_t> bytes;
  for (size_t i = 0; i < hex.size(); i += 2) bytes.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return token_password(bytes);
}

// ---------------------------------------------------------------------------------------------------
// RawCharger

RawCharger::RawCharger(Options o) : o_(std::move(o)) {
  lib_init();
  if (o_.boot.ports == 0) throw std::invalid_argument("a charger needs ports");
  ports_.assign(o_.boot.ports, proto::PortStatus{});
  ws_.assign(o_.boot.ports, 0);
  m_ = mosquitto_new(o_.device.c_str(), true, this);
  if (!m_) throw std::runtime_error("mosquitto_new failed");
  mosquitto_int_option(m_, MOSQ_OPT_PROTOCOL_VERSION, o_.protocol == 5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
  mosquitto_username_pw_set(m_, o_.device.c_str(), o_.password.c_str());
  const std::string will = R"({"online":false})";
  mosquitto_will_set(m_, topics::status(o_.device).c_str(), static_cast<int>(will.size()), will.data(), 1, true);
  mosquitto_connect_v5_callback_set(m_, &RawCharger::on_connect);
  mosquitto_disconnect_v5_callback_set(m_, &RawCharger::on_disconnect);
  mosquitto_subscribe_v5_callback_set(m_, &RawCharger::on_subscribe);
  mosquitto_message_v5_callback_set(m_, &RawCharger::on_message);
  mosquitto_reconnect_delay_set(m_, 1, 2, false);
}

RawCharger::~RawCharger() {
  disconnect();
  mosquitto_destroy(m_);
}

bool RawCharger::connect(std::chrono::milliseconds timeout) {
  {
    std::lock_guard<std::mutex> l(mu_);
    connack_ = -1;
    subscribed_ = false;
  }
  if (mosquitto_connect_async(m_, o_.host.c_str(), o_.port, 30) != MOSQ_ERR_SUCCESS) return false;
  mosquitto_loop_start(m_);   // MOSQ_ERR_INVAL when already running: fine
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait_for(l, timeout, [&] { return subscribed_ || (connack_ > 0); });
  bool ok = subscribed_;
  l.unlock();
  if (!ok) disconnect();   // no retry loop against a broker that refuses us
  return ok;
}

void RawCharger::disconnect() {
  // The network thread sends DISCONNECT and ends (a forced stop could close the socket first, and the
  // broker would publish the will).
  mosquitto_disconnect(m_);
  mosquitto_loop_stop(m_, false);
  std::lock_guard<std::mutex> l(mu_);
  up_ = false;
  subscribed_ = false;
}

void RawCharger::drop_link() {
  mosquitto_loop_stop(m_, true);
  if (int fd = mosquitto_socket(m_); fd >= 0) ::shutdown(fd, SHUT_RDWR);
  std::lock_guard<std::mutex> l(mu_);
  up_ = false;
  subscribed_ = false;
}

int RawCharger::connack() const {
  std::lock_guard<std::mutex> l(mu_);
  return connack_;
}

bool RawCharger::connected() const {
  std::lock_guard<std::mutex> l(mu_);
  return up_ && subscribed_;
}

void RawCharger::on_connect(mosquitto* m, void* self, int rc, int, const mosquitto_property*) {
  auto* c = static_cast<RawCharger*>(self);
  std::lock_guard<std::mutex> l(c->mu_);
  c->connack_ = rc;
  c->up_ = rc == 0;
  if (rc == 0) mosquitto_subscribe(m, &c->sub_mid_, topics::device_down_filter(c->o_.device).c_str(), 1);
  c->cv_.notify_all();
}

void RawCharger::on_disconnect(mosquitto*, void* self, int, const mosquitto_property*) {
  auto* c = static_cast<RawCharger*>(self);
  std::lock_guard<std::mutex> l(c->mu_);
  c->up_ = false;
  c->subscribed_ = false;
  c->cv_.notify_all();
}

void RawCharger::on_subscribe(mosquitto*, void* self, int mid, int n, const int* granted, const mosquitto_property*) {
  auto* c = static_cast<RawCharger*>(self);
  bool ok = n >= 1 && granted[0] >= 0 && granted[0] <= 2;
  if (ok && c->o_.announce) {
    c->status(true);
    c->boot();
  }
  std::lock_guard<std::mutex> l(c->mu_);
  if (mid == c->sub_mid_) c->subscribed_ = ok;
  c->cv_.notify_all();
}

void RawCharger::on_message(mosquitto*, void* self, const mosquitto_message* msg, const mosquitto_property*) {
  auto* c = static_cast<RawCharger*>(self);
  auto t = topics::parse(msg->topic ? msg->topic : "");
  if (!t || t->dir != topics::Direction::Down || t->device != c->o_.device) return;
  auto v = pl::parse_json(std::string_view(static_cast<const char*>(msg->payload), static_cast<size_t>(msg->payloadlen)));
  std::lock_guard<std::mutex> l(c->mu_);
  if (t->kind == topics::down::kAck) {
    if (auto a = v ? pl::parse_ack(*v) : std::nullopt) c->acks_.emplace_back(a->re, *a);
  } else if (t->kind == topics::down::kCmd) {
    std::optional<pl::Command> cmd = v ? pl::parse_command(*v) : std::nullopt;
    if (cmd) {
      c->handle_command(*cmd);
    } else if (v && v->is_object()) {
      if (auto* id = v->get_object().if_contains("id"); id && id->is_string())
        c->reply(error_reply(std::string(id->get_string()), "bad_command"));
    }
  }
  c->cv_.notify_all();
}

bool RawCharger::publish(const std::string& topic, const std::string& payload, int qos, bool retain) {
  return mosquitto_publish(m_, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), qos, retain) ==
         MOSQ_ERR_SUCCESS;
}

void RawCharger::reply(const std::string& json_text) {
  replies_.push_back(json_text);
  publish(topics::up_topic(o_.device, topics::up::kReply), json_text, 1, false);
}

void RawCharger::handle_command(const pl::Command& c) {
  received_.push_back(c);
  const bool is_start = c.op == "start";
  if (auto seen = answered_.find(c.id); seen != answered_.end()) {
    // A repeat of a command the charger already handled: the same answer, never acted on again.
    if (is_start && drop_starts_ > 0) {
      --drop_starts_;
      return;
    }
    if (!silent_) reply(seen->second);
    return;
  }
  if (c.expires != 0 && c.expires < unix_now()) {
    answered_[c.id] = error_reply(c.id, "expired");
    if (!silent_) reply(answered_[c.id]);
    return;
  }
  auto fb = pl::command_to_frame(c);
  if (!fb) {
    answered_[c.id] = error_reply(c.id, "bad_command");
    if (!silent_) reply(answered_[c.id]);
    return;
  }
  bool drop = false;
  if (is_start && drop_starts_ > 0) {
    --drop_starts_;
    if (!drop_act_) return;   // missed: a later copy of this id is the first one the charger sees
    drop = true;              // acted on, but the reply is lost
  }
  auto body = execute(c, fb->cmd);
  auto r = pl::reply(c.id, fb->cmd, body);
  answered_[c.id] = r ? json::serialize(*r) : error_reply(c.id, "bad_reply");
  if (!drop && !silent_) reply(answered_[c.id]);
  for (auto& end : pending_ends_) publish(topics::up_topic(o_.device, topics::up::kSessionEnd), end, 1, false);
  pending_ends_.clear();
}

proto::Bytes RawCharger::execute(const pl::Command& c, Cmd cmd) {
  auto fb = pl::command_to_frame(c);
  const proto::Bytes& body = fb->body;
  auto result = [](uint8_t r) { return proto::Result{r}.encode(); };
  auto acted = [&] { ++executions_[c.op]; };
  const size_t n = ports_.size();
  switch (cmd) {
    case Cmd::Start: {
      auto s = proto::StartCmd::decode(body);
      if (!s) return result(4);
      if (s->port == proto::kAllPorts && s->session == 0) {   // commissioning test: nothing billed
        acted();
        return result(0);
      }
      if (s->port < 1 || s->port > n) return result(4);
      auto& p = ports_[s->port - 1];
      if (p.state == uint8_t(PortState::Charging)) return result(p.session == s->session ? 0 : 1);
      if (p.state == uint8_t(PortState::Fault) || p.state == uint8_t(PortState::Disabled)) return result(3);
      if (start_result_ && *start_result_ != 0) return result(*start_result_);
      p = proto::PortStatus{uint8_t(PortState::Charging), s->session, o_.start_power_w, 0, 0};
      ws_[s->port - 1] = 0;
      acted();
      return result(0);
    }
    case Cmd::Stop: {
      auto s = proto::StopCmd::decode(body);
      if (!s) return result(1);
      bool any = false;
      for (size_t i = 0; i < n; ++i) {
        auto& p = ports_[i];
        bool match = s->port == proto::kAllPorts ? p.state == uint8_t(PortState::Charging)
                                                 : (i + 1 == s->port && p.state == uint8_t(PortState::Charging) && p.session == s->session);
        if (!match) continue;
        any = true;
        if (o_.auto_session_end) {
          proto::SessionEnd e{static_cast<uint8_t>(i + 1), p.session, uint8_t(proto::EndReason::RemoteStop),
                              static_cast<uint32_t>(unix_now() - p.elapsed_s), p.elapsed_s, p.energy_wh, p.power_w};
          auto dev = proto::parse_device_id(o_.device);
          std::string msg = dev ? pl::make_msg(*dev, Cmd::SessionEnd, p.session) : o_.device + "-" + std::to_string(p.session);
          pending_ends_.push_back(json::serialize(pl::session_end(e, msg)));   // sent after the reply
        }
        p = proto::PortStatus{};
        ws_[i] = 0;
      }
      if (!any) return result(1);
      acted();
      return result(0);
    }
    case Cmd::Adjust: {
      auto a = proto::AdjustCmd::decode(body);
      if (!a || a->port < 1 || a->port > n) return result(1);
      auto& p = ports_[a->port - 1];
      if (p.state != uint8_t(PortState::Charging) || p.session != a->session) return result(1);
      acted();
      return result(0);
    }
    case Cmd::QueryPorts: {
      acted();
      return proto::QueryPortsResp{ports_}.encode();
    }
    case Cmd::SetParams: {
      auto p = proto::Params::decode(body);
      bool ok = p && p->valid(o_.boot.model == uint8_t(proto::Model::HighPower8p2));
      if (ok) acted();
      return result(ok ? 0 : 1);
    }
    case Cmd::GetParams:
      acted();
      return proto::Params{}.encode();
    case Cmd::Reboot:
      acted();
      return result(0);
    case Cmd::Locate: {
      auto l = proto::LocateCmd::decode(body);
      bool ok = l && l->seconds >= 1 && l->seconds <= 60;
      if (ok) acted();
      return result(ok ? 0 : 1);
    }
    case Cmd::OtaOffer:
      return result(3);   // this charger takes no firmware
    default:
      return result(1);
  }
}

bool RawCharger::status(bool online) {
  json::object o{{"online", online}};
  if (online) o["ts"] = unix_now();
  return publish(topics::status(o_.device), json::serialize(o), 1, true);
}

bool RawCharger::boot() {
  return publish(topics::up_topic(o_.device, topics::up::kBoot), json::serialize(pl::boot(o_.boot)), 1, false);
}

bool RawCharger::heartbeat(int16_t temp_dc, uint16_t mains_dv) {
  proto::Heartbeat h;
  h.csq = o_.boot.csq;
  h.temp_dc = temp_dc;
  h.mains_dv = mains_dv;
  {
    std::lock_guard<std::mutex> l(mu_);
    uint32_t total = 0;
    for (auto& p : ports_) {
      h.ports.push_back(p.state);
      total += p.state == uint8_t(PortState::Charging) ? p.power_w : 0;
    }
    h.power_w = static_cast<uint16_t>(std::min<uint32_t>(total, 0xFFFF));
  }
  return publish(topics::up_topic(o_.device, topics::up::kHeartbeat), json::serialize(pl::heartbeat(h)), 0, false);
}

bool RawCharger::meter() {
  proto::Meter m;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (size_t i = 0; i < ports_.size(); ++i) {
      auto& p = ports_[i];
      if (p.state != uint8_t(PortState::Charging)) continue;
      uint16_t current = static_cast<uint16_t>(std::min<uint32_t>(uint32_t{p.power_w} * 10000 / 540, 0xFFFF));
      m.ports.push_back(proto::MeterPort{static_cast<uint8_t>(i + 1), p.session, p.power_w, p.energy_wh, p.elapsed_s, 540, current});
    }
  }
  return meter(m);
}

bool RawCharger::meter(const proto::Meter& m) {
  return publish(topics::up_topic(o_.device, topics::up::kMeter), json::serialize(pl::meter(m)), 0, false);
}

std::string RawCharger::session_end(const proto::SessionEnd& e, std::string msg) {
  if (msg.empty()) {
    auto dev = proto::parse_device_id(o_.device);
    msg = dev ? pl::make_msg(*dev, Cmd::SessionEnd, e.session) : o_.device + "-end-" + std::to_string(e.session);
  }
  publish(topics::up_topic(o_.device, topics::up::kSessionEnd), json::serialize(pl::session_end(e, msg)), 1, false);
  return msg;
}

std::optional<pl::Ack> RawCharger::session_end_until_acked(const proto::SessionEnd& e, std::string msg,
                                                          std::chrono::milliseconds every, std::chrono::milliseconds t) {
  auto deadline = std::chrono::steady_clock::now() + t;
  msg = session_end(e, std::move(msg));
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= std::chrono::milliseconds(0)) return std::nullopt;
    if (auto a = wait_ack(msg, std::min(every, left))) return a;
    if (std::chrono::steady_clock::now() < deadline) session_end(e, msg);
  }
}

std::string RawCharger::card(const proto::Card& c, std::string msg) {
  static std::atomic<uint64_t> seq{1};
  if (msg.empty()) msg = o_.device + "-card-" + std::to_string(unix_now()) + "-" + std::to_string(seq++);
  publish(topics::up_topic(o_.device, topics::up::kCard), json::serialize(pl::card(c, msg)), 1, false);
  return msg;
}

std::string RawCharger::alarm(const proto::Alarm& a, std::string msg) {
  static std::atomic<uint64_t> seq{1};
  if (msg.empty()) msg = o_.device + "-alarm-" + std::to_string(unix_now()) + "-" + std::to_string(seq++);
  publish(topics::up_topic(o_.device, topics::up::kAlarm), json::serialize(pl::alarm(a, msg)), 1, false);
  return msg;
}

bool RawCharger::publish_raw(const std::string& kind, const std::string& payload, int qos, bool retain) {
  std::string topic = kind == "status" ? topics::status(o_.device) : topics::up_topic(o_.device, kind);
  return publish(topic, payload, qos, retain);
}

std::optional<pl::Ack> RawCharger::wait_ack(const std::string& msg, std::chrono::milliseconds t, size_t nth) {
  std::unique_lock<std::mutex> l(mu_);
  std::optional<pl::Ack> found;
  cv_.wait_for(l, t, [&] {
    size_t k = 0;
    for (auto& [re, a] : acks_)
      if (re == msg && k++ == nth) {
        found = a;
        return true;
      }
    return false;
  });
  return found;
}

std::vector<pl::Ack> RawCharger::acks(const std::string& msg) {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<pl::Ack> out;
  for (auto& [re, a] : acks_)
    if (re == msg) out.push_back(a);
  return out;
}

std::optional<pl::Command> RawCharger::wait_command(const std::string& op, std::chrono::milliseconds t, size_t nth) {
  std::unique_lock<std::mutex> l(mu_);
  std::optional<pl::Command> found;
  cv_.wait_for(l, t, [&] {
    size_t k = 0;
    for (auto& c : received_)
      if (c.op == op && k++ == nth) {
        found = c;
        return true;
      }
    return false;
  });
  return found;
}

std::vector<pl::Command> RawCharger::commands() {
  std::lock_guard<std::mutex> l(mu_);
  return received_;
}

size_t RawCharger::copies(const std::string& id) {
  std::lock_guard<std::mutex> l(mu_);
  return static_cast<size_t>(std::count_if(received_.begin(), received_.end(), [&](auto& c) { return c.id == id; }));
}

size_t RawCharger::executions(const std::string& op) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = executions_.find(op);
  return it == executions_.end() ? 0 : it->second;
}

std::vector<std::string> RawCharger::replies() {
  std::lock_guard<std::mutex> l(mu_);
  return replies_;
}

void RawCharger::drop_start_replies(int n, bool act) {
  std::lock_guard<std::mutex> l(mu_);
  drop_starts_ = n;
  drop_act_ = act;
}

void RawCharger::set_silent(bool silent) {
  std::lock_guard<std::mutex> l(mu_);
  silent_ = silent;
}

void RawCharger::set_start_result(std::optional<uint8_t> r) {
  std::lock_guard<std::mutex> l(mu_);
  start_result_ = r;
}

void RawCharger::set_port(uint8_t port, const proto::PortStatus& s) {
  std::lock_guard<std::mutex> l(mu_);
  if (port < 1 || port > ports_.size()) throw std::out_of_range("no such port");
  ports_[port - 1] = s;
  ws_[port - 1] = 0;
}

proto::PortStatus RawCharger::port(uint8_t port) {
  std::lock_guard<std::mutex> l(mu_);
  if (port < 1 || port > ports_.size()) throw std::out_of_range("no such port");
  return ports_[port - 1];
}

void RawCharger::advance(uint32_t seconds) {
  std::lock_guard<std::mutex> l(mu_);
  for (size_t i = 0; i < ports_.size(); ++i) {
    auto& p = ports_[i];
    if (p.state != uint8_t(PortState::Charging)) continue;
    p.elapsed_s += seconds;
    ws_[i] += uint64_t{p.power_w} * seconds;   // watt-seconds not yet a whole Wh
    p.energy_wh += static_cast<uint32_t>(ws_[i] / 3600);
    ws_[i] %= 3600;
  }
}

// ---------------------------------------------------------------------------------------------------
// PlainBroker

PlainBroker::PlainBroker(const std::filesystem::path& dir, const std::map<std::string, std::string>& users) {
  const auto passwd_file = dir / "plain.passwd", acl = dir / "plain.acl";
  write_file(passwd_file, "");
  for (auto& [user, pass] : users) {
    Process p({"/usr/bin/mosquitto_passwd", "-b", passwd_file.string(), user, pass}, dir / "plain.passwd.log");
    if (p.wait() != 0) throw std::runtime_error("mosquitto_passwd failed: " + read_file(dir / "plain.passwd.log"));
  }
  write_file(acl,
             "user core\n"
             "topic readwrite chg/v1/#\n"
             "\n"
             "pattern write chg/v1/%u/up/#\n"
             "pattern write chg/v1/%u/status\n"
             "pattern read chg/v1/%u/down/#\n");
  const passwd* pw = ::getpwuid(::geteuid());
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = free_port();
    const auto conf = dir / ("plain-" + std::to_string(port_) + ".conf");
    log_ = dir / ("plain-" + std::to_string(port_) + ".log");
    write_file(conf, "per_listener_settings false\n"
                     "allow_anonymous false\n"
                     "persistence false\n"
                     "user " + std::string(pw ? pw->pw_name : "root") + "\n"
                     "log_dest file " + log_.string() + "\n"
                     "log_type all\n"
                     "listener " + std::to_string(port_) + " 127.0.0.1\n"
                     "password_file " + passwd_file.string() + "\n"
                     "acl_file " + acl.string() + "\n");
    process_ = std::make_unique<Process>(std::vector<std::string>{"/usr/sbin/mosquitto", "-c", conf.string()},
                                         dir / ("plain-" + std::to_string(port_) + ".out"));
    bool up = wait_until([&] { return !process_->running() || wait_for_port(port_, std::chrono::milliseconds(0)); },
                         std::chrono::seconds(20));
    if (up && process_->running()) return;
    process_->stop();
    if (read_file(log_).find("Address already in use") == std::string::npos)
      throw std::runtime_error("mosquitto did not start:\n" + read_file(log_));
  }
  throw std::runtime_error("mosquitto did not start: no free port");
}

PlainBroker::~PlainBroker() {
  if (process_) process_->stop();
}

std::string PlainBroker::log_text() const { return read_file(log_); }

// ---------------------------------------------------------------------------------------------------
// Peer

Peer::Peer(int port, const std::string& client_id, const std::string& user, const std::string& password) {
  lib_init();
  m_ = mosquitto_new(client_id.c_str(), true, this);
  mosquitto_int_option(m_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
  mosquitto_username_pw_set(m_, user.c_str(), password.c_str());
  mosquitto_message_v5_callback_set(m_, &Peer::on_message);
  mosquitto_subscribe_v5_callback_set(m_, &Peer::on_subscribe);
  ok_ = mosquitto_connect(m_, "127.0.0.1", port, 30) == MOSQ_ERR_SUCCESS && mosquitto_loop_start(m_) == MOSQ_ERR_SUCCESS;
}

Peer::~Peer() {
  mosquitto_disconnect(m_);
  mosquitto_loop_stop(m_, true);
  mosquitto_destroy(m_);
}

bool Peer::ok() const { return ok_; }

void Peer::on_subscribe(mosquitto*, void* self, int, int n, const int* granted, const mosquitto_property*) {
  auto* p = static_cast<Peer*>(self);
  std::lock_guard<std::mutex> l(p->mu_);
  p->subacks_.push_back(n >= 1 ? granted[0] : -1);
  p->cv_.notify_all();
}

void Peer::on_message(mosquitto*, void* self, const mosquitto_message* m, const mosquitto_property*) {
  auto* p = static_cast<Peer*>(self);
  std::lock_guard<std::mutex> l(p->mu_);
  p->messages_.emplace_back(m->topic, std::string(static_cast<const char*>(m->payload), static_cast<size_t>(m->payloadlen)));
  p->cv_.notify_all();
}

bool Peer::subscribe(const std::string& filter) {
  size_t before;
  {
    std::lock_guard<std::mutex> l(mu_);
    before = subacks_.size();
  }
  if (mosquitto_subscribe(m_, nullptr, filter.c_str(), 1) != MOSQ_ERR_SUCCESS) return false;
  std::unique_lock<std::mutex> l(mu_);
  return cv_.wait_for(l, 5s, [&] { return subacks_.size() > before; }) && subacks_.back() >= 0 && subacks_.back() <= 2;
}

bool Peer::publish(const std::string& topic, const std::string& payload, int qos, bool retain) {
  return mosquitto_publish(m_, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), qos, retain) ==
         MOSQ_ERR_SUCCESS;
}

std::optional<std::string> Peer::wait(const std::string& topic, std::chrono::milliseconds t, size_t nth) {
  std::unique_lock<std::mutex> l(mu_);
  std::optional<std::string> found;
  cv_.wait_for(l, t, [&] {
    size_t k = 0;
    for (auto& [tp, payload] : messages_)
      if (tp == topic && k++ == nth) {
        found = payload;
        return true;
      }
    return false;
  });
  return found;
}

size_t Peer::count(const std::string& topic) {
  std::lock_guard<std::mutex> l(mu_);
  return static_cast<size_t>(std::count_if(messages_.begin(), messages_.end(), [&](auto& m) { return m.first == topic; }));
}

}  // namespace chargehub::testing
