#include "mqtt_link.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "chargehub/auth_control.hpp"
#include "chargehub/topics.hpp"
#include "log.hpp"

namespace chargehub::core {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// An uplink larger than this is not one mqtt.md defines: it is dropped (and a QoS 1 one acknowledged,
// so that the broker does not deliver it again after every reconnect).
constexpr size_t kMaxUplink = 1 << 20;
// Published bytes waiting for the socket beyond which publish() refuses (the broker is not reading).
constexpr size_t kMaxOut = 64 << 20;
constexpr size_t kReadChunk = 256 << 10;
// After a small read the network thread waits this long before reading again, so that the next read
// takes many messages at once (about 40 at 20,000 msg/s) instead of one per system call.
constexpr auto kCoalesce = 2ms;
constexpr size_t kSmallRead = 16 << 10;

// ---- MQTT 3.1.1 packets: only those the link sends or expects ----
enum : uint8_t {
  kConnect = 0x10, kConnack = 0x20, kPublish = 0x30, kPuback = 0x40, kSubscribe = 0x82, kSuback = 0x90,
  kPingreq = 0xC0, kPingresp = 0xD0, kDisconnect = 0xE0,
};

void put_len(std::string& b, size_t n) {
  do {
    uint8_t d = n % 128;
    n /= 128;
    if (n) d |= 128;
    b.push_back(char(d));
  } while (n);
}
void put_u16(std::string& b, uint16_t v) {
  b.push_back(char(v >> 8));
  b.push_back(char(v & 0xff));
}
void put_str(std::string& b, std::string_view s) {
  put_u16(b, uint16_t(s.size()));
  b.append(s);
}
std::string packet(uint8_t first, std::string_view body) {
  std::string p;
  p.reserve(body.size() + 5);
  p.push_back(char(first));
  put_len(p, body.size());
  p.append(body);
  return p;
}

std::string connect_packet(const MqttConfig& c) {
  std::string b;
  put_str(b, "MQTT");
  b.push_back(4);   // 3.1.1
  uint8_t flags = 0;   // clean session off: the broker keeps QoS 1 uplinks while the core restarts
  if (!c.username.empty()) flags |= 0x80;
  if (!c.password.empty()) flags |= 0x40;
  b.push_back(char(flags));
  put_u16(b, uint16_t(c.keepalive_s));
  put_str(b, c.client_id);
  if (!c.username.empty()) put_str(b, c.username);
  if (!c.password.empty()) put_str(b, c.password);
  return packet(kConnect, b);
}

std::string publish_packet(std::string_view topic, std::string_view payload, int qos, bool retain, uint16_t id) {
  size_t len = 2 + topic.size() + (qos ? 2 : 0) + payload.size();
  std::string p;
  p.reserve(len + 5);
  p.push_back(char(kPublish | (qos << 1) | (retain ? 1 : 0)));
  put_len(p, len);
  put_str(p, topic);
  if (qos) put_u16(p, id);
  p.append(payload);
  return p;
}

uint16_t get_u16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }

// The fixed header at d[0..n): 0 if incomplete, -1 if malformed, else its size (with *len the rest).
int header(const uint8_t* d, size_t n, size_t* len) {
  size_t v = 0, mult = 1;
  for (size_t i = 1; i <= 4; ++i) {
    if (i >= n) return 0;
    v += size_t(d[i] & 127) * mult;
    mult *= 128;
    if (!(d[i] & 128)) {
      *len = v;
      return int(i + 1);
    }
  }
  return -1;
}

// "chg/v1/<id>/..." -> "<id>"; "" for other topics.
std::string_view device_of(std::string_view topic) {
  constexpr std::string_view prefix = "chg/v1/";
  if (topic.substr(0, prefix.size()) != prefix) return {};
  auto rest = topic.substr(prefix.size());
  return rest.substr(0, rest.find('/'));
}

bool split_uri(const std::string& uri, std::string& host, std::string& port) {
  std::string s = uri;
  for (std::string_view scheme : {"tcp://", "mqtt://"})
    if (s.rfind(scheme, 0) == 0) s = s.substr(scheme.size());
  if (s.find("://") != std::string::npos) return false;   // ssl://, ws://: not supported here
  auto colon = s.rfind(':');
  if (!s.empty() && s[0] == '[') {   // [v6]:port
    auto close = s.find(']');
    if (close == std::string::npos) return false;
    host = s.substr(1, close - 1);
    port = close + 1 < s.size() && s[close + 1] == ':' ? s.substr(close + 2) : "1883";
    return true;
  }
  host = colon == std::string::npos ? s : s.substr(0, colon);
  port = colon == std::string::npos ? "1883" : s.substr(colon + 1);
  return !host.empty() && !port.empty();
}

