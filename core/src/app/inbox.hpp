// The inbox of orphan stop records (docs/billing-rules.md, section 3): SESSION_END records for sessions
// the platform does not know are kept whole (Sessions::end_reported puts them here); an operator lists
// them, settles one against a rider under the device's plan (a settled session and its ledger row, in one
// transaction, never more than the wallet's available balance) or closes it with a reason. A record is
// resolved once.
//
//   auto r = app.inbox.settle(id, rider_id, "account:zhangsan", now);   // orphan_not_found, orphan_resolved, ...
#pragma once
#include "app/repos.hpp"
#include "chargehub/result.hpp"

namespace chargehub::core {

// What a device's misbehaviour adds up to: implausible meter reports and orphan stop records.
struct DeviceBillingCounts {
  MeterCheckCounts meter;
  OrphanCounts orphans;
};

class Inbox {
 public:
  explicit Inbox(Repos& r) : r_(r) {}

  // Within the caller's scope, through the record's device's agent; outside it: orphan_not_found.
  std::vector<OrphanRecord> list(const Scope& scope, const OrphanFilter& f);
  Page<OrphanRecord> page(const Scope& scope, const OrphanFilter& f, const PageRequest& p);
  std::optional<OrphanRecord> get(const Scope& scope, int64_t id);
  // Refusals: orphan_not_found, orphan_resolved, rider_not_found, device_not_found, plan_missing, plan_invalid.
  Result<OrphanRecord> settle(const Scope& scope, int64_t id, int64_t rider_id, const std::string& actor, int64_t now);
  // Refusals: orphan_not_found, orphan_resolved, bad_reason (empty).
  Result<OrphanRecord> close(const Scope& scope, int64_t id, const std::string& reason, const std::string& actor, int64_t now);
  DeviceBillingCounts counts(const std::string& device_id);

 private:
  Repos& r_;
};

}  // namespace chargehub::core
