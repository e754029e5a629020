// The two doors of the fleet agree (issue 15, item 4): a charger's data comes as frames (the edge
// bridge decodes them and publishes JSON) or as JSON (native MQTT firmware). For the same values both
// accept or both refuse, and what one accepts crosses to the other unchanged.
//
// Frame mode (first byte is not '{'): the first byte picks a body type, the rest is the body. Its
// values, read by the layout alone, are written as the JSON that mqtt.md gives them, and the JSON
// parser must accept exactly when the frame decoder does, and give back the same values.
// JSON mode (the input starts with '{'): every parser that accepts the document gives values whose
// frame decodes, and those values make the same JSON again.
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

#include "check.hpp"
#include "chargehub/fields.hpp"
#include "chargehub/payloads.hpp"

using namespace chargehub;
using namespace chargehub::proto;
namespace json = boost::json;
namespace pl = chargehub::payloads;

namespace {

std::optional<json::value> wire(const json::value& v) {
  auto text = json::serialize(v);
  auto back = pl::parse_json(text);
  FUZZ_CHECK(back);   // what we write, we read
  return back;
}

// ---- charger reports: body -> JSON (the bridge's mapping) -> parser ----
template <class T, class ToJson, class Parse>
void report(ByteView body, ToJson to_json, Parse parse) {
  auto raw = T::decode_layout(body);
  if (!raw) return;
  bool frame_ok;
  if constexpr (std::is_same_v<T, Login>) {
    // The boot payload carries no credentials: judge the boot fields with valid ones.
    raw->auth_kind = AuthKind::Token;
    raw->auth = Bytes(16, 1);
    frame_ok = Login::decode(raw->encode()).has_value();
  } else {
    frame_ok = T::decode(body).has_value();
  }
  json::value j = to_json(*raw);
  // A raw value may make text parse_json refuses (an iccid that is not UTF-8): that door refuses too.
  auto v = pl::parse_json(json::serialize(j));
  FUZZ_CHECK(v || !frame_ok);
  auto parsed = v ? parse(*v) : std::nullopt;
  FUZZ_CHECK(frame_ok == parsed.has_value());
  if (parsed) FUZZ_CHECK(json::serialize(to_json(*parsed)) == json::serialize(j));
}

// ---- commands: body -> args as mqtt.md names them -> command_to_frame ----
void command(Cmd cmd, ByteView body, json::object args) {
  bool frame_ok = pl::frame_to_command(cmd, body, "c", 0).has_value();
  auto v = wire(pl::command(pl::Command{"c", *pl::op_of(cmd), std::move(args), 0}));
  auto c = pl::parse_command(*v);
  FUZZ_CHECK(c);
  auto fb = pl::command_to_frame(*c);
  FUZZ_CHECK(frame_ok == fb.has_value());
  if (fb) {
    FUZZ_CHECK(fb->cmd == cmd);
    FUZZ_CHECK(fb->body == Bytes(body.begin(), body.end()));
  }
}

template <class T, class Args>
void command_of(Cmd cmd, ByteView body, Args args) {
  std::optional<T> raw;
  if constexpr (requires { T::decode_layout(std::declval<ByteView>()); }) raw = T::decode_layout(body);
  else raw = T::decode(body);
  if (raw) command(cmd, body, args(*raw));
}

json::object params_args(const Params& p) {
  return {{"full_stop_w", p.full_stop_w}, {"full_stop_delay_s", p.full_stop_delay_s}, {"port_max_w", p.port_max_w},
          {"unit_max_w", p.unit_max_w},   {"temp_warn_dc", p.temp_warn_dc},           {"temp_cut_dc", p.temp_cut_dc},
          {"heartbeat_s", p.heartbeat_s}, {"meter_s", p.meter_s}};
}

// ---- replies: response body -> up/reply as mqtt.md names it -> reply_to_body ----
void reply(Cmd cmd, ByteView body, std::optional<json::object> fields) {
  if (!fields) return;   // the body has no layout at all
  bool frame_ok = pl::reply("c", cmd, body).has_value();
  json::object r{{"id", "c"}};
  for (auto& kv : *fields) r[kv.key()] = kv.value();
  auto back = pl::reply_to_body(cmd, wire(r)->as_object());
  FUZZ_CHECK(frame_ok == back.has_value());
  if (back) FUZZ_CHECK(*back == Bytes(body.begin(), body.end()));
}

std::optional<json::object> result_fields(ByteView body) {
  auto r = Result::decode(body);
  if (!r) return std::nullopt;
  return json::object{{"result", r->result}};
}

void frame_mode(uint8_t pick, ByteView b) {
  switch (pick % 26) {
    case 0: return report<Login>(b, [](auto& x) { return pl::boot(x); }, pl::parse_boot);
    case 1: return report<Heartbeat>(b, [](auto& x) { return pl::heartbeat(x); }, pl::parse_heartbeat);
    case 2: return report<Meter>(b, [](auto& x) { return pl::meter(x); }, pl::parse_meter);
    case 3: return report<SessionEnd>(b, [](auto& x) { return pl::session_end(x, "m"); }, pl::parse_session_end);
    case 4: return report<Card>(b, [](auto& x) { return pl::card(x, "m"); }, pl::parse_card);
    case 5: return report<Alarm>(b, [](auto& x) { return pl::alarm(x, "m"); }, pl::parse_alarm);
    case 6: return report<OtaStatus>(b, [](auto& x) { return pl::ota_status(x); }, pl::parse_ota_status);
    case 7: return report<OtaChunkReq>(b, [](auto& x) { return pl::ota_chunk_req(x, "m"); }, pl::parse_ota_chunk_req);
    case 8:
      return command_of<StartCmd>(Cmd::Start, b, [](const StartCmd& s) {
        return json::object{{"port", s.port}, {"session", s.session}, {"mode", s.mode}, {"limit", s.limit},
                            {"max_power_w", s.max_power_w}};
      });
    case 9:
      return command_of<StopCmd>(Cmd::Stop, b, [](const StopCmd& s) {
        return json::object{{"port", s.port}, {"session", s.session}};
      });
    case 10:
      return command_of<AdjustCmd>(Cmd::Adjust, b, [](const AdjustCmd& a) {
        return json::object{{"port", a.port}, {"session", a.session}, {"mode", a.mode}, {"limit", a.limit}};
      });
    case 11: return command_of<Params>(Cmd::SetParams, b, params_args);
    case 12:
      return command_of<RebootCmd>(Cmd::Reboot, b, [](const RebootCmd& r) { return json::object{{"delay_s", r.delay_s}}; });
    case 13:
      return command_of<LocateCmd>(Cmd::Locate, b, [](const LocateCmd& l) { return json::object{{"seconds", l.seconds}}; });
    case 14:
      return command_of<OtaOffer>(Cmd::OtaOffer, b, [](const OtaOffer& o) {
        return json::object{{"version", o.version.text()}, {"size", o.size}, {"sha256", to_hex(o.sha256)},
                            {"signature", to_hex(o.signature)}, {"chunk", o.chunk}};
      });
    case 15: if (b.empty()) command(Cmd::QueryPorts, b, {}); return;
    case 16: if (b.empty()) command(Cmd::GetParams, b, {}); return;
    case 17: {
      auto q = QueryPortsResp::decode_layout(b);
      if (!q) return;
      json::array ports;
      for (size_t i = 0; i < q->ports.size(); ++i) {
        auto& p = q->ports[i];
        ports.push_back(json::object{{"port", i + 1}, {"state", p.state}, {"session", p.session},
                                     {"power_w", p.power_w}, {"energy_wh", p.energy_wh}, {"elapsed_s", p.elapsed_s}});
      }
      return reply(Cmd::QueryPorts, b, json::object{{"result", 0}, {"ports", std::move(ports)}});
    }
    case 18: {
      auto p = Params::decode(b);
      if (!p) return;
      auto f = params_args(*p);
      f["result"] = 0;
      return reply(Cmd::GetParams, b, std::move(f));
    }
    default: {
      constexpr Cmd kResults[] = {Cmd::Start, Cmd::Stop, Cmd::Adjust, Cmd::SetParams, Cmd::Reboot, Cmd::Locate, Cmd::OtaOffer};
      return reply(kResults[(pick % 26) - 19], b, result_fields(b));
    }
  }
}

// ---- JSON mode: what a parser accepts has a frame, and comes back the same ----
template <class T, class ToJson>
void report_back(const std::optional<T>& parsed, ToJson to_json) {
  if (!parsed) return;
  T x = *parsed;
  if constexpr (std::is_same_v<T, Login>) {
    x.auth_kind = AuthKind::Token;
    x.auth = Bytes(16, 1);
  }
  auto d = T::decode(x.encode());
  FUZZ_CHECK(d);
  FUZZ_CHECK(json::serialize(to_json(*d)) == json::serialize(to_json(*parsed)));
}

void json_mode(std::string_view text) {
  auto v = pl::parse_json(text);
  if (!v) return;
  report_back(pl::parse_boot(*v), [](auto& x) { return pl::boot(x); });
  report_back(pl::parse_heartbeat(*v), [](auto& x) { return pl::heartbeat(x); });
  report_back(pl::parse_meter(*v), [](auto& x) { return pl::meter(x); });
  report_back(pl::parse_session_end(*v), [](auto& x) { return pl::session_end(x, "m"); });
  report_back(pl::parse_card(*v), [](auto& x) { return pl::card(x, "m"); });
  report_back(pl::parse_alarm(*v), [](auto& x) { return pl::alarm(x, "m"); });
  report_back(pl::parse_ota_status(*v), [](auto& x) { return pl::ota_status(x); });
  report_back(pl::parse_ota_chunk_req(*v), [](auto& x) { return pl::ota_chunk_req(x, "m"); });

  if (auto c = pl::parse_command(*v)) {
    if (auto fb = pl::command_to_frame(*c)) {
      auto back = pl::frame_to_command(fb->cmd, fb->body, c->id, c->expires);
      FUZZ_CHECK(back && back->op == c->op);
      auto again = pl::command_to_frame(*back);
      FUZZ_CHECK(again && again->cmd == fb->cmd && again->body == fb->body);
    }
  }
  if (v->is_object()) {
    for (Cmd cmd : {Cmd::Start, Cmd::Stop, Cmd::Adjust, Cmd::SetParams, Cmd::Reboot, Cmd::Locate, Cmd::OtaOffer,
                    Cmd::QueryPorts, Cmd::GetParams}) {
      auto body = pl::reply_to_body(cmd, v->as_object());
      if (!body) continue;
      auto r = pl::reply("c", cmd, *body);
      FUZZ_CHECK(r);
      FUZZ_CHECK(pl::reply_to_body(cmd, *r) == body);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  if (data[0] == '{') json_mode(std::string_view(reinterpret_cast<const char*>(data), size));
  else if (size <= 1 + kMaxBody) frame_mode(data[0], ByteView(data + 1, size - 1));
  return 0;
}
