// Riders, their wallets and the append-only ledger: every change of a balance is a ledger row written
// by the same call, in the caller's transaction.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "chargehub/states.hpp"
#include "db/db.hpp"
#include "repo/page.hpp"
#include "repo/scope.hpp"

namespace chargehub::core {

struct Rider {
  int64_t id = 0;
  std::string name, phone;
  int64_t balance_fen = 0, held_fen = 0;
  int64_t created_at = 0;
  std::optional<int64_t> agent_id;   // the agent whose caller registered the rider (none: the platform)
  int64_t available_fen() const { return balance_fen - held_fen; }
};

struct LedgerEntry {
  int64_t id = 0, rider_id = 0, amount_fen = 0, created_at = 0;
  LedgerKind kind = LedgerKind::Topup;
  std::string note;
  std::optional<int64_t> session_id;
};

class WalletRepo {
 public:
  explicit WalletRepo(sql::Db& db) : db_(db) {}

  // agent_id: the agent whose caller registered the rider (null: the platform).
  int64_t insert_rider(const std::string& name, const std::string& phone, std::optional<int64_t> agent_id, int64_t now);   // with an empty wallet
  // get(id): the fleet's own reads (holds, settlement). The API's: a rider is in an agent's scope when
  // rider.agent_id is in it or the rider has a session whose agent_id is.
  std::optional<Rider> get(int64_t rider_id);
  std::optional<Rider> get(const Scope& scope, int64_t rider_id);

  // A ledger row and the balance change it records (amount signed: a charge is negative).
  void post(int64_t rider_id, LedgerKind kind, int64_t amount_fen, std::optional<int64_t> session_id, const std::string& note,
            int64_t now);
  void hold(int64_t rider_id, int64_t fen);      // held_fen += fen
  void release(int64_t rider_id, int64_t fen);   // held_fen -= fen

  std::vector<LedgerEntry> ledger(int64_t rider_id, int64_t limit);   // newest first
  Page<LedgerEntry> ledger_page(int64_t rider_id, const PageRequest& p);   // newest first
  // Riders whose name or phone contains q; sort keys id (default), created_at, balance_fen.
  Page<Rider> riders(const Scope& scope, const std::optional<std::string>& q, const PageRequest& p);
  int64_t ledger_sum(int64_t rider_id);

 private:
  sql::Db& db_;
};

}  // namespace chargehub::core
