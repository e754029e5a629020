// Little-endian byte writer and bounds-checked reader used by the frame codecs (internal).
#pragma once
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace chargehub::proto::detail {

class Writer {
 public:
  Writer& u8(uint8_t v) { out.push_back(v); return *this; }
  Writer& u16(uint16_t v) { return u8(v & 0xFF).u8(v >> 8); }
  Writer& u32(uint32_t v) { return u16(v & 0xFFFF).u16(v >> 16); }
  Writer& u64(uint64_t v) { return u32(static_cast<uint32_t>(v)).u32(static_cast<uint32_t>(v >> 32)); }
  Writer& i16(int16_t v) { return u16(static_cast<uint16_t>(v)); }
  Writer& i32(int32_t v) { return u32(static_cast<uint32_t>(v)); }
  Writer& raw(std::span<const uint8_t> b) { out.insert(out.end(), b.begin(), b.end()); return *this; }
  std::vector<uint8_t> out;
};

// Every read past the end sets failed(); callers check ok() once at the end.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> b) : b_(b) {}
  uint8_t u8() { return need(1) ? b_[p_++] : 0; }
  uint16_t u16() { uint16_t lo = u8(); return static_cast<uint16_t>(lo | (u8() << 8)); }
  uint32_t u32() { uint32_t lo = u16(); return lo | (static_cast<uint32_t>(u16()) << 16); }
  uint64_t u64() { uint64_t lo = u32(); return lo | (static_cast<uint64_t>(u32()) << 32); }
  int16_t i16() { return static_cast<int16_t>(u16()); }
  int32_t i32() { return static_cast<int32_t>(u32()); }
  std::vector<uint8_t> raw(size_t n) {
    if (!need(n)) return {};
    std::vector<uint8_t> v(b_.begin() + p_, b_.begin() + p_ + n);
    p_ += n;
    return v;
  }
  template <size_t N>
  void into(uint8_t (&dst)[N]) { if (need(N)) { std::memcpy(dst, b_.data() + p_, N); p_ += N; } }
  size_t remaining() const { return failed_ ? 0 : b_.size() - p_; }
  bool ok() const { return !failed_; }
  // True when everything was read and nothing is left over.
  bool done() const { return !failed_ && p_ == b_.size(); }

 private:
  bool need(size_t n) {
    if (failed_ || b_.size() - p_ < n) { failed_ = true; return false; }
    return true;
  }
  std::span<const uint8_t> b_;
  size_t p_ = 0;
  bool failed_ = false;
};

}  // namespace chargehub::proto::detail
