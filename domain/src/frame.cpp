#include "chargehub/frame.hpp"

#include <stdexcept>

#include "bytes.hpp"
#include "chargehub/fields.hpp"

namespace chargehub::proto {

bool is_known_cmd(uint8_t c) {
  switch (c) {
    case 0x01: case 0x02: case 0x03: case 0x04: case 0x05: case 0x06:
    case 0x10: case 0x11: case 0x12: case 0x13: case 0x14: case 0x15: case 0x16: case 0x17:
    case 0x20: case 0x21: case 0x22:
      return true;
    default:
      return false;
  }
}

std::string_view cmd_name(Cmd c) {
  switch (c) {
    case Cmd::Login: return "login";
    case Cmd::Heartbeat: return "heartbeat";
    case Cmd::Meter: return "meter";
    case Cmd::SessionEnd: return "session_end";
    case Cmd::Card: return "card";
    case Cmd::Alarm: return "alarm";
    case Cmd::Start: return "start";
    case Cmd::Stop: return "stop";
    case Cmd::QueryPorts: return "query_ports";
    case Cmd::SetParams: return "set_params";
    case Cmd::GetParams: return "get_params";
    case Cmd::Reboot: return "reboot";
    case Cmd::Adjust: return "adjust";
    case Cmd::Locate: return "locate";
    case Cmd::OtaOffer: return "ota_offer";
    case Cmd::OtaChunkReq: return "ota_chunk_req";
    case Cmd::OtaStatus: return "ota_status";
  }
  return "unknown";
}

std::string device_id_text(DeviceId id) { return std::to_string(id); }

std::optional<DeviceId> parse_device_id(std::string_view text) {
  if (text.empty() || text.size() > 16) return std::nullopt;
  DeviceId v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<DeviceId>(c - '0');
  }
  if (!fields::device_id(v) || text[0] == '0') return std::nullopt;  // one text form per id
  return v;
}

uint16_t crc16_modbus(std::span<const uint8_t> data) {
  uint16_t crc = 0xFFFF;
  for (uint8_t b : data) {
    crc ^= b;
    for (int i = 0; i < 8; ++i) crc = (crc & 1) ? static_cast<uint16_t>((crc >> 1) ^ 0xA001) : crc >> 1;
  }
  return crc;
}

namespace {
void put_bcd(std::vector<uint8_t>& out, DeviceId id) {
  uint8_t digits[16];
  for (int i = 15; i >= 0; --i) {
    digits[i] = static_cast<uint8_t>(id % 10);
    id /= 10;
  }
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>((digits[2 * i] << 4) | digits[2 * i + 1]));
}

std::optional<DeviceId> get_bcd(const uint8_t* p) {
  DeviceId v = 0;
  for (int i = 0; i < 8; ++i) {
    uint8_t hi = p[i] >> 4, lo = p[i] & 0x0F;
    if (hi > 9 || lo > 9) return std::nullopt;
    v = v * 100 + hi * 10 + lo;
  }
  return v;
}
}  // namespace

std::vector<uint8_t> encode_frame(const Frame& f) {
  if (f.body.size() > kMaxBody) throw std::invalid_argument("frame body over 1024 bytes");
  if (!fields::device_id(f.device)) throw std::invalid_argument("device id not 1 to 16 digits");
  detail::Writer w;
  w.out.reserve(kHeaderSize + f.body.size() + 2);
  w.u8(kMagic0).u8(kMagic1).u16(static_cast<uint16_t>(13 + f.body.size())).u8(kVersion);
  put_bcd(w.out, f.device);
  w.u16(f.seq).u8(static_cast<uint8_t>(f.cmd)).u8(f.flags).raw(f.body);
  uint16_t crc = crc16_modbus(std::span(w.out).subspan(2));
  w.u16(crc);
  return std::move(w.out);
}

Frame make_response(const Frame& req, std::vector<uint8_t> body) {
  return Frame{req.device, req.seq, req.cmd, kFlagResp, std::move(body)};
}

bool FrameDecoder::feed(std::span<const uint8_t> bytes) {
  // Compact consumed bytes before growing.
  if (pos_ > 0 && (pos_ > 4096 || pos_ == buf_.size())) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ = 0;
  }
  buf_.insert(buf_.end(), bytes.begin(), bytes.end());
  if (buffered() > max_buffer_) {
    size_t excess = buffered() - max_buffer_;
    drop(excess);
    return false;
  }
  return true;
}

void FrameDecoder::drop(size_t n) {
  pos_ += n;
  stats_.dropped_bytes += n;
}

std::optional<Frame> FrameDecoder::next() {
  while (buffered() >= 2) {
    const uint8_t* p = buf_.data() + pos_;
    size_t avail = buffered();
    if (p[0] != kMagic0 || p[1] != kMagic1) {
      drop(1);
      continue;
    }
    if (avail < 5) return std::nullopt;
    size_t len = static_cast<size_t>(p[2]) | (static_cast<size_t>(p[3]) << 8);
    if (len < kMinLen || len > kMaxLen || p[4] != kVersion) {
      ++stats_.bad_frames;
      drop(1);
      continue;
    }
    // The rest of the header is judged as soon as it is here, not once the whole frame is: noise that
    // looks like a magic and a long len would otherwise hold up the good frames behind it until up
    // to 1 KiB more bytes arrived, which on a quiet serial line can take minutes.
    if (avail < kHeaderSize) return std::nullopt;
    auto device = get_bcd(p + 5);
    if (!device || !fields::device_id(*device) || !is_known_cmd(p[15]) || (p[16] & ~kFlagResp) != 0) {
      ++stats_.bad_frames;
      drop(1);
      continue;
    }
    size_t total = 4 + len + 2;
    if (avail < total) return std::nullopt;
    uint16_t crc = static_cast<uint16_t>(p[4 + len] | (p[5 + len] << 8));
    if (crc != crc16_modbus(std::span(p + 2, len + 2))) {
      ++stats_.bad_frames;
      drop(1);
      continue;
    }
    Frame f;
    f.device = *device;
    f.seq = static_cast<uint16_t>(p[13] | (p[14] << 8));
    f.cmd = static_cast<Cmd>(p[15]);
    f.flags = p[16];
    f.body.assign(p + kHeaderSize, p + 4 + len);
    pos_ += total;
    ++stats_.frames;
    return f;
  }
  return std::nullopt;
}

std::vector<uint8_t> from_hex(std::string_view hex) {
  std::vector<uint8_t> out;
  int hi = -1;
  for (char c : hex) {
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else if (c == ' ' || c == '\n' || c == '\t' || c == '\r') continue;
    else throw std::invalid_argument("bad hex digit");
    if (hi < 0) hi = v;
    else {
      out.push_back(static_cast<uint8_t>(hi << 4 | v));
      hi = -1;
    }
  }
  if (hi >= 0) throw std::invalid_argument("odd number of hex digits");
  return out;
}

std::string to_hex(std::span<const uint8_t> bytes, bool spaced) {
  static const char* d = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 3);
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (spaced && i) s.push_back(' ');
    s.push_back(d[bytes[i] >> 4]);
    s.push_back(d[bytes[i] & 15]);
  }
  return s;
}

}  // namespace chargehub::proto
