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
      log::info("housekeeping: ", name_, " runs it (one instance on this database)");
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
    log::warn("housekeeping: the lease's database connection failed: ", e.what());
    now = false;
  }
  if (now != was) {
    leading_ = now;
    if (now) {
      ++terms_;
      log::info("housekeeping: ", name_, " leads now (it took the lease)");
    } else {
      log::warn("housekeeping: ", name_, " no longer leads (the lease was lost)");
    }
  } else if (!now && !named_) {
    named_ = true;
    std::string who;
    try {
      who = repo_->holder().value_or("");
    } catch (const std::exception&) {
    }
    log::info("housekeeping: ", name_, " follows", who.empty() ? "" : " (" + who + " leads)");
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
    log::info("housekeeping: ", name_, " gave the lease up");
  } catch (const std::exception&) {
  }
  leading_ = false;
}

}  // namespace chargehub::core
