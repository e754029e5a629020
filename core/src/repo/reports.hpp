// Charger reports that must be processed exactly once (session_end, card, alarm), by their msg, with the
// ack they got: a copy of a report gets the same ack again and changes nothing.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "chargehub/payloads.hpp"
#include "chargehub/rules/alarms.hpp"
#include "db/db.hpp"

namespace chargehub::core {

struct AlarmRow {
  int64_t id = 0, code = 0, port = 0, value = 0, created_at = 0;
  int64_t occurrences = 1, last_at = 0;   // repeats collapse into one row (rules::alarm_dedup)
};

class ReportRepo {
 public:
  explicit ReportRepo(sql::Db& db) : db_(db) {}
  // The ack a report with this msg got, if it was processed.
  std::optional<payloads::Ack> processed(const std::string& msg);
  void record(const std::string& msg, const std::string& device_id, const std::string& kind, const payloads::Ack& ack, int64_t now);

  // Alarms: one row per condition (rules::alarm_dedup decides), its first msg unique.
  std::optional<rules::AlarmRecord> latest_alarm(const std::string& device_id, int64_t code, int64_t port);
  void insert_alarm(const std::string& msg, const std::string& device_id, const proto::Alarm& a, int64_t now);
  void merge_alarm(int64_t id, const std::string& msg, const proto::Alarm& a, int64_t now);
  std::vector<AlarmRow> alarms(const std::string& device_id, int64_t limit);   // newest first

 private:
  sql::Db& db_;
};

}  // namespace chargehub::core
