// Is what a charger reports physically possible? (docs/billing-rules.md, issue 15 item 1)
//
//   SessionFacts s{port_limit_w(model, port), session.created_at, last_plausible};
//   MeterJudgement v = judge_end(s, {e.energy_wh, e.duration_s, e.max_power_w}, now);
//   int64_t fen = pricing::charge_fen(plan, v.bill, prepaid);   // never on absurd figures
//   if (v.implausible) flag the session with meter_flag_name(v.flag), keep the raw figures, count it
//
// Every reported energy and duration (a SESSION_END record, a meter reading, a QUERY_PORTS port status)
// is judged against the port's physics (its rated power over the time the session can have run) and
// against the session's own history (the last plausible reading: energy and duration never go backwards,
// and grow no faster than the port can deliver). A plausible report is billed as reported; an implausible
// one on the last plausible reading. Pure: no clocks (the caller passes `now`), no I/O, no JSON.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "chargehub/pricing.hpp"

namespace chargehub::rules {

// ---- the port's physics ------------------------------------------------------------------------
inline constexpr uint32_t kStandardPortW = 2200;    // 10 A at 220 V: every port of models 1, 2, 3, 5
inline constexpr uint32_t kHighPowerPortW = 3500;   // ports 5 and 6 of model 4 (8+2 high power)
// Ports of a model (frames.md): 10 for models 1-4, 20 for model 5; 0 for a model frames.md does not know.
uint8_t model_port_count(uint8_t model);
// The most port `port` (1-based) of `model` can deliver, in W. A model or port frames.md does not know
// gets kHighPowerPortW, the loosest bound of any model (never a false alarm; still catches absurd figures).
uint32_t port_limit_w(uint8_t model, uint8_t port);

// ---- tolerances ---------------------------------------------------------------------------------
// Written down in docs/billing-rules.md with the reasons. A report is implausible only when it breaks a
// bound by more than these.
struct MeterTolerance {
  uint32_t skew_s = 60;             // clock skew and delivery delay between charger timers and server clock
  uint32_t drift_permille = 10;     // plus 1 % of the window (charger timer drift, server clock steps)
  uint32_t rounding_wh = 10;        // meter rounding and one reading interval of slack
  uint32_t power_headroom_pct = 10; // over the rated power: mains at 242 V, meter accuracy class
};

// ---- what is judged -------------------------------------------------------------------------------
// A reading the platform accepted as plausible (meter, QUERY_PORTS or the start of the session).
struct MeterPoint {
  uint32_t energy_wh = 0;
  uint32_t duration_s = 0;      // the charger's elapsed_s
  uint32_t max_power_w = 0;     // the highest plausible power seen in the session so far
  int64_t at = 0;               // server time it arrived (unix s)
  bool operator==(const MeterPoint&) const = default;
};

// What the platform knows of the session, independently of the report being judged.
struct SessionFacts {
  uint32_t port_max_w = kHighPowerPortW;  // port_limit_w(model, port)
  int64_t opened_at = 0;                   // server clock: the session was created (the charge began later)
  std::optional<MeterPoint> last;          // the last plausible reading; none = nothing delivered yet
};

// The charger's figures: a SESSION_END record (max_power_w = its peak) or a reading (max_power_w = the
// power at that moment).
struct Reported {
  uint32_t energy_wh = 0;
  uint32_t duration_s = 0;
  uint32_t max_power_w = 0;
};

// Why a report is implausible. Names (meter_flag_name) are stored on the session and shown to operators.
enum class MeterFlag : uint8_t {
  None,
  PowerExceedsPortLimit,       // "power_exceeds_port_limit": max power above the port's rating
  DurationExceedsElapsed,      // "duration_exceeds_elapsed": longer than the session has existed
  DurationWentBackwards,       // "duration_went_backwards": shorter than an earlier reading
  EnergyWentBackwards,         // "energy_went_backwards": less than an earlier reading (reset, fresh meter)
  EnergyExceedsPowerLimit,     // "energy_exceeds_power_limit": more than the port can deliver in the time
  EnergyExceedsReportedPower,  // "energy_exceeds_reported_power": more than its own peak power allows
};
std::string_view meter_flag_name(MeterFlag f);   // "none", "power_exceeds_port_limit", ...
std::optional<MeterFlag> parse_meter_flag(std::string_view s);

struct MeterJudgement {
  bool implausible = false;
  MeterFlag flag = MeterFlag::None;     // the first rule broken (in the enum's order)
  std::vector<MeterFlag> flags;         // every rule broken
  // What to bill (end record) or keep as the session's usage (reading): the report when plausible, else
  // the last plausible reading (zero when there is none). Never above what physics allows.
  pricing::Usage bill;
  // The reading to remember as the new last plausible one (the report at `now` when plausible).
  std::optional<MeterPoint> last;
};

// A reading during the session (up/meter port, QUERY_PORTS port status) arriving at `now`.
MeterJudgement judge_reading(const SessionFacts& s, const Reported& r, int64_t now, const MeterTolerance& tol = {});
// The SESSION_END record arriving at `now`: the rules of a reading, plus energy against its own peak power.
MeterJudgement judge_end(const SessionFacts& s, const Reported& r, int64_t now, const MeterTolerance& tol = {});

// The most energy (Wh) a port of `port_max_w` can deliver in `seconds`, with the tolerance applied.
uint64_t max_energy_wh(uint32_t port_max_w, uint64_t seconds, const MeterTolerance& tol = {});

// ---- orphan stop records (a SESSION_END for a session the platform does not know) --------------
// What an orphan record would cost under `plan` if an operator settled it against a rider, with the
// meter check applied. The platform never saw the session, so its window is the charger's own claim:
// from the record's started_at (charger clock) to when the record first arrived (server clock); when
// started_at is 0 or later than the arrival, only the port's physics over the record's duration applies.
struct OrphanQuote {
  MeterJudgement verdict;
  int64_t amount_fen = 0;     // pricing::charge_fen(plan, verdict.bill, available_fen)
};
OrphanQuote quote_orphan(const pricing::Plan& plan, const Reported& r, uint32_t port_max_w, int64_t charger_started_at,
                         int64_t first_received_at, int64_t available_fen, const MeterTolerance& tol = {});

}  // namespace chargehub::rules
