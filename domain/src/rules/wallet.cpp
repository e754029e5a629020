#include "chargehub/rules/wallet.hpp"

#include <string>

namespace chargehub::rules {

std::optional<Refusal> check_topup(int64_t amount_fen, int64_t bonus_fen) {
  if (amount_fen <= 0 || amount_fen > kMaxTopupFen) return Refusal{"bad_amount", "amount_fen must be 1..10000000"};
  if (bonus_fen < 0 || bonus_fen > amount_fen) return Refusal{"bad_amount", "bonus_fen must be 0..amount_fen"};
  return std::nullopt;
}

std::optional<Refusal> check_refund(bool settled_with_rider, int64_t amount_fen, int64_t charged_fen, int64_t refunded_fen) {
  if (!settled_with_rider) return Refusal{"not_settled", "only settled sessions can be refunded"};
  int64_t refundable = charged_fen - refunded_fen;
  if (amount_fen <= 0 || amount_fen > refundable)
    return Refusal{"bad_amount", "at most " + std::to_string(refundable) + " fen can be refunded"};
  return std::nullopt;
}

}  // namespace chargehub::rules
