// Settlement throughput of the core's use cases on a real database: open N sessions, then settle them
// from SESSION_END reports, one transaction each (as a lone report is) and in bursts (as the core
// applies a burst of messages). Prints sessions settled per second.
//   build/bin/core_settle_bench [sessions] [sqlite | postgresql | <database URL>] [platform | priced | agents]
// platform (the default, as before issue 17): the platform's devices on the default (free) plan, the
// records judged implausible (812 Wh claimed a second after the start), nothing charged.
// priced: plausible records (812 Wh over 2 h at up to 500 W, reported after 2 h) on 1 yuan/kWh, so each
// settlement charges 81 fen (a wallet row) and books the platform's part (one agent_ledger row).
// agents: as priced, with every device under a second-level agent B (20 %) of a first-level agent A
// (30 %): each settlement splits its income three ways (docs/agents.md, three agent_ledger rows).
// sqlite: a file in a temp dir (WAL, synchronous=NORMAL); postgresql: a throwaway PostgreSQL 15 cluster
// with its default durability (fsync on, synchronous_commit on).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

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

std::vector<Opened> open_many(App& app, int n, int64_t rider, int64_t t0, std::optional<int64_t> agent, std::optional<int64_t> plan,
                              uint16_t peak_w) {
  std::vector<Opened> out;
  int devices = (n + 19) / 20;
  for (int d = 0; d < devices; ++d) {
    std::string id = std::to_string(860000000000000LL + d);
    app.devices.create(NewDevice{id, "", 20, 5, std::string(64, 'a'), {}}, t0);   // exists in the second round
    app.devices.online(id, true, t0);
    if (plan) app.devices.assign_plan(chargehub::core::Scope::platform(), id, *plan);
    app.db.prepare("UPDATE device SET agent_id = ? WHERE id = ?").args(agent, id).run();
    for (int p = 1; p <= 20 && static_cast<int>(out.size()) < n; ++p) {
      auto t = app.sessions.open(chargehub::core::Scope::platform(), OpenRequest{id, p, rider, 300, false, 0, Origin{"bench", "operator"}}, t0);
      if (!t) {
        std::fprintf(stderr, "open failed: %s\n", t.refusal.message.c_str());
        std::exit(1);
      }
      app.commands.sent(t.value->command.id, t0);
      out.push_back({id, proto::SessionEnd{static_cast<uint8_t>(p), static_cast<uint32_t>(t.value->session.id), 1,
                                           static_cast<uint32_t>(t0), 7200, 812, peak_w}});
    }
    // Until sessions take their agent from the device at open (outside the timed part either way).
    app.db.prepare("UPDATE session SET agent_id = ? WHERE device_id = ?").args(agent, id).run();
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
  const std::string mode = argc > 3 ? argv[3] : "platform";
  const bool agents = mode == "agents", priced = agents || mode == "priced";
  std::optional<int64_t> plan;
  if (priced) plan = app.plans.create("bench", pricing::Plan::energy(100), t0)->id;
  const int64_t settle_at = priced ? t0 + 7300 : t0 + 1;
  std::optional<int64_t> a, b;
  if (agents) {
    auto add = [&](std::optional<int64_t> parent, int64_t bp) {
      auto st = app.db.prepare("INSERT INTO agent (parent_id, level, name, share_bp, created_at, updated_at) VALUES (?,?,?,?,?,?) RETURNING id");
      st.args(parent, parent ? 2 : 1, "bench", bp, t0, t0);
      st.step();
      int64_t id = st.i64(0);
      st.run();
      app.db.prepare("INSERT INTO agent_balance (agent_id) VALUES (?)").args(id).run();
      return id;
    };
    a = add(std::nullopt, 3000);
    b = add(a, 2000);
  }
  std::printf("mode %s: %s devices, %s\n", mode.c_str(), agents ? "a two-level agent chain's (A 30 %, B 20 %)" : "the platform's",
              priced ? "plausible records charged 81 fen each" : "the free plan, records implausible");

  for (bool burst : {false, true}) {
    auto sessions = open_many(app, n, rider.id, t0, b, plan, priced ? 500 : 230);
    auto start = Clock::now();
    if (burst) {
      for (size_t i = 0; i < sessions.size(); i += 500)
        app.batch([&] {
          for (size_t j = i; j < std::min(sessions.size(), i + 500); ++j) {
            auto& s = sessions[j];
            app.sessions.end_reported(s.device, "b" + std::to_string(s.end.session), s.end, settle_at);
          }
        });
    } else {
      for (auto& s : sessions) app.sessions.end_reported(s.device, "s" + std::to_string(s.end.session), s.end, settle_at);
    }
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("%-28s %6d sessions in %6.2f s: %8.0f sessions/s\n", burst ? "settled in bursts of 500" : "settled one per transaction",
                n, secs, n / secs);
  }
  auto r = app.wallets.rider(chargehub::core::Scope::platform(), rider.id);
  std::printf("wallet balance %lld fen, ledger sum %lld fen, held %lld fen\n", static_cast<long long>(r->balance_fen),
              static_cast<long long>(app.wallets.ledger_sum(rider.id)), static_cast<long long>(r->held_fen));
  // The split: every fen charged is in a party's ledger; the agents' balances are their ledgers' sums.
  int64_t charged = -app.wallets.ledger_sum(rider.id) + 10'000'000;
  int64_t parties = app.repos.agent_ledger.ledger_sum(std::nullopt);
  bool agents_ok = true;
  for (auto id : {a, b})
    if (id) {
      auto bal = app.repos.agent_ledger.balance(*id);
      parties += bal->balance_fen;
      agents_ok = agents_ok && bal->balance_fen == app.repos.agent_ledger.ledger_sum(*id);
      std::printf("agent %lld balance %lld fen\n", static_cast<long long>(*id), static_cast<long long>(bal->balance_fen));
    }
  std::printf("charged %lld fen, the parties' ledgers %lld fen\n", static_cast<long long>(charged), static_cast<long long>(parties));
  return r->balance_fen == app.wallets.ledger_sum(rider.id) && r->held_fen == 0 && charged == parties && agents_ok ? 0 : 1;
}
