#include "background.hpp"

#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

namespace chargehub::auth {

Background::Background(const Config& cfg, Stats& stats) : cfg_(cfg), stats_(stats), db_(cfg.db) {}

Background::~Background() { stop(); }

void Background::start() { thread_ = std::thread([this] { run(); }); }

void Background::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Background::request_reload() {
  {
    std::lock_guard lk(mu_);
    reload_ = true;
  }
  cv_.notify_all();
}

Background::Updates Background::take() {
  std::lock_guard lk(mu_);
  Updates out = std::move(pending_);
  pending_ = Updates{};
  return out;
}

void Background::log(std::string line) {
  std::lock_guard lk(mu_);
  pending_.log_lines.push_back(std::move(line));
}

void Background::load_now() { poll(true); }

void Background::run() {
  using clock = std::chrono::steady_clock;
  auto next_status = clock::now();
  while (true) {
    bool force = false;
    {
      std::unique_lock lk(mu_);
      cv_.wait_for(lk, std::chrono::milliseconds(cfg_.poll_ms), [this] { return stop_ || reload_; });
      if (stop_) break;
      force = reload_;
      reload_ = false;
    }
    poll(force);
    if (!cfg_.status_file.empty() && clock::now() >= next_status) {
      write_status();
      next_status = clock::now() + std::chrono::seconds(cfg_.status_interval_s);
    }
  }
  if (!cfg_.status_file.empty()) write_status();
}

void Background::poll(bool force) {
  if (force) stats_.reloads.fetch_add(1, std::memory_order_relaxed);
  if (!cfg_.db.empty()) {
    auto r = db_.poll(known_rev_, force);
    if (r.status == DbLoader::Status::loaded) {
      known_rev_ = r.table->rev;
      stats_.db_rev.store(r.table->rev, std::memory_order_relaxed);
      stats_.devices.store(static_cast<std::int64_t>(r.table->devices.size()), std::memory_order_relaxed);
      db_state_ = "ok";
      std::string msg = "chargehub-auth: loaded " + std::to_string(r.table->devices.size()) +
                        " devices at rev " + std::to_string(r.table->rev);
      if (r.table->bad_rows) msg += " (" + std::to_string(r.table->bad_rows) + " malformed fields or rows ignored)";
      log(msg);
      last_db_message_.clear();
      std::lock_guard lk(mu_);
      pending_.devices = std::move(r.table);
    } else if (r.status == DbLoader::Status::missing || r.status == DbLoader::Status::error) {
      db_state_ = (r.status == DbLoader::Status::missing ? "waiting: " : "error: ") + r.message;
      if (r.message != last_db_message_) log("chargehub-auth: " + r.message + " (retrying)");
      last_db_message_ = r.message;
    }
  }
  load_services(force);
}

void Background::load_services(bool force) {
  if (cfg_.services.empty()) return;
  struct stat st {};
  if (::stat(cfg_.services.c_str(), &st) != 0) {
    std::string msg = "services file " + cfg_.services + " does not exist";
    if (msg != last_services_message_) log("chargehub-auth: " + msg);
    last_services_message_ = msg;
    services_state_ = "missing";
    if (services_seen_) {  // it was there and is gone: no service accounts any more
      services_seen_ = false;
      std::lock_guard lk(mu_);
      pending_.services = std::make_shared<ServiceTable>();
      stats_.services.store(0, std::memory_order_relaxed);
    }
    return;
  }
  bool changed = !services_seen_ || st.st_mtim.tv_sec != services_mtime_.tv_sec ||
                 st.st_mtim.tv_nsec != services_mtime_.tv_nsec;
  if (!changed && !force) return;
  std::ifstream in(cfg_.services, std::ios::binary);
  if (!in) {
    std::string msg = "cannot read services file " + cfg_.services;
    if (msg != last_services_message_) log("chargehub-auth: " + msg);
    last_services_message_ = msg;
    return;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  auto parsed = parse_services(ss.str());
  for (auto& e : parsed.errors) log("chargehub-auth: " + cfg_.services + " " + e + " (line ignored)");
  services_seen_ = true;
  services_mtime_ = st.st_mtim;
  last_services_message_.clear();
  services_state_ = "ok";
  log("chargehub-auth: loaded " + std::to_string(parsed.table.accounts.size()) + " service accounts");
  stats_.services.store(static_cast<std::int64_t>(parsed.table.accounts.size()), std::memory_order_relaxed);
  std::lock_guard lk(mu_);
  pending_.services = std::make_shared<ServiceTable>(std::move(parsed.table));
}

void Background::write_status() {
  auto s = snapshot(stats_);
  std::time_t now = std::time(nullptr);
  char ts[32];
  std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  std::string text = "# chargehub-auth status, rewritten every " + std::to_string(cfg_.status_interval_s) + " s\n";
  text += "updated: " + std::string(ts) + "\n";
  text += "db: " + (cfg_.db.empty() ? std::string("not configured") : cfg_.db) + "\n";
  text += "db_state: " + db_state_ + "\n";
  text += "services_file: " + (cfg_.services.empty() ? std::string("not configured") : cfg_.services) + "\n";
  text += "services_state: " + services_state_ + "\n";
  text += stats_text(s);
  std::string tmp = cfg_.status_file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return;
    out << text;
    if (!out.flush()) return;
  }
  std::rename(tmp.c_str(), cfg_.status_file.c_str());
}

}  // namespace chargehub::auth
