#include "host.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <csignal>
#include <ctime>
#include <fstream>
#include <sstream>

#include "chargehub/log.hpp"

namespace chargehub::sim::io {
using namespace chargehub::proto;

static int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

SimClock::SimClock(double scale, int64_t sim_start_unix_ms)
    : scale_(scale > 0 ? scale : 1.0),
      start_(std::chrono::steady_clock::now()),
      sim_start_ms_(sim_start_unix_ms ? sim_start_unix_ms : unix_ms_now()) {}

Now SimClock::now() const {
  auto real = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start_).count();
  Now n;
  n.real_ms = real;
  n.sim_ms = sim_start_ms_ + static_cast<int64_t>(static_cast<double>(real) * scale_);
  n.unix_ms = unix_ms_now();
  return n;
}

FileJournal::FileJournal(std::filesystem::path dir, DeviceId id) {
  std::filesystem::create_directories(dir);
  path_ = dir / (device_id_text(id) + ".journal.json");
}

void FileJournal::save(const NvState& s) {
  auto tmp = path_;
  tmp += ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << to_json(s);
    if (!f) throw std::runtime_error("cannot write journal " + tmp.string());
  }
  std::filesystem::rename(tmp, path_);
}

std::optional<NvState> FileJournal::load() {
  std::ifstream f(path_);
  if (!f) return std::nullopt;
  std::stringstream ss;
  ss << f.rdbuf();
  auto s = nv_from_json(ss.str());
  if (!s) log::warn("charger.journal_unreadable", {{"path", path_.string()}});   // starting empty
  return s;
}

namespace {
std::string_view kind_name(Event::Kind k) {
  static constexpr std::string_view names[] = {
      "charger.login_sent", "charger.login_ok", "charger.login_refused", "charger.started", "charger.start_refused",
      "charger.ended", "charger.end_acked", "charger.alarm", "charger.card", "charger.card_answer", "charger.locate",
      "charger.params", "charger.rebooting", "charger.power_loss", "charger.booted", "charger.ota", "charger.unplugged",
      "charger.timeout", "charger.dropped"};
  auto i = static_cast<size_t>(k);
  return i < std::size(names) ? names[i] : "charger.event";
}
}  // namespace

void LogSink::event(const std::string& device, const Event& e) const {
  if (!print) return;
  log::info(kind_name(e.kind), {{"device", device}, {"port", e.port}, {"session", e.session}, {"reason", e.reason},
                                {"value", e.value}, {"what", e.text}});
}

void LogSink::frame(const std::string& device, std::string_view direction, std::string_view cmd, const std::string& hex) const {
  if (!print || !frames) return;
  log::info("charger.frame", {{"device", device}, {"dir", direction}, {"cmd", cmd}, {"hex", hex}});
}

Station::Station(ChargerConfig cfg, std::unique_ptr<Journal> journal, const LogSink* log, FaultRates out_faults,
                 FaultRates in_faults)
    : device_(cfg.device),
      id_text_(device_id_text(cfg.device)),
      journal_(std::move(journal)),
      log_(log),
      out_faults_(out_faults, cfg.seed * 7919 + 1),
      in_faults_(in_faults, cfg.seed * 104729 + 3) {
  charger_ = std::make_unique<Charger>(std::move(cfg), *journal_, *this);
}

void Station::send(const Frame& f) {
  if (log_ && log_->frames) log_->frame(id_text_, "out", cmd_name(f.cmd), to_hex(encode_frame(f), true));
  if (frame_writer) {   // MQTT: frame faults are not applied (the broker's QoS does the transport)
    frame_writer(f);
    return;
  }
  if (!out_faults_.rates().any()) {
    if (writer) writer(encode_frame(f));
    return;
  }
  out_faults_.push(encode_frame(f), last_now_.real_ms);
  flush(last_now_);
}

void Station::flush(const Now& now) {
  last_now_ = now;
  if (!out_faults_.idle())
    for (auto& b : out_faults_.pop_ready(now.real_ms))
      if (writer) writer(std::move(b));
  if (!in_faults_.idle()) {
    for (auto& b : in_faults_.pop_ready(now.real_ms)) in_decoder_.feed(b);
    while (auto f = in_decoder_.next()) charger_->receive(*f, now);
  }
}

void Station::deliver(const Frame& f, const Now& now) {
  last_now_ = now;
  if (log_ && log_->frames) log_->frame(id_text_, "in", cmd_name(f.cmd), to_hex(encode_frame(f), true));
  if (!in_faults_.rates().any()) {
    charger_->receive(f, now);
  } else {
    in_faults_.push(encode_frame(f), now.real_ms);
  }
  flush(now);
}

void Station::event(const Event& e) {
  if (log_) log_->event(id_text_, e);
  if (on_event) on_event(e);
}

Host::Host(double time_scale, int64_t tick_ms) : clock_(time_scale), tick_ms_(tick_ms), tick_timer_(io_) {}

Station& Host::add_station(std::unique_ptr<Station> s) {
  stations_.push_back(std::move(s));
  return *stations_.back();
}

void Host::add_link(std::unique_ptr<Link> l) { links_.push_back(std::move(l)); }

void Host::schedule_tick() {
  tick_timer_.expires_after(std::chrono::milliseconds(tick_ms_));
  tick_timer_.async_wait([this](std::error_code ec) {
    if (ec) return;
    auto now = clock_.now();
    for (auto& s : stations_) {
      s->charger().tick(now);
      s->flush(now);
    }
    for (auto& l : links_) l->poll(now);
    if (on_tick) on_tick(now);
    schedule_tick();
  });
}

int Host::run(double real_duration_s) {
  int stopped_by = 0;
  asio::signal_set signals(io_, SIGINT, SIGTERM);
  signals.async_wait([&](std::error_code ec, int sig) {
    if (ec) return;
    stopped_by = sig;
    io_.stop();
  });
  asio::steady_timer end(io_);
  if (real_duration_s > 0) {
    end.expires_after(std::chrono::milliseconds(static_cast<int64_t>(real_duration_s * 1000)));
    end.async_wait([&](std::error_code ec) {
      if (!ec) io_.stop();
    });
  }
  asio::steady_timer starter(io_);
  size_t next_link = 0;
  auto starts_from = std::chrono::steady_clock::now();
  std::function<void()> start_more = [&] {
    // Starts every link that is due by now (so a busy loop that wakes late catches up), then sleeps 1 ms.
    size_t due = links_.size();
    if (link_start_spacing_us > 0) {
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - starts_from).count();
      due = std::min(links_.size(), static_cast<size_t>(us / link_start_spacing_us) + 1);
    }
    while (next_link < due) links_[next_link++]->start();
    if (next_link >= links_.size()) return;
    starter.expires_after(std::chrono::milliseconds(1));
    starter.async_wait([&](std::error_code ec) {
      if (!ec) start_more();
    });
  };
  if (!links_.empty()) start_more();
  schedule_tick();
  io_.run();
  for (auto& l : links_) l->stop();
  return stopped_by;
}

long raise_fd_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) != 0) return -1;
  r.rlim_cur = r.rlim_max;
  setrlimit(RLIMIT_NOFILE, &r);
  getrlimit(RLIMIT_NOFILE, &r);
  return static_cast<long>(r.rlim_cur);
}

}  // namespace chargehub::sim::io
