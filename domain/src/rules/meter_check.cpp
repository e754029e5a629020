#include "chargehub/rules/meter_check.hpp"

#include <algorithm>
#include <array>

#include "chargehub/messages.hpp"

namespace chargehub::rules {

uint8_t model_port_count(uint8_t model) {
  using proto::Model;
  switch (static_cast<Model>(model)) {
    case Model::Scan10: case Model::TouchCard10: case Model::KeyCard10: case Model::HighPower8p2: return 10;
    case Model::Port20: return 20;
  }
  return 0;
}

uint32_t port_limit_w(uint8_t model, uint8_t port) {
  uint8_t n = model_port_count(model);
  if (n == 0 || port < 1 || port > n) return kHighPowerPortW;
  if (static_cast<proto::Model>(model) == proto::Model::HighPower8p2 && (port == 5 || port == 6)) return kHighPowerPortW;
  return kStandardPortW;
}

namespace {

constexpr std::array<std::string_view, 7> kFlagNames = {
    "none", "power_exceeds_port_limit", "duration_exceeds_elapsed", "duration_went_backwards",
    "energy_went_backwards", "energy_exceeds_power_limit", "energy_exceeds_reported_power",
};

uint64_t with_headroom(uint32_t w, const MeterTolerance& tol) { return uint64_t{w} * (100 + tol.power_headroom_pct) / 100; }

// Seconds of slack on a window of `window_s`: the skew plus the drift share of the window.
uint64_t slack_s(uint64_t window_s, const MeterTolerance& tol) { return tol.skew_s + window_s * tol.drift_permille / 1000; }

// Wh in `seconds` at `w` (already with headroom), rounded up, plus the rounding tolerance.
uint64_t energy_at(uint64_t w, uint64_t seconds, const MeterTolerance& tol) {
  return (w * seconds + 3599) / 3600 + tol.rounding_wh;
}

MeterJudgement judge(const SessionFacts& s, const Reported& r, int64_t now, const MeterTolerance& tol, bool end_record) {
  MeterJudgement v;
  const uint64_t port_w = with_headroom(s.port_max_w, tol);
  const uint64_t window = static_cast<uint64_t>(std::max<int64_t>(0, now - s.opened_at));
  const uint64_t window_slack = window + slack_s(window, tol);
  auto broke = [&](MeterFlag f) { v.flags.push_back(f); };

  if (r.max_power_w > port_w) broke(MeterFlag::PowerExceedsPortLimit);
  if (r.duration_s > window_slack) broke(MeterFlag::DurationExceedsElapsed);
  if (s.last && uint64_t{r.duration_s} + tol.skew_s < s.last->duration_s) broke(MeterFlag::DurationWentBackwards);
  if (s.last && uint64_t{r.energy_wh} + tol.rounding_wh < s.last->energy_wh) broke(MeterFlag::EnergyWentBackwards);
  {
    // The port's physics over the time the charge can have run: the session's window, or the charger's
    // own duration when that is shorter; and since the last plausible reading, the time that passed.
    uint64_t run_s = std::min<uint64_t>(window, r.duration_s);
    bool over = r.energy_wh > energy_at(port_w, run_s + slack_s(run_s, tol), tol);
    if (!over && s.last && r.energy_wh > s.last->energy_wh) {
      uint64_t since = static_cast<uint64_t>(std::max<int64_t>(0, now - s.last->at));
      over = r.energy_wh - s.last->energy_wh > energy_at(port_w, since + slack_s(since, tol), tol);
    }
    if (over) broke(MeterFlag::EnergyExceedsPowerLimit);
  }
  if (end_record) {
    // The record against its own peak power (or the higher peak the platform saw).
    uint32_t peak = std::max(r.max_power_w, s.last ? s.last->max_power_w : 0u);
    if (r.energy_wh > energy_at(with_headroom(peak, tol), uint64_t{r.duration_s} + slack_s(r.duration_s, tol), tol))
      broke(MeterFlag::EnergyExceedsReportedPower);
  }

  v.implausible = !v.flags.empty();
  if (v.implausible) {
    v.flag = *std::min_element(v.flags.begin(), v.flags.end());
    if (s.last) v.bill = pricing::Usage{s.last->energy_wh, s.last->duration_s, s.last->max_power_w};
    v.last = s.last;
    return v;
  }
  uint32_t seen_peak = s.last ? s.last->max_power_w : 0;
  if (end_record) {
    // The charger's final word, within the tolerance of the readings before it.
    v.bill = pricing::Usage{r.energy_wh, r.duration_s, std::max(r.max_power_w, seen_peak)};
  } else {
    // A reading never moves the session's usage backwards (within the tolerance it may lag).
    v.bill = pricing::Usage{std::max(r.energy_wh, s.last ? s.last->energy_wh : 0u),
                            std::max(r.duration_s, s.last ? s.last->duration_s : 0u), std::max(r.max_power_w, seen_peak)};
  }
  v.last = MeterPoint{v.bill.energy_wh, v.bill.duration_s, v.bill.max_power_w, now};
  return v;
}

}  // namespace

std::string_view meter_flag_name(MeterFlag f) {
  auto i = static_cast<size_t>(f);
  return i < kFlagNames.size() ? kFlagNames[i] : "unknown";
}

std::optional<MeterFlag> parse_meter_flag(std::string_view s) {
  for (size_t i = 0; i < kFlagNames.size(); ++i)
    if (kFlagNames[i] == s) return static_cast<MeterFlag>(i);
  return std::nullopt;
}

uint64_t max_energy_wh(uint32_t port_max_w, uint64_t seconds, const MeterTolerance& tol) {
  return energy_at(with_headroom(port_max_w, tol), seconds, tol);
}

MeterJudgement judge_reading(const SessionFacts& s, const Reported& r, int64_t now, const MeterTolerance& tol) {
  return judge(s, r, now, tol, false);
}

MeterJudgement judge_end(const SessionFacts& s, const Reported& r, int64_t now, const MeterTolerance& tol) {
  return judge(s, r, now, tol, true);
}

OrphanQuote quote_orphan(const pricing::Plan& plan, const Reported& r, uint32_t port_max_w, int64_t charger_started_at,
                         int64_t first_received_at, int64_t available_fen, const MeterTolerance& tol) {
  // The window the charge can have run in: the charger's started_at to the first arrival, when that
  // makes sense; otherwise the record's own duration. Never longer than the plan lets a session run.
  int64_t window = r.duration_s;
  if (charger_started_at > 0 && charger_started_at <= first_received_at) window = first_received_at - charger_started_at;
  window = std::min<int64_t>(window, plan.max_duration_s);
  SessionFacts facts{port_max_w, first_received_at - window, std::nullopt};
  OrphanQuote q;
  q.verdict = judge_end(facts, r, first_received_at, tol);
  q.amount_fen = pricing::charge_fen(plan, q.verdict.bill, available_fen);
  return q;
}

}  // namespace chargehub::rules
