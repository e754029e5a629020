// Direct flashing (`chargehub-ota flash`): the server side of the frame protocol for one charger on an
// installer's serial line or TCP link. Pure: frames in, frames out, time passed in; the program supplies
// the link (asio) and draws the progress bar.
//
//   flash::FlashRun s(pkg, {});
//   for each frame f from the link:  for (auto& out : s.on_frame(f, now_ms)) link.send(out);
//   every 100 ms:                    for (auto& out : s.on_tick(now_ms)) link.send(out);
//   s.done() -> s.outcome(), s.exit_code(), s.message()
//
// It answers LOGIN (any credentials: the installer holds the charger), HEARTBEAT, ALARM, OTA_STATUS and
// OTA_CHUNK_REQ; it sends OTA_OFFER once the charger has logged in and retries it (same seq) every 5 s,
// at most 3 times. It never answers SESSION_END or CARD: those records stay in the charger until it
// reaches the platform again, so no money is lost while it is flashed.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "chargehub/frame.hpp"
#include "chargehub/messages.hpp"
#include "chargehub/ota/firmware.hpp"

namespace chargehub::flash {

struct Options {
  proto::DeviceId device = 0;      // flash only this charger (0: the first that logs in)
  bool force = false;              // offer even if model or min_from do not match the manifest
  uint16_t heartbeat_s = 60;       // told to the charger in the LOGIN response
  int64_t retry_ms = 5000;
  int retries = 3;
};

enum class Outcome {
  Running,
  Installed,          // the charger booted the new version                      exit 0
  AlreadyOnVersion,   // nothing to do                                          exit 0
  Rejected,           // OTA_OFFER result 3: bad signature or size              exit 3
  Incompatible,       // other model, or older than min_from (without --force)  exit 4
  VerifyFailed,       // OTA_STATUS 4                                           exit 5
  RolledBack,         // OTA_STATUS 5                                           exit 6
  NoAnswer,           // the offer was never answered                           exit 7
};
int exit_code(Outcome o);
std::string_view outcome_name(Outcome o);

enum class Phase { WaitingForLogin, Offered, Busy, Downloading, Installing, Done };
std::string_view phase_name(Phase p);

// One flash run: flashing one charger over one link, from its LOGIN to the outcome.
class FlashRun {
 public:
  FlashRun(firmware::Package pkg, Options opt);

  std::vector<proto::Frame> on_frame(const proto::Frame& f, int64_t now_ms);
  std::vector<proto::Frame> on_tick(int64_t now_ms);

  bool done() const { return phase_ == Phase::Done; }
  Phase phase() const { return phase_; }
  Outcome outcome() const { return outcome_; }
  int exit_code() const { return flash::exit_code(outcome_); }
  const std::string& message() const { return message_; }
  uint32_t bytes() const { return bytes_; }                  // highest offset served so far
  uint32_t size() const { return pkg_.manifest.size; }
  std::optional<proto::DeviceId> device() const { return device_; }
  std::optional<proto::Version> charger_fw() const { return fw_; }
  // Notable events for the log ("charger 8612… logged in: model 1, fw 1.0.0"), drained by the caller.
  std::vector<std::string> take_events();

 private:
  std::vector<proto::Frame> offer(int64_t now_ms);
  void finish(Outcome o, std::string msg);
  void event(std::string e) { events_.push_back(std::move(e)); }

  firmware::Package pkg_;
  Options opt_;
  Phase phase_ = Phase::WaitingForLogin;
  Outcome outcome_ = Outcome::Running;
  std::string message_;
  std::optional<proto::DeviceId> device_;
  std::optional<proto::Version> fw_;
  uint16_t seq_ = 0x4000;
  std::optional<proto::Frame> pending_offer_;
  int64_t offer_next_ms_ = 0;
  int offer_attempts_ = 0;
  uint32_t bytes_ = 0;
  bool told_session_end_ = false;
  std::vector<std::string> events_;
};

}  // namespace chargehub::flash
