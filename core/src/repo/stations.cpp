#include "repo/stations.hpp"

#include <boost/json.hpp>

namespace chargehub::core {

namespace {
namespace json = boost::json;
constexpr const char* kCols = "id, agent_id, name, address, lat_e6, lng_e6, open_hours, photos, created_at, updated_at";

std::string photos_text(const std::vector<std::string>& photos) {
  json::array a;
  for (const auto& p : photos) a.emplace_back(p);
  return json::serialize(a);
}

std::vector<std::string> photos_of(const std::string& text) {
  std::vector<std::string> out;
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_array()) return out;   // written only by photos_text; a hand-edited row shows none
  for (const auto& e : v.as_array())
    if (e.is_string()) out.emplace_back(e.get_string());
  return out;
}

StationRow row(const sql::Stmt& st) {
  return StationRow{st.i64(0),     st.opt_i64(1), st.text(2),          st.text(3), st.opt_i64(4),
                    st.opt_i64(5), st.text(6),    photos_of(st.text(7)), st.i64(8),  st.i64(9)};
}
}  // namespace

int64_t StationRepo::insert(const StationRow& s) {
  auto st = db_.prepare(
      "INSERT INTO station (agent_id, name, address, lat_e6, lng_e6, open_hours, photos, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?) "
      "RETURNING id");
  st.args(s.agent_id, s.name, s.address, s.lat_e6, s.lng_e6, s.open_hours, photos_text(s.photos), s.created_at, s.updated_at);
  st.step();
  int64_t id = st.i64(0);
  st.reset();
  return id;
}

std::optional<StationRow> StationRepo::get(const Scope& scope, int64_t id) {
  auto st = db_.prepare(std::string("SELECT ") + kCols + " FROM station WHERE id = ?1 AND " + scope_sql("agent_id", 2));
  st.bind(1, id).bind(2, scope.bind());
  if (!st.step()) return std::nullopt;
  return row(st);
}

Page<StationRow> StationRepo::list(const Scope& scope, const StationQuery& q, const PageRequest& p) {
  const std::string where = " FROM station WHERE " + scope_sql("agent_id", 1) +
                            " AND (CAST(?2 AS TEXT) IS NULL OR name LIKE ?2 ESCAPE '\\' OR address LIKE ?2 ESCAPE '\\') "
                            "AND (CAST(?3 AS BIGINT) IS NULL OR agent_id = ?3)";
  std::optional<std::string> like;
  if (q.q) like = "%" + like_escape(*q.q) + "%";
  auto bind = [&](sql::Stmt& st) { st.bind(1, scope.bind()).bind(2, like).bind(3, q.agent_id); };
  Page<StationRow> out;
  {
    auto st = db_.prepare("SELECT count(*)" + where);
    bind(st);
    if (st.step()) out.total = st.i64(0);
  }
  std::string order = p.sort == "name" || p.sort == "created_at" ? p.sort : "id";
  std::string dir = p.desc ? " DESC" : "";
  auto st = db_.prepare(std::string("SELECT ") + kCols + where + " ORDER BY " + order + dir + ", id" + dir + " LIMIT ?4 OFFSET ?5");
  bind(st);
  st.bind(4, p.size).bind(5, p.offset());
  while (st.step()) out.items.push_back(row(st));
  return out;
}

void StationRepo::update(const StationRow& s) {
  db_.prepare("UPDATE station SET name = ?, address = ?, lat_e6 = ?, lng_e6 = ?, open_hours = ?, photos = ?, updated_at = ? WHERE id = ?")
      .args(s.name, s.address, s.lat_e6, s.lng_e6, s.open_hours, photos_text(s.photos), s.updated_at, s.id)
      .run();
}

void StationRepo::remove(int64_t id) {
  // Deleted devices may still name it (their rows stay for the records): they let go first.
  db_.prepare("UPDATE device SET station_id = NULL WHERE station_id = ? AND deleted_at IS NOT NULL").args(id).run();
  db_.prepare("DELETE FROM station WHERE id = ?").args(id).run();
}

int64_t StationRepo::device_count(int64_t id) {
  auto st = db_.prepare("SELECT count(*) FROM device WHERE station_id = ? AND deleted_at IS NULL");
  st.args(id);
  return st.step() ? st.i64(0) : 0;
}

void StationRepo::move(int64_t id, std::optional<int64_t> agent_id, int64_t now) {
  db_.prepare("UPDATE station SET agent_id = ?, updated_at = ? WHERE id = ?").args(agent_id, now, id).run();
  db_.prepare("UPDATE device SET agent_id = ? WHERE station_id = ?").args(agent_id, id).run();
}

std::optional<Placement> StationRepo::placement(const Scope& scope, const std::string& device_id) {
  auto st = db_.prepare("SELECT id, station_id, agent_id FROM device WHERE id = ?1 AND deleted_at IS NULL AND " + scope_sql("agent_id", 2));
  st.bind(1, device_id).bind(2, scope.bind());
  if (!st.step()) return std::nullopt;
  return Placement{st.text(0), st.opt_i64(1), st.opt_i64(2)};
}

void StationRepo::place(const Placement& p) {
  db_.prepare("UPDATE device SET station_id = ?, agent_id = ? WHERE id = ?").args(p.station_id, p.agent_id, p.device_id).run();
}

}  // namespace chargehub::core
