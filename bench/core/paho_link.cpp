#include "paho_link.hpp"

#include <mqtt/async_client.h>

#include "chargehub/topics.hpp"
#include "log.hpp"

namespace chargehub::core::reference {

PahoLink::PahoLink(MqttConfig cfg, Handler on_message, std::function<void()> on_connected)
    : cfg_(std::move(cfg)), on_message_(std::move(on_message)), on_connected_(std::move(on_connected)) {
  client_ = std::make_unique<mqtt::async_client>(cfg_.uri, cfg_.client_id, 10000, nullptr);
  client_->set_message_callback([this](mqtt::const_message_ptr m) {
    std::lock_guard lock(mu_);
    // Telemetry under overload: shed and count (GET /status, mqtt_queue.shed). A QoS 1 message is
    // acknowledged when this returns, so it is always queued, past the limit if need be. (Waiting here
    // for room instead would deadlock: Paho holds its client lock during this callback, and the worker
    // needs that lock to publish.)
    if (queue_.size() >= cfg_.max_queue && m->get_qos() == 0) {
      if (shed_++ % 10000 == 0) log::warn("mqtt.queue_full", {{"max_queue", cfg_.max_queue}, {"action", "shed_qos0_telemetry"}});
      return;
    }
    queue_.emplace_back(m->get_topic(), m->get_payload_str());
    cv_.notify_one();
  });
  client_->set_connected_handler([this](const std::string&) {
    // Subscribe without waiting (never wait on a token in a callback); QoS 1 for everything.
    std::string prefix = cfg_.share_group.empty() ? "" : "$share/" + cfg_.share_group + "/";
    auto topics = mqtt::string_collection::create({prefix + std::string(topics::kAllUp), std::string(topics::kAllStatus)});
    std::vector<int> qos{1, 1};
    client_->subscribe(topics, qos);
    log::info("mqtt.connected", {{"broker", cfg_.uri}, {"client_id", cfg_.client_id}});
    std::lock_guard lock(mu_);
    connected_event_ = true;
    cv_.notify_one();
  });
  client_->set_connection_lost_handler([this](const std::string& cause) {
    log::warn("mqtt.connection_lost", {{"cause", cause}});
  });
}

PahoLink::~PahoLink() { stop(); }

void PahoLink::start() {
  worker_ = std::thread([this] { worker(); });
  // MQTT 3.1.1 with a persistent session: while the core restarts, the broker keeps its QoS 1 uplinks
  // (up to max_queued_messages). Paho C++ 1.2.0 crashes intermittently when connect options carrying
  // MQTT 5 properties are copied, so no properties here.
  auto opts = mqtt::connect_options_builder()
                  .mqtt_version(MQTTVERSION_3_1_1)
                  .clean_session(false)
                  .user_name(cfg_.username)
                  .password(cfg_.password)
                  .keep_alive_interval(std::chrono::seconds(20))
                  .automatic_reconnect(std::chrono::seconds(1), std::chrono::seconds(15))
                  .connect_timeout(std::chrono::seconds(5))
                  .finalize();
  // The first connect may fail (broker not up yet); keep trying in the background.
  std::thread([this, opts] {
    for (int attempt = 0; !stopping_; ++attempt) {
      try {
        client_->connect(opts)->wait();
        return;
      } catch (const mqtt::exception& e) {
        if (attempt == 0 || attempt % 10 == 0) log::warn("mqtt.connect_failed", {{"broker", cfg_.uri}, {"error", e.what()}, {"attempt", attempt}});
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
      }
    }
  }).detach();
}

void PahoLink::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    cv_.notify_all();
  }
  if (worker_.joinable()) worker_.join();
  try {
    if (client_->is_connected()) client_->disconnect()->wait_for(std::chrono::seconds(2));
  } catch (...) {
  }
}

bool PahoLink::connected() const { return client_ && client_->is_connected(); }

size_t PahoLink::waiting() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

bool PahoLink::publish(const std::string& topic, const std::string& payload, int qos, bool retain) {
  if (!client_->is_connected()) return false;
  try {
    client_->publish(topic, payload.data(), payload.size(), qos, retain);
    return true;
  } catch (const mqtt::exception& e) {
    log::warn("mqtt.publish_failed", {{"topic", topic}, {"error", e.what()}});
    return false;
  }
}

void PahoLink::worker() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || connected_event_ || !queue_.empty(); });
    if (stopping_) return;
    if (connected_event_) {
      connected_event_ = false;
      lock.unlock();
      if (on_connected_) on_connected_();
      lock.lock();
      continue;
    }
    Batch batch;
    size_t n = std::min(queue_.size(), cfg_.max_batch);
    batch.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lock.unlock();
    on_message_(batch);
    lock.lock();
  }
}

}  // namespace chargehub::core
