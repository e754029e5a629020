// The plugin's own thread: loads device credentials from the DB and the services file, picks up
// changes (auth_state.rev every poll_ms, the services file's mtime), and writes the status file.
// It never calls the broker: what it produces is taken by the broker thread in TICK (take()), under
// a mutex held only to move a few pointers.
#pragma once
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config.hpp"
#include "db_loader.hpp"
#include "services.hpp"
#include "stats.hpp"

namespace chargehub::auth {

class Background {
 public:
  Background(const Config& cfg, Stats& stats);
  ~Background();

  // The first load, done synchronously before the broker serves (so the tables are ready at once
  // when the files exist). Its results are returned by the next take().
  void load_now();
  void start();
  void stop();
  void request_reload();  // any thread

  struct Updates {
    std::shared_ptr<const DeviceTable> devices;   // null: no change
    std::shared_ptr<const ServiceTable> services; // null: no change
    std::vector<std::string> log_lines;           // for the broker log (warnings)
  };
  Updates take();  // broker thread (TICK)

 private:
  void run();
  void poll(bool force);
  void load_services(bool force);
  void write_status();
  void log(std::string line);

  Config cfg_;
  Stats& stats_;
  DbLoader db_;
  std::int64_t known_rev_ = -1;
  std::string db_state_ = "not configured";
  std::string last_db_message_;
  std::string services_state_ = "not configured";
  struct timespec services_mtime_ {};
  bool services_seen_ = false;
  std::string last_services_message_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool reload_ = false;
  Updates pending_;
  std::thread thread_;
};

}  // namespace chargehub::auth
