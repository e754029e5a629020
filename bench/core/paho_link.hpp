// For core_link_bench only: the core's MQTT adapter as it was before issue 20 (Paho C++), kept to
// measure the new link against it. Not used by the core.
//
// The core's MQTT adapter (Paho C++): one connection as a core service account, subscribed to the
// fleet's uplink and status topics. Messages are handed to a worker thread (never processed on Paho's
// callback thread); publishing never waits.
//
// Overload: when max_queue messages wait for the worker, a further QoS 0 message (telemetry: meter,
// heartbeat) is shed and counted; a QoS 1 message (SESSION_END, CARD, ALARM, status, OTA) is always
// queued, past the limit if need be (Paho acknowledges it when the callback returns).
#pragma once
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "mqtt_link.hpp"   // MqttConfig
#include "service.hpp"

namespace mqtt {
class async_client;
}

namespace chargehub::core::reference {

using MqttConfig = chargehub::core::MqttConfig;

class PahoLink : public Publisher {
 public:
  using Batch = std::vector<std::pair<std::string, std::string>>;
  using Handler = std::function<void(const Batch& messages)>;   // up to max_batch messages at a time
  PahoLink(MqttConfig cfg, Handler on_message, std::function<void()> on_connected);
  ~PahoLink() override;
  void start();   // connects in the background, retrying forever
  void stop();
  bool connected() const;
  bool publish(const std::string& topic, const std::string& payload, int qos, bool retain) override;
  uint64_t shed() const { return shed_; }   // QoS 0 messages dropped because the queue was full
  size_t waiting() const;                  // messages waiting for the worker now

 private:
  void worker();
  MqttConfig cfg_;
  Handler on_message_;
  std::function<void()> on_connected_;
  std::unique_ptr<mqtt::async_client> client_;
  mutable std::mutex mu_;
  std::condition_variable cv_;     // the worker waits for messages
  std::deque<std::pair<std::string, std::string>> queue_;
  bool connected_event_ = false;
  bool stopping_ = false;
  std::atomic<uint64_t> shed_{0};
  std::thread worker_;
};

}  // namespace chargehub::core
