#include "fixture.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <cstdlib>
#include <mqtt_protocol.h>

namespace chargehub::plugintest {
namespace {

struct LibInit {
  LibInit() { mosquitto_lib_init(); }
};
LibInit lib_init;

}  // namespace

Mqtt::Mqtt(int port, Options o) : opts_(o) {
  m_ = mosquitto_new(o.client_id.empty() ? nullptr : o.client_id.c_str(), true, this);
  mosquitto_int_option(m_, MOSQ_OPT_PROTOCOL_VERSION, o.protocol == 5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
  mosquitto_connect_v5_callback_set(m_, on_connect);
  mosquitto_disconnect_v5_callback_set(m_, on_disconnect);
  mosquitto_subscribe_v5_callback_set(m_, on_subscribe);
  mosquitto_publish_v5_callback_set(m_, on_publish);
  mosquitto_message_v5_callback_set(m_, on_message);
  mosquitto_reconnect_delay_set(m_, 3600, 3600, false);  // never reconnect by itself within a test
  if (!o.username.empty()) mosquitto_username_pw_set(m_, o.username.c_str(), o.password.c_str());
  if (!o.will_topic.empty())
    mosquitto_will_set(m_, o.will_topic.c_str(), static_cast<int>(o.will_payload.size()), o.will_payload.data(), 1,
                       false);
  int rc = mosquitto_connect_bind_v5(m_, "127.0.0.1", port, 30, o.bind_address.empty() ? nullptr : o.bind_address.c_str(),
                                     nullptr);
  if (rc != MOSQ_ERR_SUCCESS) {
    disconnected_ = true;
    return;
  }
  mosquitto_loop_start(m_);
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, 5s, [this] { return connack_ != -1 || disconnected_; });
}

Mqtt::~Mqtt() {
  mosquitto_disconnect(m_);
  mosquitto_loop_stop(m_, true);
  mosquitto_destroy(m_);
}

void Mqtt::on_connect(mosquitto* m, void* obj, int rc, int, const mosquitto_property*) {
  auto* self = static_cast<Mqtt*>(obj);
  if (rc == 0)
    for (const auto& f : self->opts_.subscribe_on_connect) {
      int mid = 0;
      if (mosquitto_subscribe_v5(m, &mid, f.c_str(), 1, 0, nullptr) == MOSQ_ERR_SUCCESS) {
        std::lock_guard lk(self->mu_);
        self->suback_[mid] = -3;  // pending: on_subscribe fills it in
        ++self->on_connect_subs_;
      }
    }
  std::lock_guard lk(self->mu_);
  self->connack_ = rc;
  self->cv_.notify_all();
}

void Mqtt::on_disconnect(mosquitto*, void* obj, int, const mosquitto_property*) {
  auto* self = static_cast<Mqtt*>(obj);
  std::lock_guard lk(self->mu_);
  self->disconnected_ = true;
  if (!self->disconnect_at_) self->disconnect_at_ = std::chrono::steady_clock::now();
  self->cv_.notify_all();
}

void Mqtt::on_subscribe(mosquitto*, void* obj, int mid, int count, const int* granted, const mosquitto_property*) {
  auto* self = static_cast<Mqtt*>(obj);
  std::lock_guard lk(self->mu_);
  self->suback_[mid] = count > 0 ? granted[0] : -1;
  self->cv_.notify_all();
}

void Mqtt::on_publish(mosquitto*, void* obj, int mid, int reason, const mosquitto_property*) {
  auto* self = static_cast<Mqtt*>(obj);
  std::lock_guard lk(self->mu_);
  self->puback_[mid] = reason;
  self->cv_.notify_all();
}

void Mqtt::on_message(mosquitto*, void* obj, const mosquitto_message* msg, const mosquitto_property*) {
  auto* self = static_cast<Mqtt*>(obj);
  std::string payload(static_cast<const char*>(msg->payload), msg->payloadlen);
  if (self->opts_.on_message) self->opts_.on_message(msg->topic, payload);
  std::lock_guard lk(self->mu_);
  self->messages_.emplace_back(msg->topic, std::move(payload));
  self->cv_.notify_all();
}

int Mqtt::subscribe(const std::string& filter, int qos) {
  int mid = 0;
  if (mosquitto_subscribe_v5(m_, &mid, filter.c_str(), qos, 0, nullptr) != MOSQ_ERR_SUCCESS) return -2;
  std::unique_lock lk(mu_);
  if (!cv_.wait_for(lk, 3s, [&] { return suback_.count(mid) > 0 || disconnected_; })) return -1;
  return suback_.count(mid) ? suback_[mid] : -1;
}

int Mqtt::publish(const std::string& topic, const std::string& payload, int qos, bool retain) {
  int mid = 0;
  int rc = mosquitto_publish_v5(m_, &mid, topic.c_str(), static_cast<int>(payload.size()), payload.data(), qos,
                                retain, nullptr);
  if (rc != MOSQ_ERR_SUCCESS) return -2;
  if (qos == 0) return 0;
  std::unique_lock lk(mu_);
  if (!cv_.wait_for(lk, 3s, [&] { return puback_.count(mid) > 0 || disconnected_; })) return -1;
  return puback_.count(mid) ? puback_[mid] : -1;
}

int Mqtt::publish_nowait(const std::string& topic, const std::string& payload, int qos) {
  return mosquitto_publish_v5(m_, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), qos, false,
                              nullptr);
}

