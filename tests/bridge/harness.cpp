#include "harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <thread>

#include "chargehub/topics.hpp"

namespace chargehub::bridgetest {

using namespace chargehub::proto;
using chargehub::testing::free_port;
using chargehub::testing::read_file;
using chargehub::testing::wait_for_port;
using chargehub::testing::wait_until;
using chargehub::testing::write_file;

// ---- broker ----
PlainBroker::PlainBroker(const TempDir& dir, std::string extra) : conf_(dir / "mosquitto.conf"), log_(dir / "mosquitto.log") {
  port_ = free_port();
  write_file(conf_, "listener " + std::to_string(port_) + " 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    "max_queued_messages 100000\nmax_inflight_messages 0\nlog_dest stderr\nlog_type error\nlog_type warning\n" +
                    extra);
  start();
}
PlainBroker::~PlainBroker() { stop(); }
void PlainBroker::start() {
  proc_ = std::make_unique<Process>(std::vector<std::string>{"/usr/sbin/mosquitto", "-c", conf_.string()}, log_);
  if (!wait_for_port(port_, 5s)) throw std::runtime_error("mosquitto did not start");
}
void PlainBroker::stop() {
  if (proc_) proc_->stop();
  proc_.reset();
}

json::value Msg::json() const {
  boost::system::error_code ec;
  auto v = json::parse(payload, ec);
  return ec ? json::value() : v;
}

// ---- core client ----
namespace {
struct LibInit {
  LibInit() { mosquitto_lib_init(); }
};
LibInit g_lib_init;
std::atomic<int> g_client_counter{0};
}  // namespace

CoreClient::CoreClient(int port, std::vector<std::string> subs, std::string user, std::string pass, std::string client_id, bool persistent)
    : subs_(std::move(subs)) {
  if (client_id.empty()) client_id = "core-test-" + std::to_string(::getpid()) + "-" + std::to_string(++g_client_counter);
  m_ = mosquitto_new(client_id.c_str(), !persistent, this);
  mosquitto_int_option(m_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  if (!user.empty()) mosquitto_username_pw_set(m_, user.c_str(), pass.empty() ? nullptr : pass.c_str());
  mosquitto_message_callback_set(m_, reinterpret_cast<void (*)(mosquitto*, void*, const mosquitto_message*)>(&on_message));
  mosquitto_connect_callback_set(m_, &on_connect);
  mosquitto_reconnect_delay_set(m_, 1, 1, false);
  mosquitto_connect_async(m_, "127.0.0.1", port, 30);
  mosquitto_loop_start(m_);
  wait_connected();
}
CoreClient::~CoreClient() {
  mosquitto_disconnect(m_);
  mosquitto_loop_stop(m_, false);
  mosquitto_destroy(m_);
}
bool CoreClient::wait_connected(std::chrono::milliseconds t) {
  return wait_until([&] { return connected_.load(); }, t);
}
void CoreClient::on_connect(mosquitto* m, void* ud, int rc) {
  auto* c = static_cast<CoreClient*>(ud);
  if (rc != 0) return;
  for (auto& s : c->subs_) mosquitto_subscribe(m, nullptr, s.c_str(), 1);
  // Let the SUBACKs come back before tests publish.
  c->connected_ = true;
}
void CoreClient::on_message(mosquitto*, void* ud, const void* mv) {
  auto* c = static_cast<CoreClient*>(ud);
  auto* m = static_cast<const mosquitto_message*>(mv);
  std::lock_guard lk(c->mu_);
  c->inbox_.push_back(Msg{m->topic, std::string(static_cast<const char*>(m->payload), static_cast<size_t>(m->payloadlen)), m->retain});
  c->taken_.push_back(false);
  c->cv_.notify_all();
}
void CoreClient::publish(const std::string& topic, const std::string& payload, int qos, bool retain) {
  mosquitto_publish(m_, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), qos, retain);
}
void CoreClient::publish_bytes(const std::string& topic, const std::vector<uint8_t>& payload, int qos) {
  mosquitto_publish(m_, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), qos, false);
}
std::optional<Msg> CoreClient::wait(const std::string& topic, std::chrono::milliseconds timeout,
                                    const std::function<bool(const Msg&)>& pred) {
  std::unique_lock lk(mu_);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    for (size_t i = 0; i < inbox_.size(); ++i)
      if (!taken_[i] && inbox_[i].topic == topic && (!pred || pred(inbox_[i]))) {
        taken_[i] = true;
        return inbox_[i];
      }
    if (cv_.wait_until(lk, deadline) == std::cv_status::timeout) {
      for (size_t i = 0; i < inbox_.size(); ++i)
        if (!taken_[i] && inbox_[i].topic == topic && (!pred || pred(inbox_[i]))) {
          taken_[i] = true;
          return inbox_[i];
        }
      return std::nullopt;
    }
  }
}
std::vector<Msg> CoreClient::all(const std::string& topic) {
  std::lock_guard lk(mu_);
  std::vector<Msg> out;
  for (auto& m : inbox_)
    if (m.topic == topic) out.push_back(m);
  return out;
}
size_t CoreClient::count(const std::string& topic) { return all(topic).size(); }

