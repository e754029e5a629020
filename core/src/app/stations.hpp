// Stations and where devices stand (issue 17, docs/agents.md "Stations" and "Moving things"): creating,
// editing and deleting stations, moving a station (with its devices) to another agent, and assigning
// devices in a batch to a station or an agent. Every id outside the caller's scope is refused as if it did
// not exist (404, never 403).
//
//   auto s = app.stations.create(Scope::agent(7), NewStation{"西湖文化广场站", ...}, now);
//   auto n = app.stations.assign(scope, {"861234567890123"}, Target{.station_id = s->id}, now);
//
// What a station's fields must be (checked here, named by the refusal bad_station):
//   name        1 to 64 characters (UTF-8; the API refuses anything else)
//   address     at most 200 characters
//   lat_e6/lng_e6  both or neither; GCJ-02 microdegrees within China's bounding box, latitude 3..54 °N,
//               longitude 73..136 °E (a swapped pair or a WGS-84 value from elsewhere is caught; an
//               offset within China is not: GCJ-02 cannot be checked without the map)
//   open_hours  at most 64 characters, e.g. "00:00-24:00" or "07:00-22:00"
//   photos      at most 9 (a mini-program's gallery), each an http:// or https:// URL of at most 1000
//               bytes without spaces
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "chargehub/result.hpp"
#include "repo/page.hpp"
#include "repo/scope.hpp"
#include "repo/stations.hpp"

namespace chargehub::core {

struct Repos;

struct NewStation {
  std::string name, address;
  std::optional<int64_t> lat_e6, lng_e6;
  std::string open_hours;
  std::vector<std::string> photos;
  std::optional<int64_t> agent_id;   // none: the caller's own agent (the platform for the platform's callers)
};

struct StationChange {
  std::optional<std::string> name, address, open_hours;
  std::optional<int64_t> lat_e6, lng_e6;   // both together
  bool clear_location = false;             // both set to none
  std::optional<std::vector<std::string>> photos;
};

// Where assign() puts devices: at a station (which gives them its agent), or to an agent.
struct Target {
  std::optional<int64_t> station_id, agent_id;
};

class Stations {
 public:
  explicit Stations(Repos& r) : r_(r) {}
  // Refusals: bad_station, agent_not_found (outside the scope).
  Result<StationRow> create(const Scope& scope, const NewStation& n, int64_t now);
  std::optional<StationRow> get(const Scope& scope, int64_t id);
  Page<StationRow> list(const Scope& scope, const StationQuery& q, const PageRequest& p);
  // Refusals: station_not_found, bad_station.
  Result<StationRow> update(const Scope& scope, int64_t id, const StationChange& c, int64_t now);
  // Returns the station as it was. Refusals: station_not_found, station_in_use (devices are placed there).
  Result<StationRow> remove(const Scope& scope, int64_t id);
  // The station and every device placed there to another agent (none: the platform, for the platform's
  // callers only). Sessions already running keep their agent; past income stays where it was booked.
  // Refusals: station_not_found, agent_not_found, bad_target (an agent moving a station to the platform).
  Result<StationRow> move(const Scope& scope, int64_t id, std::optional<int64_t> agent_id, int64_t now);
  // Every device, all or none: at the station (taking its agent), or to the agent (leaving a station
  // that is not that agent's). Returns the placements as they are afterwards. Refusals: bad_target
  // (neither or both, or no devices), device_not_found (with the id), station_not_found,
  // agent_not_found.
  Result<std::vector<Placement>> assign(const Scope& scope, const std::vector<std::string>& device_ids, const Target& t, int64_t now);

 private:
  Repos& r_;
};

}  // namespace chargehub::core
