// Every message body of frames.md: a body that decodes re-encodes to exactly the same bytes, and
// decodes again; the layout-only decoder accepts whatever decode accepts, and decode accepts exactly
// the layouts whose values keep the field rules (fields.hpp).
//
// Input: one byte that picks the body's type, then the body.
#include <cstdint>
#include <type_traits>
#include <utility>

#include "check.hpp"
#include "chargehub/fields.hpp"
#include "chargehub/messages.hpp"

using namespace chargehub;
using namespace chargehub::proto;

namespace {

template <class T>
void round_trip(ByteView body) {
  auto d = T::decode(body);
  if (d) {
    auto e = d->encode();
    FUZZ_CHECK(Bytes(body.begin(), body.end()) == e);
    auto d2 = T::decode(e);
    FUZZ_CHECK(d2 && d2->encode() == e);
  }
  if constexpr (requires { T::decode_layout(std::declval<ByteView>()); }) {
    auto l = T::decode_layout(body);
    FUZZ_CHECK(!d || l);
    if (l) {
      FUZZ_CHECK(Bytes(body.begin(), body.end()) == l->encode());
      bool rules = fields::valid(*l);
      if constexpr (std::is_same_v<T, Login>)
        rules = rules && fields::login_auth(static_cast<uint8_t>(l->auth_kind), l->auth.size());
      FUZZ_CHECK(rules == d.has_value());
    }
  }
}

using Fn = void (*)(ByteView);
constexpr Fn kTypes[] = {
    round_trip<Login>,       round_trip<LoginResp>,   round_trip<Heartbeat>,  round_trip<ServerTime>,
    round_trip<Meter>,       round_trip<SessionEnd>,  round_trip<Result>,     round_trip<Card>,
    round_trip<CardResp>,    round_trip<Alarm>,       round_trip<OtaChunkReq>, round_trip<OtaChunk>,
    round_trip<OtaStatus>,   round_trip<StartCmd>,    round_trip<StopCmd>,    round_trip<QueryPortsResp>,
    round_trip<Params>,      round_trip<RebootCmd>,   round_trip<AdjustCmd>,  round_trip<LocateCmd>,
    round_trip<OtaOffer>,
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 1 + kMaxBody) return 0;
  kTypes[data[0] % std::size(kTypes)](ByteView(data + 1, size - 1));
  return 0;
}
