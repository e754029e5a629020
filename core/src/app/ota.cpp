#include "app/ota.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <set>

#include "chargehub/payloads.hpp"
#include "chargehub/topics.hpp"
#include "log.hpp"

namespace chargehub::core {

namespace json = boost::json;
namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------------
// pure rules

namespace rollout {

bool valid_stages(const std::vector<int>& pct) {
  if (pct.empty() || pct.size() > 10 || pct.back() != 100) return false;
  int prev = 0;
  for (int p : pct) {
    if (p <= prev || p > 100) return false;
    prev = p;
  }
  return true;
}

std::vector<int64_t> stage_quotas(int64_t n, const std::vector<int>& pct) {
  std::vector<int64_t> q;
  int64_t done = 0;
  for (size_t i = 0; i < pct.size(); ++i) {
    int64_t upto = (n * pct[i] + 99) / 100;   // ceil: 1 % of 20 is 1
    if (i + 1 == pct.size()) upto = n;
    upto = std::max(upto, std::min(n, done + 1));   // at least one device per stage while any remain
    q.push_back(upto - done);
    done = upto;
  }
  return q;
}

bool gate_tripped(const StageView& s) {
  int64_t failed = s.failed - s.failed_accepted;
  // failed > pct% of quota, in integers: failed * 100 > pct * quota
  return failed > 0 && failed * 100 > static_cast<int64_t>(s.max_failure_pct) * std::max<int64_t>(s.quota, 1);
}

Decision decide(const StageView& s) {
  Decision d;
  if (gate_tripped(s)) {
    d.verdict = Verdict::Pause;
    d.reason = "health gate: " + std::to_string(s.failed - s.failed_accepted) + " of " + std::to_string(s.quota) +
               " devices failed in stage " + std::to_string(s.stage + 1) + " (more than " +
               std::to_string(s.max_failure_pct) + " %)";
    return d;
  }
  bool last = s.stage + 1 >= s.stages;
  int64_t room = std::max<int64_t>(0, s.max_concurrent - s.in_flight);
  int64_t fresh = last ? s.pending : std::min(s.pending, std::max<int64_t>(0, s.quota - s.started));
  int64_t want = s.retry + fresh;
  if (want > 0 && room > 0) {
    d.verdict = Verdict::Offer;
    d.offers = std::min(want, room);
    return d;
  }
  if (want > 0 || s.in_flight > 0 || s.retry > 0) return d;   // Wait: let the stage finish before judging it
  if (s.pending == 0) {
    d.verdict = Verdict::Complete;
    return d;
  }
  d.verdict = last ? Verdict::Wait : Verdict::Advance;
  return d;
}

std::optional<std::string> skip_reason(std::optional<int64_t> model, const std::optional<std::string>& fw,
                                       const firmware::Manifest& m) {
  auto cur = fw ? proto::Version::parse(*fw) : std::nullopt;
  if (model && *model != m.model) return "model_mismatch";
  if (cur && *cur == m.version) return "already_on_version";
  if (cur && *cur < m.min_from) return "below_min_from";
  return std::nullopt;
}

bool finished(RolloutDeviceState s) { return s != RolloutDeviceState::Pending && !in_flight(s); }

namespace {
// How far a device has come, for reports that arrive out of order.
int rank(RolloutDeviceState s) {
  switch (s) {
    case RolloutDeviceState::Pending: return 0;
    case RolloutDeviceState::Offered: return 1;
    case RolloutDeviceState::Downloading: return 2;
    case RolloutDeviceState::Verified: return 3;
    default: return 4;
  }
}
}  // namespace

std::optional<Progress> progress(RolloutDeviceState cur, const proto::OtaStatus& st, const firmware::Manifest& m) {
  using S = RolloutDeviceState;
  if (finished(cur) || st.version != m.version) return std::nullopt;   // a finished device, or a report about some other image
  switch (static_cast<proto::OtaState>(st.status)) {
    case proto::OtaState::Downloading:
      if (rank(cur) <= rank(S::Downloading)) return Progress{S::Downloading, std::nullopt, int64_t{st.bytes}};
      return std::nullopt;
    case proto::OtaState::Verified:
      return Progress{S::Verified, std::nullopt, int64_t{st.bytes}};
    case proto::OtaState::Installed:
      return Progress{S::Installed, std::nullopt, int64_t{m.size}};
    case proto::OtaState::VerifyFailed:
      return Progress{S::Failed, std::string("verify_failed"), int64_t{st.bytes}};
    case proto::OtaState::RolledBack:
      return Progress{S::RolledBack, std::string("boot_failed"), std::nullopt};
  }
  return std::nullopt;
}

std::optional<Progress> progress_on_boot(RolloutDeviceState cur, const std::string& fw, const firmware::Manifest& m) {
  if (finished(cur) || fw != m.version.text()) return std::nullopt;
  return Progress{RolloutDeviceState::Installed, std::nullopt, int64_t{m.size}};
}

std::optional<Progress> progress_on_pull(RolloutDeviceState cur) {
  if (cur != RolloutDeviceState::Offered && cur != RolloutDeviceState::Pending) return std::nullopt;
  return Progress{RolloutDeviceState::Downloading, std::nullopt, std::nullopt};
}

std::optional<Progress> progress_on_offer_reply(int64_t result) {
  switch (result) {
    case 0: return Progress{RolloutDeviceState::Downloading, std::nullopt, std::nullopt};
    case 1: return std::nullopt;   // busy: it pulls once no port charges; stays offered
    case 2: return Progress{RolloutDeviceState::Installed, std::string("already_on_version"), std::nullopt};
    default: return Progress{RolloutDeviceState::Failed, std::string("rejected"), std::nullopt};   // 3: bad signature or size
  }
}

}  // namespace rollout

// ---------------------------------------------------------------------------------------------------
// helpers

namespace {

using S = RolloutDeviceState;
const std::vector<S> kInFlight = {S::Offered, S::Downloading, S::Verified};

void write_file_atomically(const fs::path& path, const firmware::Bytes& data) {
  auto tmp = path;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot write " + tmp.string());
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n <= 0) {
      ::close(fd);
      throw std::runtime_error("cannot write " + tmp.string());
    }
    off += static_cast<size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  fs::rename(tmp, path);
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// construction

Ota::Ota(Service& svc, Publisher& pub, OtaConfig cfg)
    : svc_(svc),
      pub_(pub),
      cfg_(std::move(cfg)),
      db_(svc.app().db),
      firmware_(db_),
      rollouts_(db_),
      devices_(svc.app().repos.devices) {
  fs::create_directories(cfg_.dir);
}

Ota::~Ota() {
  for (auto& [id, fd] : fds_) ::close(fd);
}

Ota::Stats Ota::stats() {
  std::lock_guard lock(mem_mu_);
  return stats_;
}

// ---------------------------------------------------------------------------------------------------
// registry

Result<FirmwareRow> Ota::add_firmware(const firmware::Package& p, const std::string& by) {
  using R = Result<FirmwareRow>;
  if (!cfg_.pubkey) return R::no("no_firmware_key", "the core was started without --firmware-pubkey; uploads are refused");
  auto c = firmware::check(p.manifest, p.image, *cfg_.pubkey);
  if (c != firmware::Check::Ok) return R::no(std::string(firmware::check_name(c)), std::string(firmware::check_message(c)));
  auto exists = [&](int64_t id) {
    return R::no("firmware_exists", "model " + std::to_string(p.manifest.model) + " already has firmware " +
                                        p.manifest.version.text() + " (id " + std::to_string(id) + ")");
  };
  std::lock_guard lock(mu_);
  {
    sql::Lock rd(db_);
    if (auto id = firmware_.id_of(p.manifest.model, p.manifest.version)) return exists(*id);
  }
  // Content-addressed: the file is named by its SHA-256, written to a temporary name and renamed (not
  // inside the transaction: the fleet's messages wait for the connection meanwhile).
  std::string file = firmware::hex(p.manifest.sha256) + ".bin";
  auto path = fs::path(cfg_.dir) / file;
  if (!fs::exists(path) || fs::file_size(path) != p.image.size()) write_file_atomically(path, p.image);
  int64_t id = 0;
  {
    sql::Tx tx(db_);
    if (auto other = firmware_.id_of(p.manifest.model, p.manifest.version)) return exists(*other);   // another core, meanwhile
    id = firmware_.insert(p.manifest, file, by, now());
    tx.commit();
  }
  log::info("firmware.added", {{"firmware", id}, {"model", p.manifest.model}, {"version", p.manifest.version.text()},
                               {"bytes", p.manifest.size}, {"by", by}});
  return R::ok(*firmware(id));
}

std::vector<FirmwareRow> Ota::firmware_list() {
  sql::Lock lock(db_);
  return firmware_.list();
}

std::optional<FirmwareRow> Ota::firmware(int64_t id) {
  {
    std::lock_guard lock(mem_mu_);
    if (auto it = fw_cache_.find(id); it != fw_cache_.end()) return it->second;
  }
  std::optional<FirmwareRow> f;
  {
    sql::Lock lock(db_);
    f = firmware_.get(id);
  }
  if (f) {
    std::lock_guard lock(mem_mu_);
    fw_cache_[id] = *f;
  }
  return f;
}

int Ota::fd_of(const FirmwareRow& f) {
  std::lock_guard lock(mem_mu_);
  if (auto it = fds_.find(f.id); it != fds_.end()) return it->second;
  int fd = ::open((fs::path(cfg_.dir) / f.file).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  fds_[f.id] = fd;
  return fd;
}

// ---------------------------------------------------------------------------------------------------
// rollouts

std::optional<RolloutRow> Ota::rollout(int64_t id) {
  sql::Lock lock(db_);
  return rollouts_.get(id);
}

std::vector<RolloutRow> Ota::rollouts(int64_t limit) {
  sql::Lock lock(db_);
  std::vector<RolloutRow> out;
  for (auto id : rollouts_.newest_ids(limit))
    if (auto r = rollouts_.get(id)) out.push_back(std::move(*r));
  return out;
}

Result<RolloutRow> Ota::create_rollout(const RolloutRequest& rq) {
  using R = Result<RolloutRow>;
  auto fw = firmware(rq.firmware_id);
  if (!fw) return R::no("firmware_not_found", "no firmware with this id");
  if (!rollout::valid_stages(rq.stages))
    return R::no("bad_stages", "stages are cumulative percentages, strictly increasing, at most 10, the last 100 (e.g. [1,10,100])");
  if (rq.max_failure_pct < 0 || rq.max_failure_pct > 100) return R::no("bad_field", "max_failure_pct must be 0..100");
  if (rq.max_concurrent < 1 || rq.max_concurrent > 100000) return R::no("bad_field", "max_concurrent must be 1..100000");
  const int64_t model = fw->manifest.model;

  std::lock_guard lock(mu_);
  sql::Tx tx(db_);
  // Resolve the target to devices (a snapshot: devices added later are not included), each with its row
  // for the skip check.
  std::vector<std::string> ids;
  std::map<std::string, Device> rows;
  if (rq.target_kind == "model") {
    auto* m = rq.target.is_object() ? rq.target.get_object().if_contains("model") : nullptr;
    if (!m || !m->is_int64() || m->get_int64() != model)
      return R::no("model_mismatch", "target.model must be the firmware's model (" + std::to_string(model) + ")");
    ids = devices_.ids_with_model(model);
    // A random but repeatable order, so the first stage is a fair sample of the fleet.
    std::mt19937_64 rng(static_cast<uint64_t>(rollouts_.next_id()) * 0x9E3779B97F4A7C15ULL);
    std::shuffle(ids.begin(), ids.end(), rng);
  } else if (rq.target_kind == "devices") {
    auto* l = rq.target.is_object() ? rq.target.get_object().if_contains("devices") : nullptr;
    if (!l || !l->is_array() || l->get_array().empty() || l->get_array().size() > 100000)
      return R::no("bad_target", "target.devices must be a list of 1..100000 device ids");
    std::set<std::string> seen;
    std::vector<std::string> unknown;
    for (auto& x : l->get_array()) {
      if (!x.is_string()) return R::no("bad_target", "target.devices must be device id strings");
      std::string id(x.get_string());
      if (!seen.insert(id).second) continue;
      if (auto d = devices_.get(Scope::platform(), id)) rows.emplace(id, std::move(*d));
      else unknown.push_back(id);
      ids.push_back(id);   // in the operator's order: canaries first
    }
    if (!unknown.empty()) {
      std::string list;
      for (size_t i = 0; i < unknown.size() && i < 10; ++i) list += (i ? ", " : "") + unknown[i];
      return R::no("device_not_found", std::to_string(unknown.size()) + " unknown device(s): " + list);
    }
  } else if (rq.target_kind == "station" || rq.target_kind == "agent") {
    // The devices at that station (device.station_id) or run by that agent or one of its sub-agents
    // (device.agent_id), of the package's model, in id order.
    auto* s = rq.target.is_object() ? rq.target.get_object().if_contains(rq.target_kind) : nullptr;
    if (!s || !s->is_int64() || s->get_int64() < 1)
      return R::no("bad_target", "target." + rq.target_kind + " must be its id (a positive integer)");
    int64_t where = s->get_int64();
    for (auto& id : rq.target_kind == "station" ? devices_.ids_at_station(where) : devices_.ids_of_agent(where)) {
      auto d = devices_.get(Scope::platform(), id);
      if (!d || d->model != model) continue;
      rows.emplace(id, std::move(*d));
      ids.push_back(id);
    }
  } else {
    return R::no("bad_target", "target must be {\"model\":N}, {\"devices\":[...]}, {\"station\":id} or {\"agent\":id}");
  }

  int64_t t = now();
  int64_t id = rollouts_.insert(NewRollout{rq.firmware_id, rq.target_kind, rq.target, rq.stages, rq.max_failure_pct,
                                           rq.max_concurrent, RolloutState::Running, rq.created_by},
                                t);
  // At creation a device already on the version, of another model or too old is skipped (checked again
  // before each offer).
  int64_t seq = 0;
  for (auto& dev : ids) {
    std::optional<int64_t> dmodel;
    std::optional<std::string> dfw;
    auto it = rows.find(dev);
    if (it == rows.end()) {
      if (auto d = devices_.get(Scope::platform(), dev)) it = rows.emplace(dev, std::move(*d)).first;
    }
    if (it != rows.end()) {
      dmodel = it->second.model;
      dfw = it->second.fw;
    }
    RolloutDeviceRow row;
    row.rollout_id = id;
    row.device_id = dev;
    row.seq = seq++;
    row.from_fw = dfw;
    row.error = rollout::skip_reason(dmodel, dfw, fw->manifest);
    row.state = row.error ? S::Skipped : S::Pending;
    row.updated_at = t;
    if (row.error) row.finished_at = t;
    rollouts_.insert_device(row);
  }
  auto out = rollouts_.get(id);
  tx.commit();
  json::array stages;
  for (int p : rq.stages) stages.push_back(p);
  log::info("rollout.created", {{"rollout", id}, {"version", fw->manifest.version.text()}, {"model", model}, {"devices", ids.size()},
                                {"target", rq.target_kind}, {"stages", json::serialize(stages)}, {"by", rq.created_by}});
  return R::ok(*out);
}

Result<RolloutRow> Ota::pause(int64_t id, const std::string& by) {
  using R = Result<RolloutRow>;
  std::lock_guard lock(mu_);
  sql::Tx tx(db_);
  auto r = rollouts_.get(id);
  if (!r) return R::no("rollout_not_found", "no rollout with this id");
  if (r->state != RolloutState::Running) return R::no("not_running", "the rollout is " + std::string(name(r->state)));
  rollouts_.pause(id, "paused by " + by, now());
  auto out = rollouts_.get(id);
  tx.commit();
  log::info("rollout.paused", {{"rollout", id}, {"by", by}});
  return R::ok(*out);
}

Result<RolloutRow> Ota::resume(int64_t id, const std::string& by) {
  using R = Result<RolloutRow>;
  std::lock_guard lock(mu_);
  sql::Tx tx(db_);
  auto r = rollouts_.get(id);
  if (!r) return R::no("rollout_not_found", "no rollout with this id");
  if (r->state != RolloutState::Paused) return R::no("not_paused", "the rollout is " + std::string(name(r->state)));
  // Resuming accepts the failures seen so far in this stage: the gate trips again only on new ones.
  auto c = rollouts_.stage_counts(id, r->stage);
  int64_t failed = c[S::Failed] + c[S::RolledBack];
  rollouts_.resume(id, failed, now());
  auto out = rollouts_.get(id);
  tx.commit();
  log::info("rollout.resumed", {{"rollout", id}, {"by", by}, {"failures_accepted", failed}, {"stage", r->stage + 1}});
  return R::ok(*out);
}

Result<RolloutRow> Ota::cancel(int64_t id, const std::string& by) {
  using R = Result<RolloutRow>;
  std::lock_guard lock(mu_);
  sql::Tx tx(db_);
  auto r = rollouts_.get(id);
  if (!r) return R::no("rollout_not_found", "no rollout with this id");
  if (r->state == RolloutState::Cancelled || r->state == RolloutState::Completed)
    return R::no("finished", "the rollout is " + std::string(name(r->state)));
  int64_t t = now();
  rollouts_.cancel(id, "cancelled by " + by, t);
  // Devices not started yet are cancelled; those already downloading are still served (docs/ota.md).
  rollouts_.finish_all(id, S::Pending, S::Cancelled, t);
  auto out = rollouts_.get(id);
  tx.commit();
  log::info("rollout.cancelled", {{"rollout", id}, {"by", by}});
  return R::ok(*out);
}

std::vector<RolloutDeviceRow> Ota::rollout_devices(int64_t id, std::optional<RolloutDeviceState> state, int64_t limit,
                                                   const std::string& after) {
  sql::Lock lock(db_);
  int64_t after_seq = -1;
  if (!after.empty())
    if (auto s = rollouts_.seq_of(id, after)) after_seq = *s;
  return rollouts_.devices(id, state, after_seq, limit);
}

// ---------------------------------------------------------------------------------------------------
// device progress: the hooks (service's worker thread, inside its transaction: never mu_)

std::optional<Ota::Active> Ota::active_for(const std::string& device) {
  {
    std::lock_guard lock(mem_mu_);
    if (auto it = active_.find(device); it != active_.end()) return it->second;
  }
  // In flight, or offered before and set back for another offer (a lost reply: it may be pulling).
  std::optional<LatestOffer> o;
  {
    sql::Lock lock(db_);
    o = rollouts_.latest_offer(device, kInFlight);
  }
  if (!o) return std::nullopt;
  std::lock_guard lock(mem_mu_);
  return active_.emplace(device, Active{o->rollout_id, o->firmware_id, o->state}).first->second;
}

void Ota::on_ota_message(const std::string& device, const json::value& v) {
  if (v.is_object() && v.get_object().contains("offset")) {
    if (auto r = payloads::parse_ota_chunk_req(v)) serve_chunk(device, r->offset, r->length);
    return;
  }
  auto st = payloads::parse_ota_status(v);
  if (!st) {
    log::warn("ota.malformed", {{"device", device}});
    return;
  }
  auto a = active_for(device);
  std::lock_guard lock(mem_mu_);
  ++stats_.statuses;
  if (a) events_.push_back(Event{Event::Status, device, *a, *st, {}});
}

void Ota::serve_chunk(const std::string& device, uint32_t offset, uint32_t length) {
  auto a = active_for(device);
  auto fw = a ? firmware(a->firmware_id) : std::nullopt;
  int fd = fw ? fd_of(*fw) : -1;
  if (!a || !fw || fd < 0 || offset >= fw->manifest.size) {
    std::lock_guard lock(mem_mu_);
    ++stats_.chunk_requests_unknown;
    return;
  }
  uint32_t len = std::min<uint32_t>({length, 1000u, fw->manifest.size - offset});
  std::string payload(4 + len, '\0');
  for (int i = 0; i < 4; ++i) payload[static_cast<size_t>(i)] = static_cast<char>((offset >> (8 * i)) & 0xFF);
  if (::pread(fd, payload.data() + 4, len, offset) != static_cast<ssize_t>(len)) {
    log::error("ota.short_read", {{"firmware", a->firmware_id}, {"offset", offset}});
    return;
  }
  pub_.publish(topics::down_topic(device, topics::down::kOta), payload, 1, false);
  std::lock_guard lock(mem_mu_);
  ++stats_.chunks_served;
  stats_.bytes_served += len;
  if (rollout::progress_on_pull(a->state)) {
    // The charger pulls: it accepted (its reply may still be on the way, or was lost).
    active_[device].state = S::Downloading;
    events_.push_back(Event{Event::Pulling, device, *a, {}, {}});
  }
}

void Ota::on_boot(const std::string& device, const std::string& fwv) {
  auto a = active_for(device);
  if (!a) return;
  std::lock_guard lock(mem_mu_);
  events_.push_back(Event{Event::Boot, device, *a, {}, fwv});
}

void Ota::on_heartbeat(const std::string&, const std::vector<uint8_t>&) {
  // Offers read online and port states from the device table (the devices use case keeps them).
}

void Ota::on_online(const std::string&, bool) {}

// ---------------------------------------------------------------------------------------------------
// applying what the hooks saw (tick, under mu_, in a transaction)

void Ota::set_device_state(int64_t rollout_id, const std::string& device, const rollout::Progress& p) {
  int64_t t = now();
  bool done = rollout::finished(p.state);
  rollouts_.set_state(rollout_id, device, p.state, p.error, p.bytes, done ? std::optional<int64_t>(t) : std::nullopt, t);
  std::lock_guard lock(mem_mu_);
  if (done) {
    active_.erase(device);
    log::info("ota.device_done", {{"device", device}, {"rollout", rollout_id}, {"state", name(p.state)}, {"error", p.error}});
  } else if (auto it = active_.find(device); it != active_.end()) {
    it->second.state = p.state;
  }
}

void Ota::apply(const Event& e) {
  auto cur = rollouts_.device_state(e.active.rollout_id, e.device);
  if (!cur || rollout::finished(*cur)) return;
  auto fw = firmware(e.active.firmware_id);
  if (!fw) return;
  int64_t r = e.active.rollout_id;
  switch (e.kind) {
    case Event::Pulling:
      if (auto p = rollout::progress_on_pull(*cur)) {
        rollouts_.set_offer_result_if_none(r, e.device, 0);   // pulling is accepting
        set_device_state(r, e.device, *p);
      }
      return;
    case Event::Boot:
      if (auto p = rollout::progress_on_boot(*cur, e.fw, fw->manifest)) set_device_state(r, e.device, *p);
      return;
    case Event::Status:
      if (auto p = rollout::progress(*cur, e.status, fw->manifest)) set_device_state(r, e.device, *p);
      return;
  }
}

// ---------------------------------------------------------------------------------------------------
// the planner (housekeeping thread, about once a second)

void Ota::tick(bool housekeeping) {
  std::vector<Event> events;
  {
    std::lock_guard lock(mem_mu_);
    events.swap(events_);
  }
  std::vector<int64_t> ids;
  {
    std::lock_guard lock(mu_);
    if (!events.empty()) {
      sql::Tx tx(db_);
      for (auto& e : events) apply(e);
      tx.commit();
    }
    // Several core instances: each applies the reports it received; one plans (docs/scale-out.md).
    if (!housekeeping) return;
    // Running rollouts, and paused or cancelled ones still waiting for replies to their offers.
    sql::Lock rd(db_);
    ids = rollouts_.ids_to_watch(RolloutState::Running, {RolloutState::Paused, RolloutState::Cancelled},
                                 {S::Offered, S::Downloading});
  }
  for (auto id : ids) {
    try {
      check_offers(id);
      step_rollout(id);
    } catch (const std::exception& e) {
      log::error("rollout.failed", {{"rollout", id}, {"error", e.what()}});
    }
  }
}

// Applies the chargers' replies to offers (read from the command table through the commands use case),
// and gives the places of stalled downloads back.
void Ota::check_offers(int64_t id) {
  struct Row {
    RolloutDeviceRow device;
    std::optional<CommandRow> cmd;
  };
  std::vector<Row> rows;
  {
    std::lock_guard lock(mu_);
    sql::Lock rd(db_);
    for (auto& d : rollouts_.awaiting_reply(id, S::Offered)) rows.push_back({std::move(d), std::nullopt});
  }
  {
    // A device that went offline in the middle of its download for longer than stall_timeout_s gives its
    // place back: pending again (offered again when it returns; its chunk requests are still served),
    // failed ("stalled") once it had all its offers.
    std::lock_guard lock(mu_);
    int64_t t = now();
    sql::Tx tx(db_);
    auto stalled = rollouts_.offline_since(id, {S::Offered, S::Downloading}, t - cfg_.stall_timeout_s);
    for (auto& d : stalled) {
      if (d.attempts >= cfg_.max_offer_attempts) rollouts_.release(id, d.device_id, S::Failed, std::string("stalled"), t, t);
      else rollouts_.release(id, d.device_id, S::Pending, std::nullopt, std::nullopt, t);
    }
    tx.commit();
    if (!stalled.empty()) {
      log::warn("rollout.stalled_released", {{"rollout", id}, {"devices", stalled.size()}, {"stall_timeout_s", cfg_.stall_timeout_s}});
      std::lock_guard mlock(mem_mu_);
      active_.clear();   // re-read from the table on the next request
    }
  }
  if (rows.empty()) return;
  for (auto& r : rows) r.cmd = svc_.app().commands.get(*r.device.command_id);   // not under mu_ (lock order)
  std::lock_guard lock(mu_);
  sql::Tx tx(db_);
  for (auto& r : rows) {
    auto& c = r.cmd;
    auto& dev = r.device.device_id;
    if (!c) continue;
    // Still offered with this command? (a chunk request may have moved it on meanwhile)
    if (!rollouts_.has_command(id, dev, S::Offered, *r.device.command_id)) continue;
    if (c->state == CommandState::Replied && c->result) {
      rollouts_.set_offer_result(id, dev, *c->result, now());
      if (auto p = rollout::progress_on_offer_reply(*c->result)) set_device_state(id, dev, *p);
    } else if (c->state == CommandState::Failed || c->state == CommandState::Expired || (c->state == CommandState::Replied && !c->result)) {
      if (r.device.attempts >= cfg_.max_offer_attempts) {
        set_device_state(id, dev, {S::Failed, "no_answer" + std::string(c->error ? " (" + *c->error + ")" : ""), std::nullopt});
      } else {
        // Offered again later; if the charger did get it, its chunk requests are still served.
        rollouts_.release(id, dev, S::Pending, std::nullopt, std::nullopt, now());
      }
    }
  }
  tx.commit();
}

void Ota::step_rollout(int64_t id) {
  for (int guard = 0; guard < 12; ++guard) {
    std::vector<OfferCandidate> offers;
    std::optional<FirmwareRow> fw;
    {
      std::lock_guard lock(mu_);
      sql::Tx tx(db_);
      auto r = rollouts_.get(id);
      if (!r || r->state != RolloutState::Running) return;
      fw = firmware(r->firmware_id);
      if (!fw) return;
      int64_t skipped = r->count(S::Skipped);
      int64_t eligible = r->total - skipped - r->count(S::Cancelled);
      auto quotas = rollout::stage_quotas(eligible, r->stages);
      rollout::StageView v;
      v.stage = r->stage;
      v.stages = static_cast<int>(r->stages.size());
      v.quota = quotas.empty() ? 0 : quotas[static_cast<size_t>(std::min<int>(r->stage, static_cast<int>(quotas.size()) - 1))];
      for (auto s : kInFlight) v.in_flight += r->count(s);
      v.failed_accepted = r->failed_accepted;
      v.max_failure_pct = r->max_failure_pct;
      v.max_concurrent = r->max_concurrent;
      for (auto& [s, n] : rollouts_.stage_counts(id, r->stage)) {
        if (s != S::Skipped) v.started += n;
        if (s == S::Failed || s == S::RolledBack) v.failed += n;
      }
      // Devices set back for another offer keep their place in their stage.
      v.retry = rollouts_.count_with_stage(id, S::Pending);
      v.pending = r->count(S::Pending) - v.retry;
      auto d = rollout::decide(v);
      int64_t t = now();
      switch (d.verdict) {
        case rollout::Verdict::Wait:
          return;
        case rollout::Verdict::Pause:
          rollouts_.pause(id, d.reason, t);
          tx.commit();
          log::warn("rollout.auto_paused", {{"rollout", id}, {"reason", d.reason}});
          return;
        case rollout::Verdict::Complete:
          rollouts_.complete(id, t);
          tx.commit();
          log::info("rollout.completed", {{"rollout", id}, {"installed", r->count(S::Installed)},
                                            {"failed", r->count(S::Failed) + r->count(S::RolledBack)}, {"skipped", skipped}});
          return;
        case rollout::Verdict::Advance:
          rollouts_.next_stage(id, t);
          tx.commit();
          log::info("rollout.stage_passed", {{"rollout", id}, {"stage", r->stage + 1}, {"next", r->stage + 2}, {"stages", r->stages.size()}});
          continue;
        case rollout::Verdict::Offer:
          break;
      }
      // Up to d.offers pending devices that are online, enabled and idle (no port charging), in the
      // rollout's order (those set back for another offer first), not busy with another rollout.
      bool skipped_any = false;
      for (auto& c : rollouts_.offer_candidates(id, S::Pending, static_cast<int64_t>(proto::PortState::Charging), kInFlight, d.offers)) {
        if (auto why = rollout::skip_reason(c.model, c.fw, fw->manifest)) {
          set_device_state(id, c.device_id, {S::Skipped, why, std::nullopt});
          skipped_any = true;
          continue;
        }
        // Marked offered before the offer goes out, so its first chunk request finds it.
        rollouts_.mark_offered(id, c.device_id, S::Offered, r->stage, c.fw, t);
        offers.push_back(std::move(c));
      }
      tx.commit();
      if (offers.empty()) {
        if (skipped_any) continue;   // skips changed the quotas: decide again
        return;
      }
      std::lock_guard mlock(mem_mu_);
      for (auto& c : offers) active_[c.device_id] = Active{id, fw->id, S::Offered};
    }
    // The offers go out through the service (command table, replies matched by id), not under mu_.
    json::object args{{"version", fw->manifest.version.text()},
                      {"size", fw->manifest.size},
                      {"sha256", firmware::hex(fw->manifest.sha256)},
                      {"signature", firmware::hex(fw->manifest.signature)},
                      {"chunk", 1000}};
    std::vector<std::pair<std::string, Result<CommandRow>>> sent;
    for (auto& c : offers)
      sent.emplace_back(c.device_id, svc_.send_command(Scope::platform(), c.device_id, "ota_offer", args, Origin::system("rollout:" + std::to_string(id))));
    std::lock_guard lock(mu_);
    sql::Tx tx(db_);
    for (auto& [dev, cmd] : sent) {
      if (!cmd) {
        set_device_state(id, dev, {S::Failed, cmd.refusal.code, std::nullopt});
        continue;
      }
      rollouts_.set_command(id, dev, cmd.value->id);
    }
    tx.commit();
    {
      std::lock_guard mlock(mem_mu_);
      stats_.offers_sent += sent.size();
    }
    return;
  }
}

}  // namespace chargehub::core