double thread_seconds(std::thread& t) {
  if (!t.joinable()) return 0;
  clockid_t cid;
  timespec ts{};
  if (pthread_getcpuclockid(t.native_handle(), &cid) != 0 || clock_gettime(cid, &ts) != 0) return 0;
  return double(ts.tv_sec) + ts.tv_nsec / 1e9;
}

}  // namespace

MqttLink::MqttLink(MqttConfig cfg, Handler on_message, std::function<void()> on_connected)
    : cfg_(std::move(cfg)), on_message_(std::move(on_message)), on_connected_(std::move(on_connected)) {
  if (!split_uri(cfg_.uri, host_, port_)) throw std::runtime_error("unsupported broker URI: " + cfg_.uri);
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
  device_ids_.emplace("", 0);
  device_names_.emplace_back();
  devices_.emplace_back();
}

MqttLink::~MqttLink() {
  stop();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void MqttLink::start() {
  worker_ = std::thread([this] { worker(); });
  net_ = std::thread([this] { network(); });
}

void MqttLink::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    cv_.notify_all();
  }
  if (worker_.joinable()) worker_.join();
  stop_net_ = true;
  wake();
  if (net_.joinable()) net_.join();
}

bool MqttLink::connected() const { return connected_; }

size_t MqttLink::waiting() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

std::vector<MqttLink::DeviceShed> MqttLink::top_shed(size_t n) const {
  std::vector<DeviceShed> out;
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < devices_.size(); ++i)
    if (devices_[i].shed) out.push_back({device_names_[i], devices_[i].shed});
  auto most = [](const DeviceShed& a, const DeviceShed& b) { return a.shed > b.shed || (a.shed == b.shed && a.device < b.device); };
  if (out.size() > n) {
    std::partial_sort(out.begin(), out.begin() + long(n), out.end(), most);
    out.resize(n);
  } else {
    std::sort(out.begin(), out.end(), most);
  }
  return out;
}

MqttLink::ThreadCpu MqttLink::thread_cpu() const {
  auto& self = const_cast<MqttLink&>(*this);
  return {thread_seconds(self.net_), thread_seconds(self.worker_)};
}

void MqttLink::wake() {
  uint64_t one = 1;
  if (::write(wake_fd_, &one, sizeof one) < 0) {
  }
}

bool MqttLink::publish(const std::string& topic, const std::string& payload, int qos, bool retain) {
  if (topic.size() > 65535 || payload.size() > 256u << 20) return false;
  qos = qos > 0 ? 1 : 0;   // the platform uses QoS 0 and 1 only (mqtt.md)
  std::lock_guard lock(out_mu_);
  if (!connected_) return false;
  if (out_.size() > kMaxOut) {
    log::warn("mqtt.publish_refused", {{"topic", topic}, {"waiting_bytes", out_.size()}});
    return false;
  }
  uint16_t id = 0;
  if (qos) {
    if (inflight_.size() >= 60000) {
      log::warn("mqtt.publish_refused", {{"topic", topic}, {"unacked", inflight_.size()}});
      return false;
    }
    do {
      id = next_id_++;
      if (next_id_ == 0) next_id_ = 1;
    } while (id == 0 || inflight_.count(id));
  }
  std::string p = publish_packet(topic, payload, qos, retain, id);
  bool was_empty = out_.empty();
  out_ += p;
  if (qos) inflight_.emplace(id, std::move(p));
  if (was_empty) wake();
  return true;
}

bool MqttLink::sleep_unless_stopping(std::chrono::milliseconds d) {
  pollfd p{wake_fd_, POLLIN, 0};
  auto until = Clock::now() + d;
  while (!stop_net_ && Clock::now() < until) {
    ::poll(&p, 1, int(std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count()) + 1);
    uint64_t v;
    if (::read(wake_fd_, &v, sizeof v) < 0) {
    }
  }
  return !stop_net_;
}

uint32_t MqttLink::device_index(std::string_view topic) {
  std::string id(device_of(topic));
  auto it = device_ids_.find(id);
  if (it != device_ids_.end()) return it->second;
  std::lock_guard lock(mu_);
  auto idx = uint32_t(devices_.size());
  devices_.emplace_back();
  device_names_.push_back(id);
  device_ids_.emplace(std::move(id), idx);
  return idx;
}

