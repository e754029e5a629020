// chargehub-sim: simulated e-bike chargers. One charger (or a few on one serial line) from flags, or a
// whole fleet from a scenario file (`chargehub-sim fleet --scenario FILE`). See docs/firmware-sim.md.
#include <CLI/CLI.hpp>
#include <csignal>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include "chargehub/log.hpp"
#include "chargehub/config.hpp"
#include "chargehub/sim/crypto.hpp"
#include "chargehub/sim/scenario.hpp"
#include "fleet.hpp"
#include "host.hpp"

using namespace chargehub;
using namespace chargehub::sim;
using namespace chargehub::proto;

namespace {

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::pair<std::string, uint16_t> host_port(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) throw CLI::ValidationError("--bridge", "expected HOST:PORT");
  return {s.substr(0, colon), static_cast<uint16_t>(std::stoi(s.substr(colon + 1)))};
}

// "all", "none" or "1,3,5-7".
std::vector<int> parse_ports(const std::string& spec, int n) {
  std::vector<int> out;
  if (spec == "none") return out;
  if (spec == "all") {
    for (int i = 1; i <= n; ++i) out.push_back(i);
    return out;
  }
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    auto dash = item.find('-');
    int a = std::stoi(item.substr(0, dash));
    int b = dash == std::string::npos ? a : std::stoi(item.substr(dash + 1));
    for (int i = a; i <= b; ++i)
      if (i >= 1 && i <= n) out.push_back(i);
  }
  return out;
}

struct SingleOptions {
  std::string bridge, serial, mqtt;
  std::vector<std::string> devices{"861234567890123"};
  std::vector<std::string> tokens;
  std::string key_file, firmware_key_file;
  int model = 1;
  std::string fw = "1.0.0";
  double time_scale = 1;
  int64_t retry_ms = 5000;
  int64_t tick_ms = 20;
  std::string journal_dir;
  std::string plug_in = "all";
  std::string pack = "li48";
  double brick_a = 3.5;
  double soc_min = 0.3, soc_max = 0.8;
  uint64_t seed = 1;
  std::string faults, faults_in;
  double clock_skew_s = 0;
  double ambient_c = 25;
  bool ota_boot_fails = false;
  double duration = 0;
  bool quiet = false, frames = false;
  unsigned baud = 115200;
};

