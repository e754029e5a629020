#include "frame_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace chargehub::testing {
using namespace chargehub::proto;

FrameServer::FrameServer() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_fd_, 64) != 0)
    throw std::runtime_error("frame server: bind/listen failed");
  socklen_t len = sizeof a;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  if (::pipe(wake_) != 0) throw std::runtime_error("pipe");
  thread_ = std::thread([this] { loop(); });
}

FrameServer::~FrameServer() {
  stop_ = true;
  char c = 0;
  (void)!::write(wake_[1], &c, 1);
  thread_.join();
  for (auto& [fd, d] : clients_) ::close(fd);
  ::close(listen_fd_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void FrameServer::set_ota_image(std::vector<uint8_t> image) {
  std::lock_guard l(mu_);
  ota_image_ = std::move(image);
}

void FrameServer::write_fd(int fd, const std::vector<uint8_t>& b) {
  size_t off = 0;
  while (off < b.size()) {
    ssize_t n = ::send(fd, b.data() + off, b.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

uint16_t FrameServer::send_command(DeviceId dev, Cmd cmd, std::vector<uint8_t> body) {
  std::lock_guard l(mu_);
  uint16_t seq = ++seq_;
  auto it = fd_of_.find(dev);
  if (it != fd_of_.end()) write_fd(it->second, encode_frame(Frame{dev, seq, cmd, 0, std::move(body)}));
  return seq;
}

void FrameServer::send_raw(DeviceId dev, const std::vector<uint8_t>& bytes) {
  std::lock_guard l(mu_);
  auto it = fd_of_.find(dev);
  if (it != fd_of_.end()) write_fd(it->second, bytes);
}

void FrameServer::drop_connections() {
  std::lock_guard l(mu_);
  drop_requested_ = true;
  char c = 0;
  (void)!::write(wake_[1], &c, 1);
}

std::vector<Frame> FrameServer::frames() {
  std::lock_guard l(mu_);
  return frames_;
}

std::optional<Frame> FrameServer::wait_for(const std::function<bool(const Frame&)>& pred,
                                           std::chrono::milliseconds timeout) {
  std::unique_lock l(mu_);
  size_t checked = 0;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    for (; checked < frames_.size(); ++checked)
      if (pred(frames_[checked])) return frames_[checked];
    if (cv_.wait_until(l, deadline) == std::cv_status::timeout && checked == frames_.size()) return std::nullopt;
  }
}

std::optional<Frame> FrameServer::wait_response(Cmd cmd, uint16_t seq, std::chrono::milliseconds timeout) {
  return wait_for([&](const Frame& f) { return f.cmd == cmd && f.seq == seq && f.is_response(); }, timeout);
}

size_t FrameServer::count(const std::function<bool(const Frame&)>& pred) {
  std::lock_guard l(mu_);
  size_t n = 0;
  for (auto& f : frames_) n += pred(f);
  return n;
}

void FrameServer::on_frame(int fd, const Frame& f) {
  // Called with mu_ held.
  frames_.push_back(f);
  fd_of_[f.device] = fd;
  if (f.is_response()) return;
  auto now = static_cast<uint32_t>(::time(nullptr));
  switch (f.cmd) {
    case Cmd::Login:
      write_fd(fd, encode_frame(make_response(f, LoginResp{static_cast<LoginResult>(login_result.load()), now, 60}.encode())));
      break;
    case Cmd::Heartbeat:
      write_fd(fd, encode_frame(make_response(f, ServerTime{now}.encode())));
      break;
    case Cmd::SessionEnd:
      if (ack_session_end) write_fd(fd, encode_frame(make_response(f, Result{0}.encode())));
      break;
    case Cmd::Card:
      write_fd(fd, encode_frame(make_response(f, CardResp{static_cast<uint8_t>(card_result.load()), card_balance.load()}.encode())));
      break;
    case Cmd::Alarm:
    case Cmd::OtaStatus:
      write_fd(fd, encode_frame(make_response(f, {})));
      break;
    case Cmd::OtaChunkReq: {
      if (!answer_ota_chunks) break;
      auto r = OtaChunkReq::decode(f.body);
      if (!r || r->offset > ota_image_.size()) break;
      if (ota_chunks_before_cut >= 0 && ota_chunks_served_ >= ota_chunks_before_cut) {
        ota_chunks_before_cut = -1;
        drop_requested_ = true;
        break;
      }
      ++ota_chunks_served_;
      size_t n = std::min<size_t>(r->length, ota_image_.size() - r->offset);
      OtaChunk c{r->offset, Bytes(ota_image_.begin() + r->offset, ota_image_.begin() + static_cast<long>(r->offset + n))};
      write_fd(fd, encode_frame(make_response(f, c.encode())));
      break;
    }
    default:
      break;
  }
}

void FrameServer::loop() {
  std::vector<uint8_t> buf(8192);
  while (!stop_) {
    std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    {
      std::lock_guard l(mu_);
      if (drop_requested_) {
        for (auto& [fd, d] : clients_) ::close(fd);
        clients_.clear();
        fd_of_.clear();
        drop_requested_ = false;
      }
      for (auto& [fd, d] : clients_) fds.push_back({fd, POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), 200) <= 0) continue;
    if (fds[1].revents) {
      char c[64];
      (void)!::read(wake_[0], c, sizeof c);
    }
    if (fds[0].revents & POLLIN) {
      int c = ::accept(listen_fd_, nullptr, nullptr);
      if (c >= 0) {
        int one = 1;
        ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        std::lock_guard l(mu_);
        clients_[c];
        ++connections_;
      }
    }
    for (size_t i = 2; i < fds.size(); ++i) {
      if (!fds[i].revents) continue;
      int fd = fds[i].fd;
      ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
      std::lock_guard l(mu_);
      auto it = clients_.find(fd);
      if (it == clients_.end()) continue;
      if (n <= 0) {
        ::close(fd);
        for (auto d = fd_of_.begin(); d != fd_of_.end();)
          d = d->second == fd ? fd_of_.erase(d) : std::next(d);
        clients_.erase(it);
        continue;
      }
      it->second.feed({buf.data(), static_cast<size_t>(n)});
      bool got = false;
      while (auto f = it->second.next()) {
        on_frame(fd, *f);
        got = true;
      }
      if (got) cv_.notify_all();
    }
  }
}

}  // namespace chargehub::testing
