#include "chargehub/payloads.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <cmath>
#include <algorithm>
#include <limits>

#include "chargehub/fields.hpp"

namespace chargehub::payloads {

namespace {

// Integer value within [lo, hi]; nothing when not an integer or out of range.
std::optional<int64_t> int_in(const json::value* v, int64_t lo, int64_t hi) {
  if (!v) return std::nullopt;
  int64_t x;
  if (v->is_int64()) x = v->get_int64();
  else if (v->is_uint64()) {
    if (v->get_uint64() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    x = static_cast<int64_t>(v->get_uint64());
  } else {
    return std::nullopt;
  }
  if (x < lo || x > hi) return std::nullopt;
  return x;
}

// Integer field within [lo, hi]; nothing when absent, not an integer, or out of range.
std::optional<int64_t> get_int(const json::object& o, std::string_view key, int64_t lo, int64_t hi) {
  return int_in(o.if_contains(key), lo, hi);
}

// A field that may be absent (then `def`), but if present must be in range.
std::optional<int64_t> opt_int(const json::object& o, std::string_view key, int64_t lo, int64_t hi, int64_t def) {
  if (!o.contains(key)) return def;
  return get_int(o, key, lo, hi);
}

std::optional<std::string> get_str(const json::object& o, std::string_view key, size_t max_len = 256) {
  auto* v = o.if_contains(key);
  if (!v || !v->is_string() || v->get_string().size() > max_len) return std::nullopt;
  return std::string(v->get_string());
}

const json::object* as_obj(const json::value& v) { return v.is_object() ? &v.get_object() : nullptr; }

constexpr int64_t U8 = 0xFF, U16 = 0xFFFF, U32 = 0xFFFFFFFFLL;
constexpr int64_t I16_MIN = -32768, I16_MAX = 32767;
constexpr int64_t I32_MIN = std::numeric_limits<int32_t>::min(), I32_MAX = std::numeric_limits<int32_t>::max();

bool hex_into(std::string_view hex, uint8_t* out, size_t n) {
  if (hex.size() != 2 * n) return false;
  try {
    auto b = from_hex(hex);
    if (b.size() != n) return false;
    std::copy(b.begin(), b.end(), out);
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace

// ---- charger -> core ----
json::object boot(const Login& l) {
  return {{"model", l.model}, {"ports", l.ports}, {"hw", l.hw},     {"fw", l.fw.text()},
          {"iccid", l.iccid}, {"csq", l.csq}};
}
std::optional<Login> parse_boot(const json::value& v) {
  auto* o = as_obj(v);
  if (!o) return std::nullopt;
  // Widths of the LOGIN body here; the value rules are those of the frame (fields.hpp).
  auto model = get_int(*o, "model", 0, U8), ports = get_int(*o, "ports", 0, U8), hw = opt_int(*o, "hw", 0, U8, 0),
       csq = opt_int(*o, "csq", 0, U8, 99);
  auto fw = get_str(*o, "fw", 11);
  auto* iccid_v = o->if_contains("iccid");
  if (!model || !ports || !hw || !csq || !fw) return std::nullopt;
  if (iccid_v && !iccid_v->is_string()) return std::nullopt;
  auto ver = Version::parse(*fw);
  if (!ver) return std::nullopt;
  Login l;
  l.model = static_cast<uint8_t>(*model);
  l.ports = static_cast<uint8_t>(*ports);
  l.hw = static_cast<uint8_t>(*hw);
  l.fw = *ver;
  if (iccid_v) l.iccid = std::string(iccid_v->get_string());   // length and characters: fields::iccid
  l.csq = static_cast<uint8_t>(*csq);
  if (!fields::valid(l)) return std::nullopt;
  return l;
}

json::object heartbeat(const Heartbeat& h) {
  json::array ports;
  for (uint8_t s : h.ports) ports.push_back(s);
  return {{"csq", h.csq}, {"temp_dc", h.temp_dc}, {"mains_dv", h.mains_dv}, {"power_w", h.power_w},
          {"ports", std::move(ports)}};
}
std::optional<Heartbeat> parse_heartbeat(const json::value& v) {
  auto* o = as_obj(v);
  if (!o) return std::nullopt;
  auto csq = get_int(*o, "csq", 0, U8), temp = get_int(*o, "temp_dc", I16_MIN, I16_MAX),
       mains = get_int(*o, "mains_dv", 0, U16), power = get_int(*o, "power_w", 0, U16);
  auto* ports = o->if_contains("ports");
  if (!csq || !temp || !mains || !power || !ports || !ports->is_array() || ports->get_array().size() > 255)
    return std::nullopt;
  Heartbeat h{static_cast<uint8_t>(*csq), static_cast<int16_t>(*temp), static_cast<uint16_t>(*mains),
              static_cast<uint16_t>(*power), {}};
  for (auto& s : ports->get_array()) {
    auto st = int_in(&s, 0, U8);
    if (!st) return std::nullopt;
    h.ports.push_back(static_cast<uint8_t>(*st));
  }
  if (!fields::valid(h)) return std::nullopt;
  return h;
}

json::object meter(const Meter& m) {
  json::array ports;
  for (auto& p : m.ports)
    ports.push_back(json::object{{"port", p.port},
                                 {"session", p.session},
                                 {"power_w", p.power_w},
                                 {"energy_wh", p.energy_wh},
                                 {"elapsed_s", p.elapsed_s},
                                 {"voltage_dv", p.voltage_dv},
                                 {"current_ma", p.current_ma}});
  return {{"ports", std::move(ports)}};
}
std::optional<Meter> parse_meter(const json::value& v) {
  auto* o = as_obj(v);
  if (!o) return std::nullopt;
  auto* ports = o->if_contains("ports");
  if (!ports || !ports->is_array() || ports->get_array().size() > 255) return std::nullopt;
  Meter m;
  for (auto& pv : ports->get_array()) {
    auto* p = as_obj(pv);
    if (!p) return std::nullopt;
    auto port = get_int(*p, "port", 0, U8), session = get_int(*p, "session", 0, U32),
         power = get_int(*p, "power_w", 0, U16), energy = get_int(*p, "energy_wh", 0, U32),
         elapsed = get_int(*p, "elapsed_s", 0, U32), volt = opt_int(*p, "voltage_dv", 0, U16, 0),
         cur = opt_int(*p, "current_ma", 0, U16, 0);
    if (!port || !session || !power || !energy || !elapsed || !volt || !cur) return std::nullopt;
    m.ports.push_back(MeterPort{static_cast<uint8_t>(*port), static_cast<uint32_t>(*session),
                                static_cast<uint16_t>(*power), static_cast<uint32_t>(*energy),
                                static_cast<uint32_t>(*elapsed), static_cast<uint16_t>(*volt),
                                static_cast<uint16_t>(*cur)});
  }
  if (!fields::valid(m)) return std::nullopt;
  return m;
}

json::object session_end(const SessionEnd& s, std::string_view msg) {
  return {{"msg", msg},
          {"port", s.port},
          {"session", s.session},
          {"reason", s.reason},
          {"started_at", s.started_at},
          {"duration_s", s.duration_s},
          {"energy_wh", s.energy_wh},
          {"max_power_w", s.max_power_w}};
}
std::optional<SessionEnd> parse_session_end(const json::value& v) {
  auto* o = as_obj(v);
  if (!o) return std::nullopt;
  auto port = get_int(*o, "port", 0, U8), session = get_int(*o, "session", 0, U32),
       reason = get_int(*o, "reason", 0, U8), started = get_int(*o, "started_at", 0, U32),
       dur = get_int(*o, "duration_s", 0, U32), energy = get_int(*o, "energy_wh", 0, U32),
       maxp = opt_int(*o, "max_power_w", 0, U16, 0);
  if (!port || !session || !reason || !started || !dur || !energy || !maxp) return std::nullopt;
  SessionEnd s{static_cast<uint8_t>(*port),   static_cast<uint32_t>(*session), static_cast<uint8_t>(*reason),
               static_cast<uint32_t>(*started), static_cast<uint32_t>(*dur),   static_cast<uint32_t>(*energy),
               static_cast<uint16_t>(*maxp)};
  if (!fields::valid(s)) return std::nullopt;
  return s;
}

json::object card(const Card& c, std::string_view msg) {
  return {{"msg", msg}, {"uid", c.uid_text()}, {"port", c.port}};
}
std::optional<Card> parse_card(const json::value& v) {
  auto* o = as_obj(v);
  if (!o) return std::nullopt;
  auto uid = get_str(*o, "uid", 20);
  auto port = get_int(*o, "port", 0, U8);
  if (!uid || !port) return std::nullopt;
  auto bytes = fields::card_uid_from_text(*uid);
  if (!bytes) return std::nullopt;
  Card c{std::move(*bytes), static_cast<uint8_t>(*port)};
  if (!fields::valid(c)) return std::nullopt;
  return c;
}

json::object alarm(const Alarm& a, std::string_view msg) {
  return {{"msg", msg}, {"code", a.code}, {"port", a.port}, {"value", a.value}};
}
std::optional<Alarm> parse_alarm(const json::value& v) {
  auto* o = as_obj(v);
  if (!o) return std::nullopt;
  auto code = get_int(*o, "code", 0, U8), port = get_int(*o, "port", 0, U8), value = get_int(*o, "value", I32_MIN, I32_MAX);
  if (!code || !port || !value) return std::nullopt;
  Alarm a{static_cast<uint8_t>(*code), static_cast<uint8_t>(*port), static_cast<int32_t>(*value)};
  if (!fields::valid(a)) return std::nullopt;
  return a;
}

json::object ota_status(const OtaStatus& s) {
  return {{"version", s.version.text()}, {"status", s.status}, {"bytes", s.bytes}};
}
std::optional<OtaStatus> parse_ota_status(const json::value& v) {
  auto* o = as_obj(v);
  if (!o) return std::nullopt;
  auto ver = get_str(*o, "version", 11);
  auto status = get_int(*o, "status", 0, U8), bytes = opt_int(*o, "bytes", 0, U32, 0);
  if (!ver || !status || !bytes) return std::nullopt;
  auto version = Version::parse(*ver);
  if (!version) return std::nullopt;
  OtaStatus s{*version, static_cast<uint8_t>(*status), static_cast<uint32_t>(*bytes)};
  if (!fields::valid(s)) return std::nullopt;
  return s;
}
json::object ota_chunk_req(const OtaChunkReq& r, std::string_view msg) {
  return {{"msg", msg}, {"offset", r.offset}, {"length", r.length}};
}
std::optional<OtaChunkReq> parse_ota_chunk_req(const json::value& v) {
  auto* o = as_obj(v);
  if (!o) return std::nullopt;
  auto off = get_int(*o, "offset", 0, U32), len = get_int(*o, "length", 0, U16);
  if (!off || !len) return std::nullopt;
  OtaChunkReq r{static_cast<uint32_t>(*off), static_cast<uint16_t>(*len)};
  if (!fields::valid(r)) return std::nullopt;
  return r;
}

std::string make_msg(DeviceId device, Cmd cmd, uint64_t key) {
  std::string m = device_id_text(device);
  m.append("-").append(cmd_name(cmd)).append("-").append(std::to_string(key));
  return m;
}

// ---- commands ----
json::object command(const Command& c) {
  json::object o{{"id", c.id}, {"op", c.op}, {"args", c.args}};
  if (c.expires) o["expires"] = c.expires;
  return o;
}
std::optional<Command> parse_command(const json::value& v) {
  auto* o = as_obj(v);
  if (!o) return std::nullopt;
  auto id = get_str(*o, "id", 128);
  auto op = get_str(*o, "op", 32);
  auto expires = opt_int(*o, "expires", 0, std::numeric_limits<int64_t>::max(), 0);
  if (!id || id->empty() || !op || !expires) return std::nullopt;
  Command c{*id, *op, {}, *expires};
  if (auto* a = o->if_contains("args")) {
    if (!a->is_object()) return std::nullopt;
    c.args = a->get_object();
  }
  return c;
}

std::optional<std::string> op_of(Cmd cmd) {
  switch (cmd) {
    case Cmd::Start: case Cmd::Stop: case Cmd::Adjust: case Cmd::QueryPorts: case Cmd::SetParams:
    case Cmd::GetParams: case Cmd::Reboot: case Cmd::Locate: case Cmd::OtaOffer:
      return std::string(cmd_name(cmd));
    default:
      return std::nullopt;
  }
}

namespace {
std::optional<Params> params_from(const json::object& a) {
  Params d;
  auto fs = opt_int(a, "full_stop_w", 0, U8, d.full_stop_w), fsd = opt_int(a, "full_stop_delay_s", 0, U16, d.full_stop_delay_s),
       pm = opt_int(a, "port_max_w", 0, U16, d.port_max_w), um = opt_int(a, "unit_max_w", 0, U16, d.unit_max_w),
       tw = opt_int(a, "temp_warn_dc", I16_MIN, I16_MAX, d.temp_warn_dc),
       tc = opt_int(a, "temp_cut_dc", I16_MIN, I16_MAX, d.temp_cut_dc),
       hb = opt_int(a, "heartbeat_s", 0, U16, d.heartbeat_s), ms = opt_int(a, "meter_s", 0, U16, d.meter_s);
  if (!fs || !fsd || !pm || !um || !tw || !tc || !hb || !ms) return std::nullopt;
  return Params{static_cast<uint8_t>(*fs),  static_cast<uint16_t>(*fsd), static_cast<uint16_t>(*pm),
                static_cast<uint16_t>(*um), static_cast<int16_t>(*tw),    static_cast<int16_t>(*tc),
                static_cast<uint16_t>(*hb), static_cast<uint16_t>(*ms)};
}
json::object params_json(const Params& p) {
  return {{"full_stop_w", p.full_stop_w}, {"full_stop_delay_s", p.full_stop_delay_s},
          {"port_max_w", p.port_max_w},   {"unit_max_w", p.unit_max_w},
          {"temp_warn_dc", p.temp_warn_dc}, {"temp_cut_dc", p.temp_cut_dc},
          {"heartbeat_s", p.heartbeat_s}, {"meter_s", p.meter_s}};
}
}  // namespace

std::optional<FrameBody> command_to_frame(const Command& c) {
  const auto& a = c.args;
  if (c.op == "start") {
    auto port = get_int(a, "port", 0, U8), session = get_int(a, "session", 0, U32), mode = opt_int(a, "mode", 0, U8, 0),
         limit = opt_int(a, "limit", 0, U32, 0), maxp = opt_int(a, "max_power_w", 0, U16, 0);
    if (!port || !session || !mode || !limit || !maxp) return std::nullopt;
    StartCmd s{static_cast<uint8_t>(*port), static_cast<uint32_t>(*session), static_cast<uint8_t>(*mode),
               static_cast<uint32_t>(*limit), static_cast<uint16_t>(*maxp)};
    if (!fields::valid(s)) return std::nullopt;
    return FrameBody{Cmd::Start, s.encode()};
  }
  if (c.op == "stop") {
    auto port = get_int(a, "port", 0, U8), session = get_int(a, "session", 0, U32);
    if (!port || !session) return std::nullopt;
    return FrameBody{Cmd::Stop, StopCmd{static_cast<uint8_t>(*port), static_cast<uint32_t>(*session)}.encode()};
  }
  if (c.op == "adjust") {
    auto port = get_int(a, "port", 0, U8), session = get_int(a, "session", 0, U32), mode = get_int(a, "mode", 0, U8),
         limit = get_int(a, "limit", 0, U32);
    if (!port || !session || !mode || !limit) return std::nullopt;
    AdjustCmd adj{static_cast<uint8_t>(*port), static_cast<uint32_t>(*session), static_cast<uint8_t>(*mode),
                  static_cast<uint32_t>(*limit)};
    if (!fields::valid(adj)) return std::nullopt;
    return FrameBody{Cmd::Adjust, adj.encode()};
  }
  if (c.op == "query_ports") return FrameBody{Cmd::QueryPorts, {}};
  if (c.op == "get_params") return FrameBody{Cmd::GetParams, {}};
  if (c.op == "set_params") {
    auto p = params_from(a);
    if (!p) return std::nullopt;
    return FrameBody{Cmd::SetParams, p->encode()};
  }
  if (c.op == "reboot") {
    auto d = opt_int(a, "delay_s", 0, U8, 0);
    if (!d) return std::nullopt;
    return FrameBody{Cmd::Reboot, RebootCmd{static_cast<uint8_t>(*d)}.encode()};
  }
  if (c.op == "locate") {
    auto s = get_int(a, "seconds", 0, U8);
    if (!s) return std::nullopt;
    return FrameBody{Cmd::Locate, LocateCmd{static_cast<uint8_t>(*s)}.encode()};
  }
  if (c.op == "ota_offer") {
    auto ver = get_str(a, "version", 11);
    auto size = get_int(a, "size", 0, U32), chunk = opt_int(a, "chunk", 0, U16, fields::kMaxChunk);
    auto sha = get_str(a, "sha256", 64), sig = get_str(a, "signature", 128);
    if (!ver || !size || !chunk || !sha || !sig) return std::nullopt;
    OtaOffer o;
    auto v = Version::parse(*ver);
    if (!v || !hex_into(*sha, o.sha256.data(), 32) || !hex_into(*sig, o.signature.data(), 64)) return std::nullopt;
    o.version = *v;
    o.size = static_cast<uint32_t>(*size);
    o.chunk = static_cast<uint16_t>(*chunk);
    if (!fields::valid(o)) return std::nullopt;
    return FrameBody{Cmd::OtaOffer, o.encode()};
  }
  return std::nullopt;
}

std::optional<Command> frame_to_command(Cmd cmd, ByteView body, std::string id, int64_t expires) {
  Command c{std::move(id), "", {}, expires};
  switch (cmd) {
    case Cmd::Start: {
      auto s = StartCmd::decode(body);
      if (!s) return std::nullopt;
      c.args = {{"port", s->port}, {"session", s->session}, {"mode", s->mode}, {"limit", s->limit}, {"max_power_w", s->max_power_w}};
      break;
    }
    case Cmd::Stop: {
      auto s = StopCmd::decode(body);
      if (!s) return std::nullopt;
      c.args = {{"port", s->port}, {"session", s->session}};
      break;
    }
    case Cmd::Adjust: {
      auto s = AdjustCmd::decode(body);
      if (!s) return std::nullopt;
      c.args = {{"port", s->port}, {"session", s->session}, {"mode", s->mode}, {"limit", s->limit}};
      break;
    }
    case Cmd::QueryPorts: case Cmd::GetParams:
      if (!body.empty()) return std::nullopt;
      break;
    case Cmd::SetParams: {
      auto p = Params::decode(body);
      if (!p) return std::nullopt;
      c.args = params_json(*p);
      break;
    }
    case Cmd::Reboot: {
      auto r = RebootCmd::decode(body);
      if (!r) return std::nullopt;
      c.args = {{"delay_s", r->delay_s}};
      break;
    }
    case Cmd::Locate: {
      auto r = LocateCmd::decode(body);
      if (!r) return std::nullopt;
      c.args = {{"seconds", r->seconds}};
      break;
    }
    case Cmd::OtaOffer: {
      auto o = OtaOffer::decode(body);
      if (!o) return std::nullopt;
      c.args = {{"version", o->version.text()}, {"size", o->size}, {"sha256", to_hex(o->sha256)},
                {"signature", to_hex(o->signature)}, {"chunk", o->chunk}};
      break;
    }
    default:
      return std::nullopt;
  }
  c.op = *op_of(cmd);
  return c;
}

std::optional<json::object> reply(std::string_view id, Cmd cmd, ByteView body) {
  json::object o{{"id", id}};
  switch (cmd) {
    case Cmd::Start: case Cmd::Stop: case Cmd::Adjust: case Cmd::SetParams: case Cmd::Reboot: case Cmd::Locate:
    case Cmd::OtaOffer: {
      auto r = Result::decode(body);
      if (!r || !fields::result(cmd, r->result)) return std::nullopt;
      o["result"] = r->result;
      return o;
    }
    case Cmd::QueryPorts: {
      auto q = QueryPortsResp::decode(body);
      if (!q) return std::nullopt;
      json::array ports;
      for (size_t i = 0; i < q->ports.size(); ++i) {
        auto& p = q->ports[i];
        ports.push_back(json::object{{"port", i + 1}, {"state", p.state}, {"session", p.session},
                                     {"power_w", p.power_w}, {"energy_wh", p.energy_wh}, {"elapsed_s", p.elapsed_s}});
      }
      o["result"] = 0;
      o["ports"] = std::move(ports);
      return o;
    }
    case Cmd::GetParams: {
      auto p = Params::decode(body);
      if (!p) return std::nullopt;
      o["result"] = 0;
      for (auto& kv : params_json(*p)) o[kv.key()] = kv.value();
      return o;
    }
    default:
      return std::nullopt;
  }
}

std::optional<Bytes> reply_to_body(Cmd cmd, const json::object& r) {
  switch (cmd) {
    case Cmd::Start: case Cmd::Stop: case Cmd::Adjust: case Cmd::SetParams: case Cmd::Reboot: case Cmd::Locate:
    case Cmd::OtaOffer: {
      auto res = get_int(r, "result", 0, U8);
      if (!res || !fields::result(cmd, *res)) return std::nullopt;
      return Result{static_cast<uint8_t>(*res)}.encode();
    }
    case Cmd::QueryPorts: {
      auto* ports = r.if_contains("ports");
      if (!ports || !ports->is_array() || ports->get_array().size() > 255) return std::nullopt;
      QueryPortsResp q;
      for (auto& pv : ports->get_array()) {
        auto* p = as_obj(pv);
        if (!p) return std::nullopt;
        auto st = get_int(*p, "state", 0, U8), se = get_int(*p, "session", 0, U32), pw = get_int(*p, "power_w", 0, U16),
             en = get_int(*p, "energy_wh", 0, U32), el = get_int(*p, "elapsed_s", 0, U32);
        if (!st || !se || !pw || !en || !el) return std::nullopt;
        // The frame numbers ports by position; "port", which reply() writes and the core reads, must
        // say the same or the two would name different ports.
        auto number = static_cast<int64_t>(q.ports.size() + 1);
        if (p->contains("port") && get_int(*p, "port", number, number) != number) return std::nullopt;
        q.ports.push_back(PortStatus{static_cast<uint8_t>(*st), static_cast<uint32_t>(*se), static_cast<uint16_t>(*pw),
                                     static_cast<uint32_t>(*en), static_cast<uint32_t>(*el)});
      }
      if (!fields::valid(q)) return std::nullopt;
      return q.encode();
    }
    case Cmd::GetParams: {
      auto p = params_from(r);
      if (!p) return std::nullopt;
      return p->encode();
    }
    default:
      return std::nullopt;
  }
}

// ---- acks ----
json::object ack(const Ack& a) {
  json::object o{{"re", a.re}, {"result", a.result}};
  if (a.balance_fen) o["balance_fen"] = *a.balance_fen;
  return o;
}
std::optional<Ack> parse_ack(const json::value& v) {
  auto* o = as_obj(v);
  if (!o) return std::nullopt;
  auto re = get_str(*o, "re", 128);
  auto result = get_int(*o, "result", 0, U8);
  if (!re || !result) return std::nullopt;
  Ack a{*re, static_cast<uint8_t>(*result), std::nullopt};
  if (o->contains("balance_fen")) {
    auto b = get_int(*o, "balance_fen", I32_MIN, I32_MAX);
    if (!b) return std::nullopt;
    a.balance_fen = static_cast<int32_t>(*b);
  }
  return a;
}
Bytes ack_to_body(Cmd cmd, const Ack& a) {
  switch (cmd) {
    case Cmd::Card: return CardResp{a.result, a.balance_fen.value_or(0)}.encode();
    case Cmd::SessionEnd: return Result{a.result}.encode();
    default: return {};   // ALARM, OTA_STATUS: empty response body
  }
}

namespace {
// A first pass over the text that refuses what Boost.JSON would accept but must not come in:
//  - a number too large for a double (`1e400`): Boost.JSON makes it infinity and serialises that as
//    `Infinity`, which no JSON parser reads, so a stored reply could never be read back;
//  - a key twice in one object: Boost.JSON keeps the last, another reader may keep the first, and
//    the two would then act on different values.
class StrictCheck {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);
  using ec_t = boost::system::error_code;

  bool on_document_begin(ec_t&) { return true; }
  bool on_document_end(ec_t&) { return true; }
  bool on_array_begin(ec_t&) { return true; }
  bool on_array_end(std::size_t, ec_t&) { return true; }
  bool on_object_begin(ec_t&) {
    starts_.push_back(keys_.size());
    return true;
  }
  // Keys are checked when their object closes: pairwise for the few keys payloads have (short keys
  // stay in std::string's own buffer, so this allocates little), sorted for large objects.
  bool on_object_end(std::size_t, ec_t& ec) {
    auto first = keys_.begin() + static_cast<std::ptrdiff_t>(starts_.back());
    bool dup = false;
    if (keys_.end() - first <= 16) {
      for (auto i = first; i != keys_.end() && !dup; ++i)
        dup = std::find(i + 1, keys_.end(), *i) != keys_.end();
    } else {
      std::sort(first, keys_.end());
      dup = std::adjacent_find(first, keys_.end()) != keys_.end();
    }
    keys_.erase(first, keys_.end());
    starts_.pop_back();
    if (dup) ec = json::error::syntax;   // a key twice in one object
    return !dup;
  }
  bool on_string_part(json::string_view, std::size_t, ec_t&) { return true; }
  bool on_string(json::string_view, std::size_t, ec_t&) { return true; }
  bool on_key_part(json::string_view s, std::size_t, ec_t&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, ec_t&) {
    key_.append(s.data(), s.size());
    keys_.push_back(std::move(key_));
    key_.clear();
    return true;
  }
  bool on_number_part(json::string_view, ec_t&) { return true; }
  bool on_int64(int64_t, json::string_view, ec_t&) { return true; }
  bool on_uint64(uint64_t, json::string_view, ec_t&) { return true; }
  bool on_double(double d, json::string_view, ec_t& ec) {
    if (std::isfinite(d)) return true;
    ec = json::error::exponent_overflow;
    return false;
  }
  bool on_bool(bool, ec_t&) { return true; }
  bool on_null(ec_t&) { return true; }
  bool on_comment_part(json::string_view, ec_t&) { return true; }
  bool on_comment(json::string_view, ec_t&) { return true; }

 private:
  std::vector<std::string> keys_;   // the keys of every open object, innermost last
  std::vector<size_t> starts_;      // where each open object's keys start in keys_
  std::string key_;
};
}  // namespace

std::optional<json::value> parse_json(std::string_view text, size_t max_bytes) {
  if (text.size() > max_bytes) return std::nullopt;
  boost::system::error_code ec;
  json::basic_parser<StrictCheck> check(json::parse_options{});
  check.write_some(false, text.data(), text.size(), ec);
  if (ec) return std::nullopt;
  json::value v = json::parse(text, ec);
  if (ec) return std::nullopt;
  return v;
}

}  // namespace chargehub::payloads