void MqttLink::enqueue(std::vector<Incoming>& msgs, const std::vector<int>& qos) {
  const auto now = Clock::now();
  {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < msgs.size(); ++i) {
      auto& d = devices_[msgs[i].device];
      if (qos[i] == 0 && cfg_.device_rate > 0) {
        // Per-device rate (a token bucket): over it, the device's telemetry is shed whatever the load.
        if (d.tokens < 0) d.tokens = cfg_.device_burst;
        else d.tokens = std::min(cfg_.device_burst, d.tokens + cfg_.device_rate * std::chrono::duration<double>(now - d.refilled).count());
        d.refilled = now;
        if (d.tokens < 1) {
          if (d.shed++ == 0) log::warn("mqtt.device_shed", {{"device", device_names_[msgs[i].device]}, {"rate_limit", cfg_.device_rate}});
          ++shed_;
          continue;
        }
        d.tokens -= 1;
      }
      if (qos[i] == 0 && queue_.size() >= cfg_.max_queue) {
        // Overload: a device holding at least its share of the queue loses this message; a device
        // below its share keeps it (up to twice max_queue in all). QoS 1 is never shed.
        size_t share = std::max<size_t>(1, cfg_.max_queue / std::max<size_t>(1, devices_waiting_));
        if (d.queued >= share || queue_.size() >= 2 * cfg_.max_queue) {
          ++d.shed;
          if (shed_++ % 10000 == 0)
            log::warn("mqtt.queue_full", {{"waiting", queue_.size()}});   // QoS 0 telemetry of the devices holding most of it is shed
          continue;
        }
      }
      if (d.queued++ == 0) ++devices_waiting_;
      queue_.push_back(std::move(msgs[i]));
    }
  }
  cv_.notify_one();
}

