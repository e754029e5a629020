// A link: one TCP connection (a 4G charger) or one serial line (an RS-485 bus with several chargers).
// It owns the frame decoder, the write queue and the per-link limits, and the chargers that logged in on
// it; frames go to the Bridge, which routes them by device id.
#pragma once
#include <asio.hpp>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "chargehub/frame.hpp"

namespace chargehub::bridge {

class Bridge;
class Charger;

class Link : public std::enable_shared_from_this<Link> {
 public:
  Link(Bridge& b, uint64_t id, bool multi_drop, std::string peer);
  virtual ~Link();
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  virtual void start() = 0;
  // Encodes and queues a frame; closes the link when too many bytes wait unsent.
  void send(const proto::Frame& f);
  // Closes the transport and every charger on it (each goes offline). Idempotent.
  void close(const char* why);
  // Closes the transport after a delay (a refused LOGIN's response gets out first).
  void close_after(int ms, const char* why);

  uint64_t id() const { return id_; }
  bool open() const { return open_; }
  bool multi_drop() const { return multi_drop_; }
  const std::string& peer() const { return peer_; }
  int64_t idle_since_ms() const { return idle_since_ms_; }

  // Chargers that logged in (or are logging in) on this link.
  Charger* find(proto::DeviceId d) const;
  void add(std::shared_ptr<Charger> c);
  void remove(Charger* c);   // destroys it
  size_t chargers() const { return chargers_.size(); }

 protected:
  void on_bytes(std::span<const uint8_t> bytes);
  void write_done(const asio::error_code& ec);
  virtual void transport_write(std::span<const uint8_t> bytes) = 0;   // async; calls write_done
  virtual void transport_close() = 0;

  Bridge& bridge_;
  uint64_t id_;
  bool multi_drop_;
  bool open_ = true;
  bool write_busy_ = false;
  std::string peer_;
  proto::FrameDecoder dec_;
  uint64_t decoder_bad_seen_ = 0, decoder_dropped_seen_ = 0;
  std::vector<uint8_t> out_, writing_;
  std::vector<std::shared_ptr<Charger>> chargers_;
  double tokens_ = 0;
  int64_t refill_ms_ = 0;
  int64_t idle_since_ms_ = 0;   // when the link last had no charger (or 0 while it has one)
  std::unique_ptr<asio::steady_timer> close_timer_;
};

class TcpLink final : public Link {
 public:
  TcpLink(Bridge& b, uint64_t id, asio::ip::tcp::socket s, std::string peer);
  void start() override;

 private:
  void wait_read();
  void transport_write(std::span<const uint8_t> bytes) override;
  void transport_close() override;
  asio::ip::tcp::socket sock_;
};

class SerialLink final : public Link {
 public:
  SerialLink(Bridge& b, uint64_t id, asio::serial_port p, std::string path);
  void start() override;

 private:
  void read();
  void transport_write(std::span<const uint8_t> bytes) override;
  void transport_close() override;
  asio::serial_port port_;
  std::array<uint8_t, 1024> buf_{};
};

}  // namespace chargehub::bridge
