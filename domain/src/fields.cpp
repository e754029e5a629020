#include "chargehub/fields.hpp"

namespace chargehub::fields {

using namespace chargehub::proto;

bool device_id(uint64_t id) { return id >= 1 && id <= kMaxDeviceId; }
bool model(int64_t m) { return m >= 1 && m <= 5; }
int model_ports(int64_t m) {
  if (!model(m)) return 0;
  return m == static_cast<int64_t>(Model::Port20) ? 20 : 10;   // model 4 is eight plus two: ten ports
}
bool csq(int64_t v) { return (v >= 0 && v <= 31) || v == 99; }
bool port(int64_t p) { return p >= 1 && p <= kMaxPorts; }
bool port_or_unit(int64_t p) { return p == 0 || port(p); }
bool port_count(size_t n) { return n >= 1 && n <= static_cast<size_t>(kMaxPorts); }
bool port_state(int64_t s) { return s >= 0 && s <= 4; }
bool end_reason(int64_t r) { return r >= 1 && r <= 10; }
bool alarm_code(int64_t c) { return c >= 1 && c <= 7; }
bool ota_status(int64_t s) { return s >= 1 && s <= 5; }
bool start_mode(int64_t m) { return m >= 0 && m <= 2; }
bool chunk_length(int64_t n) { return n >= 1 && n <= kMaxChunk; }

bool iccid(std::string_view s) {
  if (s.size() > 20) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'))) return false;
  return true;
}

bool card_uid(std::span<const uint8_t> uid) { return uid.size() >= 4 && uid.size() <= 10; }

bool login_auth(uint8_t kind, size_t len) {
  if (kind == static_cast<uint8_t>(AuthKind::Token)) return len >= 16 && len <= 64;
  if (kind == static_cast<uint8_t>(AuthKind::Ed25519)) return len == 8 + 64;   // u64 ms + signature
  return false;
}

bool result(Cmd cmd, int64_t r) {
  int64_t max;
  switch (cmd) {
    case Cmd::Login: max = 4; break;
    case Cmd::SessionEnd: max = 0; break;   // "answers result 0 to every copy"
    case Cmd::Card: max = 4; break;
    case Cmd::Start: max = 5; break;
    case Cmd::Stop: max = 1; break;
    case Cmd::SetParams: max = 1; break;
    case Cmd::Reboot: max = 0; break;       // frames.md lists no refusal for REBOOT
    case Cmd::Adjust: max = 2; break;
    case Cmd::Locate: max = 1; break;
    case Cmd::OtaOffer: max = 3; break;
    default: return false;
  }
  return r >= 0 && r <= max;
}

std::optional<std::vector<uint8_t>> card_uid_from_text(std::string_view text) {
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (text.size() % 2) return std::nullopt;
  std::vector<uint8_t> out;
  for (size_t i = 0; i < text.size(); i += 2) {
    int hi = digit(text[i]), lo = digit(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  if (!card_uid(out)) return std::nullopt;
  return out;
}

// ---- whole messages ----
using Bad = std::optional<std::string_view>;

Bad invalid_field(const Login& m) {
  if (!model(m.model)) return "model";
  if (m.ports != model_ports(m.model)) return "ports";
  if (!iccid(m.iccid)) return "iccid";
  if (!csq(m.csq)) return "csq";
  return std::nullopt;
}

Bad invalid_field(const LoginResp& m) {
  if (!result(Cmd::Login, static_cast<int64_t>(m.result))) return "result";
  return std::nullopt;
}

Bad invalid_field(const Heartbeat& m) {
  if (!csq(m.csq)) return "csq";
  if (!port_count(m.ports.size())) return "ports";
  for (uint8_t s : m.ports)
    if (!port_state(s)) return "ports[]";
  return std::nullopt;
}

Bad invalid_field(const Meter& m) {
  if (!port_count(m.ports.size())) return "ports";
  bool seen[kMaxPorts + 1] = {};
  for (auto& p : m.ports) {
    if (!port(p.port)) return "ports[].port";
    if (seen[p.port]) return "ports[].port";   // one reading per port and record
    seen[p.port] = true;
  }
  return std::nullopt;
}

Bad invalid_field(const SessionEnd& m) {
  if (!port(m.port)) return "port";
  if (!end_reason(m.reason)) return "reason";
  return std::nullopt;
}

Bad invalid_field(const Card& m) {
  if (!card_uid(m.uid)) return "uid";
  if (!port(m.port)) return "port";
  return std::nullopt;
}

Bad invalid_field(const CardResp& m) {
  if (!result(Cmd::Card, m.result)) return "result";
  return std::nullopt;
}

Bad invalid_field(const Alarm& m) {
  if (!alarm_code(m.code)) return "code";
  if (!port_or_unit(m.port)) return "port";
  return std::nullopt;
}

Bad invalid_field(const OtaChunkReq& m) {
  if (!chunk_length(m.length)) return "length";
  return std::nullopt;
}

Bad invalid_field(const OtaChunk& m) {
  // The last chunk of an image may be short, but never empty: a request past the end gets no chunk.
  if (!chunk_length(static_cast<int64_t>(m.data.size()))) return "data";
  return std::nullopt;
}

Bad invalid_field(const OtaStatus& m) {
  if (!ota_status(m.status)) return "status";
  return std::nullopt;
}

Bad invalid_field(const StartCmd& m) {
  if (!start_mode(m.mode)) return "mode";
  return std::nullopt;
}

Bad invalid_field(const AdjustCmd& m) {
  if (!start_mode(m.mode)) return "mode";
  return std::nullopt;
}

Bad invalid_field(const QueryPortsResp& m) {
  if (!port_count(m.ports.size())) return "ports";
  for (auto& p : m.ports)
    if (!port_state(p.state)) return "ports[].state";
  return std::nullopt;
}

Bad invalid_field(const OtaOffer& m) {
  if (!chunk_length(m.chunk)) return "chunk";
  return std::nullopt;
}

}  // namespace chargehub::fields
