#include "probe.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

namespace chargehub::hostile {

using Clock = std::chrono::steady_clock;

double ProbeResult::percentile(double p) const {
  if (latencies_ms.empty()) return 0;
  std::vector<double> v = latencies_ms;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size()))) - 1;
  return v[std::min(i, v.size() - 1)];
}

double ProbeResult::max() const {
  return latencies_ms.empty() ? 0 : *std::max_element(latencies_ms.begin(), latencies_ms.end());
}

void Prober::start() {
  running_ = true;
  thread_ = std::thread([this] {
    auto period = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / config_.rate));
    auto next = Clock::now();
    while (running_) {
      probe_once(result_);
      next += period;
      auto now = Clock::now();
      if (next < now) next = now;   // a slow probe delays the next one; it does not cause a burst
      std::this_thread::sleep_until(next);
    }
  });
}

ProbeResult Prober::stop() {
  running_ = false;
  if (thread_.joinable()) thread_.join();
  return std::move(result_);
}

namespace {

// Waits for fd to be ready for `events` until `deadline`; false on timeout.
bool wait_fd(int fd, short events, Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) return false;
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, static_cast<int>(left)) > 0;
}

}  // namespace

void Prober::probe_once(ProbeResult& r) {
  ++r.sent;
  auto start = Clock::now();
  auto deadline = start + config_.timeout;
  auto fail = [&r](const char* why) {
    ++r.failed;
    ++r.errors[why];
  };
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return fail("socket");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!config_.source.empty()) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, config_.source.c_str(), &local.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) return fail("bind");
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(config_.port);
  ::inet_pton(AF_INET, config_.address.c_str(), &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS)
    return fail("connect");
  if (!wait_fd(fd, POLLOUT, deadline)) return fail("timeout");
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) return fail("connect");

  std::string req = "GET " + config_.path + " HTTP/1.1\r\nHost: " + config_.host_header + "\r\nConnection: close\r\n";
  for (const auto& h : config_.headers) req += h + "\r\n";
  req += "\r\n";
  for (size_t sent = 0; sent < req.size();) {
    ssize_t n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && errno == EAGAIN) {
      if (!wait_fd(fd, POLLOUT, deadline)) return fail("timeout");
    } else {
      return fail("reset");
    }
  }

  // Read the head, then Content-Length bytes of body (or until the server closes).
  std::string in;
  size_t head_end = std::string::npos, need = std::string::npos;
  char buf[8192];
  for (;;) {
    if (head_end != std::string::npos && need != std::string::npos && in.size() >= need) break;
    if (!wait_fd(fd, POLLIN, deadline)) return fail("timeout");
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EAGAIN) continue;
    if (n <= 0) {
      if (head_end != std::string::npos && n == 0) break;   // closed after a response without length
      return fail("reset");
    }
    in.append(buf, static_cast<size_t>(n));
    if (head_end == std::string::npos && (head_end = in.find("\r\n\r\n")) != std::string::npos) {
      std::string head = in.substr(0, head_end);
      for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (auto p = head.find("\r\ncontent-length:"); p != std::string::npos)
        need = head_end + 4 + std::strtoul(head.c_str() + p + 17, nullptr, 10);
    }
  }
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  int status = in.size() > 12 ? std::atoi(in.c_str() + 9) : 0;
  r.latencies_ms.push_back(ms);
  ++r.statuses[status];
  if (status >= 200 && status < 300) {
    ++r.ok;
  } else {
    ++r.failed;
    ++r.errors["status"];
  }
}

}  // namespace chargehub::hostile
