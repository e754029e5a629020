// The link `chargehub-ota flash` talks over (asio): a serial port, a TCP address it dials (a serial
// device server, a charger's maintenance port), or a TCP address it listens on (the charger dials it,
// as it dials the edge bridge). Runs one flash run (flash::FlashRun) to its end.
#pragma once
#include <chrono>
#include <functional>
#include <string>

#include "chargehub/ota/flash.hpp"

namespace chargehub::otacli {

struct LinkSpec {
  enum Kind { Serial, Connect, Listen } kind = Serial;
  std::string where;        // device path, or HOST:PORT
  unsigned baud = 115200;
  bool frames = false;      // log every frame in hex
};

struct RunHooks {
  std::function<void(const flash::FlashRun&)> progress;   // about every 100 ms
  std::function<void()> before_log;                      // before each log line (a terminal clears its progress bar)
};

// Returns when the run is done, or after `timeout` without progress (the run then reports
// NoAnswer). Throws std::runtime_error when the link cannot be opened.
void run_flash(const LinkSpec& link, flash::FlashRun& s, std::chrono::seconds timeout, const RunHooks& hooks);

}  // namespace chargehub::otacli
