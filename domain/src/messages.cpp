#include "chargehub/messages.hpp"

#include <charconv>

#include "bytes.hpp"
#include "chargehub/fields.hpp"

namespace chargehub::proto {

using detail::Reader;
using detail::Writer;

std::string Version::text() const {
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

std::optional<Version> Version::parse(std::string_view s) {
  Version v;
  uint8_t* parts[3] = {&v.major, &v.minor, &v.patch};
  const char* p = s.data();
  const char* end = s.data() + s.size();
  for (int i = 0; i < 3; ++i) {
    unsigned x = 0;
    auto [q, ec] = std::from_chars(p, end, x);
    if (ec != std::errc{} || x > 255 || q == p) return std::nullopt;
    if (*p == '0' && q - p > 1) return std::nullopt;   // one text form per version: no leading zeros
    *parts[i] = static_cast<uint8_t>(x);
    p = q;
    if (i < 2) {
      if (p == end || *p != '.') return std::nullopt;
      ++p;
    }
  }
  if (p != end) return std::nullopt;
  return v;
}

namespace {
void put_version(Writer& w, const Version& v) { w.u8(v.major).u8(v.minor).u8(v.patch); }
Version get_version(Reader& r) {
  Version v;
  v.major = r.u8();
  v.minor = r.u8();
  v.patch = r.u8();
  return v;
}
template <class T>
std::optional<T> finish(Reader& r, T v) {
  if (!r.done()) return std::nullopt;
  return v;
}
// A body's layout read, then the field rules both doors share (fields.hpp).
template <class T>
std::optional<T> checked(std::optional<T> v) {
  if (v && !fields::valid(*v)) return std::nullopt;
  return v;
}
}  // namespace

// ---- LOGIN ----
Bytes Login::encode() const {
  Writer w;
  w.u8(model).u8(ports).u8(hw);
  put_version(w, fw);
  for (size_t i = 0; i < 20; ++i) w.u8(i < iccid.size() ? static_cast<uint8_t>(iccid[i]) : 0);
  w.u8(csq).u8(static_cast<uint8_t>(auth_kind)).u8(static_cast<uint8_t>(auth.size())).raw(auth);
  return std::move(w.out);
}
std::optional<Login> Login::decode_layout(ByteView b) {
  Reader r(b);
  Login l;
  l.model = r.u8();
  l.ports = r.u8();
  l.hw = r.u8();
  l.fw = get_version(r);
  // Only the zero padding is cut: a zero byte inside stays and breaks the iccid rule, so the 20 bytes
  // are "the iccid, then zeros" or refused.
  auto ic = r.raw(20);
  size_t n_ic = ic.size();
  while (n_ic > 0 && ic[n_ic - 1] == 0) --n_ic;
  l.iccid.assign(ic.begin(), ic.begin() + static_cast<std::ptrdiff_t>(n_ic));
  l.csq = r.u8();
  l.auth_kind = static_cast<AuthKind>(r.u8());
  l.auth = r.raw(r.u8());
  return finish(r, std::move(l));
}
std::optional<Login> Login::decode(ByteView b) {
  auto l = checked(decode_layout(b));
  if (l && !fields::login_auth(static_cast<uint8_t>(l->auth_kind), l->auth.size())) return std::nullopt;
  return l;
}
Bytes LoginResp::encode() const {
  Writer w;
  w.u8(static_cast<uint8_t>(result)).u32(server_time).u16(heartbeat_s);
  return std::move(w.out);
}
std::optional<LoginResp> LoginResp::decode_layout(ByteView b) {
  Reader r(b);
  LoginResp l;
  l.result = static_cast<LoginResult>(r.u8());
  l.server_time = r.u32();
  l.heartbeat_s = r.u16();
  return finish(r, l);
}
std::optional<LoginResp> LoginResp::decode(ByteView b) { return checked(decode_layout(b)); }

// ---- HEARTBEAT ----
Bytes Heartbeat::encode() const {
  Writer w;
  w.u8(csq).i16(temp_dc).u16(mains_dv).u16(power_w).u8(static_cast<uint8_t>(ports.size())).raw(ports);
  return std::move(w.out);
}
std::optional<Heartbeat> Heartbeat::decode_layout(ByteView b) {
  Reader r(b);
  Heartbeat h;
  h.csq = r.u8();
  h.temp_dc = r.i16();
  h.mains_dv = r.u16();
  h.power_w = r.u16();
  h.ports = r.raw(r.u8());
  return finish(r, std::move(h));
}
std::optional<Heartbeat> Heartbeat::decode(ByteView b) { return checked(decode_layout(b)); }
Bytes ServerTime::encode() const { Writer w; w.u32(server_time); return std::move(w.out); }
std::optional<ServerTime> ServerTime::decode(ByteView b) {
  Reader r(b);
  ServerTime t{r.u32()};
  return finish(r, t);
}

// ---- METER ----
Bytes Meter::encode() const {
  Writer w;
  w.u8(static_cast<uint8_t>(ports.size()));
  for (auto& p : ports)
    w.u8(p.port).u32(p.session).u16(p.power_w).u32(p.energy_wh).u32(p.elapsed_s).u16(p.voltage_dv).u16(p.current_ma);
  return std::move(w.out);
}
std::optional<Meter> Meter::decode(ByteView b) { return checked(decode_layout(b)); }
std::optional<Meter> Meter::decode_layout(ByteView b) {
  Reader r(b);
  Meter m;
  uint8_t n = r.u8();
  for (uint8_t i = 0; i < n && r.ok(); ++i) {
    MeterPort p;
    p.port = r.u8();
    p.session = r.u32();
    p.power_w = r.u16();
    p.energy_wh = r.u32();
    p.elapsed_s = r.u32();
    p.voltage_dv = r.u16();
    p.current_ma = r.u16();
    m.ports.push_back(p);
  }
  return finish(r, std::move(m));
}

// ---- SESSION_END ----
Bytes SessionEnd::encode() const {
  Writer w;
  w.u8(port).u32(session).u8(reason).u32(started_at).u32(duration_s).u32(energy_wh).u16(max_power_w);
  return std::move(w.out);
}
std::optional<SessionEnd> SessionEnd::decode(ByteView b) { return checked(decode_layout(b)); }
std::optional<SessionEnd> SessionEnd::decode_layout(ByteView b) {
  Reader r(b);
  SessionEnd s;
  s.port = r.u8();
  s.session = r.u32();
  s.reason = r.u8();
  s.started_at = r.u32();
  s.duration_s = r.u32();
  s.energy_wh = r.u32();
  s.max_power_w = r.u16();
  return finish(r, s);
}
Bytes Result::encode() const { return Bytes{result}; }
std::optional<Result> Result::decode(ByteView b) {
  Reader r(b);
  Result x{r.u8()};
  return finish(r, x);
}

// ---- CARD ----
std::string Card::uid_text() const {
  static const char* d = "0123456789ABCDEF";
  std::string s;
  for (uint8_t c : uid) {
    s.push_back(d[c >> 4]);
    s.push_back(d[c & 15]);
  }
  return s;
}
Bytes Card::encode() const {
  Writer w;
  w.u8(static_cast<uint8_t>(uid.size())).raw(uid).u8(port);
  return std::move(w.out);
}
std::optional<Card> Card::decode(ByteView b) { return checked(decode_layout(b)); }
std::optional<Card> Card::decode_layout(ByteView b) {
  Reader r(b);
  Card c;
  c.uid = r.raw(r.u8());
  c.port = r.u8();
  return finish(r, std::move(c));
}
Bytes CardResp::encode() const {
  Writer w;
  w.u8(result).i32(balance_fen);
  return std::move(w.out);
}
std::optional<CardResp> CardResp::decode(ByteView b) { return checked(decode_layout(b)); }
std::optional<CardResp> CardResp::decode_layout(ByteView b) {
  Reader r(b);
  CardResp c;
  c.result = r.u8();
  c.balance_fen = r.i32();
  return finish(r, c);
}

// ---- ALARM ----
Bytes Alarm::encode() const {
  Writer w;
  w.u8(code).u8(port).i32(value);
  return std::move(w.out);
}
std::optional<Alarm> Alarm::decode(ByteView b) { return checked(decode_layout(b)); }
std::optional<Alarm> Alarm::decode_layout(ByteView b) {
  Reader r(b);
  Alarm a;
  a.code = r.u8();
  a.port = r.u8();
  a.value = r.i32();
  return finish(r, a);
}

// ---- OTA ----
Bytes OtaChunkReq::encode() const {
  Writer w;
  w.u32(offset).u16(length);
  return std::move(w.out);
}
std::optional<OtaChunkReq> OtaChunkReq::decode(ByteView b) { return checked(decode_layout(b)); }
std::optional<OtaChunkReq> OtaChunkReq::decode_layout(ByteView b) {
  Reader r(b);
  OtaChunkReq q;
  q.offset = r.u32();
  q.length = r.u16();
  return finish(r, q);
}
Bytes OtaChunk::encode() const {
  Writer w;
  w.u32(offset).u16(static_cast<uint16_t>(data.size())).raw(data);
  return std::move(w.out);
}
std::optional<OtaChunk> OtaChunk::decode(ByteView b) { return checked(decode_layout(b)); }
std::optional<OtaChunk> OtaChunk::decode_layout(ByteView b) {
  Reader r(b);
  OtaChunk c;
  c.offset = r.u32();
  c.data = r.raw(r.u16());
  return finish(r, std::move(c));
}
Bytes OtaStatus::encode() const {
  Writer w;
  put_version(w, version);
  w.u8(status).u32(bytes);
  return std::move(w.out);
}
std::optional<OtaStatus> OtaStatus::decode(ByteView b) { return checked(decode_layout(b)); }
std::optional<OtaStatus> OtaStatus::decode_layout(ByteView b) {
  Reader r(b);
  OtaStatus s;
  s.version = get_version(r);
  s.status = r.u8();
  s.bytes = r.u32();
  return finish(r, s);
}

// ---- commands to the charger ----
Bytes StartCmd::encode() const {
  Writer w;
  w.u8(port).u32(session).u8(mode).u32(limit).u16(max_power_w);
  return std::move(w.out);
}
std::optional<StartCmd> StartCmd::decode(ByteView b) { return checked(decode_layout(b)); }
std::optional<StartCmd> StartCmd::decode_layout(ByteView b) {
  Reader r(b);
  StartCmd s;
  s.port = r.u8();
  s.session = r.u32();
  s.mode = r.u8();
  s.limit = r.u32();
  s.max_power_w = r.u16();
  return finish(r, s);
}
Bytes StopCmd::encode() const {
  Writer w;
  w.u8(port).u32(session);
  return std::move(w.out);
}
std::optional<StopCmd> StopCmd::decode(ByteView b) {
  Reader r(b);
  StopCmd s;
  s.port = r.u8();
  s.session = r.u32();
  return finish(r, s);
}
Bytes QueryPortsResp::encode() const {
  Writer w;
  w.u8(static_cast<uint8_t>(ports.size()));
  for (auto& p : ports) w.u8(p.state).u32(p.session).u16(p.power_w).u32(p.energy_wh).u32(p.elapsed_s);
  return std::move(w.out);
}
std::optional<QueryPortsResp> QueryPortsResp::decode(ByteView b) { return checked(decode_layout(b)); }
std::optional<QueryPortsResp> QueryPortsResp::decode_layout(ByteView b) {
  Reader r(b);
  QueryPortsResp q;
  uint8_t n = r.u8();
  for (uint8_t i = 0; i < n && r.ok(); ++i) {
    PortStatus p;
    p.state = r.u8();
    p.session = r.u32();
    p.power_w = r.u16();
    p.energy_wh = r.u32();
    p.elapsed_s = r.u32();
    q.ports.push_back(p);
  }
  return finish(r, std::move(q));
}
bool Params::valid(bool high_power) const {
  return full_stop_w >= 1 && port_max_w >= 1 && port_max_w <= (high_power ? 3500 : 600) && unit_max_w >= 1 &&
         unit_max_w <= 6000 && temp_warn_dc < temp_cut_dc && heartbeat_s >= 10 && meter_s >= 10;
}
Bytes Params::encode() const {
  Writer w;
  w.u8(full_stop_w).u16(full_stop_delay_s).u16(port_max_w).u16(unit_max_w).i16(temp_warn_dc).i16(temp_cut_dc)
      .u16(heartbeat_s).u16(meter_s);
  return std::move(w.out);
}
std::optional<Params> Params::decode(ByteView b) {
  Reader r(b);
  Params p;
  p.full_stop_w = r.u8();
  p.full_stop_delay_s = r.u16();
  p.port_max_w = r.u16();
  p.unit_max_w = r.u16();
  p.temp_warn_dc = r.i16();
  p.temp_cut_dc = r.i16();
  p.heartbeat_s = r.u16();
  p.meter_s = r.u16();
  return finish(r, p);
}
Bytes RebootCmd::encode() const { return Bytes{delay_s}; }
std::optional<RebootCmd> RebootCmd::decode(ByteView b) {
  Reader r(b);
  RebootCmd c{r.u8()};
  return finish(r, c);
}
Bytes AdjustCmd::encode() const {
  Writer w;
  w.u8(port).u32(session).u8(mode).u32(limit);
  return std::move(w.out);
}
std::optional<AdjustCmd> AdjustCmd::decode(ByteView b) { return checked(decode_layout(b)); }
std::optional<AdjustCmd> AdjustCmd::decode_layout(ByteView b) {
  Reader r(b);
  AdjustCmd a;
  a.port = r.u8();
  a.session = r.u32();
  a.mode = r.u8();
  a.limit = r.u32();
  return finish(r, a);
}
Bytes LocateCmd::encode() const { return Bytes{seconds}; }
std::optional<LocateCmd> LocateCmd::decode(ByteView b) {
  Reader r(b);
  LocateCmd c{r.u8()};
  return finish(r, c);
}
Bytes OtaOffer::encode() const {
  Writer w;
  put_version(w, version);
  w.u32(size).raw(sha256).raw(signature).u16(chunk);
  return std::move(w.out);
}
std::optional<OtaOffer> OtaOffer::decode(ByteView b) { return checked(decode_layout(b)); }
std::optional<OtaOffer> OtaOffer::decode_layout(ByteView b) {
  Reader r(b);
  OtaOffer o;
  o.version = get_version(r);
  o.size = r.u32();
  auto h = r.raw(32);
  auto s = r.raw(64);
  o.chunk = r.u16();
  if (!r.done()) return std::nullopt;
  std::copy(h.begin(), h.end(), o.sha256.begin());
  std::copy(s.begin(), s.end(), o.signature.begin());
  return o;
}

bool expects_response(Cmd c) { return c != Cmd::Meter; }

}  // namespace chargehub::proto
