// How a settled session's income is divided between the platform and the agents above its device
// (issue 17, docs/agents.md "The income split"), in integer fen:
//
//   auto p = rules::split_income(500, rules::Chain::two(3000, 2000));   // A 30 %, B (under A) 20 %
//   // p.second == 100 (B), p.first == 50 (A), p.platform == 350: always p.sum() == 500
//
// Rounding: each agent's part is the floor of a non-negative fraction of N (B: N·s_B/10000, A:
// N·(s_A − s_B)/10000); the platform takes the rest, so the parts sum to N exactly and none is negative.
// A refund takes back the difference between the parts before and after it, with the shares the session
// settled with: an agent's part never grows when N shrinks (the platform's may, by the fen its rounding
// gains).
#pragma once
#include <cstdint>
#include <optional>

namespace chargehub::rules {

// The agents above a device, with their shares in basis points as recorded: none (a platform device), a
// first-level agent A, or a second-level agent B under A (s_B ≤ s_A; a larger s_B leaves A nothing).
struct Chain {
  std::optional<int64_t> first_bp;    // A's share_bp
  std::optional<int64_t> second_bp;   // B's share_bp (only with A)
  static Chain platform() { return {}; }
  static Chain one(int64_t a_bp) { return {a_bp, std::nullopt}; }
  static Chain two(int64_t a_bp, int64_t b_bp) { return {a_bp, b_bp}; }
};

// Each party's part in fen (0 for a party the chain does not have).
struct IncomeParts {
  int64_t platform = 0, first = 0, second = 0;
  int64_t sum() const { return platform + first + second; }
  friend bool operator==(const IncomeParts&, const IncomeParts&) = default;
};

// The split of N ≥ 0 fen (a negative N splits as 0). Shares are clamped to [0, 10000].
IncomeParts split_income(int64_t net_fen, const Chain& chain);

// What a refund of `refund_fen` takes back from each party, as positive amounts (the platform's may be
// negative by a rounding fen): split(N − before) − split(N − before − refund), where `before` is what
// was refunded earlier. The sum is exactly `refund_fen`. Refunds beyond N are the caller's to refuse.
IncomeParts refund_deltas(int64_t income_fen, int64_t refunded_before_fen, int64_t refund_fen, const Chain& chain);

}  // namespace chargehub::rules
