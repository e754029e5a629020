// Fleet mode: thousands of chargers from a scenario file on one event loop.
#pragma once
#include <CLI/CLI.hpp>
#include <string>

namespace chargehub::sim {

struct FleetCli {
  std::string scenario;
  std::string bridge;        // overrides the scenario's transport
  double duration = -1;      // real seconds; overrides
  double time_scale = -1;    // overrides
  int count = -1;            // overrides the total count (scales the groups)
  bool verbose = false;
  std::string summary_json;  // write the summary here too
};
CLI::App* add_fleet_command(CLI::App& app, FleetCli& o);
int run_fleet(const FleetCli& o);

}  // namespace chargehub::sim
