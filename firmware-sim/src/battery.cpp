#include "chargehub/sim/battery.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace chargehub::sim {

std::string PackSpec::name() const {
  return std::string(chem == Chemistry::Lithium ? "li" : "pb") + std::to_string(nominal_v) + "-" +
         std::to_string(static_cast<int>(std::lround(capacity_wh / nominal_v))) + "Ah";
}

namespace packs {
PackSpec lithium(int nominal_v, double amp_hours) {
  PackSpec p;
  p.chem = Chemistry::Lithium;
  p.nominal_v = nominal_v;
  p.capacity_wh = nominal_v * amp_hours;
  p.cells = nominal_v == 48 ? 13 : nominal_v == 60 ? 16 : nominal_v == 72 ? 20 : std::max(1, nominal_v * 10 / 37);
  p.cv_soc = 0.90;
  p.v_cell_empty = 3.3;
  p.v_cell_cv = 4.2;
  return p;
}
PackSpec lead_acid(int nominal_v, double amp_hours) {
  PackSpec p;
  p.chem = Chemistry::LeadAcid;
  p.nominal_v = nominal_v;
  p.capacity_wh = nominal_v * amp_hours;
  p.cells = nominal_v / 2;
  p.cv_soc = 0.80;
  p.v_cell_empty = 1.95;
  p.v_cell_cv = 2.45;
  return p;
}
PackSpec by_name(const std::string& n) {
  if (n == "li48") return lithium(48, 12);
  if (n == "li60") return lithium(60, 20);
  if (n == "li72") return lithium(72, 20);
  if (n == "pb48") return lead_acid(48, 12);
  if (n == "pb60") return lead_acid(60, 20);
  if (n == "pb72") return lead_acid(72, 20);
  throw std::invalid_argument("unknown pack '" + n + "' (li48 li60 li72 pb48 pb60 pb72)");
}
}  // namespace packs

namespace bricks {
BrickSpec for_pack(const PackSpec& p, double rated_a) {
  BrickSpec b;
  b.rated_a = rated_a;
  if (p.chem == Chemistry::LeadAcid) {
    b.efficiency = 0.85;
    b.term_frac = 0.15;
    b.standby_w = 3.0;   // float charge
  }
  return b;
}
}  // namespace bricks

Load::Load(PackSpec pack, BrickSpec brick, double soc, LoadFaults faults)
    : pack_(pack), brick_(brick), faults_(faults), soc_(std::clamp(soc, 0.0, 1.0)) {}

double Load::voltage_v() const {
  if (soc_ >= pack_.cv_soc) return pack_.cells * pack_.v_cell_cv;
  double x = std::pow(soc_ / pack_.cv_soc, 0.7);
  return pack_.cells * (pack_.v_cell_empty + (pack_.v_cell_cv - pack_.v_cell_empty) * x);
}

double Load::advance(double dt_s, bool powered) {
  if (!powered) {
    powered_ = false;
    on_s_ = 0;
    dc_a_ = wall_w_ = 0;
    return 0;
  }
  powered_ = true;
  double wh = 0;
  while (dt_s > 1e-9) {
    double h = std::min(dt_s, 2.0);
    dt_s -= h;
    on_s_ += h;
    if (faults_.overload_w > 0 && on_s_ >= faults_.overload_after_s) {
      wall_w_ = faults_.overload_w;
      double v = voltage_v();
      dc_a_ = wall_w_ * brick_.efficiency / v;
      soc_ = std::min(1.0, soc_ + wall_w_ * brick_.efficiency * h / 3600.0 / pack_.capacity_wh);
    } else if (terminated_) {
      dc_a_ = 0;
      wall_w_ = faults_.stuck_w > 0 ? faults_.stuck_w : brick_.standby_w;
    } else {
      double ramp = brick_.ramp_s > 0 ? std::min(1.0, on_s_ / brick_.ramp_s) : 1.0;
      double i = brick_.rated_a * ramp;
      if (soc_ >= pack_.cv_soc) {
        double taper = brick_.rated_a * (1.0 - soc_) / (1.0 - pack_.cv_soc);
        if (taper < brick_.term_frac * brick_.rated_a) {
          terminated_ = true;
          dc_a_ = 0;
          wall_w_ = faults_.stuck_w > 0 ? faults_.stuck_w : brick_.standby_w;
          wh += wall_w_ * h / 3600.0;
          continue;
        }
        i = std::min(i, taper);
      }
      double p = voltage_v() * i;
      soc_ = std::min(1.0, soc_ + p * h / 3600.0 / pack_.capacity_wh);
      dc_a_ = i;
      wall_w_ = p / brick_.efficiency + brick_.overhead_w;
    }
    wh += wall_w_ * h / 3600.0;
  }
  return wh;
}

double Load::expected_energy_wh(const PackSpec& p, const BrickSpec& b, double soc0) {
  double soc_term = 1.0 - b.term_frac * (1.0 - p.cv_soc);
  if (soc0 >= soc_term) return 0;
  return (soc_term - soc0) * p.capacity_wh / b.efficiency;
}

}  // namespace chargehub::sim
