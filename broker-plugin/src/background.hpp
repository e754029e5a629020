// The plugin's own thread, for everything that touches files or takes long: the services file
// (re-read when its mtime changes), the auth cache file (read at start, rewritten after every change of
// the device table, at most once a second), the status file, and parsing big $CONTROL payloads
// (snapshots: control.hpp, background_parse_bytes). It never calls the broker: what it produces is
// taken by the broker thread in TICK (take()), and what it is given (persist()) is handed over under a
// mutex held only to move a few pointers.
#pragma once
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config.hpp"
#include "control.hpp"
#include "devices.hpp"
#include "services.hpp"
#include "stats.hpp"

namespace chargehub::auth {

class Background {
 public:
  Background(const Config& cfg, Stats& stats);
  ~Background();

  // The first load, done synchronously in plugin init before the broker serves: the services file and
  // the cache file (so chargers log in at once after a restart, before any core answers). Its results
  // are returned by the next take().
  void load_now();
  void start();
  void stop();
  void request_reload();  // any thread: re-read the services file now
  // Any thread: write this table to the cache file (the latest one given wins).
  void persist(std::shared_ptr<const DeviceTable> table);
  // Any thread: parse a $CONTROL payload from `user`; the result comes back through take(), in order.
  void parse_control(std::string payload, std::string user, std::uint64_t generation);

  struct Updates {
    std::shared_ptr<const DeviceTable> devices;   // from the cache file at start; null: none
    std::shared_ptr<const ServiceTable> services; // null: no change
    std::vector<std::string> log_lines;           // for the broker log (warnings)
    std::vector<ParsedControl> controls;          // parsed $CONTROL payloads, in arrival order
  };
  Updates take();  // broker thread (TICK)

 private:
  void run();
  void load_cache();
  void write_cache(const DeviceTable& t);
  void load_services(bool force);
  void write_status();
  void log(std::string line);

  Config cfg_;
  Stats& stats_;
  std::string cache_state_ = "not configured";
  std::string services_state_ = "not configured";
  struct timespec services_mtime_ {};
  bool services_seen_ = false;
  std::string last_services_message_;
  std::string last_cache_error_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool reload_ = false;
  std::shared_ptr<const DeviceTable> to_persist_;
  std::vector<ParsedControl> to_parse_;  // user and generation set; the payload in user_payload_
  std::vector<std::string> to_parse_payloads_;
  Updates pending_;
  std::thread thread_;
};

}  // namespace chargehub::auth
