// A test-side edge bridge stand-in: a real TCP listener on loopback that speaks the frame protocol
// with the domain codec. It answers the charger's requests by itself (LOGIN, HEARTBEAT, SESSION_END,
// CARD, ALARM, OTA_CHUNK_REQ, OTA_STATUS), records every frame, and lets the test send commands.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "chargehub/frame.hpp"
#include "chargehub/messages.hpp"

namespace chargehub::testing {

class FrameServer {
 public:
  FrameServer();
  ~FrameServer();
  int port() const { return port_; }

  // Behaviour (set before or while running).
  std::atomic<int> login_result{0};
  std::atomic<bool> ack_session_end{true};
  std::atomic<bool> answer_ota_chunks{true};
  std::atomic<int> card_result{0};
  std::atomic<int> card_balance{1234};
  void set_ota_image(std::vector<uint8_t> image);
  std::atomic<int> ota_chunks_before_cut{-1};   // >= 0: drop every connection after that many chunks

  // Sends a command to a connected charger; returns its seq.
  uint16_t send_command(proto::DeviceId dev, proto::Cmd cmd, std::vector<uint8_t> body);
  void send_raw(proto::DeviceId dev, const std::vector<uint8_t>& bytes);
  void drop_connections();

  // Every frame received so far, in order.
  std::vector<proto::Frame> frames();
  // Waits for a received frame matching pred (searching everything received so far).
  std::optional<proto::Frame> wait_for(const std::function<bool(const proto::Frame&)>& pred,
                                       std::chrono::milliseconds timeout = std::chrono::seconds(30));
  std::optional<proto::Frame> wait_response(proto::Cmd cmd, uint16_t seq,
                                            std::chrono::milliseconds timeout = std::chrono::seconds(10));
  size_t count(const std::function<bool(const proto::Frame&)>& pred);
  int connections() const { return connections_; }

 private:
  void loop();
  void on_frame(int fd, const proto::Frame& f);
  void write_fd(int fd, const std::vector<uint8_t>& b);
  int listen_fd_ = -1, port_ = 0, wake_[2] = {-1, -1};
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<proto::Frame> frames_;
  std::map<int, proto::FrameDecoder> clients_;
  std::map<proto::DeviceId, int> fd_of_;
  std::vector<uint8_t> ota_image_;
  int ota_chunks_served_ = 0;
  uint16_t seq_ = 100;
  std::atomic<int> connections_{0};
  bool drop_requested_ = false;
};

}  // namespace chargehub::testing
