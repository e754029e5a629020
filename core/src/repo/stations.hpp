// Stations (issue 17, docs/agents.md "Stations") and where devices stand: the station's rows and the
// device's placement columns (device.station_id, device.agent_id; the rest of the device is DeviceRepo's).
// Rows only: the rules are in app/stations.cpp. Every method that loads or lists takes the caller's Scope.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/db.hpp"
#include "repo/page.hpp"
#include "repo/scope.hpp"

namespace chargehub::core {

struct StationRow {
  int64_t id = 0;
  std::optional<int64_t> agent_id;   // none: run by the platform
  std::string name, address;
  std::optional<int64_t> lat_e6, lng_e6;   // GCJ-02, microdegrees
  std::string open_hours;
  std::vector<std::string> photos;   // URLs (stored as a JSON array)
  int64_t created_at = 0, updated_at = 0;
};

struct StationQuery {
  std::optional<std::string> q;          // in the name or address
  std::optional<int64_t> agent_id;
};

// Where a device stands and whose it is.
struct Placement {
  std::string device_id;
  std::optional<int64_t> station_id, agent_id;
};

class StationRepo {
 public:
  explicit StationRepo(sql::Db& db) : db_(db) {}
  int64_t insert(const StationRow& s);   // returns its id
  std::optional<StationRow> get(const Scope& scope, int64_t id);
  // Sort keys: id (default), name, created_at.
  Page<StationRow> list(const Scope& scope, const StationQuery& q, const PageRequest& p);
  void update(const StationRow& s);      // everything but agent_id and created_at
  void remove(int64_t id);
  int64_t device_count(int64_t id);      // live devices placed there
  // The station and its devices to another agent (none: the platform).
  void move(int64_t id, std::optional<int64_t> agent_id, int64_t now);

  // A live device's placement, when the device is within the scope (its agent's).
  std::optional<Placement> placement(const Scope& scope, const std::string& device_id);
  void place(const Placement& p);

 private:
  sql::Db& db_;
};

}  // namespace chargehub::core
