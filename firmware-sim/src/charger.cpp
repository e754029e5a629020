#include "chargehub/sim/charger.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "chargehub/credentials.hpp"
#include "chargehub/sim/crypto.hpp"

namespace chargehub::sim {
using namespace chargehub::proto;

namespace {
constexpr uint32_t kLocalSessionBit = 0x80000000u;
constexpr size_t kAnsweredKept = 32;
constexpr size_t kHeldAlarms = 16;

int port_count(Model m) { return m == Model::Port20 ? 20 : 10; }
bool has_card_reader(Model m) { return m != Model::Scan10; }
std::string hex(ByteView b) { return to_hex(b); }
}  // namespace

std::string reason_name(int r) {
  static const char* names[] = {"?", "full", "limit", "remote stop", "port overload", "unit overload",
                                "over-temperature", "unplugged", "power loss/reboot", "fault", "card"};
  return r >= 1 && r <= 10 ? names[r] : "?";
}

Charger::Charger(ChargerConfig cfg, Journal& nv, ChargerOutput& out)
    : cfg_(std::move(cfg)), nv_store_(nv), out_(out), id_text_(device_id_text(cfg_.device)), rng_(cfg_.seed) {
  ports_.resize(static_cast<size_t>(port_count(cfg_.model)));
  temp_c_ = cfg_.ambient_c;
  boot(Now{});
}

// ---------------------------------------------------------------------------------------------------
// boot, reboot, power loss

void Charger::boot(const Now& now) {
  if (auto loaded = nv_store_.load()) {
    nv_ = *loaded;
  } else {
    nv_ = NvState{};
    nv_.fw = nv_.prev_fw = cfg_.fw;
  }
  // Sessions that were charging when the power went: closed from their last checkpoint.
  for (auto& a : nv_.active) {
    a.reason = static_cast<uint8_t>(EndReason::PowerLoss);
    nv_.unacked.push_back({nv_.next_record++, a});
    ++counters_.sessions_ended;
    ++counters_.ended_by_reason[8];
    counters_.energy_wh += a.energy_wh;
    emit(Event::Ended, a.port, a.session, 8, a.energy_wh,
         "end port " + std::to_string(a.port) + " session " + std::to_string(a.session) +
             " reason 8 (power loss/reboot) energy " + std::to_string(a.energy_wh) + " Wh (from checkpoint)");
  }
  nv_.active.clear();
  if (nv_.ota && nv_.ota->installing) {
    OtaStatus st{nv_.ota->offer.version, 0, nv_.ota->offer.size};
    if (cfg_.ota_boot_fails) {
      cfg_.ota_boot_fails = false;
      nv_.fw = nv_.prev_fw;
      st.status = static_cast<uint8_t>(OtaState::RolledBack);
      emit(Event::Ota, 0, 0, 5, 0, "ota: image " + st.version.text() + " failed to boot, rolled back to " + nv_.fw.text());
    } else {
      st.status = static_cast<uint8_t>(OtaState::Installed);
      emit(Event::Ota, 0, 0, 3, 0, "ota: booted " + nv_.fw.text());
    }
    nv_.ota_report = st;
    nv_.ota.reset();
  }
  nv_store_.save(nv_);

  for (auto& p : ports_) {
    auto load = std::move(p.load);
    p = Port{};
    p.load = std::move(load);
    if (p.load) p.load->advance(0, false);
  }
  pending_.clear();
  end_seqs_.clear();
  end_next_ms_.clear();
  answered_.clear();
  held_alarms_.clear();
  deferred_ends_.clear();
  linked_ = logged_in_ = login_sent_ = false;
  warned_ = cut_ = false;
  test_until_ms_ = -1;
  reboot_at_real_.reset();
  ota_requesting_ = false;
  missed_heartbeats_ = 0;
  heartbeat_s_ = nv_.params.heartbeat_s;
  last_sim_ms_ = now.sim_ms > 0 ? now.sim_ms : -1;
  emit(Event::Booted, 0, 0, 0, 0, "booted firmware " + nv_.fw.text());
}

void Charger::reboot(const Now& now) {
  emit(Event::Rebooting, 0, 0, 0, 0, "rebooting");
  for (size_t i = 0; i < ports_.size(); ++i)
    if (ports_[i].state == PortState::Charging && !ports_[i].test)
      end_session(static_cast<int>(i + 1), EndReason::PowerLoss, now);
  boot(now);
  request_link(cfg_.reboot_ms);
}

void Charger::power_loss(const Now& now) {
  emit(Event::PowerLoss, 0, 0, 0, 0, "power loss");
  boot(now);   // reloads the journal: everything since the last save is gone
  request_link(cfg_.reboot_ms);
}

// ---------------------------------------------------------------------------------------------------
// the link

void Charger::link_up(const Now& now) {
  linked_ = true;
  logged_in_ = false;
  Login l;
  l.model = static_cast<uint8_t>(cfg_.model);
  l.ports = static_cast<uint8_t>(ports_.size());
  l.hw = cfg_.hw;
  l.fw = nv_.fw;
  l.iccid = cfg_.iccid;
  l.csq = cfg_.csq;
  l.auth_kind = cfg_.auth_kind;
  if (cfg_.auth_kind == AuthKind::Token) {
    l.auth = cfg_.token;
  } else {
    int64_t ms = (now.unix_ms ? now.unix_ms : now.real_ms) + cfg_.clock_skew_ms;
    std::string text = credentials::ed25519_login_message(id_text_, ms);
    auto sig = crypto::ed25519_sign(cfg_.private_key, {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
    for (int i = 0; i < 8; ++i) l.auth.push_back(static_cast<uint8_t>(static_cast<uint64_t>(ms) >> (8 * i)));
    l.auth.insert(l.auth.end(), sig.begin(), sig.end());
  }
  login_sent_ = true;
  emit(Event::LoginSent, 0, 0, 0, 0, "login sent (auth_kind " + std::to_string(int(cfg_.auth_kind)) + ")");
  send(Cmd::Login, l.encode(), now);
}

void Charger::link_down(const Now& now) {
  linked_ = logged_in_ = login_sent_ = false;
  pending_.clear();
  end_next_ms_.clear();
  ota_requesting_ = false;
}

std::optional<LinkRequest> Charger::take_link_request() {
  auto r = link_request_;
  link_request_.reset();
  if (r) linked_ = logged_in_ = false;
  return r;
}

uint16_t Charger::next_seq() {
  if (++seq_ == 0) seq_ = 1;
  return seq_;
}

void Charger::send(Cmd cmd, Bytes body, const Now& now, uint64_t record, int port) {
  if (!linked_ || (!logged_in_ && cmd != Cmd::Login)) return;
  Frame f{cfg_.device, next_seq(), cmd, 0, std::move(body)};
  out_.send(f);
  ++counters_.frames_sent;
  if (!expects_response(cmd)) return;
  if (cmd == Cmd::Heartbeat || cmd == Cmd::OtaStatus)   // a newer one supersedes the unanswered one
    std::erase_if(pending_, [cmd](const Pending& p) { return p.cmd == cmd; });
  pending_.push_back(Pending{f.seq, cmd, std::move(f), 1, now.real_ms + cfg_.retry_ms, record, port});
}

void Charger::send_response(const Frame& req, Bytes body) {
  out_.send(make_response(req, std::move(body)));
  ++counters_.frames_sent;
}

void Charger::receive(const Frame& f, const Now& now) {
  if (f.device != cfg_.device) return;
  ++counters_.frames_received;
  if (f.is_response()) {
    on_response(f, now);
  } else if (logged_in_) {
    on_command(f, now);
  }
}

void Charger::on_response(const Frame& f, const Now& now) {
  if (f.cmd == Cmd::SessionEnd) {
    auto it = end_seqs_.find(f.seq);
    if (it == end_seqs_.end()) { ++counters_.duplicates; return; }
    uint64_t rec = it->second;
    std::erase_if(end_seqs_, [rec](const auto& kv) { return kv.second == rec; });
    end_next_ms_.erase(rec);
    auto r = std::find_if(nv_.unacked.begin(), nv_.unacked.end(), [rec](auto& x) { return x.id == rec; });
    if (r == nv_.unacked.end()) return;
    auto e = r->end;
    nv_.unacked.erase(r);
    save();
    emit(Event::EndAcked, e.port, e.session, 0, e.energy_wh,
         "session_end acked port " + std::to_string(e.port) + " session " + std::to_string(e.session));
    return;
  }
  auto it = std::find_if(pending_.begin(), pending_.end(),
                         [&](const Pending& p) { return p.seq == f.seq && p.cmd == f.cmd; });
  if (it == pending_.end()) { ++counters_.duplicates; return; }
  Pending p = std::move(*it);
  pending_.erase(it);
  switch (f.cmd) {
    case Cmd::Login: {
      auto r = LoginResp::decode(f.body);
      if (!r) { ++counters_.unknown; return; }
      if (r->result == LoginResult::Ok) {
        logged_in_ = true;
        login_refusals_ = 0;
        missed_heartbeats_ = 0;
        ++counters_.logins;
        heartbeat_s_ = r->heartbeat_s >= 10 ? r->heartbeat_s : nv_.params.heartbeat_s;
        answered_.clear();
        int64_t sim = last_sim_ms_ >= 0 ? last_sim_ms_ : now.sim_ms;
        next_heartbeat_ms_ = sim;   // one heartbeat right away
        next_meter_ms_ = sim + nv_.params.meter_s * 1000LL;
        emit(Event::LoginOk, 0, 0, 0, r->server_time,
             "login ok (server time " + std::to_string(r->server_time) + ", heartbeat " +
                 std::to_string(heartbeat_s_) + " s)");
        for (auto& rec : nv_.unacked) send_session_end(rec, now);
        for (auto& a : held_alarms_) send(Cmd::Alarm, a.encode(), now);
        held_alarms_.clear();
        if (nv_.ota_report) {
          auto st = *nv_.ota_report;
          nv_.ota_report.reset();
          save();
          send(Cmd::OtaStatus, st.encode(), now);
        }
      } else {
        int res = static_cast<int>(r->result);
        ++login_refusals_;
        int64_t backoff = res == 4 ? std::min<int64_t>(60000, 1000LL << std::min(login_refusals_ - 1, 6))
                                   : std::min<int64_t>(60000, 5000LL * login_refusals_);
        backoff += static_cast<int64_t>(rng_() % static_cast<uint64_t>(backoff / 4 + 1));
        emit(Event::LoginRefused, 0, 0, res, backoff,
             "login refused, result " + std::to_string(res) + ", retry in " + std::to_string(backoff) + " ms");
        request_link(backoff);
      }
      return;
    }
    case Cmd::Heartbeat:
      missed_heartbeats_ = 0;
      return;
    case Cmd::Card: {
      auto r = CardResp::decode(f.body);
      if (!r) { ++counters_.unknown; return; }
      emit(Event::CardAnswer, p.port, 0, r->result, r->balance_fen,
           "card answer port " + std::to_string(p.port) + " result " + std::to_string(r->result) + ", display balance " +
               std::to_string(r->balance_fen / 100) + "." + (std::abs(r->balance_fen % 100) < 10 ? "0" : "") +
               std::to_string(std::abs(r->balance_fen % 100)) + " yuan");
      if (r->result == static_cast<uint8_t>(CardResult::Accepted) && p.port >= 1 && p.port <= ports()) {
        auto c = Card::decode(p.frame.body);
        auto& port = ports_[static_cast<size_t>(p.port - 1)];
        port.card_pending = c ? c->uid : Bytes{};
        port.card_pending_until = (last_sim_ms_ >= 0 ? last_sim_ms_ : now.sim_ms) + 300000;
      }
      return;
    }
    case Cmd::OtaChunkReq: {
      auto c = OtaChunk::decode(f.body);
      ota_requesting_ = false;
      if (c) ota_chunk(*c, now);
      return;
    }
    default:
      return;
  }
}

void Charger::on_command(const Frame& f, const Now& now) {
  for (auto& a : answered_) {
    if (a.cmd == f.cmd && a.seq == f.seq && a.body == f.body) {   // a retry: answer again, act once
      ++counters_.duplicates;
      send_response(f, a.resp);
      return;
    }
  }
  in_command_ = true;
  auto resp = handle(f, now);
  in_command_ = false;
  if (resp) {
    send_response(f, *resp);
    answered_.push_back({f.cmd, f.seq, f.body, *resp});
    if (answered_.size() > kAnsweredKept) answered_.pop_front();
  } else {
    ++counters_.unknown;
  }
  auto ends = std::move(deferred_ends_);
  deferred_ends_.clear();
  for (auto id : ends)
    for (auto& r : nv_.unacked)
      if (r.id == id) send_session_end(r, now);
}

std::optional<Bytes> Charger::handle(const Frame& f, const Now& now) {
  switch (f.cmd) {
    case Cmd::Start: {
      auto s = StartCmd::decode(f.body);
      // The domain decoder refuses a mode over 2; a well-sized body still deserves an answer.
      if (!s) return f.body.size() == 12 ? std::optional<Bytes>(Result{3}.encode()) : std::nullopt;
      return Result{do_start(*s, now, false)}.encode();
    }
    case Cmd::Stop: {
      auto s = StopCmd::decode(f.body);
      if (!s) return std::nullopt;
      return Result{do_stop(*s, now)}.encode();
    }
    case Cmd::Adjust: {
      auto a = AdjustCmd::decode(f.body);
      if (!a) return f.body.size() == 10 ? std::optional<Bytes>(Result{2}.encode()) : std::nullopt;
      return Result{do_adjust(*a, now)}.encode();
    }
    case Cmd::QueryPorts: {
      QueryPortsResp q;
      for (int i = 1; i <= ports(); ++i) {
        auto v = port(i);
        q.ports.push_back(PortStatus{static_cast<uint8_t>(v.state), v.session,
                                     static_cast<uint16_t>(std::lround(v.power_w)),
                                     static_cast<uint32_t>(v.energy_wh), static_cast<uint32_t>(v.elapsed_s)});
      }
      return q.encode();
    }
    case Cmd::SetParams:
      return Result{do_set_params(f.body)}.encode();
    case Cmd::GetParams:
      return nv_.params.encode();
    case Cmd::Reboot: {
      auto r = RebootCmd::decode(f.body);
      if (!r) return std::nullopt;
      reboot_at_real_ = now.real_ms + r->delay_s * 1000LL;
      emit(Event::Rebooting, 0, 0, 0, r->delay_s, "reboot requested in " + std::to_string(r->delay_s) + " s");
      return Result{0}.encode();
    }
    case Cmd::Locate: {
      auto l = LocateCmd::decode(f.body);
      uint8_t res = l && l->seconds >= 1 && l->seconds <= 60 ? 0 : 1;
      if (res == 0) emit(Event::Locate, 0, 0, 0, l->seconds, "locate: LEDs and voice for " + std::to_string(l->seconds) + " s");
      return Result{res}.encode();
    }
    case Cmd::OtaOffer:
      return Result{do_ota_offer(f.body, now)}.encode();
    default:
      return std::nullopt;
  }
}

// ---------------------------------------------------------------------------------------------------
// commands

bool Charger::high_power_port(int p) const { return cfg_.model == Model::HighPower8p2 && (p == 5 || p == 6); }

double Charger::port_limit_w(int p) const {
  // One port_max_w for two classes of port (frames.md): normal ports are capped at 600 W; the
  // high-power ports of model 4 use port_max_w when it is set above 600, else their 3500 W rating.
  if (high_power_port(p)) return nv_.params.port_max_w > 600 ? nv_.params.port_max_w : 3500;
  return std::min<double>(nv_.params.port_max_w, 600);
}

bool Charger::any_charging() const {
  return std::any_of(ports_.begin(), ports_.end(), [](auto& p) { return p.state == PortState::Charging; });
}

double Charger::total_power_w() const {
  double t = 0;
  for (auto& p : ports_)
    if (p.state == PortState::Charging) t += p.power_w;
  return t;
}

bool Charger::valid_limit(uint8_t mode, uint32_t limit) const {
  switch (mode) {
    case 0: return true;
    case 1: return limit >= 1 && limit <= 7 * 86400;   // up to a week of seconds
    case 2: return limit >= 1 && limit <= 100000;      // up to 100 kWh
    default: return false;
  }
}

uint32_t Charger::unix_s(const Now& now) const {
  return static_cast<uint32_t>((now.sim_ms + cfg_.clock_skew_ms) / 1000);
}

uint8_t Charger::do_start(const StartCmd& s, const Now& now, bool local) {
  int64_t sim = last_sim_ms_ >= 0 ? last_sim_ms_ : now.sim_ms;
  if (s.port == kAllPorts) {
    if (s.session != 0) return 4;
    if (any_charging()) return 1;
    for (auto& p : ports_) {
      if (p.state == PortState::Fault || p.state == PortState::Disabled) continue;
      p.state = PortState::Charging;
      p.test = true;
      p.session = 0;
      p.start_sim_ms = sim;
      p.energy_wh = p.power_w = p.max_power_seen = 0;
    }
    test_until_ms_ = sim + cfg_.commissioning_s * 1000;
    emit(Event::Started, kAllPorts, 0, 0, 0, "commissioning test: every port on for " + std::to_string(cfg_.commissioning_s) + " s");
    return 0;
  }
  if (s.port < 1 || s.port > ports()) return 4;
  auto& p = ports_[s.port - 1];
  auto refuse = [&](uint8_t r, const char* why) {
    emit(Event::StartRefused, s.port, s.session, r, 0,
         "start refused port " + std::to_string(s.port) + " session " + std::to_string(s.session) + ": " + why);
    return r;
  };
  if (p.state == PortState::Charging) {
    if (p.session == s.session && !p.test) return 0;   // repeated START: changes nothing
    return refuse(1, "port busy");
  }
  if (p.state == PortState::Fault || p.state == PortState::Disabled || cut_) return refuse(3, "port fault, disabled or unit too hot");
  if (s.mode > 2) return refuse(3, "unknown mode");
  if (!p.load) return refuse(2, "no load");
  if (total_power_w() + 100 > nv_.params.unit_max_w) return refuse(5, "unit power budget exceeded");
  p.state = PortState::Charging;
  p.session = s.session;
  p.mode = s.mode;
  p.limit = s.limit;
  p.max_power_w = s.max_power_w;
  p.start_sim_ms = sim;
  p.order = ++start_order_;
  p.energy_wh = p.power_w = p.max_power_seen = 0;
  p.below_since_ms = -1;
  p.local = local;
  p.test = false;
  p.card.clear();
  if (!p.card_pending.empty() && sim <= p.card_pending_until) p.card = p.card_pending;
  p.card_pending.clear();
  p.load->advance(0, false);   // relay closes: the brick soft-starts
  nv_.active.push_back(SessionEnd{s.port, s.session, 0, unix_s(Now{sim, now.real_ms}), 0, 0, 0});
  save();
  ++counters_.sessions_started;
  emit(Event::Started, s.port, s.session, s.mode, s.limit,
       "start port " + std::to_string(s.port) + " session " + std::to_string(s.session) + " mode " +
           std::to_string(s.mode) + " limit " + std::to_string(s.limit) + (local ? " (local)" : "") +
           (p.card.empty() ? "" : " card " + hex(p.card)));
  return 0;
}

bool Charger::local_start(int port, const Now& now, uint8_t mode, uint32_t limit) {
  uint32_t session = kLocalSessionBit | (nv_.next_local_session++ & ~kLocalSessionBit);
  if (port < 1 || port > ports()) return false;
  return do_start(StartCmd{static_cast<uint8_t>(port), session, mode, limit, 0}, now, true) == 0;
}

uint8_t Charger::do_stop(const StopCmd& s, const Now& now) {
  if (s.port == kAllPorts) {
    for (size_t i = 0; i < ports_.size(); ++i) {
      auto& p = ports_[i];
      if (p.state != PortState::Charging) continue;
      if (p.test) {
        p.state = PortState::Idle;
        p.test = false;
        p.power_w = 0;
      } else {
        end_session(static_cast<int>(i + 1), EndReason::RemoteStop, now);
      }
    }
    test_until_ms_ = -1;
    return 0;
  }
  if (s.port < 1 || s.port > ports()) return 1;
  auto& p = ports_[s.port - 1];
  if (p.state != PortState::Charging || p.test || p.session != s.session) return 1;
  end_session(s.port, EndReason::RemoteStop, now);
  return 0;
}

uint8_t Charger::do_adjust(const AdjustCmd& a, const Now& now) {
  if (a.port < 1 || a.port > ports()) return 1;
  auto& p = ports_[a.port - 1];
  if (p.state != PortState::Charging || p.test || p.session != a.session) return 1;
  if (!valid_limit(a.mode, a.limit)) return 2;
  p.mode = a.mode;
  p.limit = a.limit;
  emit(Event::Started, a.port, a.session, a.mode, a.limit,
       "adjust port " + std::to_string(a.port) + " session " + std::to_string(a.session) + " mode " +
           std::to_string(a.mode) + " limit " + std::to_string(a.limit));
  int64_t sim = last_sim_ms_ >= 0 ? last_sim_ms_ : now.sim_ms;
  if ((p.mode == 1 && (sim - p.start_sim_ms) / 1000 >= p.limit) || (p.mode == 2 && p.energy_wh >= p.limit))
    end_session(a.port, EndReason::LimitReached, Now{sim, now.real_ms, now.unix_ms});
  return 0;
}

uint8_t Charger::do_set_params(ByteView body) {
  auto p = Params::decode(body);
  if (!p || !p->valid(cfg_.model == Model::HighPower8p2) || p->full_stop_delay_s < 1) {
    emit(Event::Params, 0, 0, 1, 0, "set_params refused: a value out of range");
    return 1;
  }
  nv_.params = *p;
  heartbeat_s_ = p->heartbeat_s;
  save();
  emit(Event::Params, 0, 0, 0, 0,
       "params set: full_stop " + std::to_string(p->full_stop_w) + " W for " + std::to_string(p->full_stop_delay_s) +
           " s, port_max " + std::to_string(p->port_max_w) + " W, unit_max " + std::to_string(p->unit_max_w) +
           " W, temp " + std::to_string(p->temp_warn_dc) + "/" + std::to_string(p->temp_cut_dc) + " dC, heartbeat " +
           std::to_string(p->heartbeat_s) + " s, meter " + std::to_string(p->meter_s) + " s");
  return 0;
}

// ---------------------------------------------------------------------------------------------------
// the physical world

void Charger::plug(int port, Load load) {
  if (port < 1 || port > ports()) return;
  auto& p = ports_[port - 1];
  p.load = std::move(load);
  if (p.state == PortState::Finished) p.state = PortState::Idle;
}

void Charger::unplug(int port, const Now& now) {
  if (port < 1 || port > ports()) return;
  auto& p = ports_[port - 1];
  if (p.state == PortState::Charging && !p.test) end_session(port, EndReason::Unplugged, now);
  p.load.reset();
  if (p.state == PortState::Finished) p.state = PortState::Idle;
  emit(Event::Unplugged, port, 0, 0, 0, "port " + std::to_string(port) + " unplugged");
}

void Charger::swipe(int port, const Bytes& uid, const Now& now) {
  if (!has_card_reader(cfg_.model)) {
    emit(Event::Card, port, 0, -1, 0, "card ignored: model 1 has no card reader");
    return;
  }
  if (port < 1 || port > ports() || uid.size() < 4 || uid.size() > 10) return;
  auto& p = ports_[port - 1];
  if (p.state == PortState::Charging && !p.test && !p.card.empty() && p.card == uid) {
    end_session(port, EndReason::StoppedByCard, now);
    return;
  }
  if (!logged_in_) {
    emit(Event::Card, port, 0, -1, 0, "card " + hex(uid) + " on port " + std::to_string(port) + ": offline");
    return;
  }
  emit(Event::Card, port, 0, 0, 0, "card " + hex(uid) + " swiped on port " + std::to_string(port));
  send(Cmd::Card, Card{uid, static_cast<uint8_t>(port)}.encode(), now, 0, port);
}

PortView Charger::port(int port) const {
  PortView v;
  if (port < 1 || port > ports()) return v;
  auto& p = ports_[port - 1];
  v.state = p.state;
  v.session = p.session;
  v.plugged = p.load.has_value();
  v.load = p.load ? &*p.load : nullptr;
  v.local = p.local;
  if (p.state == PortState::Charging) {
    v.power_w = p.power_w;
    v.energy_wh = p.energy_wh;
    v.elapsed_s = ((last_sim_ms_ >= 0 ? last_sim_ms_ : p.start_sim_ms) - p.start_sim_ms) / 1000;
  }
  return v;
}

// ---------------------------------------------------------------------------------------------------
// time

void Charger::tick(const Now& now) {
  if (last_sim_ms_ < 0) last_sim_ms_ = now.sim_ms;
  while (last_sim_ms_ < now.sim_ms) {
    int64_t dt = std::min(cfg_.step_ms, now.sim_ms - last_sim_ms_);
    last_sim_ms_ += dt;
    Now at{last_sim_ms_, now.real_ms, now.unix_ms};
    step(static_cast<double>(dt) / 1000.0, at);
    if (at.sim_ms >= next_checkpoint_ms_) {
      checkpoint(at);
      next_checkpoint_ms_ = at.sim_ms + nv_.params.meter_s * 1000LL;
    }
    if (logged_in_ && at.sim_ms >= next_meter_ms_) {
      meter(at, false);
      next_meter_ms_ = std::max<int64_t>(next_meter_ms_ + nv_.params.meter_s * 1000LL, at.sim_ms);
    }
    if (logged_in_ && at.sim_ms >= next_heartbeat_ms_) {
      heartbeat(at);
      next_heartbeat_ms_ = std::max<int64_t>(next_heartbeat_ms_ + heartbeat_s_ * 1000LL, at.sim_ms);
    }
  }
  Now at{last_sim_ms_, now.real_ms, now.unix_ms};

  // Retries (real time).
  for (size_t i = 0; i < pending_.size();) {
    auto& p = pending_[i];
    if (now.real_ms < p.next_ms) { ++i; continue; }
    if (p.attempts > cfg_.retries) {
      Pending gone = std::move(p);
      pending_.erase(pending_.begin() + static_cast<long>(i));
      emit(Event::Timeout, gone.port, 0, static_cast<int>(gone.cmd), gone.seq,
           std::string("no answer to ") + std::string(cmd_name(gone.cmd)) + " seq " + std::to_string(gone.seq));
      if (gone.cmd == Cmd::Login) {
        request_link(2000 + static_cast<int64_t>(rng_() % 1000));
      } else if (gone.cmd == Cmd::Heartbeat && ++missed_heartbeats_ >= 3) {
        request_link(1000);
      } else if (gone.cmd == Cmd::OtaChunkReq) {
        ota_requesting_ = false;
      }
      continue;
    }
    ++p.attempts;
    p.next_ms = now.real_ms + cfg_.retry_ms;
    out_.send(p.frame);
    ++counters_.frames_sent;
    ++counters_.retries;
    ++i;
  }
  // SESSION_END: resent (new seq) until answered.
  if (logged_in_) {
    for (auto& r : nv_.unacked) {
      auto it = end_next_ms_.find(r.id);
      if (it == end_next_ms_.end() || now.real_ms >= it->second) {
        if (it != end_next_ms_.end()) ++counters_.retries;
        send_session_end(r, now);
      }
    }
  }
  // OTA: pull when there is something to pull; install once idle.
  if (nv_.ota && logged_in_ && !nv_.ota->installing) {
    auto& o = *nv_.ota;
    bool complete = o.image.size() == o.offer.size;
    if (!complete && !ota_requesting_ && (!o.deferred || !any_charging())) {
      if (o.deferred) { o.deferred = false; save(); }
      ota_pull(at);
    } else if (complete && !any_charging() && !reboot_at_real_) {
      o.installing = true;
      nv_.prev_fw = nv_.fw;
      nv_.fw = o.offer.version;
      save();
      emit(Event::Ota, 0, 0, 0, 0, "ota: installing " + o.offer.version.text() + ", rebooting");
      reboot_at_real_ = now.real_ms + 200;
    }
  }
  if (reboot_at_real_ && now.real_ms >= *reboot_at_real_) reboot(at);
}

void Charger::step(double dt, const Now& at) {
  double total = 0;
  for (auto& p : ports_) {
    if (p.state != PortState::Charging) continue;
    if (p.load) {
      p.energy_wh += p.load->advance(dt, true);
      p.power_w = p.load->power_w();
    } else {
      p.power_w = 0;
    }
    p.max_power_seen = std::max(p.max_power_seen, p.power_w);
    total += p.power_w;
  }
  temp_c_ += (cfg_.ambient_c + cfg_.temp_c_per_w * total - temp_c_) * (1.0 - std::exp(-dt / cfg_.temp_tau_s));

  if (test_until_ms_ >= 0 && at.sim_ms >= test_until_ms_) {
    for (auto& p : ports_)
      if (p.test) { p.test = false; p.state = PortState::Idle; p.power_w = 0; }
    test_until_ms_ = -1;
    emit(Event::Ended, kAllPorts, 0, 0, 0, "commissioning test done");
  }
  const auto& prm = nv_.params;
  // Port overload.
  for (size_t i = 0; i < ports_.size(); ++i) {
    auto& p = ports_[i];
    if (p.state != PortState::Charging || p.test) continue;
    int port = static_cast<int>(i + 1);
    double limit = port_limit_w(port);
    if (p.max_power_w) limit = std::min<double>(limit, p.max_power_w);
    if (p.power_w > limit) {
      alarm(AlarmCode::PortOverload, port, static_cast<int32_t>(std::lround(p.power_w)), at);
      end_session(port, EndReason::PortOverload, at);
    }
  }
  // Unit overload: the newest port goes first.
  for (double t = total_power_w(); t > prm.unit_max_w; t = total_power_w()) {
    int newest = 0;
    uint64_t order = 0;
    for (size_t i = 0; i < ports_.size(); ++i)
      if (ports_[i].state == PortState::Charging && !ports_[i].test && ports_[i].order >= order) {
        order = ports_[i].order;
        newest = static_cast<int>(i + 1);
      }
    if (!newest) break;
    alarm(AlarmCode::UnitOverload, 0, static_cast<int32_t>(std::lround(t)), at);
    end_session(newest, EndReason::UnitOverload, at);
  }
  // Chassis temperature.
  int temp_dc = static_cast<int>(std::lround(temp_c_ * 10));
  if (temp_dc >= prm.temp_cut_dc && !cut_) {
    cut_ = warned_ = true;
    alarm(AlarmCode::TempCutoff, 0, temp_dc, at);
    for (size_t i = 0; i < ports_.size(); ++i) {
      auto& p = ports_[i];
      if (p.state != PortState::Charging) continue;
      if (p.test) { p.test = false; p.state = PortState::Idle; continue; }
      end_session(static_cast<int>(i + 1), EndReason::OverTemperature, at);
    }
  } else if (temp_dc >= prm.temp_warn_dc && !warned_) {
    warned_ = true;
    alarm(AlarmCode::TempWarning, 0, temp_dc, at);
  } else if (temp_dc < prm.temp_warn_dc - 50) {
    warned_ = cut_ = false;
  }
  // Limits and full stop.
  for (size_t i = 0; i < ports_.size(); ++i) {
    auto& p = ports_[i];
    if (p.state != PortState::Charging || p.test) continue;
    int port = static_cast<int>(i + 1);
    int64_t elapsed = (at.sim_ms - p.start_sim_ms) / 1000;
    if ((p.mode == 1 && elapsed >= p.limit) || (p.mode == 2 && p.energy_wh >= p.limit)) {
      end_session(port, EndReason::LimitReached, at);
      continue;
    }
    if (p.power_w < prm.full_stop_w) {
      if (p.below_since_ms < 0) p.below_since_ms = at.sim_ms - static_cast<int64_t>(dt * 1000);
      if (at.sim_ms - p.below_since_ms >= prm.full_stop_delay_s * 1000LL) end_session(port, EndReason::Full, at);
    } else {
      p.below_since_ms = -1;
    }
  }
}

void Charger::end_session(int port, EndReason reason, const Now& now) {
  auto& p = ports_[static_cast<size_t>(port - 1)];
  int64_t sim = std::max(now.sim_ms, p.start_sim_ms);
  SessionEnd e;
  e.port = static_cast<uint8_t>(port);
  e.session = p.session;
  e.reason = static_cast<uint8_t>(reason);
  e.started_at = static_cast<uint32_t>((p.start_sim_ms + cfg_.clock_skew_ms) / 1000);
  e.duration_s = static_cast<uint32_t>((sim - p.start_sim_ms) / 1000);
  e.energy_wh = static_cast<uint32_t>(std::lround(p.energy_wh));
  e.max_power_w = static_cast<uint16_t>(std::lround(std::min(p.max_power_seen, 65535.0)));
  std::erase_if(nv_.active, [&](const SessionEnd& a) { return a.port == port; });
  NvState::Record rec{nv_.next_record++, e};
  nv_.unacked.push_back(rec);
  save();
  ++counters_.sessions_ended;
  ++counters_.ended_by_reason[static_cast<size_t>(reason)];
  counters_.energy_wh += e.energy_wh;
  p.state = p.load ? PortState::Finished : PortState::Idle;
  p.session = 0;
  p.power_w = 0;
  p.card.clear();
  p.local = false;
  if (p.load) p.load->advance(0, false);
  emit(Event::Ended, port, e.session, e.reason, e.energy_wh,
       "end port " + std::to_string(port) + " session " + std::to_string(e.session) + " reason " +
           std::to_string(e.reason) + " (" + reason_name(e.reason) + ") energy " + std::to_string(e.energy_wh) +
           " Wh duration " + std::to_string(e.duration_s) + " s max " + std::to_string(e.max_power_w) + " W");
  if (logged_in_) {
    if (in_command_) deferred_ends_.push_back(rec.id);
    else send_session_end(rec, now);
  }
}

void Charger::send_session_end(const NvState::Record& r, const Now& now) {
  if (!linked_ || !logged_in_) return;
  Frame f{cfg_.device, next_seq(), Cmd::SessionEnd, 0, r.end.encode()};
  out_.send(f);
  ++counters_.frames_sent;
  end_seqs_[f.seq] = r.id;
  end_next_ms_[r.id] = now.real_ms + cfg_.retry_ms;
}

void Charger::alarm(AlarmCode code, int port, int32_t value, const Now& now) {
  ++counters_.alarms;
  Alarm a{static_cast<uint8_t>(code), static_cast<uint8_t>(port), value};
  static const char* names[] = {"?", "temperature warning", "temperature cut-off", "port overload", "unit overload",
                                "relay fault", "leakage", "fuse blown"};
  emit(Event::Alarm, port, 0, a.code, value,
       "alarm " + std::to_string(a.code) + " (" + names[a.code <= 7 ? a.code : 0] + ") port " + std::to_string(port) +
           " value " + std::to_string(value));
  if (logged_in_) send(Cmd::Alarm, a.encode(), now);
  else if (held_alarms_.size() < kHeldAlarms) held_alarms_.push_back(a);
}

void Charger::heartbeat(const Now& now) {
  Heartbeat h;
  h.csq = cfg_.csq;
  h.temp_dc = static_cast<int16_t>(std::lround(temp_c_ * 10));
  h.mains_dv = static_cast<uint16_t>(2200 + static_cast<int>(rng_() % 61) - 30);
  h.power_w = static_cast<uint16_t>(std::min(65535L, std::lround(total_power_w())));
  for (auto& p : ports_) h.ports.push_back(static_cast<uint8_t>(p.state));
  send(Cmd::Heartbeat, h.encode(), now);
}

void Charger::meter(const Now& now, bool) {
  Meter m;
  for (size_t i = 0; i < ports_.size(); ++i) {
    auto& p = ports_[i];
    if (p.state != PortState::Charging || p.test) continue;
    MeterPort mp;
    mp.port = static_cast<uint8_t>(i + 1);
    mp.session = p.session;
    mp.power_w = static_cast<uint16_t>(std::lround(p.power_w));
    mp.energy_wh = static_cast<uint32_t>(p.energy_wh);
    mp.elapsed_s = static_cast<uint32_t>((now.sim_ms - p.start_sim_ms) / 1000);
    mp.voltage_dv = p.load ? static_cast<uint16_t>(std::lround(p.load->voltage_v() * 10)) : 0;
    mp.current_ma = p.load ? static_cast<uint16_t>(std::lround(p.load->current_a() * 1000)) : 0;
    m.ports.push_back(mp);
  }
  if (!m.ports.empty()) send(Cmd::Meter, m.encode(), now);
}

void Charger::checkpoint(const Now& now) {
  bool changed = false;
  for (auto& a : nv_.active) {
    auto& p = ports_[static_cast<size_t>(a.port - 1)];
    if (p.state != PortState::Charging || p.session != a.session) continue;
    a.duration_s = static_cast<uint32_t>((now.sim_ms - p.start_sim_ms) / 1000);
    a.energy_wh = static_cast<uint32_t>(std::lround(p.energy_wh));
    a.max_power_w = static_cast<uint16_t>(std::lround(p.max_power_seen));
    changed = true;
  }
  if (changed) save();
}

// OTA: charger_ota.cpp.

}  // namespace chargehub::sim
