#include "fleet.hpp"
namespace chargehub::sim {
CLI::App* add_fleet_command(CLI::App& app, FleetCli& o) {
  auto* f = app.add_subcommand("fleet", "Run a fleet of chargers from a scenario file (JSON)");
  f->add_option("--scenario", o.scenario, "Scenario file")->required();
  return f;
}
int run_fleet(const FleetCli&) { return 1; }
}  // namespace chargehub::sim
