#include "bridge.hpp"

#include <sys/socket.h>

#include <boost/json.hpp>

#include "chargehub/messages.hpp"
#include "charger.hpp"
#include "link.hpp"
#include "util.hpp"

namespace chargehub::bridge {

using namespace chargehub::proto;

Bridge::Bridge(asio::io_context& io, const Config& cfg, Counters& counters, int worker)
    : io_(io),
      cfg_(cfg),
      c_(counters),
      worker_(worker),
      queue_(cfg.queue_dir, static_cast<uint64_t>(cfg.queue_max_mb) * 1024 * 1024, counters),
      tick_timer_(io),
      accept_retry_(io),
      login_throttle_(LoginThrottlePolicy{static_cast<uint32_t>(cfg.login_free_device), static_cast<uint32_t>(cfg.login_free_peer),
                                          cfg.login_backoff_ms, cfg.login_backoff_max_ms, 600, 100000}) {}

Bridge::~Bridge() = default;

void Bridge::start() {
  if (worker_ == 0) queue_.scan();
  if (cfg_.listen_port) {
    asio::ip::tcp::endpoint ep(asio::ip::make_address(cfg_.listen_host), cfg_.listen_port);
    acceptor_ = std::make_unique<asio::ip::tcp::acceptor>(io_);
    acceptor_->open(ep.protocol());
    acceptor_->set_option(asio::socket_base::reuse_address(true));
    if (cfg_.workers > 1) {
      int one = 1;
      ::setsockopt(acceptor_->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    }
    acceptor_->bind(ep);
    acceptor_->listen(4096);
    log(Level::Info, "listening", "address", cfg_.listen);
    accept();
  }
  if (worker_ == 0)
    for (auto& sp : cfg_.serial_ports) open_serial(sp);
  tick();
}

void Bridge::accept() {
  acceptor_->async_accept([this](const asio::error_code& ec, asio::ip::tcp::socket s) {
    if (stopping_) return;
    if (ec) {
      // Out of descriptors (or similar): back off instead of spinning.
      log(Level::Warn, "accept_failed", "error", ec.message());
      accept_retry_.expires_after(std::chrono::milliseconds(200));
      accept_retry_.async_wait([this](const asio::error_code& e) {
        if (!e && !stopping_) accept();
      });
      return;
    }
    asio::error_code pe;
    auto rep = s.remote_endpoint(pe);
    std::string peer = pe ? "?" : rep.address().to_string() + ":" + std::to_string(rep.port());
    auto link = std::make_shared<TcpLink>(*this, next_link_id(), std::move(s), peer);
    links_[link->id()] = link;
    log(Level::Debug, "link_open", "link", link->id(), "peer", peer);
    link->start();
    accept();
  });
}

void Bridge::open_serial(const SerialPortConfig& sp) {
  if (stopping_) return;
  try {
    asio::serial_port port(io_, sp.path);
    port.set_option(asio::serial_port::baud_rate(sp.baud));
    port.set_option(asio::serial_port::character_size(8));
    port.set_option(asio::serial_port::parity(asio::serial_port::parity::none));
    port.set_option(asio::serial_port::stop_bits(asio::serial_port::stop_bits::one));
    port.set_option(asio::serial_port::flow_control(asio::serial_port::flow_control::none));
    auto link = std::make_shared<SerialLink>(*this, next_link_id(), std::move(port), sp.path);
    links_[link->id()] = link;
    log(Level::Info, "serial_open", "path", sp.path, "baud", sp.baud, "link", link->id());
    link->start();
  } catch (const std::exception& e) {
    log(Level::Warn, "serial_open_failed", "path", sp.path, "error", e.what());
    auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::seconds(2));
    t->async_wait([this, t, sp](const asio::error_code& ec) {
      if (!ec) open_serial(sp);
    });
  }
}

void Bridge::link_closed(Link& link) {
  auto it = links_.find(link.id());
  if (it == links_.end()) return;
  auto keep = it->second;
  links_.erase(it);
  if (link.multi_drop() && !stopping_) {
    // A serial line that failed is reopened.
    for (auto& sp : cfg_.serial_ports)
      if (sp.path == link.peer()) {
        auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::seconds(1));
        t->async_wait([this, t, sp](const asio::error_code& ec) {
          if (!ec) open_serial(sp);
        });
      }
  }
  // Keep the object alive until pending handlers finished.
  asio::post(io_, [keep] {});
}

