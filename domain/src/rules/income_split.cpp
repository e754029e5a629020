#include "chargehub/rules/income_split.hpp"

#include <algorithm>

namespace chargehub::rules {

namespace {

int64_t clamp_bp(int64_t bp) { return std::clamp<int64_t>(bp, 0, 10000); }

// ⌊n·bp/10000⌋ for n ≥ 0 and 0 ≤ bp ≤ 10000, without overflow for any int64 n.
int64_t fraction(int64_t n, int64_t bp) { return static_cast<int64_t>(static_cast<__int128>(n) * bp / 10000); }

}  // namespace

IncomeParts split_income(int64_t net_fen, const Chain& chain) {
  IncomeParts p;
  int64_t n = std::max<int64_t>(0, net_fen);
  if (chain.first_bp) {
    int64_t a = clamp_bp(*chain.first_bp);
    int64_t b = chain.second_bp ? clamp_bp(*chain.second_bp) : 0;
    p.second = fraction(n, b);
    p.first = fraction(n, std::max<int64_t>(0, a - b));
  }
  p.platform = n - p.first - p.second;
  return p;
}

IncomeParts refund_deltas(int64_t income_fen, int64_t refunded_before_fen, int64_t refund_fen, const Chain& chain) {
  auto before = split_income(income_fen - refunded_before_fen, chain);
  auto after = split_income(income_fen - refunded_before_fen - refund_fen, chain);
  return IncomeParts{before.platform - after.platform, before.first - after.first, before.second - after.second};
}

}  // namespace chargehub::rules
