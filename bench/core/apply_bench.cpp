// How fast the core applies fleet messages, without the broker: heartbeat and meter messages handed
// to Service::on_messages in bursts of 500 (or [burst]), as the MQTT adapter does, on a real database.
// Prints the rate and the CPU per message (user + system), which is comparable on a busy machine.
//   build/bin/core_apply_bench [devices] [messages] [burst] [sqlite | postgresql | <database URL>]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "bench_db.hpp"
#include "service.hpp"
#include "testsupport.hpp"

using namespace chargehub;
using namespace chargehub::core;
using Clock = std::chrono::steady_clock;

namespace {
struct Null : Publisher {
  uint64_t n = 0;
  bool publish(const std::string&, const std::string&, int, bool) override { return ++n, true; }
};
}  // namespace

int main(int argc, char** argv) {
  int devices = argc > 1 ? std::atoi(argv[1]) : 2000;
  int messages = argc > 2 ? std::atoi(argv[2]) : 200000;
  size_t burst = argc > 3 ? size_t(std::atoi(argv[3])) : 500;
  auto cpu = [] {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  };
  chargehub::testing::TempDir dir("apply-bench");
  BenchDb bdb(argc > 4 ? argv[4] : "sqlite", dir);
  App app(bdb.db());
  std::printf("database: %s\n", bdb.what().c_str());
  Null pub;
  Service svc(app, pub);
  auto rider = app.wallets.create_rider(chargehub::core::Scope::platform(), "bench", "", svc.now());
  app.wallets.topup(chargehub::core::Scope::platform(), rider.id, 10'000'000, 0, "", svc.now());
  std::vector<std::pair<std::string, int64_t>> devs;
  for (int d = 0; d < devices; ++d) {
    std::string id = std::to_string(862000000000000LL + d);
    app.devices.create(NewDevice{id, "", 20, 5, std::string(64, 'a'), {}}, svc.now());
    app.devices.online(id, true, svc.now());
    auto t = svc.start_session(chargehub::core::Scope::platform(), OpenRequest{id, 1, rider.id, 500, false, 0, Origin{"bench", "operator"}});
    devs.emplace_back(id, t->session.id);
  }
  auto wal_mib = [&] {
    std::error_code ec;
    auto n = std::filesystem::file_size(dir / "core.db-wal", ec);
    return ec ? 0.0 : n / 1048576.0;
  };
  std::printf("setup: %d devices with a session each; SQLite WAL %.1f MiB\n", devices, wal_mib());
  std::string hb = R"({"csq":20,"temp_dc":285,"mains_dv":2205,"power_w":200,"ports":[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]})";
  std::vector<std::pair<std::string, std::string>> batch;
  auto start = Clock::now();
  double cpu0 = cpu();
  for (int i = 0; i < messages; ++i) {
    auto& [id, session] = devs[i % devs.size()];
    if (i % 2)
      batch.emplace_back("chg/v1/" + id + "/up/heartbeat", hb);
    else
      batch.emplace_back("chg/v1/" + id + "/up/meter", R"({"ports":[{"port":1,"session":)" + std::to_string(session) +
                                                          R"(,"power_w":200,"energy_wh":)" + std::to_string(i / 1000) +
                                                          R"(,"elapsed_s":)" + std::to_string(i / 100) +
                                                          R"(,"voltage_dv":540,"current_ma":3700}]})");
    if (batch.size() == burst) {
      svc.on_messages(batch);
      batch.clear();
    }
  }
  svc.on_messages(batch);
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  double cpu_s = cpu() - cpu0;
  std::printf("%d messages (half heartbeat, half meter) for %d devices in bursts of %zu in %.2f s: %.0f msg/s applied, "
              "CPU %.1f us per message; bad %llu; WAL %.1f MiB\n",
              messages, devices, burst, secs, messages / secs, 1e6 * cpu_s / messages,
              (unsigned long long)svc.counters().bad_messages.load(), wal_mib());
  return 0;
}
