#include "housekeeping.hpp"

#include "../log.hpp"

namespace chargehub::core {

Leadership::Leadership(std::string name, std::unique_ptr<sql::Db> lease_db) : name_(std::move(name)), db_(std::move(lease_db)) {
  if (db_) repo_.emplace(*db_);
}

Leadership::~Leadership() { release(); }

bool Leadership::poll() {
  std::lock_guard lock(mu_);
  if (!repo_) {
    if (!leading_) {
      leading_ = true;
      ++terms_;
      log::info("housekeeping.leads", {{"instance", name_}, {"why", "sole_instance"}});
    }
    return true;
  }
  bool was = leading_;
  bool now = false;
  try {
    if (was) {
      now = repo_->holds();
    } else {
      // A reconnected session lost its name with its lock: name it again before taking the lock.
      repo_->name_connection(name_);
      now = repo_->try_take();
    }
  } catch (const std::exception& e) {
    // The lease's connection is gone, and the lock with it: not leading until it is taken again.
    log::warn("housekeeping.lease_connection_failed", {{"instance", name_}, {"error", e.what()}});
    now = false;
  }
  if (now != was) {
    leading_ = now;
    if (now) {
      ++terms_;
      log::info("housekeeping.leads", {{"instance", name_}, {"why", "took_lease"}});
    } else {
      log::warn("housekeeping.lease_lost", {{"instance", name_}});
    }
  } else if (!now && !named_) {
    named_ = true;
    std::string who;
    try {
      who = repo_->holder().value_or("");
    } catch (const std::exception&) {
    }
    log::info("housekeeping.follows", {{"instance", name_}, {"leader", who}});
  }
  return now;
}

std::string Leadership::leader_name() {
  if (!repo_) return name_;
  std::lock_guard lock(mu_);
  try {
    return repo_->holder().value_or("");
  } catch (const std::exception&) {
    return "";
  }
}

void Leadership::release() {
  std::lock_guard lock(mu_);
  if (!repo_ || !leading_) return;
  try {
    repo_->release();
    log::info("housekeeping.lease_released", {{"instance", name_}});
  } catch (const std::exception&) {
  }
  leading_ = false;
}

}  // namespace chargehub::core
