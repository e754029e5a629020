// The charger's non-volatile memory: what survives a reboot or a power loss. The firmware saves it at
// the points a real charger writes flash (session start, each meter checkpoint, session end, ack,
// parameter change, each OTA chunk); a power loss loses everything since the last save.
//
//   MemoryJournal j;            // survives simulated reboots inside one process (fleet mode, tests)
//   FileJournal f{dir, id};     // <dir>/<device id>.journal.json, written atomically (io library)
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "chargehub/messages.hpp"

namespace chargehub::sim {

struct OtaNv {
  proto::OtaOffer offer;
  proto::Bytes image;          // bytes received so far (the last good offset is image.size())
  bool deferred = false;       // accepted as "busy": pull once no port charges
  bool installing = false;     // image installed, boot of the new version pending
};

struct NvState {
  proto::Version fw{1, 0, 0};
  proto::Version prev_fw{1, 0, 0};
  proto::Params params;
  uint32_t next_local_session = 1;
  uint64_t next_record = 1;
  struct Record { uint64_t id = 0; proto::SessionEnd end; };
  std::vector<Record> unacked;            // SESSION_END records not yet answered
  std::vector<proto::SessionEnd> active;  // checkpoints of charging sessions (reason 0)
  std::optional<OtaNv> ota;
  std::optional<proto::OtaStatus> ota_report;   // OTA_STATUS to send after the next login (3 or 5)
};

std::string to_json(const NvState& s);
std::optional<NvState> nv_from_json(std::string_view text);

class Journal {
 public:
  virtual ~Journal() = default;
  virtual void save(const NvState& s) = 0;
  virtual std::optional<NvState> load() = 0;
};

class MemoryJournal : public Journal {
 public:
  void save(const NvState& s) override { saved_ = s; ++saves_; }
  std::optional<NvState> load() override { return saved_; }
  uint64_t saves() const { return saves_; }

 private:
  std::optional<NvState> saved_;
  uint64_t saves_ = 0;
};

}  // namespace chargehub::sim
