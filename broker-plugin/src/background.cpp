#include "background.hpp"

#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

#include "cache.hpp"

namespace chargehub::auth {

namespace {
std::string utc_now() {
  std::time_t now = std::time(nullptr);
  char ts[32];
  std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return ts;
}
}  // namespace

Background::Background(const Config& cfg, Stats& stats) : cfg_(cfg), stats_(stats) {}

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

void Background::persist(std::shared_ptr<const DeviceTable> table) {
  if (cfg_.auth_cache_file.empty()) return;
  {
    std::lock_guard lk(mu_);
    to_persist_ = std::move(table);
  }
  cv_.notify_all();
}

void Background::parse_control(std::string payload, std::string user, std::uint64_t generation) {
  {
    std::lock_guard lk(mu_);
    ParsedControl pc;
    pc.user = std::move(user);
    pc.generation = generation;
    to_parse_.push_back(std::move(pc));
    to_parse_payloads_.push_back(std::move(payload));
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

void Background::load_now() {
  load_services(true);
  load_cache();
}

void Background::run() {
  using clock = std::chrono::steady_clock;
  auto next_status = clock::now();
  auto next_cache_write = clock::now();
  while (true) {
    bool force = false;
    std::shared_ptr<const DeviceTable> table;
    std::vector<ParsedControl> to_parse;
    std::vector<std::string> payloads;
    {
      std::unique_lock lk(mu_);
      cv_.wait_for(lk, std::chrono::milliseconds(cfg_.poll_ms), [&] {
        return stop_ || reload_ || !to_parse_.empty() || (to_persist_ && clock::now() >= next_cache_write);
      });
      force = reload_;
      reload_ = false;
      if (to_persist_ && (stop_ || clock::now() >= next_cache_write)) table = std::move(to_persist_);
      to_parse.swap(to_parse_);
      payloads.swap(to_parse_payloads_);
    }
    for (std::size_t i = 0; i < to_parse.size(); ++i) {
      ParsedControl parsed = chargehub::auth::parse_control(payloads[i], std::move(to_parse[i].user));
      parsed.generation = to_parse[i].generation;
      std::lock_guard lk(mu_);
      pending_.controls.push_back(std::move(parsed));
    }
    // At most one cache write a second: a burst of pushes is written once, with the latest table.
    if (table) {
      write_cache(*table);
      next_cache_write = clock::now() + std::chrono::seconds(1);
    }
    {
      std::lock_guard lk(mu_);
      if (stop_) break;
    }
    if (force) stats_.reloads.fetch_add(1, std::memory_order_relaxed);
    load_services(force);
    if ((!cfg_.status_file.empty() || !cfg_.metrics_file.empty()) && clock::now() >= next_status) {
      write_status();
      next_status = clock::now() + std::chrono::seconds(cfg_.status_interval_s);
    }
  }
  if (!cfg_.status_file.empty() || !cfg_.metrics_file.empty()) write_status();
}

void Background::load_cache() {
  if (cfg_.auth_cache_file.empty()) return;
  struct stat st {};
  if (::stat(cfg_.auth_cache_file.c_str(), &st) != 0) {
    cache_state_ = "missing at start";
    log("chargehub-auth: auth cache file " + cfg_.auth_cache_file +
        " does not exist: no charger can log in until a core sends a snapshot");
    return;
  }
  auto table = std::make_shared<DeviceTable>();
  std::string error;
  if (!read_cache_file(cfg_.auth_cache_file, *table, error)) {
    cache_state_ = "unreadable at start";
    log("chargehub-auth: auth cache file ignored: " + error);
    return;
  }
  cache_state_ = "loaded at start: " + std::to_string(table->live()) + " devices at rev " + std::to_string(table->rev);
  log("chargehub-auth: loaded " + std::to_string(table->live()) + " devices at rev " + std::to_string(table->rev) +
      " from the auth cache file" +
      (table->bad_fields ? " (" + std::to_string(table->bad_fields) + " malformed entries or fields ignored)" : ""));
  std::lock_guard lk(mu_);
  pending_.devices = std::move(table);
}

void Background::write_cache(const DeviceTable& t) {
  std::string error;
  if (write_file_atomically(cfg_.auth_cache_file, cache_json(t), error)) {
    cache_state_ = "written " + utc_now() + ": " + std::to_string(t.live()) + " devices at rev " + std::to_string(t.rev);
    last_cache_error_.clear();
    return;
  }
  cache_state_ = "error: " + error;
  if (error != last_cache_error_) log("chargehub-auth: cannot write the auth cache file: " + error);
  last_cache_error_ = error;
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
  if (!cfg_.metrics_file.empty()) write_atomically(cfg_.metrics_file, stats_prometheus(s));   // docs/metrics.md
  if (cfg_.status_file.empty()) return;
  std::string text = "# chargehub-auth status, rewritten every " + std::to_string(cfg_.status_interval_s) + " s\n";
  text += "updated: " + utc_now() + "\n";
  text += "credentials: " + std::string(credentials_source_name(s.credentials_source)) + "\n";
  text += "auth_cache_file: " + (cfg_.auth_cache_file.empty() ? std::string("not configured") : cfg_.auth_cache_file) + "\n";
  text += "auth_cache_state: " + cache_state_ + "\n";
  text += "services_file: " + (cfg_.services.empty() ? std::string("not configured") : cfg_.services) + "\n";
  text += "services_state: " + services_state_ + "\n";
  text += stats_text(s);
  write_atomically(cfg_.status_file, text);
}

}  // namespace chargehub::auth
