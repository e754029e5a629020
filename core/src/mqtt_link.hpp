// The core's MQTT adapter: one MQTT 3.1.1 connection as a core service account, subscribed to the
// fleet's uplink and status topics, with a persistent session (clean session off).
//
// Two threads, named so that /proc/<pid>/task/*/comm shows them:
//   "mqtt-rx"      the network thread: connects (retrying forever), reads the socket in large chunks
//                  and parses every complete packet of a chunk at once (one system call for hundreds of
//                  messages, where Paho and libmosquitto make three or four per message), queues the
//                  messages for the worker, acknowledges QoS 1 messages, writes what is published, and
//                  keeps the connection alive. It never waits for the worker: it takes the queue's lock
//                  only to append a chunk's messages.
//   "mqtt-worker"  applies the queue in batches of up to max_batch messages through the handler, and
//                  runs the connected callback.
//
// QoS 1 uplinks (SESSION_END, CARD, ALARM, status, OTA) are acknowledged (PUBACK) once they are in the
// worker's queue, as with Paho before (acknowledged when the message callback returned): a QoS 1
// message is never shed. QoS 1 publishes (acks, commands) not yet acknowledged by the broker are sent
// again, marked duplicate, after a reconnect. An uplink over 1 MiB (none in mqtt.md comes near) is
// dropped and logged, and acknowledged if QoS 1 so that the broker does not deliver it again forever.
//
// Overload, fairly per device: when max_queue messages wait for the worker, a further QoS 0 message
// (telemetry: meter, heartbeat) is shed if its device already holds its share of the queue (max_queue
// divided by the devices that have messages waiting), so a flooding device loses its own telemetry and
// the others keep theirs; past twice max_queue every QoS 0 message is shed. With device_rate set, a
// device's QoS 0 telemetry beyond that rate is shed as well, whatever the load. Shed messages are
// counted in all and per device (top_shed). QoS 1 messages are always queued, past the limits if need be.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>   // kept from the Paho version: includers may rely on it
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "service.hpp"

namespace chargehub::core {

struct MqttConfig {
  std::string uri = "tcp://127.0.0.1:1883";   // tcp://host:port (mqtt:// and host:port also accepted)
  std::string client_id = "core-main";
  std::string username = "core";
  std::string password;
  std::string share_group;   // non-empty: subscribe uplinks through $share/<group>/ (several core instances)
  // Messages waiting for the worker beyond which QoS 0 is shed fairly (QoS 1 never): 20 s at 20,000
  // msg/s, about 100 MB (a queued message takes about 250 bytes). The link reads as fast as the broker
  // sends, so this queue, not the broker's or the sockets', absorbs the worker's stalls.
  size_t max_queue = 400000;
  size_t max_batch = 500;    // messages applied in one database transaction
  int keepalive_s = 20;
  // Per-device limit on QoS 0 telemetry, whatever the load: a device may send device_rate messages per
  // second on average, in bursts of device_burst; the excess is shed and counted with the device's
  // other shed messages (top_shed). 0: no limit (mqtt.md sets no rate; the operator chooses one).
  double device_rate = 0;
  double device_burst = 20;
};

class MqttLink : public Publisher {
 public:
  using Batch = std::vector<std::pair<std::string, std::string>>;
  using Handler = std::function<void(const Batch& messages)>;   // up to max_batch messages at a time
  MqttLink(MqttConfig cfg, Handler on_message, std::function<void()> on_connected);
  ~MqttLink() override;
  void start();   // connects in the background, retrying forever
  void stop();
  bool connected() const;
  // Thread-safe, never waits for the network: false when not connected (or the output is backed up).
  bool publish(const std::string& topic, const std::string& payload, int qos, bool retain) override;
  uint64_t shed() const { return shed_; }   // QoS 0 messages dropped because the queue was full
  size_t waiting() const;                  // messages waiting for the worker now

  // ---- added for metrics and benches (issue 20) ----
  struct DeviceShed {
    std::string device;   // "" for messages on topics without a device
    uint64_t shed = 0;
  };
  // The n devices that lost the most QoS 0 telemetry to shedding, most first (devices with none omitted).
  std::vector<DeviceShed> top_shed(size_t n) const;
  uint64_t received() const { return received_; }   // PUBLISH packets received since start
  // CPU seconds used so far by the link's two threads (0 before start): where the core's time goes.
  struct ThreadCpu {
    double receive_s = 0;   // "mqtt-rx"
    double worker_s = 0;    // "mqtt-worker", including the handler (the service applying batches)
  };
  ThreadCpu thread_cpu() const;

 private:
  struct Incoming {
    std::string topic, payload;
    uint32_t device;   // index into devices_
  };
  struct DeviceState {
    uint32_t queued = 0;
    uint64_t shed = 0;
    double tokens = -1;   // device_rate: messages it may still send now (-1: not seen yet, a full burst)
    std::chrono::steady_clock::time_point refilled;
  };
  void worker();
  void network();
  bool session(int fd);                       // one connection's life; false when stopping
  int open_connection();                      // connected socket after CONNACK accepted, or -1
  void enqueue(std::vector<Incoming>& msgs, const std::vector<int>& qos);
  uint32_t device_index(std::string_view topic);
  void wake();
  bool flush_out(int fd);                     // false on a socket error
  bool sleep_unless_stopping(std::chrono::milliseconds d);

  MqttConfig cfg_;
  Handler on_message_;
  std::function<void()> on_connected_;
  std::string host_;
  std::string port_;

  // the worker's queue and the per-device accounts (mu_)
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Incoming> queue_;
  std::vector<DeviceState> devices_;
  std::vector<std::string> device_names_;
  size_t devices_waiting_ = 0;   // devices with queued > 0
  bool connected_event_ = false;
  bool stopping_ = false;

  // owned by the network thread
  std::unordered_map<std::string, uint32_t> device_ids_;
  std::chrono::steady_clock::time_point last_out_;   // last bytes written to the broker

  // what is to be written to the broker, and QoS 1 publishes awaiting PUBACK (out_mu_)
  std::mutex out_mu_;
  std::string out_;
  std::map<uint16_t, std::string> inflight_;
  uint16_t next_id_ = 1;

  std::atomic<bool> connected_{false};
  std::atomic<bool> stop_net_{false};
  std::atomic<uint64_t> shed_{0};
  std::atomic<uint64_t> received_{0};
  int wake_fd_ = -1;   // eventfd: publish() and stop() wake the network thread
  std::thread worker_;
  std::thread net_;
};

}  // namespace chargehub::core
