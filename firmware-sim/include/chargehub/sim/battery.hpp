// What a rider plugs into a port: an e-bike pack behind its own charger brick. Pure physics, no clock:
// the caller advances it by simulated seconds.
//
//   Load l{packs::lithium(48, 12), bricks::rated(3.5), 0.4};   // 48 V 12 Ah lithium at 40 %, 3.5 A brick
//   double wh = l.advance(5.0, true);                            // 5 s powered; wall energy in Wh
//   l.power_w();                                                 // wall power now
//
// Model: constant current (with a soft-start ramp) until the pack reaches its constant-voltage point,
// then the current tapers as (1 - soc) / (1 - cv_soc) until it falls under the brick's termination
// current; the brick then idles at its standby power (a faulty brick idles above any full-stop threshold).
// Wall power = DC power / efficiency. An overloading pack draws `overload_w` after `overload_after_s`.
#pragma once
#include <cstdint>
#include <string>

namespace chargehub::sim {

enum class Chemistry : uint8_t { LeadAcid, Lithium };

struct PackSpec {
  Chemistry chem = Chemistry::Lithium;
  int nominal_v = 48;          // 48, 60 or 72
  double capacity_wh = 576;
  int cells = 13;              // series cells
  double cv_soc = 0.90;        // state of charge where constant voltage starts
  double v_cell_empty = 3.3, v_cell_cv = 4.2;
  std::string name() const;    // "li48-12Ah"
};

struct BrickSpec {             // the rider's charger brick
  double rated_a = 3.5;
  double efficiency = 0.88;
  double overhead_w = 0.0;     // brick's own draw while charging (counted as loss)
  double term_frac = 0.10;     // terminates when current < term_frac * rated_a
  double standby_w = 1.0;      // wall power once terminated (lead-acid float is a few W)
  double ramp_s = 20;          // soft start
};

struct LoadFaults {
  double stuck_w = 0;          // > 0: after termination the brick keeps drawing this (never "full")
  double overload_w = 0;       // > 0: the pack draws this much ...
  double overload_after_s = 120;   // ... after this many seconds of charging
};

namespace packs {
PackSpec lithium(int nominal_v, double amp_hours);
PackSpec lead_acid(int nominal_v, double amp_hours);
// "li48", "li60", "li72", "pb48", "pb60", "pb72" with typical capacities; throws on an unknown name.
PackSpec by_name(const std::string& name);
}  // namespace packs
namespace bricks {
BrickSpec for_pack(const PackSpec& p, double rated_a);   // lead-acid bricks float at ~3 W
}

class Load {
 public:
  Load(PackSpec pack, BrickSpec brick, double soc, LoadFaults faults = {});

  // Advances by dt simulated seconds, with the relay on (powered) or off. Returns wall energy (Wh).
  double advance(double dt_s, bool powered);
  double power_w() const { return powered_ ? wall_w_ : 0.0; }   // wall power at the last advance
  double voltage_v() const;       // pack terminal voltage
  double current_a() const { return powered_ ? dc_a_ : 0.0; }
  double soc() const { return soc_; }
  bool terminated() const { return terminated_; }
  const PackSpec& pack() const { return pack_; }
  const BrickSpec& brick() const { return brick_; }
  const LoadFaults& faults() const { return faults_; }
  // Wall energy a charge from soc0 to termination takes, ignoring ramp and full-stop delay.
  static double expected_energy_wh(const PackSpec& p, const BrickSpec& b, double soc0);

 private:
  void update_outputs();
  PackSpec pack_;
  BrickSpec brick_;
  LoadFaults faults_;
  double soc_;
  double on_s_ = 0;      // seconds powered in this session
  bool powered_ = false, terminated_ = false;
  double dc_a_ = 0, wall_w_ = 0;
};

}  // namespace chargehub::sim
