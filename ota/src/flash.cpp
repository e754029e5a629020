#include "chargehub/ota/flash.hpp"

#include <ctime>

namespace chargehub::flash {

using namespace proto;

int exit_code(Outcome o) {
  switch (o) {
    case Outcome::Installed: case Outcome::AlreadyOnVersion: return 0;
    case Outcome::Rejected: return 3;
    case Outcome::Incompatible: return 4;
    case Outcome::VerifyFailed: return 5;
    case Outcome::RolledBack: return 6;
    case Outcome::NoAnswer: return 7;
    case Outcome::Running: return 7;
  }
  return 1;
}

std::string_view outcome_name(Outcome o) {
  switch (o) {
    case Outcome::Running: return "running";
    case Outcome::Installed: return "installed";
    case Outcome::AlreadyOnVersion: return "already_on_version";
    case Outcome::Rejected: return "rejected";
    case Outcome::Incompatible: return "incompatible";
    case Outcome::VerifyFailed: return "verify_failed";
    case Outcome::RolledBack: return "rolled_back";
    case Outcome::NoAnswer: return "no_answer";
  }
  return "?";
}

std::string_view phase_name(Phase p) {
  switch (p) {
    case Phase::WaitingForLogin: return "waiting for the charger to log in";
    case Phase::Offered: return "offered";
    case Phase::Busy: return "busy (a port is charging)";
    case Phase::Downloading: return "downloading";
    case Phase::Installing: return "installing and rebooting";
    case Phase::Done: return "done";
  }
  return "?";
}

FlashRun::FlashRun(firmware::Package pkg, Options opt) : pkg_(std::move(pkg)), opt_(opt) {}

std::vector<std::string> FlashRun::take_events() {
  std::vector<std::string> e;
  e.swap(events_);
  return e;
}

void FlashRun::finish(Outcome o, std::string msg) {
  outcome_ = o;
  message_ = std::move(msg);
  phase_ = Phase::Done;
  pending_offer_.reset();
}

std::vector<Frame> FlashRun::offer(int64_t now_ms) {
  OtaOffer o;
  o.version = pkg_.manifest.version;
  o.size = pkg_.manifest.size;
  o.sha256 = pkg_.manifest.sha256;
  o.signature = pkg_.manifest.signature;
  o.chunk = 1000;
  pending_offer_ = Frame{*device_, ++seq_, Cmd::OtaOffer, 0, o.encode()};
  offer_attempts_ = 1;
  offer_next_ms_ = now_ms + opt_.retry_ms;
  phase_ = Phase::Offered;
  event("offering " + pkg_.manifest.version.text() + " (" + std::to_string(pkg_.manifest.size) + " bytes)");
  return {*pending_offer_};
}

std::vector<Frame> FlashRun::on_tick(int64_t now_ms) {
  if (!pending_offer_ || now_ms < offer_next_ms_) return {};
  if (offer_attempts_ > opt_.retries) {
    finish(Outcome::NoAnswer, "the charger never answered the offer");
    return {};
  }
  ++offer_attempts_;
  offer_next_ms_ = now_ms + opt_.retry_ms;
  return {*pending_offer_};
}

std::vector<Frame> FlashRun::on_frame(const Frame& f, int64_t now_ms) {
  std::vector<Frame> out;
  if (opt_.device && f.device != opt_.device) return out;          // another charger on the bus
  if (device_ && f.device != *device_) return out;                   // we serve one charger
  uint32_t now_s = static_cast<uint32_t>(std::time(nullptr));

  if (f.is_response()) {
    if (f.cmd != Cmd::OtaOffer || !pending_offer_ || f.seq != pending_offer_->seq) return out;
    pending_offer_.reset();
    auto r = Result::decode(f.body);
    int res = r ? r->result : 3;
    if (res == 0) {
      phase_ = Phase::Downloading;
      event("offer accepted");
    } else if (res == 1) {
      phase_ = Phase::Busy;
      event("the charger is busy (a port is charging); it pulls the image once no port charges");
    } else if (res == 2) {
      finish(Outcome::AlreadyOnVersion, "the charger already runs " + pkg_.manifest.version.text());
    } else {
      finish(Outcome::Rejected,
             "the charger rejected the offer (bad signature or size): is it provisioned with the platform key that signed "
             "this package?");
    }
    return out;
  }

  switch (f.cmd) {
    case Cmd::Login: {
      auto l = Login::decode(f.body);
      out.push_back(make_response(f, LoginResp{LoginResult::Ok, now_s, opt_.heartbeat_s}.encode()));
      if (!l) return out;
      bool first = !device_;
      device_ = f.device;
      fw_ = l->fw;
      event("charger " + device_id_text(f.device) + " logged in: model " + std::to_string(l->model) + ", fw " + l->fw.text());
      if (phase_ == Phase::Installing || (!first && phase_ != Phase::WaitingForLogin)) {
        // After its reboot: the new version is success (OTA_STATUS 3 or 5 follows and is final).
        if (l->fw == pkg_.manifest.version) finish(Outcome::Installed, "the charger booted " + l->fw.text());
        return out;
      }
      if (phase_ != Phase::WaitingForLogin) return out;
      if (l->fw == pkg_.manifest.version) {
        finish(Outcome::AlreadyOnVersion, "the charger already runs " + l->fw.text());
        return out;
      }
      if (!opt_.force && l->model != pkg_.manifest.model) {
        finish(Outcome::Incompatible, "the package is for model " + std::to_string(pkg_.manifest.model) +
                                          ", the charger is model " + std::to_string(l->model) + " (--force to offer anyway)");
        return out;
      }
      if (!opt_.force && l->fw < pkg_.manifest.min_from) {
        finish(Outcome::Incompatible, "the package upgrades from " + pkg_.manifest.min_from.text() + " or later; the charger runs " +
                                          l->fw.text() + " (--force to offer anyway)");
        return out;
      }
      auto o = offer(now_ms);
      out.insert(out.end(), o.begin(), o.end());
      return out;
    }
    case Cmd::Heartbeat:
      out.push_back(make_response(f, ServerTime{now_s}.encode()));
      return out;
    case Cmd::Alarm: {
      out.push_back(make_response(f, {}));
      if (auto a = Alarm::decode(f.body))
        event("alarm " + std::to_string(a->code) + " on port " + std::to_string(a->port) + ", value " + std::to_string(a->value));
      return out;
    }
    case Cmd::SessionEnd:
      if (!told_session_end_) {
        told_session_end_ = true;
        event("the charger holds session records; they are left for the platform (not acknowledged here)");
      }
      return out;
    case Cmd::OtaChunkReq: {
      auto r = OtaChunkReq::decode(f.body);
      if (!r || r->offset >= pkg_.image.size()) return out;
      if (phase_ == Phase::Offered || phase_ == Phase::Busy) {
        pending_offer_.reset();
        phase_ = Phase::Downloading;
      }
      uint32_t len = std::min<uint32_t>({r->length, 1000u, static_cast<uint32_t>(pkg_.image.size()) - r->offset});
      OtaChunk c{r->offset, Bytes(pkg_.image.begin() + r->offset, pkg_.image.begin() + r->offset + len)};
      out.push_back(make_response(f, c.encode()));
      bytes_ = std::max(bytes_, r->offset + len);
      return out;
    }
    case Cmd::OtaStatus: {
      out.push_back(make_response(f, {}));
      auto s = OtaStatus::decode(f.body);
      if (!s || s->version != pkg_.manifest.version) return out;
      switch (static_cast<OtaState>(s->status)) {
        case OtaState::Downloading:
          if (phase_ == Phase::Offered || phase_ == Phase::Busy) phase_ = Phase::Downloading;
          break;
        case OtaState::Verified:
          bytes_ = pkg_.manifest.size;
          phase_ = Phase::Installing;
          event("image verified by the charger; it installs and reboots");
          break;
        case OtaState::Installed:
          finish(Outcome::Installed, "the charger booted " + s->version.text());
          break;
        case OtaState::VerifyFailed:
          finish(Outcome::VerifyFailed, "the charger's SHA-256 of the downloaded image did not match; nothing was installed");
          break;
        case OtaState::RolledBack:
          finish(Outcome::RolledBack, "the new image failed to boot; the charger rolled back to its previous firmware");
          break;
      }
      return out;
    }
    default:
      return out;   // METER needs no answer; CARD is left unanswered (the rider tries again later)
  }
}

}  // namespace chargehub::flash
