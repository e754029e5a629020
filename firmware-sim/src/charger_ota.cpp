// The simulated charger's firmware updates (OTA): checking an offer's signature, pulling the image in
// chunks, verifying and switching on reboot. The rest of the charger model is in charger.cpp.
#include "chargehub/sim/charger.hpp"
#include "chargehub/sim/crypto.hpp"

namespace chargehub::sim {
using namespace chargehub::proto;

uint8_t Charger::do_ota_offer(ByteView body, const Now& now) {
  auto o = OtaOffer::decode(body);
  if (!o) return 3;
  if (o->version == nv_.fw) return 2;
  if (o->size == 0 || o->size > cfg_.max_image || o->chunk == 0) return 3;
  Bytes signed_msg(o->sha256.begin(), o->sha256.end());
  signed_msg.insert(signed_msg.end(), {o->version.major, o->version.minor, o->version.patch});
  if (!cfg_.firmware_key || !crypto::ed25519_verify(*cfg_.firmware_key, signed_msg, o->signature)) {
    emit(Event::Ota, 0, 0, 3, 0, "ota: offer " + o->version.text() + " rejected (bad signature)");
    return 3;
  }
  bool busy = any_charging();
  if (nv_.ota && nv_.ota->offer.version == o->version && nv_.ota->offer.sha256 == o->sha256) {
    return busy && nv_.ota->deferred ? 1 : 0;   // the same offer again: keep what we have
  }
  nv_.ota = OtaNv{*o, {}, busy, false};
  ota_last_report_ = 0;
  save();
  emit(Event::Ota, 0, 0, busy ? 1 : 0, o->size,
       "ota: offer " + o->version.text() + " (" + std::to_string(o->size) + " bytes) " +
           (busy ? "accepted later (busy)" : "accepted"));
  return busy ? 1 : 0;
}

void Charger::ota_pull(const Now& now) {
  auto& o = *nv_.ota;
  uint32_t off = static_cast<uint32_t>(o.image.size());
  uint16_t len = static_cast<uint16_t>(std::min<uint32_t>({o.offer.chunk, 1000u, o.offer.size - off}));
  if (off == 0) ota_status(static_cast<uint8_t>(OtaState::Downloading), 0, now);
  ota_requesting_ = true;
  send(Cmd::OtaChunkReq, OtaChunkReq{off, len}.encode(), now);
}

void Charger::ota_status(uint8_t status, uint32_t bytes, const Now& now) {
  if (!nv_.ota) return;
  send(Cmd::OtaStatus, OtaStatus{nv_.ota->offer.version, status, bytes}.encode(), now);
}

void Charger::ota_chunk(const OtaChunk& c, const Now& now) {
  if (!nv_.ota || nv_.ota->installing) return;
  auto& o = *nv_.ota;
  if (c.offset != o.image.size() || c.data.empty() || c.offset + c.data.size() > o.offer.size) return;
  o.image.insert(o.image.end(), c.data.begin(), c.data.end());
  save();
  auto bytes = static_cast<uint32_t>(o.image.size());
  if (bytes < o.offer.size) {
    if (bytes - ota_last_report_ >= o.offer.size / 10 + 1) {
      ota_last_report_ = bytes;
      ota_status(static_cast<uint8_t>(OtaState::Downloading), bytes, now);
    }
    ota_pull(now);
    return;
  }
  auto sha = crypto::sha256(o.image);
  if (sha != o.offer.sha256) {
    emit(Event::Ota, 0, 0, 4, bytes, "ota: image " + o.offer.version.text() + " failed verification");
    ota_status(static_cast<uint8_t>(OtaState::VerifyFailed), bytes, now);
    nv_.ota.reset();
    save();
    return;
  }
  emit(Event::Ota, 0, 0, 2, bytes, "ota: image " + o.offer.version.text() + " downloaded and verified");
  ota_status(static_cast<uint8_t>(OtaState::Verified), bytes, now);
}

void Charger::emit(Event::Kind k, int port, uint32_t session, int reason, int64_t value, std::string text) {
  out_.event(Event{k, port, session, reason, value, std::move(text)});
}

}  // namespace chargehub::sim
