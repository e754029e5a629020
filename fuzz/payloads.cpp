// The JSON side on its own: parse_json and every payload parser on any text, and topics::parse on any
// topic. Nothing throws or crashes; a document parse_json accepts serialises to text it accepts again
// as the same value (no `Infinity`); a topic it accepts is the one the builders make.
//
// Input: the topic, a newline, then the payload.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "check.hpp"
#include "chargehub/payloads.hpp"
#include "chargehub/topics.hpp"

using namespace chargehub;
namespace json = boost::json;
namespace pl = chargehub::payloads;

namespace {

// Equal values, but doubles only to their last bits: Boost.JSON 1.81 reads decimal text to the nearest
// double or one next to it (its fast, "imprecise" mode), so text -> double -> text -> double may move
// by an ulp. Integers, strings and structure must be exact. (The payloads take no doubles at all.)
bool same(const json::value& a, const json::value& b) {
  if (a.is_double() && b.is_double()) {
    double x = a.get_double(), y = b.get_double();
    return x == y || std::fabs(x - y) <= 4 * std::numeric_limits<double>::epsilon() * std::fabs(x);
  }
  if (a.is_number() && b.is_number()) return a == b;   // int64 and uint64 of one value are equal
  if (a.kind() != b.kind()) return false;
  if (a.is_array()) {
    auto &p = a.get_array(), &q = b.get_array();
    if (p.size() != q.size()) return false;
    for (size_t i = 0; i < p.size(); ++i)
      if (!same(p[i], q[i])) return false;
    return true;
  }
  if (a.is_object()) {
    auto &p = a.get_object(), &q = b.get_object();
    if (p.size() != q.size()) return false;
    for (auto& kv : p) {
      auto* w = q.if_contains(kv.key());
      if (!w || !same(kv.value(), *w)) return false;
    }
    return true;
  }
  return a == b;
}

void topic(std::string_view t) {
  auto p = topics::parse(t);
  if (!p) return;
  FUZZ_CHECK(proto::parse_device_id(p->device));
  std::string rebuilt = p->dir == topics::Direction::Status ? topics::status(p->device)
                        : p->dir == topics::Direction::Up   ? topics::up_topic(p->device, p->kind)
                                                            : topics::down_topic(p->device, p->kind);
  FUZZ_CHECK(rebuilt == t);
}

// What a parser accepts, written back by its writer, parses to the same JSON again.
template <class T, class Parse, class ToJson>
void stable(const json::value& v, Parse parse, ToJson to_json) {
  std::optional<T> x = parse(v);
  if (!x) return;
  auto text = json::serialize(to_json(*x));
  auto again = pl::parse_json(text);
  FUZZ_CHECK(again);
  auto y = parse(*again);
  FUZZ_CHECK(y);
  FUZZ_CHECK(same(json::value(to_json(*y)), *again));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto nl = in.find('\n');
  if (nl != std::string_view::npos) {
    topic(in.substr(0, nl));
    in.remove_prefix(nl + 1);
  } else {
    topic(in);
  }

  auto v = pl::parse_json(in);
  if (!v) return 0;
  auto text = json::serialize(*v);
  auto again = pl::parse_json(text);
  FUZZ_CHECK(again);
  FUZZ_CHECK(same(*again, *v));

  using namespace chargehub::proto;
  stable<Login>(*v, pl::parse_boot, [](auto& x) { return pl::boot(x); });
  stable<Heartbeat>(*v, pl::parse_heartbeat, [](auto& x) { return pl::heartbeat(x); });
  stable<Meter>(*v, pl::parse_meter, [](auto& x) { return pl::meter(x); });
  stable<SessionEnd>(*v, pl::parse_session_end, [](auto& x) { return pl::session_end(x, "m"); });
  stable<Card>(*v, pl::parse_card, [](auto& x) { return pl::card(x, "m"); });
  stable<Alarm>(*v, pl::parse_alarm, [](auto& x) { return pl::alarm(x, "m"); });
  stable<OtaStatus>(*v, pl::parse_ota_status, [](auto& x) { return pl::ota_status(x); });
  stable<OtaChunkReq>(*v, pl::parse_ota_chunk_req, [](auto& x) { return pl::ota_chunk_req(x, "m"); });
  stable<pl::Command>(*v, pl::parse_command, [](auto& x) { return pl::command(x); });
  stable<pl::Ack>(*v, pl::parse_ack, [](auto& x) { return pl::ack(x); });
  if (auto c = pl::parse_command(*v)) pl::command_to_frame(*c);
  return 0;
}
