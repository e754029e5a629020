#include "reports.hpp"

namespace chargehub::core {

namespace json = boost::json;

std::optional<payloads::Ack> ReportRepo::processed(const std::string& msg) {
  auto st = db_.prepare("SELECT ack FROM processed_msg WHERE msg = ?");
  st.args(msg);
  if (!st.step()) return std::nullopt;
  auto v = payloads::parse_json(st.text(0));
  if (v)
    if (auto a = payloads::parse_ack(*v)) return a;
  return payloads::Ack{msg, 0, std::nullopt};
}

void ReportRepo::record(const std::string& msg, const std::string& device_id, const std::string& kind, const payloads::Ack& ack,
                        int64_t now) {
  db_.prepare("INSERT INTO processed_msg (msg, device_id, kind, ack, created_at) VALUES (?, ?, ?, ?, ?)")
      .args(msg, device_id, kind, json::serialize(payloads::ack(ack)), now)
      .run();
}

void ReportRepo::insert_alarm(const std::string& msg, const std::string& device_id, const proto::Alarm& a, int64_t now) {
  db_.prepare("INSERT INTO alarm (msg, device_id, code, port, value, created_at, occurrences, last_at, last_msg) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?6, ?1) ON CONFLICT DO NOTHING")
      .args(msg, device_id, int64_t{a.code}, int64_t{a.port}, int64_t{a.value}, now)
      .run();
}

std::optional<rules::AlarmRecord> ReportRepo::latest_alarm(const std::string& device_id, int64_t code, int64_t port) {
  auto st = db_.prepare("SELECT id, last_at, msg, last_msg FROM alarm WHERE device_id = ? AND code = ? AND port = ? "
                        "ORDER BY id DESC LIMIT 1");
  st.args(device_id, code, port);
  if (!st.step()) return std::nullopt;
  return rules::AlarmRecord{st.i64(0), st.i64(1), st.text(2), st.text(3)};
}

void ReportRepo::merge_alarm(int64_t id, const std::string& msg, const proto::Alarm& a, int64_t now) {
  // A copy of a msg that started a row (an older one) is not counted again.
  db_.prepare("UPDATE alarm SET occurrences = occurrences + 1, last_at = greatest(last_at, CAST(?1 AS BIGINT)), "
              "last_msg = ?2, value = ?3 WHERE id = ?4 AND NOT EXISTS (SELECT 1 FROM alarm a2 WHERE a2.msg = ?2)")
      .args(now, msg, int64_t{a.value}, id)
      .run();
}

std::vector<AlarmRow> ReportRepo::alarms(const std::string& device_id, int64_t limit) {
  auto st = db_.prepare("SELECT id, code, port, value, created_at, occurrences, last_at FROM alarm WHERE device_id = ? "
                        "ORDER BY id DESC LIMIT ?");
  st.args(device_id, limit);
  std::vector<AlarmRow> out;
  while (st.step())
    out.push_back(AlarmRow{st.i64(0), st.i64(1), st.i64(2), st.i64(3), st.i64(4), st.i64(5), st.i64(6)});
  return out;
}

}  // namespace chargehub::core
