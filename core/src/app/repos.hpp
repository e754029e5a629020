// Every repository on one connection: what the use cases are given.
#pragma once
#include "repo/accounts.hpp"
#include "repo/agent_ledger.hpp"
#include "repo/agents.hpp"
#include "repo/audit.hpp"
#include "repo/cards.hpp"
#include "repo/commands.hpp"
#include "repo/devices.hpp"
#include "repo/inbox.hpp"
#include "repo/leader_lock.hpp"
#include "repo/plans.hpp"
#include "repo/reports.hpp"
#include "repo/sessions.hpp"
#include "repo/settings.hpp"
#include "repo/stations.hpp"
#include "repo/wallets.hpp"
#include "repo/withdrawals.hpp"

namespace chargehub::core {

struct Repos {
  explicit Repos(sql::Db& db)
      : db(db), devices(db), wallets(db), sessions(db), commands(db), cards(db), plans(db), reports(db), inbox(db), accounts(db), audit(db),
        agent_ledger(db), settings(db), withdrawals(db), agents(db), stations(db) {}
  sql::Db& db;
  DeviceRepo devices;
  WalletRepo wallets;
  SessionRepo sessions;
  CommandRepo commands;
  CardRepo cards;
  PlanRepo plans;
  ReportRepo reports;
  InboxRepo inbox;
  AccountRepo accounts;
  AuditRepo audit;
  AgentLedgerRepo agent_ledger;
  SettingRepo settings;
  WithdrawalRepo withdrawals;
  AgentRepo agents;
  StationRepo stations;
};

// What a use case asks the fleet adapter to do after its transaction committed: commands to publish,
// sessions it settled (for the log).
struct FollowUp {
  std::vector<CommandRow> commands;
  std::vector<SessionRow> settled;
  void add(FollowUp&& o) {
    for (auto& c : o.commands) commands.push_back(std::move(c));
    for (auto& s : o.settled) settled.push_back(std::move(s));
  }
};

// A command row for the repository to store (state queued, a fresh id).
CommandRow make_command(const std::string& device_id, const std::string& op, boost::json::object args, Origin origin,
                        std::optional<int64_t> session_id, int64_t now, int64_t ttl_s);

}  // namespace chargehub::core
