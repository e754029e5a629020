#include "ota_fleet.hpp"

#include <asio.hpp>
#include <chrono>
#include <deque>

#include "chargehub/frame.hpp"
#include "chargehub/messages.hpp"

namespace chargehub::otabench {

using namespace proto;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Charger : std::enable_shared_from_this<Charger> {
  Charger(asio::io_context& io, FleetConfig& cfg, FleetStats& st, DeviceId id, Bytes token)
      : io(io), cfg(cfg), st(st), id(id), token(std::move(token)), sock(io), retry(io), hb(io) {}
  asio::io_context& io;
  FleetConfig& cfg;
  FleetStats& st;
  DeviceId id;
  Bytes token;
  tcp::socket sock;
  asio::steady_timer retry, hb;
  FrameDecoder dec;
  std::array<uint8_t, 8192> buf{};
  std::deque<std::vector<uint8_t>> outq;
  bool writing = false;
  uint16_t seq = 0;
  Version fw{1, 0, 0};
  std::optional<OtaOffer> offer;
  Bytes image;
  std::optional<Frame> pending_req;
  std::optional<OtaStatus> report_after_login;

  void connect() {
    auto self = shared_from_this();
    sock = tcp::socket(io);
    dec = FrameDecoder{};
    outq.clear();
    writing = false;
    sock.async_connect(tcp::endpoint(asio::ip::make_address(cfg.host), static_cast<unsigned short>(cfg.port)),
                       [self](asio::error_code ec) {
                         if (ec) return self->later_reconnect(1000);
                         self->sock.set_option(tcp::no_delay(true));
                         Login l;
                         l.model = 1;
                         l.ports = 10;
                         l.fw = self->fw;
                         l.iccid = "89860000000000000001";
                         l.csq = 20;
                         l.auth = self->token;
                         self->send(Cmd::Login, l.encode());
                         self->read();
                       });
  }
  void later_reconnect(int ms) {
    auto self = shared_from_this();
    retry.expires_after(std::chrono::milliseconds(ms));
    retry.async_wait([self](asio::error_code ec) {
      if (!ec) self->connect();
    });
  }
  void send_frame(const Frame& f) {
    outq.push_back(encode_frame(f));
    if (!writing) write_next();
  }
  Frame send(Cmd c, Bytes body) {
    Frame f{id, ++seq, c, 0, std::move(body)};
    send_frame(f);
    return f;
  }
  void write_next() {
    if (outq.empty()) {
      writing = false;
      return;
    }
    writing = true;
    auto self = shared_from_this();
    asio::async_write(sock, asio::buffer(outq.front()), [self](asio::error_code ec, size_t) {
      if (ec) return;
      self->outq.pop_front();
      self->write_next();
    });
  }
  void read() {
    auto self = shared_from_this();
    sock.async_read_some(asio::buffer(buf), [self](asio::error_code ec, size_t n) {
      if (ec) {
        self->pending_req.reset();
        self->later_reconnect(1000);
        return;
      }
      self->dec.feed(std::span<const uint8_t>(self->buf.data(), n));
      while (auto f = self->dec.next()) self->on_frame(*f);
      if (self->sock.is_open()) self->read();
    });
  }
  void heartbeat() {
    Heartbeat h;
    h.csq = 20;
    h.temp_dc = 250;
    h.mains_dv = 2200;
    h.ports = std::vector<uint8_t>(10, 0);
    send(Cmd::Heartbeat, h.encode());
    auto self = shared_from_this();
    hb.expires_after(std::chrono::seconds(60));
    hb.async_wait([self](asio::error_code ec) {
      if (!ec && self->sock.is_open()) self->heartbeat();
    });
  }
  void pull() {
    uint32_t off = static_cast<uint32_t>(image.size());
    uint16_t len = static_cast<uint16_t>(std::min<uint32_t>({offer->chunk, 1000u, offer->size - off}));
    pending_req = send(Cmd::OtaChunkReq, OtaChunkReq{off, len}.encode());
    arm_retry();
  }
  void arm_retry() {
    auto self = shared_from_this();
    retry.expires_after(std::chrono::milliseconds(cfg.chunk_retry_ms));
    retry.async_wait([self](asio::error_code ec) {
      if (ec || !self->pending_req || !self->sock.is_open()) return;
      ++self->st.retries;
      self->send_frame(*self->pending_req);
      self->arm_retry();
    });
  }
  void on_frame(const Frame& f) {
    if (f.device != id) return;
    if (f.is_response()) {
      if (f.cmd == Cmd::Login) {
        auto r = LoginResp::decode(f.body);
        if (!r || r->result != LoginResult::Ok) {
          sock.close();
          return later_reconnect(2000);
        }
        ++st.logged_in;
        heartbeat();
        if (report_after_login) {
          send(Cmd::OtaStatus, report_after_login->encode());
          report_after_login.reset();
          ++st.installed;
        }
        if (offer && image.size() < offer->size) pull();   // resume after a reconnect
      } else if (f.cmd == Cmd::OtaChunkReq && pending_req && f.seq == pending_req->seq) {
        auto c = OtaChunk::decode(f.body);
        if (!c || c->offset != image.size() || !offer) return;
        retry.cancel();
        pending_req.reset();
        ++st.chunks;
        image.insert(image.end(), c->data.begin(), c->data.end());
        if (image.size() < offer->size) return pull();
        if (firmware::sha256(image) != offer->sha256) {
          ++st.verify_failed;
          send(Cmd::OtaStatus, OtaStatus{offer->version, 4, static_cast<uint32_t>(image.size())}.encode());
          offer.reset();
          image.clear();
          return;
        }
        send(Cmd::OtaStatus, OtaStatus{offer->version, 2, offer->size}.encode());
        // Install and reboot: the link drops, the charger logs in with the new version and reports 3.
        fw = offer->version;
        report_after_login = OtaStatus{offer->version, 3, offer->size};
        offer.reset();
        image.clear();
        auto self = shared_from_this();
        retry.expires_after(std::chrono::milliseconds(200));
        retry.async_wait([self](asio::error_code ec) {
          if (ec) return;
          asio::error_code ignore;
          self->sock.close(ignore);
          self->hb.cancel();
        });
      }
      return;
    }
    switch (f.cmd) {
      case Cmd::OtaOffer: {
        auto o = OtaOffer::decode(f.body);
        uint8_t res = 3;
        if (o && o->version == fw) res = 2;
        else if (o && firmware::verify(cfg.key, firmware::signed_message(o->sha256, o->version), o->signature)) res = 0;
        if (res == 3) ++st.rejected;
        send_frame(make_response(f, Result{res}.encode()));
        if (res == 0 && !(offer && offer->sha256 == o->sha256)) {
          ++st.offers;
          offer = *o;
          image.clear();
          image.reserve(o->size);
          send(Cmd::OtaStatus, OtaStatus{o->version, 1, 0}.encode());
          pull();
        }
        return;
      }
      case Cmd::QueryPorts: {
        QueryPortsResp q;
        q.ports.resize(10);
        send_frame(make_response(f, q.encode()));
        return;
      }
      default:
        send_frame(make_response(f, Result{0}.encode()));
        return;
    }
  }
};

struct Fleet::Impl {
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{io.get_executor()};
  std::vector<std::shared_ptr<Charger>> chargers;
  asio::steady_timer starter{io};
  size_t started = 0;
};

Fleet::Fleet(FleetConfig cfg) : impl_(std::make_unique<Impl>()) {
  static FleetConfig keep;   // chargers hold a reference; one fleet per process in the bench
  keep = std::move(cfg);
  for (auto& [id, tok] : keep.chargers)
    impl_->chargers.push_back(std::make_shared<Charger>(impl_->io, keep, stats_, *parse_device_id(id), from_hex(tok)));
}

Fleet::~Fleet() { stop(); }

void Fleet::start() {
  auto* im = impl_.get();
  std::function<void()> step;
  auto batch = std::max<size_t>(1, im->chargers.size() ? 200 / 10 : 1);
  std::shared_ptr<std::function<void()>> next = std::make_shared<std::function<void()>>();
  *next = [im, batch, next] {
    for (size_t i = 0; i < batch && im->started < im->chargers.size(); ++i) im->chargers[im->started++]->connect();
    if (im->started < im->chargers.size()) {
      im->starter.expires_after(std::chrono::milliseconds(100));
      im->starter.async_wait([next](asio::error_code ec) {
        if (!ec) (*next)();
      });
    }
  };
  asio::post(im->io, [next] { (*next)(); });
  thread_ = std::thread([im] { im->io.run(); });
}

void Fleet::stop() {
  if (!thread_.joinable()) return;
  impl_->io.stop();
  thread_.join();
}

}  // namespace chargehub::otabench