int run_single(const SingleOptions& o) {
  int transports = !o.bridge.empty() + !o.serial.empty() + !o.mqtt.empty();
  if (transports != 1) throw CLI::ValidationError("transport", "give exactly one of --bridge, --serial, --mqtt");
  if (o.devices.size() > 1 && o.serial.empty())
    throw CLI::ValidationError("--device", "several devices share only a serial line (--serial)");
  if (!o.tokens.empty() && o.tokens.size() != 1 && o.tokens.size() != o.devices.size())
    throw CLI::ValidationError("--token-hex", "give one token, or one per --device");
  std::signal(SIGPIPE, SIG_IGN);

  io::LogSink log;
  log.print = !o.quiet;
  log.frames = o.frames;
  io::Host host(o.time_scale, o.tick_ms);
  auto out_faults = o.faults.empty() ? FaultRates{} : parse_fault_rates(o.faults);
  auto in_faults = o.faults_in.empty() ? FaultRates{} : parse_fault_rates(o.faults_in);
  std::optional<std::array<uint8_t, 32>> priv, fwkey;
  if (!o.key_file.empty()) {
    priv = crypto::ed25519_private_from_pem(read_text(o.key_file));
    if (!priv) throw std::runtime_error(o.key_file + ": not an Ed25519 private key (PEM)");
  }
  if (!o.firmware_key_file.empty()) {
    fwkey = crypto::ed25519_public_from_pem(read_text(o.firmware_key_file));
    if (!fwkey) throw std::runtime_error(o.firmware_key_file + ": not an Ed25519 public key (PEM)");
  }
  auto fw = Version::parse(o.fw);
  if (!fw) throw CLI::ValidationError("--fw", "expected MAJOR.MINOR.PATCH");
  PackSpec pack = packs::by_name(o.pack);

  std::vector<io::Station*> stations;
  for (size_t i = 0; i < o.devices.size(); ++i) {
    auto id = parse_device_id(o.devices[i]);
    if (!id) throw CLI::ValidationError("--device", "'" + o.devices[i] + "' is not a device id (1-16 digits)");
    ChargerConfig cfg;
    cfg.device = *id;
    cfg.model = static_cast<Model>(o.model);
    cfg.fw = *fw;
    cfg.retry_ms = o.retry_ms;
    cfg.seed = o.seed + i;
    cfg.ambient_c = o.ambient_c;
    cfg.clock_skew_ms = static_cast<int64_t>(o.clock_skew_s * 1000);
    cfg.ota_boot_fails = o.ota_boot_fails;
    cfg.firmware_key = fwkey;
    if (priv) {
      cfg.auth_kind = AuthKind::Ed25519;
      cfg.private_key = *priv;
    } else {
      if (o.tokens.empty()) throw CLI::ValidationError("--token-hex", "give --token-hex or --key");
      cfg.token = from_hex(o.tokens.size() == 1 ? o.tokens[0] : o.tokens[i]);
      if (cfg.token.size() < 16 || cfg.token.size() > 64)
        throw CLI::ValidationError("--token-hex", "a token is 16 to 64 bytes (32 to 128 hex digits)");
    }
    std::unique_ptr<Journal> journal;
    if (!o.journal_dir.empty()) journal = std::make_unique<io::FileJournal>(o.journal_dir, cfg.device);
    else journal = std::make_unique<MemoryJournal>();
    auto& st = host.add_station(std::make_unique<io::Station>(cfg, std::move(journal), &log, out_faults, in_faults));
    std::mt19937_64 rng(cfg.seed);
    std::uniform_real_distribution<double> soc(o.soc_min, o.soc_max);
    for (int p : parse_ports(o.plug_in, st.charger().ports())) {
      double s0 = soc(rng);
      st.charger().plug(p, Load{pack, bricks::for_pack(pack, o.brick_a), s0});
    }
    stations.push_back(&st);
  }
  if (!o.bridge.empty()) {
    auto [h, p] = host_port(o.bridge);
    host.add_link(io::make_tcp_link(host.io(), host.clock(), *stations[0], [&] { io::TcpOptions t; t.host = h; t.port = p; return t; }()));
  } else if (!o.serial.empty()) {
    host.add_link(io::make_serial_link(host.io(), host.clock(), stations, o.serial, o.baud));
  } else {
    host.add_link(io::make_mqtt_link(host.io(), host.clock(), *stations[0], [&] { io::MqttOptions m; m.uri = o.mqtt; return m; }()));
  }
  int sig = host.run(o.duration);
  for (auto* s : stations) {
    auto& c = s->charger().counters();
    if (log.print)
      chargehub::log::info("charger.stopping", {{"device", s->charger().id_text()}, {"signal", sig}, {"sessions_started", c.sessions_started},
                                                {"sessions_ended", c.sessions_ended}, {"wh", static_cast<int64_t>(c.energy_wh)},
                                                {"frames_sent", c.frames_sent}, {"frames_received", c.frames_received},
                                                {"unacked_session_end", s->charger().nv().unacked.size()}});
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "chargehub-sim: simulated e-bike charging stations speaking the ChargeHub charger protocol.\n"
      "One charger (or several on one serial line) from flags, or a fleet from a scenario:\n"
      "  chargehub-sim --bridge 127.0.0.1:9000 --device 861234567890123 --token-hex 000102...0f --time-scale 600\n"
      "  chargehub-sim fleet --scenario examples/sim/fleet-small.json\n"
      "By default every port has a 48 V lithium e-bike plugged in, so a START from the server charges it."};
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  SingleOptions o;
  auto* tr = app.add_option_group("Transport (exactly one)");
  tr->add_option("--bridge", o.bridge, "Edge bridge to dial over TCP, HOST:PORT");
  tr->add_option("--serial", o.serial, "Serial device or pty shared by every --device (multi-drop)");
  tr->add_option("--mqtt", o.mqtt, "Native MQTT firmware: broker URI, e.g. tcp://127.0.0.1:1883");
  app.add_option("--baud", o.baud, "Serial speed")->capture_default_str();
  auto* id = app.add_option_group("Identity");
  id->add_option("--device", o.devices, "Device id (IMEI digits); repeat for several chargers on --serial")
      ->capture_default_str();
  id->add_option("--token-hex", o.tokens, "Device token in hex (auth_kind 1); one, or one per --device");
  id->add_option("--key", o.key_file, "Ed25519 private key PEM: log in with auth_kind 2 instead of a token")
      ->check(CLI::ExistingFile);
  id->add_option("--model", o.model, "1 ten-port scan, 2 touch card, 3 key card, 4 eight+two high-power, 5 twenty-port")
      ->check(CLI::Range(1, 5))->capture_default_str();
  id->add_option("--fw", o.fw, "Factory firmware version (the journal's wins once written)")->capture_default_str();
  auto* sim = app.add_option_group("Simulation");
  sim->add_option("--time-scale", o.time_scale, "Simulated seconds per real second (600: a full charge in seconds)")
      ->check(CLI::PositiveNumber)->capture_default_str();
  sim->add_option("--retry-ms", o.retry_ms, "Real ms before a frame that expects a response is sent again")
      ->check(CLI::Range(int64_t{10}, int64_t{600000}))->capture_default_str();
  sim->add_option("--journal-dir", o.journal_dir, "Keep the non-volatile journal in DIR/<device>.journal.json");
  sim->add_option("--plug-in", o.plug_in, "Ports with an e-bike plugged in at start: all, none, or a list like 1,3,5-7")
      ->capture_default_str();
  sim->add_option("--pack", o.pack, "Battery of the plugged e-bikes: li48 li60 li72 pb48 pb60 pb72")->capture_default_str();
  sim->add_option("--brick-a", o.brick_a, "Rated current of the riders' charger bricks, A")->capture_default_str();
  sim->add_option("--soc-min", o.soc_min, "Lowest initial state of charge (0..1)")->capture_default_str();
  sim->add_option("--soc-max", o.soc_max, "Highest initial state of charge (0..1)")->capture_default_str();
  sim->add_option("--seed", o.seed, "Seed of every random choice")->capture_default_str();
  sim->add_option("--ambient-c", o.ambient_c, "Ambient temperature, degrees C")->capture_default_str();
  sim->add_option("--firmware-key", o.firmware_key_file, "Platform firmware public key PEM (OTA signatures)");
  sim->add_flag("--ota-boot-fails", o.ota_boot_fails, "The next installed firmware fails to boot (rollback, status 5)");
  sim->add_option("--duration", o.duration, "Stop after this many real seconds (0: run until SIGINT/SIGTERM)");
  sim->add_option("--tick-ms", o.tick_ms, "Real ms between firmware ticks")->capture_default_str();
  auto* fl = app.add_option_group("Faults");
  fl->add_option("--faults", o.faults, "Outgoing frame faults: drop=P,dup=P,corrupt=P,delay=P,reorder=P,delay-ms=MS");
  fl->add_option("--faults-in", o.faults_in, "Incoming frame faults, same syntax");
  fl->add_option("--clock-skew-s", o.clock_skew_s, "Offset of the charger's clock, seconds");
  app.add_flag("--quiet,-q", o.quiet, "No event lines");
  app.add_flag("--frames", o.frames, "Log every frame in hex");

  FleetCli fleet_opts;
  auto* fleet = add_fleet_command(app, fleet_opts);
  // Logs (docs/operations.md, "Logs"): charger events and errors as structured lines on stderr.
  chargehub::log::set_program("sim");
  chargehub::log::add_cli_flags(app);
  chargehub::log::add_cli_flags(*fleet);

  chargehub::config::add_config_option(app);   // --config FILE: every flag above (docs/packages.md)
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    if (fleet->parsed()) return run_fleet(fleet_opts);
    return run_single(o);
  } catch (const CLI::Error& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    chargehub::log::error("sim.failed", {{"error", e.what()}});
    return 1;
  }
}
