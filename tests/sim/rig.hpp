// A charger on the test bench: the pure model with a scripted server that answers its requests, and a
// hand-driven clock. No sockets, no sleeping.
#pragma once
#include <gtest/gtest.h>

#include <deque>
#include <memory>

#include "chargehub/messages.hpp"
#include "chargehub/sim/charger.hpp"

namespace chargehub::sim::testing {
using namespace chargehub::proto;

inline constexpr DeviceId kDev = 861234567890123ULL;
inline constexpr int64_t kT0 = 1'800'000'000'000;   // simulated unix ms at the start

inline Load li48(double soc = 0.5, LoadFaults f = {}) {
  auto p = packs::lithium(48, 12);
  return Load{p, bricks::for_pack(p, 3.5), soc, f};
}

struct Rig : ChargerOutput {
  ChargerConfig cfg;
  MemoryJournal nv;
  std::vector<Frame> sent;
  std::vector<Event> events;
  std::unique_ptr<Charger> c;
  Now now{kT0, 0, 0};
  bool answer = true;                 // the server answers the charger's requests
  bool ack_session_end = true;
  uint8_t login_result = 0;
  CardResp card_resp{0, 500};
  std::vector<uint8_t> ota_image;
  std::deque<Frame> to_deliver;
  uint16_t server_seq = 500;

  explicit Rig(ChargerConfig c0 = {}, bool connect = true) : cfg(std::move(c0)) {
    cfg.device = kDev;
    if (cfg.token.empty()) cfg.token = from_hex("000102030405060708090a0b0c0d0e0f");
    if (cfg.retry_ms == 5000) cfg.retry_ms = 1000;
    c = std::make_unique<Charger>(cfg, nv, *this);
    if (connect) this->connect();
  }
  void connect() {
    c->link_up(now);
    pump();
  }
  void send(const Frame& f) override {
    sent.push_back(f);
    if (!answer || f.is_response()) return;
    auto t = static_cast<uint32_t>(now.sim_ms / 1000);
    switch (f.cmd) {
      case Cmd::Login: to_deliver.push_back(make_response(f, LoginResp{static_cast<LoginResult>(login_result), t, 60}.encode())); break;
      case Cmd::Heartbeat: to_deliver.push_back(make_response(f, ServerTime{t}.encode())); break;
      case Cmd::SessionEnd: if (ack_session_end) to_deliver.push_back(make_response(f, Result{0}.encode())); break;
      case Cmd::Card: to_deliver.push_back(make_response(f, card_resp.encode())); break;
      case Cmd::Alarm: case Cmd::OtaStatus: to_deliver.push_back(make_response(f, {})); break;
      case Cmd::OtaChunkReq: {
        auto r = OtaChunkReq::decode(f.body);
        if (!r || r->offset > ota_image.size()) break;
        size_t n = std::min<size_t>(r->length, ota_image.size() - r->offset);
        to_deliver.push_back(make_response(f, OtaChunk{r->offset, Bytes(ota_image.begin() + r->offset,
            ota_image.begin() + static_cast<long>(r->offset + n))}.encode()));
        break;
      }
      default: break;
    }
  }
  void event(const Event& e) override { events.push_back(e); }
  void pump() {
    for (int guard = 0; guard < 100000 && !to_deliver.empty(); ++guard) {
      auto f = to_deliver.front();
      to_deliver.pop_front();
      c->receive(f, now);
    }
  }
  // Advances simulated time by sim_s (in ticks of tick_s) and real time by real_ms per tick.
  void run(double sim_s, double tick_s = 10, int64_t real_ms_per_tick = 10) {
    int64_t end = now.sim_ms + static_cast<int64_t>(sim_s * 1000);
    while (now.sim_ms < end) {
      now.sim_ms = std::min(end, now.sim_ms + static_cast<int64_t>(tick_s * 1000));
      now.real_ms += real_ms_per_tick;
      c->tick(now);
      pump();
    }
  }
  void real(int64_t ms) {   // real time passes, simulated time stands still
    now.real_ms += ms;
    c->tick(now);
    pump();
  }
  // Sends a server command; returns the response body (empty optional: no response).
  std::optional<Bytes> command(Cmd cmd, Bytes body, std::optional<uint16_t> seq = {}) {
    Frame f{kDev, seq ? *seq : ++server_seq, cmd, 0, std::move(body)};
    size_t before = sent.size();
    c->receive(f, now);
    pump();
    for (size_t i = before; i < sent.size(); ++i)
      if (sent[i].cmd == cmd && sent[i].seq == f.seq && sent[i].is_response()) return sent[i].body;
    return std::nullopt;
  }
  int result(Cmd cmd, Bytes body) {
    auto r = command(cmd, std::move(body));
    if (!r) return -1;
    auto x = Result::decode(*r);
    return x ? x->result : -1;
  }
  std::vector<Frame> sent_of(Cmd cmd) const {
    std::vector<Frame> out;
    for (auto& f : sent)
      if (f.cmd == cmd && !f.is_response()) out.push_back(f);
    return out;
  }
  std::vector<SessionEnd> ends() const {
    std::vector<SessionEnd> out;
    for (auto& e : events)
      if (e.kind == Event::Ended && e.port != 0xFF) {
        for (auto& r : c->nv().unacked) if (r.end.session == e.session && r.end.port == e.port) out.push_back(r.end);
      }
    return out;
  }
  std::optional<SessionEnd> last_end_frame() const {
    auto v = sent_of(Cmd::SessionEnd);
    if (v.empty()) return std::nullopt;
    return SessionEnd::decode(v.back().body);
  }
  std::vector<Alarm> alarms() const {
    std::vector<Alarm> out;
    for (auto& f : sent_of(Cmd::Alarm)) out.push_back(*Alarm::decode(f.body));
    return out;
  }
};

}  // namespace chargehub::sim::testing
