// Adapters of the simulator: the clock, the file journal, a station (a charger with its journal, fault
// injectors and log), the transports (TCP to the edge bridge, a serial line shared by several chargers,
// native MQTT) and the host that runs them all on one asio event loop.
#pragma once
#include <asio.hpp>
#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "chargehub/frame.hpp"
#include "chargehub/sim/charger.hpp"
#include "chargehub/sim/faults.hpp"
#include "chargehub/sim/journal.hpp"

namespace chargehub::sim::io {

// Simulated time runs `scale` times faster than real time from the moment the clock is made.
class SimClock {
 public:
  explicit SimClock(double scale = 1.0, int64_t sim_start_unix_ms = 0);
  Now now() const;
  double scale() const { return scale_; }

 private:
  double scale_;
  std::chrono::steady_clock::time_point start_;
  int64_t sim_start_ms_;
};

// <dir>/<device id>.journal.json, replaced atomically (write to a temp file, fsync-free rename).
class FileJournal : public Journal {
 public:
  FileJournal(std::filesystem::path dir, proto::DeviceId id);
  void save(const NvState& s) override;
  std::optional<NvState> load() override;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A station's log lines: chargehub/log.hpp events "charger.<kind>" on stderr (fleet mode counts instead).
struct LogSink {
  bool print = true;
  bool frames = false;    // also log every frame in hex (charger.frame)
  void event(const std::string& device, const Event& e) const;
  void frame(const std::string& device, std::string_view direction, std::string_view cmd, const std::string& hex) const;
};

// A charger with its journal, its fault injectors and a writer to its transport.
class Station : public ChargerOutput {
 public:
  Station(ChargerConfig cfg, std::unique_ptr<Journal> journal, const LogSink* log,
          FaultRates out_faults = {}, FaultRates in_faults = {});
  Charger& charger() { return *charger_; }
  proto::DeviceId device() const { return device_; }

  // Transport side.
  std::function<void(std::vector<uint8_t>)> writer;          // bytes of one frame
  std::function<void(const proto::Frame&)> frame_writer;     // MQTT: frames, not bytes
  std::function<void(const Event&)> on_event;                // fleet counters
  void deliver(const proto::Frame& f, const Now& now);       // a frame from the server
  void flush(const Now& now);                                // releases delayed frames
  void clear_faults() { out_faults_.clear(); in_faults_.clear(); }
  const FaultInjector& out_faults() const { return out_faults_; }

  void send(const proto::Frame& f) override;
  void event(const Event& e) override;

 private:
  proto::DeviceId device_;
  std::string id_text_;
  std::unique_ptr<Journal> journal_;
  const LogSink* log_;
  FaultInjector out_faults_, in_faults_;
  proto::FrameDecoder in_decoder_;
  Now last_now_{};
  std::unique_ptr<Charger> charger_;
};

// A transport for one or more stations.
class Link {
 public:
  virtual ~Link() = default;
  virtual void start() = 0;
  virtual void poll(const Now& now) = 0;   // link requests of its stations, flushing
  virtual void stop() = 0;
  virtual bool connected() const = 0;
  // Fault injection: the link breaks now and is dialled again after the delay.
  virtual void cut(const Now& now, int64_t reconnect_after_ms) { (void)now; (void)reconnect_after_ms; }
  uint64_t bytes_in = 0, bytes_out = 0, bad_frames = 0, connects = 0, dropped_writes = 0;
};

struct TcpOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 9000;
  std::string local_ip;          // bind the source address (load tests spread over 127.0.0.x)
  int64_t backoff_min_ms = 500, backoff_max_ms = 30000;
};
std::unique_ptr<Link> make_tcp_link(asio::io_context& io, const SimClock& clock, Station& s, TcpOptions o);

// A serial device (a pty or a tty) shared by several chargers: multi-drop, frames addressed by device.
std::unique_ptr<Link> make_serial_link(asio::io_context& io, const SimClock& clock, std::vector<Station*> stations,
                                       std::string path, unsigned baud = 115200);

struct MqttOptions {
  std::string uri = "tcp://127.0.0.1:1883";
  int keepalive_s = 30;
  int64_t backoff_min_ms = 500, backoff_max_ms = 30000;
};
// Native MQTT firmware (mqtt.md): one Paho client per charger.
std::unique_ptr<Link> make_mqtt_link(asio::io_context& io, const SimClock& clock, Station& s, MqttOptions o);

// Runs stations and links on one event loop until stopped (SIGINT/SIGTERM, duration, or stop()).
class Host {
 public:
  Host(double time_scale, int64_t tick_ms);
  asio::io_context& io() { return io_; }
  const SimClock& clock() const { return clock_; }
  Station& add_station(std::unique_ptr<Station> s);
  void add_link(std::unique_ptr<Link> l);
  std::vector<std::unique_ptr<Station>>& stations() { return stations_; }
  std::vector<std::unique_ptr<Link>>& links() { return links_; }
  // Called on every tick, after the stations (fleet: riders, faults, progress).
  std::function<void(const Now&)> on_tick;
  // Runs until a signal, until real_duration_s passed (0 = forever), or until stop().
  // Returns the signal number that stopped it, or 0.
  int run(double real_duration_s = 0);
  void stop() { io_.stop(); }
  // Links are started this many microseconds apart (a fleet does not dial all at once).
  int64_t link_start_spacing_us = 0;

 private:
  void schedule_tick();
  asio::io_context io_;
  SimClock clock_;
  int64_t tick_ms_;
  asio::steady_timer tick_timer_;
  std::vector<std::unique_ptr<Station>> stations_;
  std::vector<std::unique_ptr<Link>> links_;
};

// Raises the soft open-file limit to the hard limit; returns the new soft limit.
long raise_fd_limit();

}  // namespace chargehub::sim::io