bool MqttLink::flush_out(int fd) {
  std::lock_guard lock(out_mu_);
  size_t sent = 0;
  while (sent < out_.size()) {
    ssize_t w = ::send(fd, out_.data() + sent, out_.size() - sent, MSG_NOSIGNAL);
    if (w > 0) {
      sent += size_t(w);
      last_out_ = Clock::now();
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    out_.erase(0, sent);
    return false;
  }
  out_.erase(0, sent);
  return true;
}

int MqttLink::open_connection() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host_.c_str(), port_.c_str(), &hints, &res); rc != 0) {
    log::warn("mqtt.resolve_failed", {{"host", host_}, {"error", gai_strerror(rc)}});
    return -1;
  }
  int fd = -1;
  for (addrinfo* a = res; a && fd < 0 && !stop_net_; a = a->ai_next) {
    fd = ::socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      ::close(fd);
      fd = -1;
      continue;
    }
    pollfd p[2] = {{fd, POLLOUT, 0}, {wake_fd_, POLLIN, 0}};
    int err = 0;
    socklen_t len = sizeof err;
    if (::poll(p, 2, 5000) <= 0 || !(p[0].revents & (POLLOUT | POLLERR | POLLHUP)) ||
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(res);
  if (fd >= 0) {
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  return fd;
}

void MqttLink::network() {
  pthread_setname_np(pthread_self(), "mqtt-rx");
  for (int attempt = 0; !stop_net_; ++attempt) {
    int fd = open_connection();
    if (fd >= 0) {
      bool accepted = session(fd);
      ::close(fd);
      if (stop_net_) break;
      if (accepted) attempt = 0;
    }
    if (fd < 0 && (attempt == 0 || attempt % 10 == 0)) log::warn("mqtt.connect_failed", {{"broker", cfg_.uri}, {"attempt", attempt}});
    sleep_unless_stopping(attempt < 10 ? 500ms : 2000ms);
  }
}

// One connection: CONNECT, CONNACK, SUBSCRIBE, then messages until the connection ends or stop().
// Returns whether the broker accepted the connection.
bool MqttLink::session(int fd) {
  {
    std::lock_guard lock(out_mu_);
    out_ = connect_packet(cfg_);   // whatever was half-written on the last connection is gone
  }
  std::vector<uint8_t> rx(kReadChunk);
  size_t have = 0;
  size_t discard = 0;   // bytes still to skip of an oversize uplink
  auto now = Clock::now();
  const auto opened = now;
  auto last_in = now, last_ping = now;
  last_out_ = now;
  bool accepted = false;
  const auto keepalive = std::chrono::seconds(std::max(cfg_.keepalive_s, 2));
  std::vector<Incoming> msgs;
  std::vector<int> qos;
  std::string acks;

  auto lose = [&](const std::string& reason) {
    std::lock_guard lock(out_mu_);
    bool was = connected_.exchange(false);
    if (was) log::warn("mqtt.connection_lost", {{"reason", reason}});
    else if (!reason.empty()) log::warn("mqtt.connection_failed", {{"reason", reason}});
    return accepted;
  };

  while (true) {
    if (stop_net_) {
      std::lock_guard lock(out_mu_);
      if (connected_) out_ += std::string{char(kDisconnect), 0};
      connected_ = false;
      // A short grace for the last acknowledgements and the DISCONNECT.
      for (auto until = Clock::now() + 1s; !out_.empty() && Clock::now() < until;) {
        ssize_t w = ::send(fd, out_.data(), out_.size(), MSG_NOSIGNAL);
        if (w > 0) out_.erase(0, size_t(w));
        else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
          pollfd p{fd, POLLOUT, 0};
          ::poll(&p, 1, 100);
        } else break;
      }
      return accepted;
    }
    if (!flush_out(fd)) return lose(std::string("write: ") + std::strerror(errno));
    bool want_write;
    {
      std::lock_guard lock(out_mu_);
      want_write = !out_.empty();
    }
    pollfd p[2] = {{fd, short(POLLIN | (want_write ? POLLOUT : 0)), 0}, {wake_fd_, POLLIN, 0}};
    ::poll(p, 2, 1000);
    if (p[1].revents & POLLIN) {
      uint64_t v;
      if (::read(wake_fd_, &v, sizeof v) < 0) {
      }
    }
    now = Clock::now();
    if (!accepted && now - opened > 10s) return lose("no CONNACK within 10 s");
    if (p[0].revents & (POLLIN | POLLERR | POLLHUP)) {
      ssize_t r = ::recv(fd, rx.data() + have, rx.size() - have, 0);
      if (r == 0) return lose("closed by the broker");
      if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        return lose(std::string("read: ") + std::strerror(errno));
      if (r > 0) {
        last_in = now;
        size_t got = size_t(r);
        // Skip the rest of an oversize uplink.
        size_t skip = std::min(discard, got);
        discard -= skip;
        if (skip) std::memmove(rx.data() + have, rx.data() + have + skip, got - skip);
        have += got - skip;
        // Parse every complete packet.
        size_t pos = 0;
        while (pos < have) {
          const uint8_t* d = rx.data() + pos;
          size_t avail = have - pos, len = 0;
          int hs = header(d, avail, &len);
          if (hs < 0) return lose("malformed packet from the broker");
          if (hs == 0) break;
          uint8_t type = d[0] & 0xF0;
          if (type == kPublish && len > kMaxUplink) {
            // Take the topic and packet id, acknowledge, skip the rest.
            int q = (d[0] >> 1) & 3;
            if (avail < size_t(hs) + 2) break;
            size_t tl = get_u16(d + hs);
            if (avail < size_t(hs) + 2 + tl + 2) break;
            std::string topic(reinterpret_cast<const char*>(d + hs + 2), tl);
            if (q == 1) {
              acks += std::string{char(kPuback), 2};
              put_u16(acks, get_u16(d + hs + 2 + tl));
            }
            log::warn("mqtt.uplink_too_large", {{"topic", topic}, {"bytes", len}, {"limit", kMaxUplink}});
            size_t in_buf = std::min(avail - size_t(hs), len);
            discard = len - in_buf;
            pos += size_t(hs) + in_buf;
            continue;
          }
          if (avail < size_t(hs) + len) {
            if (size_t(hs) + len > rx.size()) rx.resize(size_t(hs) + len);   // a packet larger than the buffer
            break;
          }
          const uint8_t* b = d + hs;
          switch (type) {
            case kPublish: {
              int q = (d[0] >> 1) & 3;
              if (q > 1) return lose("QoS 2 message although subscribed at QoS 1");
              if (len < 2) return lose("malformed PUBLISH");
              size_t tl = get_u16(b);
              if (len < 2 + tl + (q ? 2u : 0u)) return lose("malformed PUBLISH");
              std::string_view topic(reinterpret_cast<const char*>(b + 2), tl);
              size_t off = 2 + tl;
              if (q) {
                acks += std::string{char(kPuback), 2};
                put_u16(acks, get_u16(b + off));
                off += 2;
              }
              msgs.push_back(Incoming{std::string(topic), std::string(reinterpret_cast<const char*>(b + off), len - off),
                                      device_index(topic)});
              qos.push_back(q);
              break;
            }
            case kPuback:
              if (len >= 2) {
                std::lock_guard lock(out_mu_);
                inflight_.erase(get_u16(b));
              }
              break;
            case kConnack & 0xF0:
              if (len < 2 || b[1] != 0) {
                log::warn("mqtt.connect_refused", {{"broker", cfg_.uri}, {"client_id", cfg_.client_id}, {"connack", len < 2 ? -1 : int(b[1])}});
                return false;
              } else {
                std::string prefix = cfg_.share_group.empty() ? "" : "$share/" + cfg_.share_group + "/";
                std::string sub;
                put_u16(sub, 1);
                put_str(sub, prefix + std::string(topics::kAllUp));
                sub.push_back(1);
                put_str(sub, std::string(topics::kAllStatus));
                sub.push_back(1);
                // The broker plugin's requests for a credentials snapshot: one core of a share group answers.
                put_str(sub, auth_control::snapshot_request_subscription(cfg_.share_group));
                sub.push_back(1);
                std::lock_guard lock(out_mu_);
                out_ += packet(kSubscribe, sub);
                // QoS 1 publishes the broker has not acknowledged: again, marked duplicate.
                for (auto& [id, pkt] : inflight_) {
                  pkt[0] = char(pkt[0] | 0x08);
                  out_ += pkt;
                }
                accepted = true;
                connected_ = true;
                log::info("mqtt.connected", {{"broker", cfg_.uri}, {"client_id", cfg_.client_id}});
                std::lock_guard qlock(mu_);
                connected_event_ = true;
                cv_.notify_one();
              }
              break;
            case kSuback & 0xF0:
              for (size_t i = 2; i < len; ++i)
                if (b[i] & 0x80) log::error("mqtt.subscription_refused", {{"index", i - 1}, {"broker", cfg_.uri}});
              break;
            case kPingresp:
              break;
            default:
              return lose("unexpected packet type " + std::to_string(type >> 4));
          }
          pos += size_t(hs) + len;
        }
        if (pos) {
          std::memmove(rx.data(), rx.data() + pos, have - pos);
          have -= pos;
        }
        if (!msgs.empty()) {
          received_ += msgs.size();
          enqueue(msgs, qos);
          msgs.clear();
          qos.clear();
        }
        if (!acks.empty()) {
          std::lock_guard lock(out_mu_);
          out_ += acks;
          acks.clear();
        }
        if (got < kSmallRead && accepted) {
          if (!flush_out(fd)) return lose(std::string("write: ") + std::strerror(errno));
          std::this_thread::sleep_for(kCoalesce);
        }
        if (rx.size() > kReadChunk && have <= kReadChunk) rx.resize(kReadChunk);
      }
    }
    // Keepalive: ping after half the interval without input or without output (the broker drops a
    // client it has heard nothing from for 1.5 intervals, however much it sends to it); the connection
    // is dead after a whole interval without input (the broker answers every PINGREQ).
    if (accepted) {
      if (now - last_in > keepalive) return lose("no answer from the broker for " + std::to_string(cfg_.keepalive_s) + " s");
      if ((now - last_in > keepalive / 2 || now - last_out_ > keepalive / 2) && now - last_ping > keepalive / 2) {
        std::lock_guard lock(out_mu_);
        out_ += std::string{char(kPingreq), 0};
        last_ping = now;
      }
    }
  }
}

void MqttLink::worker() {
  pthread_setname_np(pthread_self(), "mqtt-worker");
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || connected_event_ || !queue_.empty(); });
    if (stopping_) return;
    if (connected_event_) {
      connected_event_ = false;
      lock.unlock();
      if (on_connected_) on_connected_();
      lock.lock();
      continue;
    }
    Batch batch;
    size_t n = std::min(queue_.size(), cfg_.max_batch);
    batch.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      auto& m = queue_.front();
      if (--devices_[m.device].queued == 0) --devices_waiting_;
      batch.emplace_back(std::move(m.topic), std::move(m.payload));
      queue_.pop_front();
    }
    lock.unlock();
    on_message_(batch);
    lock.lock();
  }
}

}  // namespace chargehub::core
