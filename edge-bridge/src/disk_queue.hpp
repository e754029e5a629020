// The bounded on-disk queue of up-messages that could not be delivered because the charger's MQTT
// connection was down. One file per charger (<dir>/<device id>.q), appended record by record and read
// back in order when that charger's connection is up again (also after a bridge restart: the records wait
// until the charger logs in again, because only its own MQTT identity may publish them).
// Record: u8 qos, u8 kind length, kind, u32 LE payload length, payload. Files are opened per operation,
// so the queue holds no file descriptor.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "counters.hpp"

namespace chargehub::bridge {

struct QueuedMessage {
  uint8_t qos = 0;
  std::string kind;      // up/<kind>
  std::string payload;
};

class DiskQueue {
 public:
  DiskQueue(std::filesystem::path dir, uint64_t max_bytes, Counters& counters);
  // Counts what is on disk (call once per process group: the first worker).
  void scan();
  // False when the bound is reached (the record is dropped and counted).
  bool append(const std::string& device, const QueuedMessage& m);
  bool has(const std::string& device) const;
  // Reads every record of device in order and removes its file.
  std::vector<QueuedMessage> take(const std::string& device);

 private:
  std::filesystem::path file(const std::string& device) const;
  std::filesystem::path dir_;
  uint64_t max_bytes_;
  Counters& c_;
};

}  // namespace chargehub::bridge
