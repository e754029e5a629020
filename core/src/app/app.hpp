// The core's use cases, one module per area, over one database connection:
//
//   auto db = sql::open("sqlite:///var/lib/chargehub/core.db");
//   core::App app(*db);                      // migrates
//   auto t = app.sessions.open(request, now);
//
// devices   devices.hpp    registering, credentials, boots, heartbeats, online
// sessions  sessions.hpp   opening, stopping, START replies, settlement, reconciliation, refunds
// wallets   wallets.hpp    riders, top-ups, the ledger
// cards     cards.hpp      IC cards and swipes
// plans     plans.hpp      price plans, recharge offers
// commands  commands.hpp   downlink commands and replies
// alarms    alarms.hpp     alarms and the stops they cause
// telemetry telemetry.hpp  meter readings and their rules
// inbox     inbox.hpp      orphan stop records: kept, settled against a rider or closed
// income    income.hpp     the income split of settlements and refunds, agents' balances and ledgers
// accounts  accounts.hpp   operator logins, tokens, roles and permissions, service keys
// audit     audit.hpp      who changed what through the API
// settings  settings.hpp   system configuration (系统配置): typed keys with defaults
// withdrawals withdrawals.hpp  agents' withdrawals: request (held), approve, reject, pay
// agents    agents.hpp     the agents' network: signing, terms, freezing
// stations  stations.hpp   stations, moving them, assigning devices
// (OTA: ota.hpp, wired by the program.)
#pragma once
#include "app/accounts.hpp"
#include "app/agents.hpp"
#include "app/alarms.hpp"
#include "app/audit.hpp"
#include "app/cards.hpp"
#include "app/commands.hpp"
#include "app/devices.hpp"
#include "app/inbox.hpp"
#include "app/income.hpp"
#include "app/plans.hpp"
#include "app/sessions.hpp"
#include "app/settings.hpp"
#include "app/stations.hpp"
#include "app/telemetry.hpp"
#include "app/wallets.hpp"
#include "app/withdrawals.hpp"

namespace chargehub::core {

class App {
 public:
  explicit App(sql::Db& db, AccountSettings account_settings = {})
      : db(db), migrated_(sql::migrate(db)), repos(db), devices(repos), sessions(repos), wallets(repos), cards(repos, sessions),
        plans(repos), commands(repos, sessions), alarms(repos, sessions), telemetry(repos, sessions), inbox(repos), income(repos),
        accounts(repos, account_settings), audit(repos.audit, db), settings(repos), withdrawals(repos, settings), agents(repos, accounts),
        stations(repos) {
    accounts.ensure_builtin_roles();
  }
  App(const App&) = delete;

  sql::Db& db;

 private:
  int migrated_;

 public:
  Repos repos;
  Devices devices;
  Sessions sessions;
  Wallets wallets;
  Cards cards;
  Plans plans;
  Commands commands;
  Alarms alarms;
  Telemetry telemetry;
  Inbox inbox;
  Income income;
  Accounts accounts;
  Audit audit;
  Settings settings;
  Withdrawals withdrawals;
  Agents agents;
  Stations stations;

  int schema_version() { return sql::schema_version(db); }
  // Runs fn inside one transaction (the use cases it calls nest as savepoints): the fleet adapter
  // applies a burst of messages this way. fn must not throw, except to abandon the whole burst (it is
  // rolled back and the exception goes on).
  // `lock_wait_ms` > 0: on PostgreSQL a row that another core instance's transaction holds is waited for
  // at most this long, then the statement fails as sql::Error::Kind::Busy (docs/scale-out.md).
  template <class F>
  void batch(F&& fn, int lock_wait_ms = 0) {
    sql::Tx tx(db);
    if (lock_wait_ms > 0) wait_for_locks_at_most(db, lock_wait_ms);
    fn();
    tx.commit();
  }
};

}  // namespace chargehub::core
