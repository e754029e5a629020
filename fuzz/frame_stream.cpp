// The frame stream decoder (frames.md, Frame): whatever the bytes and however a link cuts them into
// reads, it returns the same frames with the same counts; every frame it returns re-encodes to bytes
// that decode to that frame; a bounded decoder never holds more than its bound.
//
// Input: one byte that seeds the read sizes, then the stream.
#include <cstdint>
#include <vector>

#include "check.hpp"
#include "chargehub/frame.hpp"

using namespace chargehub::proto;

namespace {
std::vector<Frame> drain(FrameDecoder& d) {
  std::vector<Frame> out;
  while (auto f = d.next()) out.push_back(std::move(*f));
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  uint32_t x = data[0] | 0x100u;
  std::span<const uint8_t> stream(data + 1, size - 1);

  FrameDecoder whole(1 << 20);
  whole.feed(stream);
  auto expected = drain(whole);

  FrameDecoder cut(1 << 20);
  FrameDecoder bounded(64);
  std::vector<Frame> got;
  for (size_t i = 0; i < stream.size();) {
    x = x * 1103515245u + 12345u;
    size_t n = std::min<size_t>(1 + (x >> 16) % 48, stream.size() - i);
    cut.feed(stream.subspan(i, n));
    for (auto& f : drain(cut)) got.push_back(std::move(f));
    bounded.feed(stream.subspan(i, n));
    FUZZ_CHECK(bounded.buffered() <= 64);
    drain(bounded);
    FUZZ_CHECK(bounded.buffered() <= 64);
    i += n;
  }
  FUZZ_CHECK(got == expected);
  FUZZ_CHECK(cut.stats().frames == whole.stats().frames);
  FUZZ_CHECK(cut.stats().bad_frames == whole.stats().bad_frames);
  FUZZ_CHECK(cut.stats().dropped_bytes == whole.stats().dropped_bytes);
  FUZZ_CHECK(cut.buffered() == whole.buffered());

  for (auto& f : expected) {
    FUZZ_CHECK(f.body.size() <= kMaxBody);
    auto wire = encode_frame(f);
    FrameDecoder again;
    again.feed(wire);
    auto g = again.next();
    FUZZ_CHECK(g && *g == f);
    FUZZ_CHECK(!again.next() && again.buffered() == 0 && again.stats().bad_frames == 0);
  }
  return 0;
}
