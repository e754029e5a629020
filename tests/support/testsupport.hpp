// Helpers for tests that run real parts: temporary directories, free loopback ports, child processes
// and a Mosquitto broker loading our plugin. Used by every integration test; no fakes here.
#pragma once
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace chargehub::testing {

namespace fs = std::filesystem;

// A fresh directory under $TMPDIR, removed at destruction unless CHARGEHUB_KEEP_TMP is set.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "chargehub");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

// A loopback TCP port that was free a moment ago (bound to port 0, then released).
int free_port();

// A child process; its stdout and stderr go to `log_file` (or are inherited when empty).
// The destructor sends SIGTERM, waits up to 5 s, then SIGKILL.
class Process {
 public:
  Process(std::vector<std::string> argv, const fs::path& log_file = {},
          std::map<std::string, std::string> env = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  int pid() const { return pid_; }
  bool running();
  // Sends sig and waits for the exit; returns the exit status (or 128+signal).
  int stop(int sig = 15, std::chrono::milliseconds grace = std::chrono::seconds(5));
  void kill9();
  int wait();   // waits for a normal exit; returns the status as for stop()

 private:
  int pid_ = -1;
  int status_ = -1;
};

// Polls pred every 10 ms until it is true or timeout passes; returns its last value.
bool wait_until(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));
// True once a TCP connect to 127.0.0.1:port succeeds (within timeout).
bool wait_for_port(int port, std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Path of a built program (build/bin/<name>), from CHARGEHUB_BIN_DIR set by CMake.
fs::path bin(const std::string& name);
// Path of a file in the source tree, from CHARGEHUB_SOURCE_DIR set by CMake.
fs::path source(const std::string& rel);
// Runs a shell command and returns its output without the trailing newline; throws if it fails.
std::string run_capture(const std::string& cmd);
// Reads a whole file ("" when missing).
std::string read_file(const fs::path& p);
void write_file(const fs::path& p, const std::string& text);

}  // namespace chargehub::testing