bool Mqtt::wait_subscribed(std::chrono::milliseconds t) {
  std::unique_lock lk(mu_);
  return cv_.wait_for(lk, t, [&] {
    if (on_connect_subs_ == 0) return false;
    for (auto& [mid, granted] : suback_)
      if (granted == -3) return false;
    return true;
  });
}

std::optional<std::string> Mqtt::wait_message(const std::string& topic, std::chrono::milliseconds t) {
  std::unique_lock lk(mu_);
  std::optional<std::string> found;
  cv_.wait_for(lk, t, [&] {
    for (auto& [tp, pl] : messages_)
      if (tp == topic) {
        found = pl;
        return true;
      }
    return false;
  });
  return found;
}

bool Mqtt::received(const std::string& topic) {
  std::lock_guard lk(mu_);
  for (auto& [tp, pl] : messages_)
    if (tp == topic) return true;
  return false;
}

std::size_t Mqtt::message_count() {
  std::lock_guard lk(mu_);
  return messages_.size();
}

std::optional<std::chrono::steady_clock::time_point> Mqtt::wait_disconnect(std::chrono::milliseconds t) {
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, t, [&] { return disconnected_.load(); });
  return disconnect_at_;
}

int raw_connect(int port, const std::string& client_id, const std::optional<std::string>& username,
                const std::optional<std::string>& password, const std::string& bind_address) {
  auto str = [](std::string& out, const std::string& s) {
    out += static_cast<char>((s.size() >> 8) & 0xff);
    out += static_cast<char>(s.size() & 0xff);
    out += s;
  };
  std::string body;
  str(body, "MQTT");
  body += '\x04';
  char flags = 0x02;  // clean session
  if (username) flags |= static_cast<char>(0x80);
  if (password) flags |= 0x40;
  body += flags;
  body += '\0';
  body += '\x1e';  // keepalive 30
  str(body, client_id);
  if (username) str(body, *username);
  if (password) str(body, *password);
  std::string pkt;
  pkt += '\x10';
  std::size_t len = body.size();
  do {
    char b = static_cast<char>(len % 128);
    len /= 128;
    if (len) b |= static_cast<char>(0x80);
    pkt += b;
  } while (len);
  pkt += body;

  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (!bind_address.empty()) {
    sockaddr_in src{};
    src.sin_family = AF_INET;
    inet_pton(AF_INET, bind_address.c_str(), &src.sin_addr);
    ::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src);
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -2;
  }
  std::size_t off = 0;
  while (off < pkt.size()) {
    ssize_t n = ::send(fd, pkt.data() + off, pkt.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
  unsigned char ack[4];
  std::size_t got = 0;
  while (got < 4) {
    ssize_t n = ::recv(fd, ack + got, 4 - got, 0);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (got < 4 || ack[0] != 0x20) return -1;
  return ack[3];
}

int run_tool(const std::vector<std::string>& argv, const fs::path& log) {
  testing::Process p(argv, log);
  return p.wait();
}

// ---- the core's side -------------------------------------------------------------------------------

std::int64_t CoreDb::put(auth_control::DeviceCredentials d) {
  std::lock_guard lk(mu_);
  devices_[d.id] = std::move(d);
  return ++rev_;
}

std::int64_t CoreDb::disable(const std::string& id) {
  std::lock_guard lk(mu_);
  devices_.at(id).enabled = false;
  return ++rev_;
}

std::int64_t CoreDb::remove(const std::string& id) {
  std::lock_guard lk(mu_);
  devices_.erase(id);
  return ++rev_;
}

std::optional<auth_control::DeviceCredentials> CoreDb::get(const std::string& id) {
  std::lock_guard lk(mu_);
  auto it = devices_.find(id);
  if (it == devices_.end()) return std::nullopt;
  return it->second;
}

auth_control::Snapshot CoreDb::snapshot() {
  std::lock_guard lk(mu_);
  auth_control::Snapshot s;
  s.rev = rev_;
  for (auto& [id, d] : devices_) s.devices.push_back(d);
  return s;
}

std::int64_t CoreDb::rev() {
  std::lock_guard lk(mu_);
  return rev_;
}

TestCore::TestCore(int port, const std::string& secret, CoreDb& db, bool announce, const std::string& share_group,
                   const std::string& client_id)
    : db_(db) {
  Mqtt::Options o{client_id, "core", secret, 5, "", "", "", {}, {}};
  o.subscribe_on_connect = {auth_control::snapshot_request_subscription(share_group)};
  o.on_message = [this](const std::string& topic, const std::string& payload) {
    if (topic != auth_control::kSnapshotRequestTopic) return;
    auto req = auth_control::parse_snapshot_request(payload);
    if (!req) return;
    {
      std::lock_guard lk(mu_);
      requests_.push_back(*req);
    }
    // Answer at once, from the network thread (never waiting in it).
    if (mqtt_->publish_nowait(std::string(auth_control::kControlTopic), auth_control::snapshot_json(db_.snapshot())) == 0)
      ++answered_;
  };
  mqtt_ = std::make_unique<Mqtt>(port, o);
  if (mqtt_->connected() && mqtt_->wait_subscribed() && announce) send_snapshot();
}

std::vector<auth_control::SnapshotRequest> TestCore::requests() {
  std::lock_guard lk(mu_);
  return requests_;
}

int TestCore::send(const auth_control::Request& r) {
  return mqtt_->publish(std::string(auth_control::kControlTopic), auth_control::request_json(r));
}

int TestCore::send_snapshot(const auth_control::Snapshot& s) {
  return mqtt_->publish(std::string(auth_control::kControlTopic), auth_control::snapshot_json(s));
}

// ---- the fixture ------------------------------------------------------------------------------------

void PluginTest::SetUp() {
  dir = std::make_unique<TempDir>("plugin-it");
  services = *dir / "services";
  auth_cache = *dir / "auth.cache";
  secrets = testing::make_services_file(services, {{"core", "core"}, {"bridge-a", "bridge"}, {"grafana", "monitor"}});
}

void PluginTest::start_broker(const std::string& extra_conf, bool with_core) {
  testing::BrokerOptions o{services, "plugin_opt_poll_ms 50\n" + extra_conf, plugin};
  o.auth_cache_file = auth_cache;
  broker = std::make_unique<Broker>(*dir, o, broker_env);
  ASSERT_TRUE(broker->wait_for_log("chargehub-auth: ready")) << broker->log_text();
  if (with_core) {
    start_core();
    ASSERT_TRUE(wait_for_snapshot()) << broker->log_text();
  }
}

void PluginTest::start_core(bool announce) {
  test_core = std::make_unique<TestCore>(broker->port(), secrets["core"], db, announce);
  ASSERT_TRUE(test_core->connected()) << broker->log_text();
}

bool PluginTest::wait_for_snapshot(std::size_t n, std::chrono::milliseconds t) {
  return testing::wait_until(
      [&] {
        std::string log = broker->log_text();
        std::size_t count = 0;
        for (std::size_t at = log.find("chargehub-auth: snapshot at rev"); at != std::string::npos;
             at = log.find("chargehub-auth: snapshot at rev", at + 1))
          ++count;
        return count >= n;
      },
      t);
}

void PluginTest::put_device(const auth_control::DeviceCredentials& d) {
  auto old = db.get(d.id);
  std::int64_t rev = db.put(d);
  if (!test_core || !test_core->connected()) return;
  auth_control::SetDevice s;
  s.id = d.id;
  s.token_hash = d.token_hash ? auth_control::Field<std::string>::set(*d.token_hash) : auth_control::Field<std::string>::clear();
  s.prev_token_hash =
      d.prev_token_hash ? auth_control::Field<std::string>::set(*d.prev_token_hash) : auth_control::Field<std::string>::clear();
  s.prev_token_until = auth_control::Field<std::int64_t>::set(d.prev_token_until);
  s.pubkey = d.pubkey ? auth_control::Field<std::string>::set(*d.pubkey) : auth_control::Field<std::string>::clear();
  s.enabled = d.enabled;
  s.rev = rev;
  EXPECT_EQ(test_core->send({{{s, std::nullopt}}}), 0);
}

void PluginTest::put_device(const std::string& id, const std::optional<std::string>& token_hash,
                            const std::optional<std::string>& pubkey, bool enabled) {
  auth_control::DeviceCredentials d;
  d.id = id;
  d.token_hash = token_hash;
  d.pubkey = pubkey;
  d.enabled = enabled;
  put_device(d);
}

void PluginTest::disable_device(const std::string& id) {
  std::int64_t rev = db.disable(id);
  ASSERT_TRUE(test_core);
  EXPECT_EQ(test_core->send({{{auth_control::DisableDevice{id, rev}, std::nullopt}}}), 0);
}

void PluginTest::delete_device(const std::string& id) {
  std::int64_t rev = db.remove(id);
  ASSERT_TRUE(test_core);
  EXPECT_EQ(test_core->send({{{auth_control::DeleteDevice{id, rev}, std::nullopt}}}), 0);
}

testkeys::Token PluginTest::add_charger(const std::string& id) {
  testkeys::Token t;
  put_device(id, t.hash_hex());
  return t;
}

}  // namespace chargehub::plugintest
