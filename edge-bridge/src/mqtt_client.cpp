#include "mqtt_client.hpp"

#include <dlfcn.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>

#include <atomic>
#include <cerrno>
#include <stdexcept>

#include "util.hpp"

// libmosquitto opens a socketpair per client (2 fds) only to wake its own select() loop, which we do not
// use. With an fd limit of 20,000 per process that would cut the chargers per process from ~9,900 to
// ~5,000, so while our clients connect we make that socketpair fail; libmosquitto then works without it
// (it checks for INVALID_SOCKET everywhere). Measured: 2 fds per charger (link + MQTT) instead of 4.
namespace {
thread_local bool g_refuse_socketpair = false;
}
extern "C" int socketpair(int domain, int type, int protocol, int sv[2]) {
  using Fn = int (*)(int, int, int, int*);
  static Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "socketpair"));
  if (g_refuse_socketpair && domain == AF_UNIX) {
    errno = EMFILE;
    return -1;
  }
  return real(domain, type, protocol, sv);
}

namespace chargehub::bridge {

namespace {
struct RefuseSocketpair {
  RefuseSocketpair() { g_refuse_socketpair = true; }
  ~RefuseSocketpair() { g_refuse_socketpair = false; }
};
}  // namespace

void mqtt_global_init() {
  static bool done = false;
  if (!done) {
    mosquitto_lib_init();
    done = true;
  }
}

MqttClient::MqttClient(asio::io_context& io, MqttHandler* h) : io_(io), handler_(h) {}

std::shared_ptr<MqttClient> MqttClient::create(asio::io_context& io, const MqttOptions& o, MqttHandler* h) {
  std::shared_ptr<MqttClient> c(new MqttClient(io, h));
  {
    RefuseSocketpair guard;   // libmosquitto 2.0.11 opens it in mosquitto_new (mosquitto_reinitialise)
    c->m_ = mosquitto_new(o.client_id.c_str(), true, c.get());
  }
  if (!c->m_) throw std::runtime_error("mosquitto_new failed");
  mosquitto_int_option(c->m_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
  mosquitto_int_option(c->m_, MOSQ_OPT_TCP_NODELAY, 1);   // replies must not wait for Nagle (measured +20 ms)
  mosquitto_username_pw_set(c->m_, o.username.empty() ? nullptr : o.username.c_str(),
                            o.password.empty() ? nullptr : o.password.c_str());
  if (!o.will_topic.empty())
    mosquitto_will_set_v5(c->m_, o.will_topic.c_str(), static_cast<int>(o.will_payload.size()), o.will_payload.data(),
                          o.will_qos, o.will_retain, nullptr);
  mosquitto_connect_v5_callback_set(c->m_, reinterpret_cast<void (*)(mosquitto*, void*, int, int, const mosquitto_property*)>(&cb_connect));
  mosquitto_disconnect_v5_callback_set(c->m_, reinterpret_cast<void (*)(mosquitto*, void*, int, const mosquitto_property*)>(&cb_disconnect));
  mosquitto_message_v5_callback_set(c->m_, reinterpret_cast<void (*)(mosquitto*, void*, const mosquitto_message*, const mosquitto_property*)>(&cb_message));
  mosquitto_publish_v5_callback_set(c->m_, reinterpret_cast<void (*)(mosquitto*, void*, int, int, const mosquitto_property*)>(&cb_publish));
  // Host and port are stored now; connect() starts.
  c->host_ = o.host;
  c->port_ = o.port;
  c->keepalive_ = o.keepalive_s;
  return c;
}

MqttClient::~MqttClient() {
  if (desc_) {
    desc_->release();
    desc_.reset();
  }
  if (m_) mosquitto_destroy(m_);
}

bool MqttClient::connect() {
  int rc;
  connack_seen_ = false;
  {
    RefuseSocketpair guard;
    rc = mosquitto_connect_bind_async(m_, host_.c_str(), port_, keepalive_, nullptr);
  }
  after(rc);
  if (rc != MOSQ_ERR_SUCCESS) {
    log(Level::Debug, "mqtt_connect_start_failed", "rc", rc);
    return false;
  }
  return true;
}

bool MqttClient::reconnect() {
  connected_ = false;
  connack_seen_ = false;
  int rc;
  {
    RefuseSocketpair guard;
    rc = mosquitto_reconnect_async(m_);
  }
  after(rc);
  return rc == MOSQ_ERR_SUCCESS;
}

int MqttClient::publish(std::string_view topic, std::span<const uint8_t> payload, int qos, bool retain) {
  if (!connected_) return -1;
  std::string t(topic);
  int mid = 0;
  int rc = mosquitto_publish_v5(m_, &mid, t.c_str(), static_cast<int>(payload.size()), payload.data(), qos, retain, nullptr);
  after(rc);
  if (rc != MOSQ_ERR_SUCCESS) return -1;
  return qos > 0 ? mid : 0;
}

bool MqttClient::subscribe(std::string_view filter, int qos) {
  std::string f(filter);
  int rc = mosquitto_subscribe_v5(m_, nullptr, f.c_str(), qos, 0, nullptr);
  after(rc);
  return rc == MOSQ_ERR_SUCCESS;
}

void MqttClient::disconnect() {
  connected_ = false;
  int rc = mosquitto_disconnect_v5(m_, 0, nullptr);
  after(rc);
}

void MqttClient::tick() {
  if (fd_ < 0) return;
  int rc = mosquitto_loop_misc(m_);
  after(rc);
}

bool MqttClient::closed() const { return mosquitto_socket(m_) < 0; }

void MqttClient::after(int rc) {
  (void)rc;
  sync();
}

void MqttClient::sync() {
  int fd = mosquitto_socket(m_);
  if (fd != fd_) {
    if (desc_) {
      desc_->release();   // cancels our waits; libmosquitto owns and closes the fd
      desc_.reset();
    }
    ++gen_;
    reading_ = writing_ = false;
    fd_ = fd;
    if (fd_ >= 0) desc_.emplace(io_, fd_);
  }
  if (fd_ < 0) return;
  auto self = weak_from_this();
  uint32_t gen = gen_;
  if (!reading_) {
    reading_ = true;
    desc_->async_wait(asio::posix::stream_descriptor::wait_read, [self, gen](const asio::error_code& ec) {
      auto c = self.lock();
      if (!c || gen != c->gen_) return;
      c->reading_ = false;
      if (ec) return;
      int rc = mosquitto_loop_read(c->m_, 16);
      if (rc != MOSQ_ERR_SUCCESS && c->connected_) {
        // Lost without a DISCONNECT callback (should not happen; libmosquitto calls it).
      }
      c->sync();
    });
  }
  if (!writing_ && mosquitto_want_write(m_)) {
    writing_ = true;
    desc_->async_wait(asio::posix::stream_descriptor::wait_write, [self, gen](const asio::error_code& ec) {
      auto c = self.lock();
      if (!c || gen != c->gen_) return;
      c->writing_ = false;
      if (ec) return;
      mosquitto_loop_write(c->m_, 16);
      c->sync();
    });
  }
}

void MqttClient::cb_connect(mosquitto*, void* ud, int rc, int /*flags*/, const void*) {
  auto* c = static_cast<MqttClient*>(ud);
  c->connected_ = (rc == 0);
  c->connack_seen_ = true;
  if (c->handler_) c->handler_->on_connect(rc);
}

void MqttClient::cb_disconnect(mosquitto*, void* ud, int reason, const void*) {
  auto* c = static_cast<MqttClient*>(ud);
  bool was = c->connected_;
  c->connected_ = false;
  if (!c->handler_) return;
  // libmosquitto reports a lost connection as MOSQ_ERR_CONN_LOST (7) and a broker DISCONNECT as its reason
  // code; a connection that never got its CONNACK as MOSQ_ERR_* too.
  int r = reason == MQTT_RC_SESSION_TAKEN_OVER ? kTakenOver : (reason == 0 ? 0 : kConnectionLost);
  if (!c->connack_seen_) {
    c->connack_seen_ = true;
    c->handler_->on_connect(kConnectFailed);   // failed before any CONNACK
    return;
  }
  if (was) c->handler_->on_disconnect(r);       // a refused CONNACK was already reported by on_connect
}

void MqttClient::cb_message(mosquitto*, void* ud, const void* msg, const void*) {
  auto* c = static_cast<MqttClient*>(ud);
  auto* m = static_cast<const mosquitto_message*>(msg);
  if (!c->handler_) return;
  c->handler_->on_message(m->topic ? std::string_view(m->topic) : std::string_view(),
                          std::span(static_cast<const uint8_t*>(m->payload), static_cast<size_t>(m->payloadlen)));
}

void MqttClient::cb_publish(mosquitto*, void* ud, int mid, int reason, const void*) {
  auto* c = static_cast<MqttClient*>(ud);
  if (c->handler_) c->handler_->on_publish_done(mid, reason);
}

}  // namespace chargehub::bridge
