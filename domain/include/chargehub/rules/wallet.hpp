// Limits on money movements an operator asks for. Pure.
#pragma once
#include <cstdint>
#include <optional>

#include "chargehub/result.hpp"

namespace chargehub::rules {

inline constexpr int64_t kMaxTopupFen = 10'000'000;   // 100,000 yuan in one top-up

// bad_amount unless 1 <= amount <= kMaxTopupFen and 0 <= bonus <= amount.
std::optional<Refusal> check_topup(int64_t amount_fen, int64_t bonus_fen);

// A refund of part of what a settled session cost: not_settled unless settled with a rider; bad_amount
// unless 1 <= amount <= what is left to refund.
std::optional<Refusal> check_refund(bool settled_with_rider, int64_t amount_fen, int64_t charged_fen, int64_t refunded_fen);

}  // namespace chargehub::rules
