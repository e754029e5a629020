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

}  // namespace rollout

// ---------------------------------------------------------------------------------------------------
// helpers

namespace {

const std::set<std::string> kInFlight = {"offered", "downloading", "verified"};
const std::set<std::string> kTerminal = {"installed", "failed", "rolled_back", "skipped", "cancelled"};
const char* kStates[] = {"pending", "offered", "downloading", "verified", "installed", "failed", "rolled_back", "skipped",
                         "cancelled"};

int rank(const std::string& s) {
  if (s == "pending") return 0;
  if (s == "offered") return 1;
  if (s == "downloading") return 2;
  if (s == "verified") return 3;
  return 4;
}

std::vector<int> stages_from(const std::string& text) {
  std::vector<int> out;
  auto v = payloads::parse_json(text);
  if (v && v->is_array())
    for (auto& x : v->get_array())
      if (x.is_int64()) out.push_back(static_cast<int>(x.get_int64()));
  return out;
}

FirmwareRow read_firmware(sql::Stmt& st) {
  FirmwareRow f;
  f.id = st.i64(0);
  f.manifest.model = static_cast<int>(st.i64(1));
  f.manifest.version = proto::Version::parse(st.text(2)).value_or(proto::Version{});
  f.manifest.min_from = proto::Version::parse(st.text(3)).value_or(proto::Version{});
  f.manifest.size = static_cast<uint32_t>(st.i64(4));
  auto sha = proto::from_hex(st.text(5));
  auto sig = proto::from_hex(st.text(6));
  std::copy_n(sha.begin(), std::min<size_t>(32, sha.size()), f.manifest.sha256.begin());
  std::copy_n(sig.begin(), std::min<size_t>(64, sig.size()), f.manifest.signature.begin());
  f.manifest.key_id = st.text(7);
  f.manifest.notes = st.text(8);
  f.file = st.text(9);
  f.created_by = st.text(10);
  f.created_at = st.i64(11);
  f.manifest.created_at = f.created_at;
  return f;
}
constexpr const char* kFirmwareCols =
    "id, model, version, min_from, size, sha256, signature, key_id, notes, file, created_by, created_at";

constexpr const char* kRolloutCols =
    "id, firmware_id, target_kind, target, stages, stage, max_failure_pct, max_concurrent, failed_accepted, state, "
    "pause_reason, created_by, created_at, updated_at, finished_at";

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
    : svc_(svc), pub_(pub), cfg_(std::move(cfg)), db_(svc.app().db) {
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
  if (!cfg_.pubkey)
    return Result<FirmwareRow>::no("no_firmware_key", "the core was started without --firmware-pubkey; uploads are refused");
  auto c = firmware::check(p.manifest, p.image, *cfg_.pubkey);
  if (c != firmware::Check::Ok) return Result<FirmwareRow>::no(std::string(firmware::check_name(c)), std::string(firmware::check_message(c)));
  std::lock_guard lock(mu_);
  {
    auto st = db_.prepare("SELECT id FROM firmware WHERE model = ? AND version = ?");
    st.args(int64_t{p.manifest.model}, p.manifest.version.text());
    if (st.step())
      return Result<FirmwareRow>::no("firmware_exists",
                                     "model " + std::to_string(p.manifest.model) + " already has firmware " +
                                         p.manifest.version.text() + " (id " + std::to_string(st.i64(0)) + ")");
  }
  // Content-addressed: the file is named by its SHA-256, written to a temporary name and renamed.
  std::string file = firmware::hex(p.manifest.sha256) + ".bin";
  auto path = fs::path(cfg_.dir) / file;
  if (!fs::exists(path) || fs::file_size(path) != p.image.size()) write_file_atomically(path, p.image);
  sql::Tx tx(db_);
  auto ins = db_.prepare("INSERT INTO firmware (model, version, min_from, size, sha256, signature, key_id, notes, file, created_by, created_at) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id");
  ins.args(int64_t{p.manifest.model}, p.manifest.version.text(), p.manifest.min_from.text(), int64_t{p.manifest.size},
           firmware::hex(p.manifest.sha256), firmware::hex(p.manifest.signature), p.manifest.key_id, p.manifest.notes, file, by,
           now());
  ins.step();
  int64_t id = ins.i64(0);
  ins.reset();
  tx.commit();
  log::info("firmware ", id, ": model ", p.manifest.model, " version ", p.manifest.version.text(), ", ", p.manifest.size,
            " bytes, uploaded by ", by);
  return Result<FirmwareRow>::ok(*firmware(id));
}

std::vector<FirmwareRow> Ota::firmware_list() {
  std::lock_guard lock(mu_);
  auto st = db_.prepare(std::string("SELECT ") + kFirmwareCols + " FROM firmware ORDER BY id DESC");
  std::vector<FirmwareRow> out;
  while (st.step()) out.push_back(read_firmware(st));
  return out;
}

std::optional<FirmwareRow> Ota::firmware(int64_t id) {
  {
    std::lock_guard lock(mem_mu_);
    if (auto it = fw_cache_.find(id); it != fw_cache_.end()) return it->second;
  }
  auto f = load_firmware(id);
  if (f) {
    std::lock_guard lock(mem_mu_);
    fw_cache_[id] = *f;
  }
  return f;
}

std::optional<FirmwareRow> Ota::load_firmware(int64_t id) {
  sql::Lock lock(db_);
  auto st = db_.prepare(std::string("SELECT ") + kFirmwareCols + " FROM firmware WHERE id = ?");
  st.args(id);
  if (!st.step()) return std::nullopt;
  return read_firmware(st);
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

std::optional<RolloutRow> Ota::load_rollout(int64_t id) {
  auto st = db_.prepare(std::string("SELECT ") + kRolloutCols + " FROM rollout WHERE id = ?");
  st.args(id);
  if (!st.step()) return std::nullopt;
  RolloutRow r;
  r.id = st.i64(0);
  r.firmware_id = st.i64(1);
  r.target_kind = st.text(2);
  r.target = payloads::parse_json(st.text(3)).value_or(json::value(nullptr));
  r.stages = stages_from(st.text(4));
  r.stage = static_cast<int>(st.i64(5));
  r.max_failure_pct = static_cast<int>(st.i64(6));
  r.max_concurrent = static_cast<int>(st.i64(7));
  r.failed_accepted = st.i64(8);
  r.state = st.text(9);
  r.pause_reason = st.opt_text(10);
  r.created_by = st.text(11);
  r.created_at = st.i64(12);
  r.updated_at = st.i64(13);
  r.finished_at = st.opt_i64(14);
  for (auto* s : kStates) r.counts[s] = 0;
  auto c = db_.prepare("SELECT state, count(*) FROM rollout_device WHERE rollout_id = ? GROUP BY state");
  c.args(id);
  while (c.step()) {
    r.counts[c.text(0)] = c.i64(1);
    r.total += c.i64(1);
  }
  return r;
}

std::optional<RolloutRow> Ota::rollout(int64_t id) {
  std::lock_guard lock(mu_);
  return load_rollout(id);
}

std::vector<RolloutRow> Ota::rollouts(int64_t limit) {
  std::lock_guard lock(mu_);
  std::vector<int64_t> ids;
  auto st = db_.prepare("SELECT id FROM rollout ORDER BY id DESC LIMIT ?");
  st.args(limit);
  while (st.step()) ids.push_back(st.i64(0));
  std::vector<RolloutRow> out;
  for (auto id : ids)
    if (auto r = load_rollout(id)) out.push_back(std::move(*r));
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

  std::lock_guard lock(mu_);
  // Resolve the target to devices (a snapshot: devices added later are not included).
  std::vector<std::string> devices;
  if (rq.target_kind == "model") {
    auto* m = rq.target.is_object() ? rq.target.get_object().if_contains("model") : nullptr;
    if (!m || !m->is_int64() || m->get_int64() != fw->manifest.model)
      return R::no("model_mismatch", "target.model must be the firmware's model (" + std::to_string(fw->manifest.model) + ")");
    auto st = db_.prepare("SELECT id FROM device WHERE model = ? AND deleted_at IS NULL ORDER BY id");
    st.args(int64_t{fw->manifest.model});
    while (st.step()) devices.push_back(st.text(0));
    // A random but repeatable order, so the first stage is a fair sample of the fleet.
    int64_t next_id = 1;
    {
      auto n = db_.prepare("SELECT coalesce(max(id), 0) + 1 FROM rollout");
      if (n.step()) next_id = n.i64(0);
    }
    std::mt19937_64 rng(static_cast<uint64_t>(next_id) * 0x9E3779B97F4A7C15ULL);
    std::shuffle(devices.begin(), devices.end(), rng);
  } else if (rq.target_kind == "devices") {
    auto* l = rq.target.is_object() ? rq.target.get_object().if_contains("devices") : nullptr;
    if (!l || !l->is_array() || l->get_array().empty() || l->get_array().size() > 100000)
      return R::no("bad_target", "target.devices must be a list of 1..100000 device ids");
    std::set<std::string> seen;
    std::vector<std::string> unknown;
    auto st = db_.prepare("SELECT 1 FROM device WHERE id = ? AND deleted_at IS NULL");
    for (auto& x : l->get_array()) {
      if (!x.is_string()) return R::no("bad_target", "target.devices must be device id strings");
      std::string id(x.get_string());
      if (!seen.insert(id).second) continue;
      st.reset();
      st.args(id);
      if (!st.step()) unknown.push_back(id);
      devices.push_back(id);   // in the operator's order: canaries first
    }
    if (!unknown.empty()) {
      std::string list;
      for (size_t i = 0; i < unknown.size() && i < 10; ++i) list += (i ? ", " : "") + unknown[i];
      return R::no("device_not_found", std::to_string(unknown.size()) + " unknown device(s): " + list);
    }
  } else if (rq.target_kind == "station" || rq.target_kind == "agent") {
    // The devices placed at that station or run by that agent (PUT /devices/<id>/placement), of the
    // package's model, in id order.
    auto* s = rq.target.is_object() ? rq.target.get_object().if_contains(rq.target_kind) : nullptr;
    if (!s || !s->is_string() || s->get_string().empty() || s->get_string().size() > 200)
      return R::no("bad_target", "target." + rq.target_kind + " must be its id (text)");
    auto st = db_.prepare(rq.target_kind == "station"
                              ? "SELECT id FROM device WHERE station = ? AND model = ? AND deleted_at IS NULL ORDER BY id"
                              : "SELECT id FROM device WHERE agent = ? AND model = ? AND deleted_at IS NULL ORDER BY id");
    st.args(std::string(s->get_string()), int64_t{fw->manifest.model});
    while (st.step()) devices.push_back(st.text(0));
  } else {
    return R::no("bad_target", "target must be {\"model\":N}, {\"devices\":[...]}, {\"station\":\"…\"} or {\"agent\":\"…\"}");
  }

  int64_t t = now();
  json::array stages;
  for (int p : rq.stages) stages.push_back(p);
  sql::Tx tx(db_);
  const char* insert_rollout = ("INSERT INTO rollout (firmware_id, target_kind, target, stages, stage, max_failure_pct, max_concurrent, state, "
              "pause_reason, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?) RETURNING id");
  int64_t id = 0;
  {
    auto st = db_.prepare(insert_rollout);
    st.args(rq.firmware_id, rq.target_kind, json::serialize(rq.target), json::serialize(stages), int64_t{rq.max_failure_pct},
            int64_t{rq.max_concurrent}, std::string("running"), std::optional<std::string>(), rq.created_by, t, t);
    st.step();
    id = st.i64(0);
  }
  auto dev = db_.prepare("SELECT model, fw FROM device WHERE id = ?");
  auto ins = db_.prepare("INSERT INTO rollout_device (rollout_id, device_id, seq, state, from_fw, error, updated_at, finished_at) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  int64_t seq = 0;
  for (auto& d : devices) {
    dev.reset();
    dev.args(d);
    std::optional<int64_t> model;
    std::optional<std::string> fwv;
    if (dev.step()) {
      model = dev.opt_i64(0);
      fwv = dev.opt_text(1);
    }
    std::string state = "pending";
    std::optional<std::string> why;
    auto cur = fwv ? proto::Version::parse(*fwv) : std::nullopt;
    if (model && *model != fw->manifest.model) why = "model_mismatch";
    else if (cur && *cur == fw->manifest.version) why = "already_on_version";
    else if (cur && *cur < fw->manifest.min_from) why = "below_min_from";
    if (why) state = "skipped";
    ins.reset();
    ins.args(id, d, seq++, state, fwv, why, t, why ? std::optional<int64_t>(t) : std::nullopt).run();
  }
  tx.commit();
  log::info("rollout ", id, ": firmware ", fw->manifest.version.text(), " (model ", fw->manifest.model, ") to ",
            devices.size(), " devices by ", rq.target_kind, ", stages ", json::serialize(stages), ", by ", rq.created_by);
  return R::ok(*load_rollout(id));
}

Result<RolloutRow> Ota::pause(int64_t id, const std::string& by) {
  std::lock_guard lock(mu_);
  auto r = load_rollout(id);
  if (!r) return Result<RolloutRow>::no("rollout_not_found", "no rollout with this id");
  if (r->state != "running") return Result<RolloutRow>::no("not_running", "the rollout is " + r->state);
  db_.prepare("UPDATE rollout SET state = 'paused', pause_reason = ?, updated_at = ? WHERE id = ?")
      .args("paused by " + by, now(), id)
      .run();
  log::info("rollout ", id, " paused by ", by);
  return Result<RolloutRow>::ok(*load_rollout(id));
}

Result<RolloutRow> Ota::resume(int64_t id, const std::string& by) {
  std::lock_guard lock(mu_);
  auto r = load_rollout(id);
  if (!r) return Result<RolloutRow>::no("rollout_not_found", "no rollout with this id");
  if (r->state != "paused") return Result<RolloutRow>::no("not_paused", "the rollout is " + r->state);
  // Resuming accepts the failures seen so far in this stage: the gate trips again only on new ones.
  auto st = db_.prepare("SELECT count(*) FROM rollout_device WHERE rollout_id = ? AND stage = ? AND state IN ('failed', 'rolled_back')");
  st.args(id, int64_t{r->stage});
  int64_t failed = st.step() ? st.i64(0) : 0;
  db_.prepare("UPDATE rollout SET state = 'running', pause_reason = NULL, failed_accepted = ?, updated_at = ? WHERE id = ?")
      .args(failed, now(), id)
      .run();
  log::info("rollout ", id, " resumed by ", by, " (", failed, " failures in stage ", r->stage + 1, " accepted)");
  return Result<RolloutRow>::ok(*load_rollout(id));
}

Result<RolloutRow> Ota::cancel(int64_t id, const std::string& by) {
  std::lock_guard lock(mu_);
  auto r = load_rollout(id);
  if (!r) return Result<RolloutRow>::no("rollout_not_found", "no rollout with this id");
  if (r->state == "cancelled" || r->state == "completed") return Result<RolloutRow>::no("finished", "the rollout is " + r->state);
  int64_t t = now();
  sql::Tx tx(db_);
  db_.prepare("UPDATE rollout SET state = 'cancelled', pause_reason = ?, updated_at = ?, finished_at = ? WHERE id = ?")
      .args("cancelled by " + by, t, t, id)
      .run();
  // Devices not started yet are left alone; those already downloading are still served (docs/ota.md).
  db_.prepare("UPDATE rollout_device SET state = 'cancelled', updated_at = ?, finished_at = ? WHERE rollout_id = ? AND state = 'pending'")
      .args(t, t, id)
      .run();
  tx.commit();
  log::info("rollout ", id, " cancelled by ", by);
  return Result<RolloutRow>::ok(*load_rollout(id));
}

json::array Ota::rollout_devices(int64_t id, const std::string& state, int64_t limit, const std::string& after) {
  std::lock_guard lock(mu_);
  auto st = db_.prepare(
      "SELECT device_id, seq, stage, state, from_fw, bytes, command_id, offer_result, attempts, error, offered_at, updated_at, "
      "finished_at FROM rollout_device WHERE rollout_id = ? AND (? = '' OR state = ?) AND seq > ? ORDER BY seq LIMIT ?");
  int64_t after_seq = -1;
  if (!after.empty()) {
    auto s = db_.prepare("SELECT seq FROM rollout_device WHERE rollout_id = ? AND device_id = ?");
    s.args(id, after);
    if (s.step()) after_seq = s.i64(0);
  }
  st.args(id, state, state, after_seq, limit);
  json::array out;
  auto opt = [](const std::optional<int64_t>& v) { return v ? json::value(*v) : json::value(nullptr); };
  auto opts = [](const std::optional<std::string>& v) { return v ? json::value(*v) : json::value(nullptr); };
  while (st.step()) {
    out.push_back(json::object{{"device_id", st.text(0)},
                               {"seq", st.i64(1)},
                               {"stage", st.is_null(2) ? json::value(nullptr) : json::value(st.i64(2) + 1)},
                               {"state", st.text(3)},
                               {"from_fw", opts(st.opt_text(4))},
                               {"bytes", st.i64(5)},
                               {"command_id", opts(st.opt_text(6))},
                               {"offer_result", opt(st.opt_i64(7))},
                               {"attempts", st.i64(8)},
                               {"error", opts(st.opt_text(9))},
                               {"offered_at", opt(st.opt_i64(10))},
                               {"updated_at", st.i64(11)},
                               {"finished_at", opt(st.opt_i64(12))}});
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// device progress: the hooks (service's worker thread, inside the fleet adapter's transaction)

std::optional<Ota::Active> Ota::active_for(const std::string& device) {
  {
    std::lock_guard lock(mem_mu_);
    if (auto it = active_.find(device); it != active_.end()) return it->second;
  }
  // In flight, or offered before and set back for another offer (a lost reply: it may be pulling).
  std::optional<Active> a;
  {
    sql::Lock lock(db_);
    auto st = db_.prepare(
        "SELECT rd.rollout_id, r.firmware_id, rd.state FROM rollout_device rd JOIN rollout r ON r.id = rd.rollout_id "
        "WHERE rd.device_id = ? AND (rd.state IN ('offered', 'downloading', 'verified') OR (rd.state = 'pending' AND "
        "rd.offered_at IS NOT NULL)) ORDER BY rd.offered_at DESC LIMIT 1");
    st.args(device);
    if (!st.step()) return std::nullopt;
    a = Active{st.i64(0), st.i64(1), st.text(2)};
  }
  std::lock_guard lock(mem_mu_);
  return active_.emplace(device, *a).first->second;
}

void Ota::on_ota_message(const std::string& device, const json::value& v) {
  if (v.is_object() && v.get_object().contains("offset")) {
    if (auto r = payloads::parse_ota_chunk_req(v)) serve_chunk(device, r->offset, r->length);
    return;
  }
  auto st = payloads::parse_ota_status(v);
  if (!st) {
    log::warn("ota: malformed message from ", device);
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
    log::error("ota: short read of firmware ", a->firmware_id, " at ", offset);
    return;
  }
  pub_.publish(topics::down_topic(device, topics::down::kOta), payload, 1, false);
  std::lock_guard lock(mem_mu_);
  ++stats_.chunks_served;
  stats_.bytes_served += len;
  if (a->state == "offered" || a->state == "pending") {
    // The charger pulls: it accepted (its reply may still be on the way, or was lost).
    active_[device].state = "downloading";
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
// applying what the hooks saw (tick, under mu_)

void Ota::set_device_state(int64_t rollout_id, const std::string& device, const std::string& state,
                           std::optional<std::string> error, std::optional<int64_t> bytes) {
  int64_t t = now();
  bool terminal = kTerminal.count(state) > 0;
  db_.prepare("UPDATE rollout_device SET state = ?, error = coalesce(?, error), bytes = coalesce(?, bytes), updated_at = ?, "
              "finished_at = CASE WHEN ? THEN ? ELSE finished_at END WHERE rollout_id = ? AND device_id = ?")
      .args(state, error, bytes, t, int64_t{terminal}, t, rollout_id, device)
      .run();
  std::lock_guard lock(mem_mu_);
  if (terminal) {
    active_.erase(device);
    log::info("ota: device ", device, " in rollout ", rollout_id, ": ", state, error ? " (" + *error + ")" : "");
  } else if (auto it = active_.find(device); it != active_.end()) {
    it->second.state = state;
  }
}

void Ota::apply(const Event& e) {
  std::string cur;
  {
    auto st = db_.prepare("SELECT state FROM rollout_device WHERE rollout_id = ? AND device_id = ?");
    st.args(e.active.rollout_id, e.device);
    if (!st.step()) return;
    cur = st.text(0);
  }
  if (kTerminal.count(cur)) return;
  auto fw = firmware(e.active.firmware_id);
  if (!fw) return;
  int64_t r = e.active.rollout_id;
  switch (e.kind) {
    case Event::Pulling:
      if (cur == "offered" || cur == "pending") {
        db_.prepare("UPDATE rollout_device SET offer_result = coalesce(offer_result, 0) WHERE rollout_id = ? AND device_id = ?")
            .args(r, e.device)
            .run();
        set_device_state(r, e.device, "downloading", std::nullopt, std::nullopt);
      }
      return;
    case Event::Boot:
      // The new version after the reboot is the success the rollout waits for (OTA_STATUS 3 may follow).
      if (e.fw == fw->manifest.version.text()) set_device_state(r, e.device, "installed", std::nullopt, int64_t{fw->manifest.size});
      return;
    case Event::Status:
      break;
  }
  if (e.status.version != fw->manifest.version) return;   // a report about some other image
  switch (static_cast<proto::OtaState>(e.status.status)) {
    case proto::OtaState::Downloading:
      if (rank(cur) <= rank("downloading")) set_device_state(r, e.device, "downloading", std::nullopt, e.status.bytes);
      break;
    case proto::OtaState::Verified:
      set_device_state(r, e.device, "verified", std::nullopt, e.status.bytes);
      break;
    case proto::OtaState::Installed:
      set_device_state(r, e.device, "installed", std::nullopt, int64_t{fw->manifest.size});
      break;
    case proto::OtaState::VerifyFailed:
      set_device_state(r, e.device, "failed", std::string("verify_failed"), e.status.bytes);
      break;
    case proto::OtaState::RolledBack:
      set_device_state(r, e.device, "rolled_back", std::string("boot_failed"), std::nullopt);
      break;
  }
}

// ---------------------------------------------------------------------------------------------------
// the planner (housekeeping thread, about once a second)

void Ota::tick() {
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
    // Running rollouts, and paused or cancelled ones still waiting for replies to their offers.
    auto st = db_.prepare("SELECT id FROM rollout r WHERE state = 'running' OR (state IN ('paused', 'cancelled') AND EXISTS "
                          "(SELECT 1 FROM rollout_device rd WHERE rd.rollout_id = r.id AND rd.state IN ('offered', 'downloading')))");
    while (st.step()) ids.push_back(st.i64(0));
  }
  for (auto id : ids) {
    try {
      check_offers(id);
      step_rollout(id);
    } catch (const std::exception& e) {
      log::error("ota: rollout ", id, ": ", e.what());
    }
  }
}

// Applies the chargers' replies to offers (read from the command table through the commands use case).
void Ota::check_offers(int64_t id) {
  struct Row {
    std::string device, command;
    int64_t attempts;
    std::optional<CommandRow> cmd;
  };
  std::vector<Row> rows;
  {
    std::lock_guard lock(mu_);
    auto st = db_.prepare("SELECT device_id, command_id, attempts FROM rollout_device WHERE rollout_id = ? AND state = 'offered' "
                          "AND offer_result IS NULL AND command_id IS NOT NULL");
    st.args(id);
    while (st.step()) rows.push_back({st.text(0), st.text(1), st.i64(2), std::nullopt});
  }
  {
    // A device that went offline in the middle of its download for longer than stall_timeout_s gives its
    // place back: pending again (offered again when it returns; its chunk requests are still served).
    std::lock_guard lock(mu_);
    int64_t t = now();
    db_.prepare("UPDATE rollout_device SET state = CASE WHEN attempts >= ? THEN 'failed' ELSE 'pending' END, "
                "error = CASE WHEN attempts >= ? THEN 'stalled' ELSE error END, "
                "finished_at = CASE WHEN attempts >= ? THEN ? ELSE finished_at END, command_id = NULL, updated_at = ? "
                "WHERE rollout_id = ? AND state IN ('offered', 'downloading') AND updated_at < ? "
                "AND device_id IN (SELECT id FROM device WHERE online = 0)")
        .args(cfg_.max_offer_attempts, cfg_.max_offer_attempts, cfg_.max_offer_attempts, t, t, id, t - cfg_.stall_timeout_s)
        .run();
    if (db_.changes() > 0) {
      log::warn("ota: rollout ", id, ": ", db_.changes(), " device(s) offline mid-download for ", cfg_.stall_timeout_s,
                " s gave their place back");
      std::lock_guard mlock(mem_mu_);
      active_.clear();   // re-read from the table on the next request
    }
  }
  if (rows.empty()) return;
  for (auto& r : rows) r.cmd = svc_.app().commands.get(r.command);   // not under mu_ (lock order)
  std::lock_guard lock(mu_);
  sql::Tx tx(db_);
  for (auto& r : rows) {
    auto& c = r.cmd;
    if (!c) continue;
    {   // still offered with this command? (a chunk request may have moved it on meanwhile)
      auto st = db_.prepare("SELECT 1 FROM rollout_device WHERE rollout_id = ? AND device_id = ? AND state = 'offered' AND command_id = ?");
      st.args(id, r.device, r.command);
      if (!st.step()) continue;
    }
    if (c->state == CommandState::Replied && c->result) {
      int64_t res = *c->result;
      db_.prepare("UPDATE rollout_device SET offer_result = ?, updated_at = ? WHERE rollout_id = ? AND device_id = ?")
          .args(res, now(), id, r.device)
          .run();
      if (res == 0) set_device_state(id, r.device, "downloading", std::nullopt, std::nullopt);
      else if (res == 1) { /* busy: it pulls once no port charges; stays offered */ }
      else if (res == 2) set_device_state(id, r.device, "installed", std::string("already_on_version"), std::nullopt);
      else set_device_state(id, r.device, "failed", std::string("rejected"), std::nullopt);   // 3: bad signature or size
    } else if (c->state == CommandState::Failed || c->state == CommandState::Expired || (c->state == CommandState::Replied && !c->result)) {
      if (r.attempts >= cfg_.max_offer_attempts) {
        set_device_state(id, r.device, "failed", "no_answer" + std::string(c->error ? " (" + *c->error + ")" : ""), std::nullopt);
      } else {
        // Offered again later; if the charger did get it, its chunk requests are still served.
        db_.prepare("UPDATE rollout_device SET state = 'pending', command_id = NULL, updated_at = ? WHERE rollout_id = ? AND device_id = ?")
            .args(now(), id, r.device)
            .run();
      }
    }
  }
  tx.commit();
}

void Ota::step_rollout(int64_t id) {
  for (int guard = 0; guard < 12; ++guard) {
    struct Cand {
      std::string id;
      std::optional<std::string> fw;
    };
    std::vector<Cand> offers;
    std::optional<FirmwareRow> fw;
    int stage = 0;
    {
      std::lock_guard lock(mu_);
      auto r = load_rollout(id);
      if (!r || r->state != "running") return;
      fw = firmware(r->firmware_id);
      if (!fw) return;
      stage = r->stage;
      int64_t skipped = r->counts["skipped"];
      int64_t eligible = r->total - skipped - r->counts["cancelled"];
      auto quotas = rollout::stage_quotas(eligible, r->stages);
      rollout::StageView v;
      v.stage = r->stage;
      v.stages = static_cast<int>(r->stages.size());
      v.quota = quotas.empty() ? 0 : quotas[static_cast<size_t>(std::min<int>(r->stage, static_cast<int>(quotas.size()) - 1))];
      v.in_flight = r->counts["offered"] + r->counts["downloading"] + r->counts["verified"];
      v.failed_accepted = r->failed_accepted;
      v.max_failure_pct = r->max_failure_pct;
      v.max_concurrent = r->max_concurrent;
      {
        auto st = db_.prepare("SELECT count(*), coalesce(sum(CASE WHEN state IN ('failed', 'rolled_back') THEN 1 ELSE 0 END), 0) FROM rollout_device "
                              "WHERE rollout_id = ? AND stage = ? AND state != 'skipped'");
        st.args(id, int64_t{r->stage});
        if (st.step()) {
          v.started = st.i64(0);
          v.failed = st.i64(1);
        }
      }
      {   // devices set back for another offer keep their place in their stage
        auto st = db_.prepare("SELECT count(*) FROM rollout_device WHERE rollout_id = ? AND state = 'pending' AND stage IS NOT NULL");
        st.args(id);
        if (st.step()) v.retry = st.i64(0);
        v.pending = r->counts["pending"] - v.retry;
      }
      auto d = rollout::decide(v);
      int64_t t = now();
      switch (d.verdict) {
        case rollout::Verdict::Wait:
          return;
        case rollout::Verdict::Pause:
          db_.prepare("UPDATE rollout SET state = 'paused', pause_reason = ?, updated_at = ? WHERE id = ?").args(d.reason, t, id).run();
          log::warn("rollout ", id, " paused: ", d.reason);
          return;
        case rollout::Verdict::Complete:
          db_.prepare("UPDATE rollout SET state = 'completed', updated_at = ?, finished_at = ? WHERE id = ?").args(t, t, id).run();
          log::info("rollout ", id, " completed: ", r->counts["installed"], " installed, ",
                    r->counts["failed"] + r->counts["rolled_back"], " failed, ", skipped, " skipped");
          return;
        case rollout::Verdict::Advance:
          db_.prepare("UPDATE rollout SET stage = stage + 1, failed_accepted = 0, updated_at = ? WHERE id = ?").args(t, id).run();
          log::info("rollout ", id, ": stage ", r->stage + 1, " passed the gate; now stage ", r->stage + 2, " of ", r->stages.size());
          continue;
        case rollout::Verdict::Offer:
          break;
      }
      // Up to d.offers pending devices that are online, enabled and idle (no port charging), in the
      // rollout's order (those set back for another offer first), not busy with another rollout.
      auto st = db_.prepare(
          "SELECT rd.device_id, d.model, d.fw FROM rollout_device rd JOIN device d ON d.id = rd.device_id "
          "WHERE rd.rollout_id = ? AND rd.state = 'pending' AND d.online = 1 AND d.enabled = 1 AND d.deleted_at IS NULL "
          "AND NOT EXISTS (SELECT 1 FROM port p WHERE p.device_id = d.id AND p.state = 1) "
          "AND NOT EXISTS (SELECT 1 FROM rollout_device o WHERE o.device_id = rd.device_id AND o.rollout_id != rd.rollout_id "
          "AND o.state IN ('offered', 'downloading', 'verified')) "
          "ORDER BY rd.stage IS NULL, rd.seq LIMIT ?");
      st.args(id, d.offers);
      bool skipped_any = false;
      sql::Tx tx(db_);
      while (st.step()) {
        Cand c{st.text(0), st.opt_text(2)};
        auto model = st.opt_i64(1);
        auto cur = c.fw ? proto::Version::parse(*c.fw) : std::nullopt;
        std::optional<std::string> why;
        if (model && *model != fw->manifest.model) why = "model_mismatch";
        else if (cur && *cur == fw->manifest.version) why = "already_on_version";
        else if (cur && *cur < fw->manifest.min_from) why = "below_min_from";
        if (why) {
          set_device_state(id, c.id, "skipped", why, std::nullopt);
          skipped_any = true;
          continue;
        }
        // Marked offered before the offer goes out, so its first chunk request finds it.
        db_.prepare("UPDATE rollout_device SET state = 'offered', stage = coalesce(stage, ?), command_id = NULL, "
                    "offer_result = NULL, attempts = attempts + 1, from_fw = coalesce(?, from_fw), offered_at = ?, "
                    "updated_at = ? WHERE rollout_id = ? AND device_id = ?")
            .args(int64_t{stage}, c.fw, t, t, id, c.id)
            .run();
        offers.push_back(std::move(c));
      }
      tx.commit();
      if (offers.empty()) {
        if (skipped_any) continue;   // skips changed the quotas: decide again
        return;
      }
      std::lock_guard mlock(mem_mu_);
      for (auto& c : offers) active_[c.id] = Active{id, fw->id, "offered"};
    }
    // The offers go out through the service (command table, replies matched by id), not under mu_.
    json::object args{{"version", fw->manifest.version.text()},
                      {"size", fw->manifest.size},
                      {"sha256", firmware::hex(fw->manifest.sha256)},
                      {"signature", firmware::hex(fw->manifest.signature)},
                      {"chunk", 1000}};
    std::vector<std::pair<std::string, Result<CommandRow>>> sent;
    for (auto& c : offers) sent.emplace_back(c.id, svc_.send_command(c.id, "ota_offer", args, Origin::system("rollout:" + std::to_string(id))));
    std::lock_guard lock(mu_);
    sql::Tx tx(db_);
    for (auto& [dev, cmd] : sent) {
      if (!cmd) {
        set_device_state(id, dev, "failed", cmd.refusal.code, std::nullopt);
        continue;
      }
      db_.prepare("UPDATE rollout_device SET command_id = ? WHERE rollout_id = ? AND device_id = ?").args(cmd.value->id, id, dev).run();
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