void Bridge::on_frame(Link& link, Frame f) {
  ++c_.frames_in[static_cast<uint8_t>(f.cmd)];
  if (f.cmd == Cmd::Login && !f.is_response()) {
    on_login(link, f);
    return;
  }
  Charger* ch = link.find(f.device);
  if (ch && ch->online()) {
    ch->on_frame(f);
    return;
  }
  ++c_.not_logged_in;
  if (ch && ch->connecting()) return;   // its LOGIN is being answered; the charger waits for that first
  // Not logged in on this link: only a LOGIN failure, with the seq of the frame it answers.
  Frame resp{f.device, f.seq, Cmd::Login, kFlagResp,
             LoginResp{LoginResult::BadCredentials, static_cast<uint32_t>(unix_s()), static_cast<uint16_t>(cfg_.heartbeat_s)}.encode()};
  link.send(resp);
}

void Bridge::on_login(Link& link, const Frame& f) {
  auto refuse = [&](LoginResult r) {
    link.send(make_response(f, LoginResp{r, static_cast<uint32_t>(unix_s()), static_cast<uint16_t>(cfg_.heartbeat_s)}.encode()));
    if (r == LoginResult::Busy) ++c_.logins_busy;
    else ++c_.logins_refused;
  };
  auto login = Login::decode(f.body);
  bool auth_ok = login && ((login->auth_kind == AuthKind::Token && login->auth.size() >= 16 && login->auth.size() <= 64) ||
                           (login->auth_kind == AuthKind::Ed25519 && login->auth.size() == 72));
  if (!auth_ok) {
    if (!login) ++c_.bad_frames;
    log(Level::Info, "login_malformed", "device", device_id_text(f.device), "link", link.id());
    refuse(LoginResult::BadCredentials);
    return;
  }
  if (Charger* old = link.find(f.device)) {
    if (old->connecting() && old->login_seq() == f.seq) return;   // a retry of the LOGIN being answered
    old->close(CloseReason::Relogin);
    link.remove(old);
  }
  if (stopping_ || chargers_here_ >= cfg_.max_chargers || link.chargers() >= static_cast<size_t>(cfg_.max_chargers_per_link)) {
    refuse(LoginResult::Busy);
    return;
  }
  // Refused too often from this peer address: deferred (4, retry later), the broker is not asked.
  std::string id = device_id_text(f.device);
  if (login_throttle_.defer(id, peer_address(link.peer()), mono_ms())) {
    ++c_.logins_deferred;
    log(Level::Info, "login_deferred", "device", id, "peer", link.peer());
    refuse(LoginResult::Busy);
    return;
  }
  auto ch = std::make_shared<Charger>(*this, link, f, *login);
  ++chargers_here_;
  link.add(ch);
  ch->start(*login);
}

void Bridge::set_online(Charger& c) {
  auto [it, inserted] = online_.try_emplace(c.device(), &c);
  if (!inserted && it->second != &c) {
    Charger* old = it->second;
    it->second = &c;
    ++c_.takeovers;
    log(Level::Info, "takeover", "device", c.id(), "old_link", old->link().id(), "new_link", c.link().id());
    old->close(CloseReason::TakenOver);
  }
}

void Bridge::set_offline(Charger& c) {
  auto it = online_.find(c.device());
  if (it != online_.end() && it->second == &c) online_.erase(it);
}

void Bridge::bury(std::shared_ptr<MqttClient> c) {
  if (!c) return;
  c->flush();
  graveyard_.emplace_back(std::move(c), mono_ms() + 2000);
}

void Bridge::tick() {
  int64_t now = mono_ms();
  // Chargers: silence and MQTT keepalive. Links: idle without any charger.
  std::vector<std::shared_ptr<Link>> idle;
  for (auto& [id, link] : links_) {
    if (link->chargers() == 0) {
      if (!link->multi_drop() && link->idle_since_ms() && now - link->idle_since_ms() > cfg_.link_idle_s * 1000LL)
        idle.push_back(link);
    }
  }
  for (auto& l : idle) l->close("idle");
  std::vector<Charger*> all;
  all.reserve(online_.size());
  for (auto& [d, ch] : online_) all.push_back(ch);
  for (auto* ch : all) ch->tick(now);
  std::erase_if(graveyard_, [&](auto& g) { return g.first->closed() || now > g.second; });
  login_throttle_.prune(now);
  chargers_here_ = 0;
  for (auto& [id, link] : links_) chargers_here_ += static_cast<int64_t>(link->chargers());
  tick_timer_.expires_after(std::chrono::seconds(1));
  tick_timer_.async_wait([this](const asio::error_code& ec) {
    if (!ec) tick();
  });
}

