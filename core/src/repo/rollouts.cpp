#include "rollouts.hpp"

#include "chargehub/payloads.hpp"

namespace chargehub::core {

namespace json = boost::json;

namespace {
constexpr const char* kRolloutCols =
    "id, firmware_id, target_kind, target, stages, stage, max_failure_pct, max_concurrent, failed_accepted, state, "
    "pause_reason, created_by, created_at, updated_at, finished_at";
constexpr const char* kDeviceCols =
    "rollout_id, device_id, seq, stage, state, from_fw, bytes, command_id, offer_result, attempts, error, offered_at, "
    "updated_at, finished_at";

std::string nm(RolloutState s) { return std::string(name(s)); }
std::string nm(RolloutDeviceState s) { return std::string(name(s)); }
template <class S>
std::string in_list(const std::vector<S>& states) {
  std::vector<std::string_view> names;
  for (auto s : states) names.push_back(name(s));
  return sql_in_list(names);
}

std::vector<int> stages_from(const std::string& text) {
  std::vector<int> out;
  auto v = payloads::parse_json(text);
  if (v && v->is_array())
    for (auto& x : v->get_array())
      if (x.is_int64()) out.push_back(static_cast<int>(x.get_int64()));
  return out;
}

RolloutRow read_rollout(sql::Stmt& st) {
  RolloutRow r;
  r.id = st.i64(0);
  r.firmware_id = st.i64(1);
  r.target_kind = st.text(2);
  r.target = payloads::parse_json(st.text(3)).value_or(json::value(nullptr));
  r.stages = stages_from(st.text(4));
  r.stage = static_cast<int>(st.i64(5));
  r.max_failure_pct = static_cast<int>(st.i64(6));
  r.max_concurrent = static_cast<int>(st.i64(7));
  r.failed_accepted = st.i64(8);
  r.state = parse_rollout_state(st.text(9)).value_or(RolloutState::Paused);
  r.pause_reason = st.opt_text(10);
  r.created_by = st.text(11);
  r.created_at = st.i64(12);
  r.updated_at = st.i64(13);
  r.finished_at = st.opt_i64(14);
  return r;
}

RolloutDeviceRow read_device(sql::Stmt& st) {
  RolloutDeviceRow d;
  d.rollout_id = st.i64(0);
  d.device_id = st.text(1);
  d.seq = st.i64(2);
  d.stage = st.opt_i64(3);
  d.state = parse_rollout_device_state(st.text(4)).value_or(RolloutDeviceState::Failed);
  d.from_fw = st.opt_text(5);
  d.bytes = st.i64(6);
  d.command_id = st.opt_text(7);
  d.offer_result = st.opt_i64(8);
  d.attempts = st.i64(9);
  d.error = st.opt_text(10);
  d.offered_at = st.opt_i64(11);
  d.updated_at = st.i64(12);
  d.finished_at = st.opt_i64(13);
  return d;
}

std::map<RolloutDeviceState, int64_t> read_counts(sql::Stmt& st) {
  std::map<RolloutDeviceState, int64_t> out;
  while (st.step())
    if (auto s = parse_rollout_device_state(st.text(0))) out[*s] += st.i64(1);
  return out;
}
}  // namespace

// ---- rollouts ----

int64_t RolloutRepo::next_id() {
  auto st = db_.prepare("SELECT coalesce(max(id), 0) + 1 FROM rollout");
  return st.step() ? st.i64(0) : 1;
}

int64_t RolloutRepo::insert(const NewRollout& r, int64_t now) {
  json::array stages;
  for (int p : r.stages) stages.push_back(p);
  auto st = db_.prepare(
      "INSERT INTO rollout (firmware_id, target_kind, target, stages, stage, max_failure_pct, max_concurrent, state, "
      "pause_reason, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, 0, ?, ?, ?, NULL, ?, ?, ?) RETURNING id");
  st.args(r.firmware_id, r.target_kind, json::serialize(r.target), json::serialize(stages), int64_t{r.max_failure_pct},
          int64_t{r.max_concurrent}, nm(r.state), r.created_by, now, now);
  st.step();
  return st.i64(0);
}

std::optional<RolloutRow> RolloutRepo::get(int64_t id) {
  std::optional<RolloutRow> r;
  {
    auto st = db_.prepare(std::string("SELECT ") + kRolloutCols + " FROM rollout WHERE id = ?");
    st.args(id);
    if (!st.step()) return std::nullopt;
    r = read_rollout(st);
  }
  // Every state, 0 when none (Cancelled is the last of the enum; states.hpp has no list of all states).
  for (size_t i = 0; i <= static_cast<size_t>(RolloutDeviceState::Cancelled); ++i) r->counts[static_cast<RolloutDeviceState>(i)] = 0;
  auto c = db_.prepare("SELECT state, count(*) FROM rollout_device WHERE rollout_id = ? GROUP BY state");
  c.args(id);
  for (auto& [s, n] : read_counts(c)) {
    r->counts[s] = n;
    r->total += n;
  }
  return r;
}

std::vector<int64_t> RolloutRepo::newest_ids(int64_t limit) {
  auto st = db_.prepare("SELECT id FROM rollout ORDER BY id DESC LIMIT ?");
  st.args(limit);
  std::vector<int64_t> ids;
  while (st.step()) ids.push_back(st.i64(0));
  return ids;
}

std::vector<int64_t> RolloutRepo::ids_to_watch(RolloutState state, const std::vector<RolloutState>& waiting,
                                               const std::vector<RolloutDeviceState>& devices) {
  auto st = db_.prepare("SELECT id FROM rollout r WHERE state = ? OR (state IN (" + in_list(waiting) +
                        ") AND EXISTS (SELECT 1 FROM rollout_device rd WHERE rd.rollout_id = r.id AND rd.state IN (" +
                        in_list(devices) + "))) ORDER BY id");
  st.args(nm(state));
  std::vector<int64_t> ids;
  while (st.step()) ids.push_back(st.i64(0));
  return ids;
}

void RolloutRepo::pause(int64_t id, const std::string& reason, int64_t now) {
  db_.prepare("UPDATE rollout SET state = ?, pause_reason = ?, updated_at = ? WHERE id = ?")
      .args(nm(RolloutState::Paused), reason, now, id)
      .run();
}

void RolloutRepo::resume(int64_t id, int64_t failed_accepted, int64_t now) {
  db_.prepare("UPDATE rollout SET state = ?, pause_reason = NULL, failed_accepted = ?, updated_at = ? WHERE id = ?")
      .args(nm(RolloutState::Running), failed_accepted, now, id)
      .run();
}

void RolloutRepo::cancel(int64_t id, const std::string& reason, int64_t now) {
  db_.prepare("UPDATE rollout SET state = ?, pause_reason = ?, updated_at = ?, finished_at = ? WHERE id = ?")
      .args(nm(RolloutState::Cancelled), reason, now, now, id)
      .run();
}

void RolloutRepo::complete(int64_t id, int64_t now) {
  db_.prepare("UPDATE rollout SET state = ?, updated_at = ?, finished_at = ? WHERE id = ?")
      .args(nm(RolloutState::Completed), now, now, id)
      .run();
}

void RolloutRepo::next_stage(int64_t id, int64_t now) {
  db_.prepare("UPDATE rollout SET stage = stage + 1, failed_accepted = 0, updated_at = ? WHERE id = ?").args(now, id).run();
}

// ---- its devices ----

void RolloutRepo::insert_device(const RolloutDeviceRow& d) {
  db_.prepare("INSERT INTO rollout_device (rollout_id, device_id, seq, state, from_fw, error, updated_at, finished_at) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
      .args(d.rollout_id, d.device_id, d.seq, nm(d.state), d.from_fw, d.error, d.updated_at, d.finished_at)
      .run();
}

std::optional<RolloutDeviceState> RolloutRepo::device_state(int64_t rollout_id, const std::string& device_id) {
  auto st = db_.prepare("SELECT state FROM rollout_device WHERE rollout_id = ? AND device_id = ?");
  st.args(rollout_id, device_id);
  if (!st.step()) return std::nullopt;
  return parse_rollout_device_state(st.text(0)).value_or(RolloutDeviceState::Failed);
}

std::optional<int64_t> RolloutRepo::seq_of(int64_t rollout_id, const std::string& device_id) {
  auto st = db_.prepare("SELECT seq FROM rollout_device WHERE rollout_id = ? AND device_id = ?");
  st.args(rollout_id, device_id);
  if (!st.step()) return std::nullopt;
  return st.i64(0);
}

std::vector<RolloutDeviceRow> RolloutRepo::devices(int64_t rollout_id, std::optional<RolloutDeviceState> state, int64_t after_seq,
                                                   int64_t limit) {
  std::string sql = std::string("SELECT ") + kDeviceCols + " FROM rollout_device WHERE rollout_id = ? AND seq > ? ";
  auto st = db_.prepare(sql + (state ? "AND state = ? ORDER BY seq LIMIT ?" : "ORDER BY seq LIMIT ?"));
  if (state) st.args(rollout_id, after_seq, nm(*state), limit);
  else st.args(rollout_id, after_seq, limit);
  std::vector<RolloutDeviceRow> out;
  while (st.step()) out.push_back(read_device(st));
  return out;
}

std::map<RolloutDeviceState, int64_t> RolloutRepo::stage_counts(int64_t rollout_id, int64_t stage) {
  auto st = db_.prepare("SELECT state, count(*) FROM rollout_device WHERE rollout_id = ? AND stage = ? GROUP BY state");
  st.args(rollout_id, stage);
  return read_counts(st);
}

int64_t RolloutRepo::count_with_stage(int64_t rollout_id, RolloutDeviceState state) {
  auto st = db_.prepare("SELECT count(*) FROM rollout_device WHERE rollout_id = ? AND state = ? AND stage IS NOT NULL");
  st.args(rollout_id, nm(state));
  return st.step() ? st.i64(0) : 0;
}

std::vector<RolloutDeviceRow> RolloutRepo::awaiting_reply(int64_t rollout_id, RolloutDeviceState state) {
  auto st = db_.prepare(std::string("SELECT ") + kDeviceCols +
                        " FROM rollout_device WHERE rollout_id = ? AND state = ? AND offer_result IS NULL AND command_id IS NOT NULL "
                        "ORDER BY seq");
  st.args(rollout_id, nm(state));
  std::vector<RolloutDeviceRow> out;
  while (st.step()) out.push_back(read_device(st));
  return out;
}

bool RolloutRepo::has_command(int64_t rollout_id, const std::string& device_id, RolloutDeviceState state, const std::string& command_id) {
  auto st = db_.prepare("SELECT 1 FROM rollout_device WHERE rollout_id = ? AND device_id = ? AND state = ? AND command_id = ?");
  st.args(rollout_id, device_id, nm(state), command_id);
  return st.step();
}

std::optional<LatestOffer> RolloutRepo::latest_offer(const std::string& device_id, const std::vector<RolloutDeviceState>& states) {
  auto st = db_.prepare(
      "SELECT rd.rollout_id, r.firmware_id, rd.state FROM rollout_device rd JOIN rollout r ON r.id = rd.rollout_id "
      "WHERE rd.device_id = ? AND (rd.state IN (" + in_list(states) + ") OR (rd.state = ? AND rd.offered_at IS NOT NULL)) "
      "ORDER BY rd.offered_at DESC LIMIT 1");
  st.args(device_id, nm(RolloutDeviceState::Pending));
  if (!st.step()) return std::nullopt;
  return LatestOffer{st.i64(0), st.i64(1), parse_rollout_device_state(st.text(2)).value_or(RolloutDeviceState::Failed)};
}

void RolloutRepo::set_state(int64_t rollout_id, const std::string& device_id, RolloutDeviceState state,
                            const std::optional<std::string>& error, std::optional<int64_t> bytes, std::optional<int64_t> finished_at,
                            int64_t now) {
  db_.prepare("UPDATE rollout_device SET state = ?, error = coalesce(CAST(? AS TEXT), error), bytes = coalesce(CAST(? AS BIGINT), bytes), "
              "finished_at = coalesce(CAST(? AS BIGINT), finished_at), updated_at = ? WHERE rollout_id = ? AND device_id = ?")
      .args(nm(state), error, bytes, finished_at, now, rollout_id, device_id)
      .run();
}

void RolloutRepo::release(int64_t rollout_id, const std::string& device_id, RolloutDeviceState state,
                          const std::optional<std::string>& error, std::optional<int64_t> finished_at, int64_t now) {
  db_.prepare("UPDATE rollout_device SET state = ?, error = coalesce(CAST(? AS TEXT), error), "
              "finished_at = coalesce(CAST(? AS BIGINT), finished_at), command_id = NULL, updated_at = ? "
              "WHERE rollout_id = ? AND device_id = ?")
      .args(nm(state), error, finished_at, now, rollout_id, device_id)
      .run();
}

void RolloutRepo::set_offer_result(int64_t rollout_id, const std::string& device_id, int64_t result, int64_t now) {
  db_.prepare("UPDATE rollout_device SET offer_result = ?, updated_at = ? WHERE rollout_id = ? AND device_id = ?")
      .args(result, now, rollout_id, device_id)
      .run();
}

void RolloutRepo::set_offer_result_if_none(int64_t rollout_id, const std::string& device_id, int64_t result) {
  db_.prepare("UPDATE rollout_device SET offer_result = coalesce(offer_result, CAST(? AS BIGINT)) WHERE rollout_id = ? AND device_id = ?")
      .args(result, rollout_id, device_id)
      .run();
}

void RolloutRepo::mark_offered(int64_t rollout_id, const std::string& device_id, RolloutDeviceState state, int64_t stage,
                               const std::optional<std::string>& from_fw, int64_t now) {
  db_.prepare("UPDATE rollout_device SET state = ?, stage = coalesce(stage, CAST(? AS BIGINT)), command_id = NULL, offer_result = NULL, "
              "attempts = attempts + 1, from_fw = coalesce(CAST(? AS TEXT), from_fw), offered_at = ?, updated_at = ? "
              "WHERE rollout_id = ? AND device_id = ?")
      .args(nm(state), stage, from_fw, now, now, rollout_id, device_id)
      .run();
}

void RolloutRepo::set_command(int64_t rollout_id, const std::string& device_id, const std::string& command_id) {
  db_.prepare("UPDATE rollout_device SET command_id = ? WHERE rollout_id = ? AND device_id = ?").args(command_id, rollout_id, device_id).run();
}

void RolloutRepo::finish_all(int64_t rollout_id, RolloutDeviceState from, RolloutDeviceState to, int64_t now) {
  db_.prepare("UPDATE rollout_device SET state = ?, updated_at = ?, finished_at = ? WHERE rollout_id = ? AND state = ?")
      .args(nm(to), now, now, rollout_id, nm(from))
      .run();
}

// ---- reads that join the device and port tables ----

std::vector<OfferCandidate> RolloutRepo::offer_candidates(int64_t rollout_id, RolloutDeviceState pending, int64_t busy,
                                                          const std::vector<RolloutDeviceState>& elsewhere, int64_t limit) {
  auto st = db_.prepare(
      "SELECT rd.device_id, d.model, d.fw FROM rollout_device rd JOIN device d ON d.id = rd.device_id "
      "WHERE rd.rollout_id = ? AND rd.state = ? AND d.online = 1 AND d.enabled = 1 AND d.deleted_at IS NULL "
      "AND NOT EXISTS (SELECT 1 FROM port p WHERE p.device_id = d.id AND p.state = ?) "
      "AND NOT EXISTS (SELECT 1 FROM rollout_device o WHERE o.device_id = rd.device_id AND o.rollout_id != rd.rollout_id "
      "AND o.state IN (" + in_list(elsewhere) + ")) "
      "ORDER BY rd.stage IS NULL, rd.seq LIMIT ?");
  st.args(rollout_id, nm(pending), busy, limit);
  std::vector<OfferCandidate> out;
  while (st.step()) out.push_back(OfferCandidate{st.text(0), st.opt_i64(1), st.opt_text(2)});
  return out;
}

std::vector<RolloutDeviceRow> RolloutRepo::offline_since(int64_t rollout_id, const std::vector<RolloutDeviceState>& states, int64_t before) {
  auto st = db_.prepare(std::string("SELECT ") + kDeviceCols + " FROM rollout_device WHERE rollout_id = ? AND state IN (" +
                        in_list(states) + ") AND updated_at < ? AND device_id IN (SELECT id FROM device WHERE online = 0) ORDER BY seq");
  st.args(rollout_id, before);
  std::vector<RolloutDeviceRow> out;
  while (st.step()) out.push_back(read_device(st));
  return out;
}

}  // namespace chargehub::core
