#include "disk_queue.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>

#include "util.hpp"

namespace chargehub::bridge {

namespace fs = std::filesystem;

DiskQueue::DiskQueue(fs::path dir, uint64_t max_bytes, Counters& counters)
    : dir_(std::move(dir)), max_bytes_(max_bytes), c_(counters) {}

fs::path DiskQueue::file(const std::string& device) const { return dir_ / (device + ".q"); }

void DiskQueue::scan() {
  std::error_code ec;
  int64_t records = 0, bytes = 0;
  for (auto& e : fs::directory_iterator(dir_, ec)) {
    if (e.path().extension() != ".q") continue;
    std::ifstream f(e.path(), std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(f)), {});
    bytes += static_cast<int64_t>(data.size());
    size_t p = 0;
    while (p + 2 <= data.size()) {
      size_t klen = static_cast<uint8_t>(data[p + 1]);
      if (p + 2 + klen + 4 > data.size()) break;
      const auto* l = reinterpret_cast<const uint8_t*>(data.data() + p + 2 + klen);
      size_t plen = l[0] | (l[1] << 8) | (l[2] << 16) | (static_cast<size_t>(l[3]) << 24);
      p += 2 + klen + 4 + plen;
      if (p > data.size()) break;
      ++records;
    }
  }
  c_.queue_records += records;
  c_.queue_bytes += bytes;
  if (records) log(Level::Info, "queue_found", "records", records, "bytes", bytes, "dir", dir_.string());
}

bool DiskQueue::append(const std::string& device, const QueuedMessage& m) {
  std::string rec;
  rec.reserve(2 + m.kind.size() + 4 + m.payload.size());
  rec.push_back(static_cast<char>(m.qos));
  rec.push_back(static_cast<char>(m.kind.size()));
  rec += m.kind;
  uint32_t n = static_cast<uint32_t>(m.payload.size());
  for (int i = 0; i < 4; ++i) rec.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
  rec += m.payload;
  int64_t total = c_.queue_bytes.load();   // this worker's share of the bound
  if (static_cast<uint64_t>(total) + rec.size() > max_bytes_) {
    ++c_.queue_dropped;
    log(Level::Warn, "queue_full", "device", device, "kind", m.kind);
    return false;
  }
  int fd = ::open(file(device).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    ++c_.queue_dropped;
    log(Level::Error, "queue_write_failed", "device", device, "errno", errno);
    return false;
  }
  ssize_t w = ::write(fd, rec.data(), rec.size());   // one write per record: appended whole
  ::close(fd);
  if (w != static_cast<ssize_t>(rec.size())) {
    ++c_.queue_dropped;
    log(Level::Error, "queue_write_failed", "device", device, "errno", errno);
    return false;
  }
  ++c_.queue_records;
  c_.queue_bytes += static_cast<int64_t>(rec.size());
  return true;
}

bool DiskQueue::has(const std::string& device) const {
  std::error_code ec;
  return fs::exists(file(device), ec);
}

std::vector<QueuedMessage> DiskQueue::take(const std::string& device) {
  std::vector<QueuedMessage> out;
  auto path = file(device);
  std::ifstream f(path, std::ios::binary);
  if (!f) return out;
  std::string data((std::istreambuf_iterator<char>(f)), {});
  f.close();
  size_t p = 0;
  while (p + 2 <= data.size()) {
    QueuedMessage m;
    m.qos = static_cast<uint8_t>(data[p]);
    size_t klen = static_cast<uint8_t>(data[p + 1]);
    if (p + 2 + klen + 4 > data.size()) break;
    m.kind = data.substr(p + 2, klen);
    const auto* l = reinterpret_cast<const uint8_t*>(data.data() + p + 2 + klen);
    size_t plen = l[0] | (l[1] << 8) | (l[2] << 16) | (static_cast<size_t>(l[3]) << 24);
    if (p + 2 + klen + 4 + plen > data.size()) break;   // torn tail (crash mid-write): dropped
    m.payload = data.substr(p + 2 + klen + 4, plen);
    p += 2 + klen + 4 + plen;
    out.push_back(std::move(m));
  }
  std::error_code ec;
  fs::remove(path, ec);
  c_.queue_records -= static_cast<int64_t>(out.size());
  c_.queue_bytes -= static_cast<int64_t>(data.size());
  return out;
}

}  // namespace chargehub::bridge