// ---- fake link ----
std::unique_ptr<FakeLink> FakeLink::tcp(int port, const std::string& bind_address) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (!bind_address.empty()) {
    sockaddr_in b{};
    b.sin_family = AF_INET;
    ::inet_pton(AF_INET, bind_address.c_str(), &b.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&b), sizeof b) != 0) {
      ::close(fd);
      throw std::runtime_error("bind to " + bind_address + " failed");
    }
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    throw std::runtime_error("connect to bridge failed");
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return std::unique_ptr<FakeLink>(new FakeLink(fd));
}
std::unique_ptr<FakeLink> FakeLink::fd(int fd) { return std::unique_ptr<FakeLink>(new FakeLink(fd)); }
FakeLink::~FakeLink() { close(); }
void FakeLink::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}
void FakeLink::send_raw(const std::vector<uint8_t>& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd_, bytes.data() + off, bytes.size() - off);
    if (n <= 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      throw std::runtime_error("write failed");
    }
    off += static_cast<size_t>(n);
  }
}
std::optional<Frame> FakeLink::recv(std::chrono::milliseconds timeout, std::optional<DeviceId> device) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    for (auto it = pending_.begin(); it != pending_.end(); ++it)
      if (!device || it->device == *device) {
        Frame f = *it;
        pending_.erase(it);
        return f;
      }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0 || fd_ < 0) return std::nullopt;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    uint8_t buf[4096];
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) {
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      return std::nullopt;
    }
    dec_.feed(std::span(buf, static_cast<size_t>(n)));
    while (auto f = dec_.next()) pending_.push_back(std::move(*f));
  }
}
bool FakeLink::closed_within(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    uint8_t buf[4096];
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) return true;
    if (n > 0) {
      dec_.feed(std::span(buf, static_cast<size_t>(n)));
      while (auto f = dec_.next()) pending_.push_back(std::move(*f));
    }
  }
  return false;
}

// ---- fake charger ----
std::optional<LoginResp> FakeCharger::login(std::chrono::milliseconds timeout) {
  auto r = request(Cmd::Login, login_body(token), timeout);
  if (!r) return std::nullopt;
  return LoginResp::decode(r->body);
}
std::optional<Frame> FakeCharger::request(Cmd cmd, std::vector<uint8_t> body, std::chrono::milliseconds timeout) {
  Frame f = frame(cmd, std::move(body));
  link.send(f);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto r = link.recv(left, id);
    if (!r) return std::nullopt;
    if (r->is_response() && r->seq == f.seq && r->cmd == f.cmd) return r;
  }
}

// ---- bridge process ----
BridgeProcess::BridgeProcess(const TempDir& dir, int broker_port, std::vector<std::string> extra, bool with_listen,
                             std::string log_name)
    : log_(dir / log_name) {
  std::vector<std::string> argv{chargehub::testing::bin("chargehub-bridge").string(), "--broker",
                                "tcp://127.0.0.1:" + std::to_string(broker_port)};
  bool has_listen = false, has_queue = false;
  for (size_t i = 0; i < extra.size(); ++i) {
    if (extra[i] == "--listen") {
      has_listen = true;
      auto& v = extra[i + 1];
      auto c = v.rfind(':');
      if (c != std::string::npos) port_ = std::stoi(v.substr(c + 1));
    }
    if (extra[i] == "--queue-dir") has_queue = true;
  }
  if (with_listen && !has_listen) {
    port_ = free_port();
    argv.push_back("--listen");
    argv.push_back("127.0.0.1:" + std::to_string(port_));
  }
  if (!with_listen && !has_listen) {
    argv.push_back("--listen");
    argv.push_back("");
  }
  if (!has_queue) {
    argv.push_back("--queue-dir");
    argv.push_back((dir / "queue").string());
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  proc_ = std::make_unique<Process>(argv, log_);
  if (port_) {
    if (!wait_for_port(port_, 10s)) throw std::runtime_error("bridge did not listen: " + read_file(log_));
  } else {
    wait_log("starting", 5s);
  }
}
BridgeProcess::~BridgeProcess() {
  if (proc_) proc_->stop();
}
bool BridgeProcess::wait_log(const std::string& needle, std::chrono::milliseconds t) const {
  return wait_until([&] { return read_file(log_).find(needle) != std::string::npos; }, t);
}

// ---- bodies ----
std::vector<uint8_t> login_body(const std::vector<uint8_t>& token, uint8_t model) {
  Login l;
  l.model = model;
  l.ports = 10;
  l.hw = 1;
  l.fw = Version{1, 0, 0};
  l.iccid = "89860000000000000001";
  l.csq = 20;
  l.auth_kind = AuthKind::Token;
  l.auth = token;
  return l.encode();
}
std::vector<uint8_t> heartbeat_body() {
  return Heartbeat{20, 285, 2205, 0, std::vector<uint8_t>(10, 0)}.encode();
}
std::vector<uint8_t> session_end_body(uint32_t session, uint32_t energy) {
  return SessionEnd{3, session, 1, 1795500000, 14400, energy, 236}.encode();
}
std::string topic(DeviceId id, const std::string& rest) { return "chg/v1/" + device_id_text(id) + "/" + rest; }

}  // namespace chargehub::bridgetest
