// The hostile connections of chargehub-hostile, all on one asio io_context (one thread): each attacker
// keeps one connection of its kind open for the whole phase and reconnects when the server closes it,
// as a real attacker would.
#pragma once
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio.hpp>

namespace chargehub::hostile {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

enum class Kind { SlowHeader, Idle, SlowBody, BigBody, HeaderFlood, ChunkedFlood };
const char* kind_name(Kind k);

struct AttackConfig {
  tcp::endpoint target;
  std::string host_header = "chargehub";
  bool spread_sources = false;                    // bind to 127.0.0.2 .. 127.0.0.254 in turn
  std::chrono::milliseconds trickle_interval{1000};   // slow header and slow body: one byte each
  std::string slow_header_path = "/api/v1/health";
  std::string slow_body_path = "/api/v1/firmware";
  size_t slow_body_length = 1024 * 1024;
  size_t big_body_length = 6 * 1024 * 1024;   // big body: all but the last KiB at once, then a trickle
  std::string chunked_path = "/api/v1/stream";
  size_t flood_headers = 2000;                    // header flood: this many fields per request ...
  size_t flood_header_bytes = 1024 * 1024;        // ... alternating with one field this large
};

// Counted on the attack thread, read by the reporting thread after the phase.
struct AttackCounters {
  std::atomic<uint64_t> connects{0}, connect_failures{0}, closed_by_server{0}, bytes_sent{0}, requests_sent{0};
  std::atomic<int64_t> open{0};
  std::array<std::atomic<uint64_t>, 600> statuses{};   // first status line seen per connection
  std::map<int, uint64_t> status_counts() const;
};

class Attack {
 public:
  Attack(AttackConfig config, AttackCounters& counters);
  ~Attack();
  // Starts `count` connections of this kind (call before run()).
  void add(Kind kind, size_t count);
  void run();    // starts the thread
  void stop();   // closes every connection, joins the thread
  // Connections of each kind open now.
  int64_t open() const { return counters_.open.load(); }

  struct Conn;

 private:
  friend struct Conn;
  tcp::endpoint next_source();

  AttackConfig config_;
  AttackCounters& counters_;
  asio::io_context io_;
  std::vector<std::shared_ptr<Conn>> conns_;
  std::atomic<bool> running_{false};
  std::thread thread_;
  unsigned next_source_ = 0;
};

}  // namespace chargehub::hostile
