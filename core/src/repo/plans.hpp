// Price plans and recharge offers (充值套餐).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "chargehub/pricing.hpp"
#include "db/db.hpp"

namespace chargehub::core {

struct PlanRow {
  int64_t id = 0, version = 1, created_at = 0;
  std::string name;
  pricing::Plan plan;
  std::string spec;   // the plan's JSON as stored (a session keeps a copy)
};

struct RechargeOffer {
  int64_t id = 0;
  std::string name;
  int64_t amount_fen = 0, bonus_fen = 0;
  bool active = true;
  int64_t created_at = 0;
};

class PlanRepo {
 public:
  explicit PlanRepo(sql::Db& db) : db_(db) {}
  int64_t insert(const std::string& name, const pricing::Plan& p, int64_t now);
  bool exists(int64_t id);
  // A plan whose stored spec cannot be read comes back with plan_readable = false.
  struct Loaded {
    PlanRow row;
    bool readable = true;
  };
  std::optional<Loaded> get(int64_t id);
  std::vector<PlanRow> list();

  int64_t insert_offer(const std::string& name, int64_t amount_fen, int64_t bonus_fen, int64_t now);
  std::optional<RechargeOffer> offer(int64_t id);
  std::vector<RechargeOffer> active_offers();   // cheapest first

 private:
  sql::Db& db_;
};

}  // namespace chargehub::core