void Bridge::shutdown(std::function<void()> done) {
  stopping_ = true;
  asio::error_code ec;
  if (acceptor_) acceptor_->close(ec);
  accept_retry_.cancel();
  auto links = links_;
  for (auto& [id, l] : links) l->close("shutdown");
  tick_timer_.cancel();
  // Wait until every MQTT goodbye is out (at most 2 s).
  auto t = std::make_shared<asio::steady_timer>(io_);
  auto deadline = mono_ms() + 2000;
  auto poll = std::make_shared<std::function<void()>>();
  *poll = [this, t, deadline, done, poll] {
    std::erase_if(graveyard_, [&](auto& g) { return g.first->closed(); });
    if (graveyard_.empty() || mono_ms() > deadline) {
      graveyard_.clear();
      done();
      *poll = nullptr;
      return;
    }
    t->expires_after(std::chrono::milliseconds(20));
    t->async_wait([poll](const asio::error_code&) {
      if (*poll) (*poll)();
    });
  };
  asio::post(io_, [poll] { (*poll)(); });
}

// ---- StatusPublisher ----
StatusPublisher::StatusPublisher(asio::io_context& io, const Config& cfg, const Counters* blocks, int n,
                                 std::function<int()> alive)
    : io_(io), cfg_(cfg), blocks_(blocks), n_(n), alive_(std::move(alive)), timer_(io) {
  topic_ = "svc/v1/bridge-" + cfg.name + "/status";
}

std::string StatusPublisher::snapshot() const { return counters_json(blocks_, n_, alive_()); }

void StatusPublisher::start() {
  MqttOptions o;
  o.host = cfg_.broker_host;
  o.port = cfg_.broker_port;
  o.client_id = "bridge-" + cfg_.name;
  o.username = o.client_id;
  o.password = cfg_.secret;
  o.keepalive_s = cfg_.mqtt_keepalive_s;
  o.will_topic = topic_;
  o.will_payload = R"({"online":false})";
  mqtt_ = MqttClient::create(io_, o, this);
  if (!mqtt_->connect()) schedule(backoff_ms_);
  else schedule(cfg_.status_s * 1000);
}

void StatusPublisher::schedule(int ms) {
  timer_.expires_after(std::chrono::milliseconds(ms));
  timer_.async_wait([this](const asio::error_code& ec) {
    if (ec || stopping_) return;
    if (!mqtt_->connected() && mqtt_->closed()) {
      mqtt_->reconnect();
      backoff_ms_ = std::min(backoff_ms_ * 2, 30000);
    }
    if (mqtt_->connected()) publish();
    mqtt_->tick();
    schedule(mqtt_->connected() ? cfg_.status_s * 1000 : backoff_ms_);
  });
}

void StatusPublisher::publish() {
  auto v = boost::json::parse(snapshot());
  v.as_object()["online"] = true;
  mqtt_->publish(topic_, boost::json::serialize(v), 1, true);
}

void StatusPublisher::on_connect(int rc) {
  if (rc == 0) {
    backoff_ms_ = 500;
    log(Level::Info, "service_connected", "client", "bridge-" + cfg_.name);
    publish();
  } else {
    log(Level::Warn, "service_connect_failed", "client", "bridge-" + cfg_.name, "rc", rc);
  }
}

void StatusPublisher::on_disconnect(int reason) {
  if (!stopping_) log(Level::Warn, "service_disconnected", "reason", reason);
}

void StatusPublisher::stop() {
  stopping_ = true;
  timer_.cancel();
  if (mqtt_) {
    if (mqtt_->connected()) {
      auto v = boost::json::parse(snapshot());
      v.as_object()["online"] = false;
      mqtt_->publish(topic_, boost::json::serialize(v), 1, true);
    }
    mqtt_->detach();
    mqtt_->disconnect();
  }
}

}  // namespace chargehub::bridge
