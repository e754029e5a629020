// The firmware package reader (ota/: what `chargehub-ota` reads and the core's upload accepts). On
// any text: nothing throws or crashes; a package it accepts, written back, reads as the same package;
// its base64 has one text per image (decode then encode gives the text back), so two different texts
// are never the same image; check() judges any accepted package without crashing.
//
// Input: the package text. Short inputs also go to the base64 decoder alone.
#include <cstdint>
#include <string>

#include "chargehub/encoding.hpp"
#include "check.hpp"
#include "chargehub/ota/firmware.hpp"

namespace fw = chargehub::firmware;
namespace json = boost::json;

namespace {
const fw::PublicKey& key() {
  static fw::PublicKey k = [] {
    fw::PrivateKey priv{};
    for (size_t i = 0; i < priv.size(); ++i) priv[i] = static_cast<uint8_t>(3 * i + 5);
    return fw::public_of(priv);
  }();
  return k;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  if (auto b = chargehub::encoding::base64_decode(text)) FUZZ_CHECK(chargehub::encoding::base64_encode(*b) == text);

  std::string why;
  auto p = fw::parse_package(text, &why, 1 << 16);
  if (!p) {
    FUZZ_CHECK(!why.empty());
    return 0;
  }
  fw::check(p->manifest, p->image, key());
  auto again = fw::parse_package(fw::package_to_json(*p), &why, 1 << 16);
  FUZZ_CHECK(again);
  FUZZ_CHECK(again->image == p->image);
  FUZZ_CHECK(json::serialize(fw::to_json(again->manifest)) == json::serialize(fw::to_json(p->manifest)));
  return 0;
}
