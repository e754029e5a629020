// Settlement throughput of the core's use cases on a real database: open N sessions, then settle them
// from SESSION_END reports, one transaction each (as a lone report is) and in bursts (as the core
// applies a burst of messages). Prints sessions settled per second.
//   build/bin/core_settle_bench [sessions] [sqlite | postgresql | <database URL>]
// sqlite: a file in a temp dir (WAL, synchronous=NORMAL); postgresql: a throwaway PostgreSQL 15 cluster
// with its default durability (fsync on, synchronous_commit on).
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "chargehub/payloads.hpp"
#include "app/app.hpp"
#include "bench_db.hpp"
#include "testsupport.hpp"

using namespace chargehub;
using namespace chargehub::core;
using Clock = std::chrono::steady_clock;

namespace {
struct Opened {
  std::string device;
  proto::SessionEnd end;
};

std::vector<Opened> open_many(App& app, int n, int64_t rider, int64_t t0) {
  std::vector<Opened> out;
  int devices = (n + 19) / 20;
  for (int d = 0; d < devices; ++d) {
    std::string id = std::to_string(860000000000000LL + d);
    app.devices.create(NewDevice{id, "", 20, 5, std::string(64, 'a'), {}}, t0);   // exists in the second round
    app.devices.online(id, true, t0);
    for (int p = 1; p <= 20 && static_cast<int>(out.size()) < n; ++p) {
      auto t = app.sessions.open(chargehub::core::Scope::platform(), OpenRequest{id, p, rider, 300, false, 0, Origin{"bench", "operator"}}, t0);
      if (!t) {
        std::fprintf(stderr, "open failed: %s\n", t.refusal.message.c_str());
        std::exit(1);
      }
      app.commands.sent(t.value->command.id, t0);
      out.push_back({id, proto::SessionEnd{static_cast<uint8_t>(p), static_cast<uint32_t>(t.value->session.id), 1,
                                           static_cast<uint32_t>(t0), 7200, 812, 230}});
    }
  }
  return out;
}
}  // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 10000;
  chargehub::testing::TempDir dir("settle-bench");
  BenchDb bdb(argc > 2 ? argv[2] : "sqlite", dir);
  App app(bdb.db());
  std::printf("database: %s\n", bdb.what().c_str());
  const int64_t t0 = 1795500000;
  auto rider = app.wallets.create_rider(chargehub::core::Scope::platform(), "bench", "", t0);
  app.wallets.topup(chargehub::core::Scope::platform(), rider.id, 10'000'000, 0, "", t0);

  for (bool burst : {false, true}) {
    auto sessions = open_many(app, n, rider.id, t0);
    auto start = Clock::now();
    if (burst) {
      for (size_t i = 0; i < sessions.size(); i += 500)
        app.batch([&] {
          for (size_t j = i; j < std::min(sessions.size(), i + 500); ++j) {
            auto& s = sessions[j];
            app.sessions.end_reported(s.device, "b" + std::to_string(s.end.session), s.end, t0 + 1);
          }
        });
    } else {
      for (auto& s : sessions) app.sessions.end_reported(s.device, "s" + std::to_string(s.end.session), s.end, t0 + 1);
    }
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("%-28s %6d sessions in %6.2f s: %8.0f sessions/s\n", burst ? "settled in bursts of 500" : "settled one per transaction",
                n, secs, n / secs);
  }
  auto r = app.wallets.rider(chargehub::core::Scope::platform(), rider.id);
  std::printf("wallet balance %lld fen, ledger sum %lld fen, held %lld fen\n", static_cast<long long>(r->balance_fen),
              static_cast<long long>(app.wallets.ledger_sum(rider.id)), static_cast<long long>(r->held_fen));
  return r->balance_fen == app.wallets.ledger_sum(rider.id) && r->held_fen == 0 ? 0 : 1;
}
