#include "chargehub/states.hpp"

#include <array>

namespace chargehub {

namespace {
template <class E, size_t N>
std::optional<E> parse(const std::array<std::string_view, N>& names, std::string_view s) {
  for (size_t i = 0; i < N; ++i)
    if (names[i] == s) return static_cast<E>(i);
  return std::nullopt;
}
constexpr std::array<std::string_view, 5> kCommand = {"queued", "sent", "replied", "failed", "expired"};
constexpr std::array<std::string_view, 3> kCard = {"active", "lost", "blocked"};
constexpr std::array<std::string_view, 4> kLifecycle = {"not_produced", "in_stock", "not_installed", "installed"};
constexpr std::array<std::string_view, 5> kLedger = {"topup", "charge", "refund", "bonus", "adjustment"};
constexpr std::array<std::string_view, 4> kRollout = {"running", "paused", "cancelled", "completed"};
constexpr std::array<std::string_view, 9> kRolloutDevice = {"pending", "offered", "downloading", "verified", "installed",
                                                            "failed",  "rolled_back", "skipped", "cancelled"};
}  // namespace

std::string_view name(CommandState s) { return kCommand[static_cast<size_t>(s)]; }
std::optional<CommandState> parse_command_state(std::string_view s) { return parse<CommandState>(kCommand, s); }
bool is_final(CommandState s) { return s == CommandState::Replied || s == CommandState::Failed || s == CommandState::Expired; }

std::string_view name(CardState s) { return kCard[static_cast<size_t>(s)]; }
std::optional<CardState> parse_card_state(std::string_view s) { return parse<CardState>(kCard, s); }

std::string_view name(Lifecycle s) { return kLifecycle[static_cast<size_t>(s)]; }
std::optional<Lifecycle> parse_lifecycle(std::string_view s) { return parse<Lifecycle>(kLifecycle, s); }

std::string_view name(LedgerKind k) { return kLedger[static_cast<size_t>(k)]; }
std::optional<LedgerKind> parse_ledger_kind(std::string_view s) { return parse<LedgerKind>(kLedger, s); }

std::string_view name(RolloutState s) { return kRollout[static_cast<size_t>(s)]; }
std::optional<RolloutState> parse_rollout_state(std::string_view s) { return parse<RolloutState>(kRollout, s); }

std::string_view name(RolloutDeviceState s) { return kRolloutDevice[static_cast<size_t>(s)]; }
std::optional<RolloutDeviceState> parse_rollout_device_state(std::string_view s) {
  return parse<RolloutDeviceState>(kRolloutDevice, s);
}
bool in_flight(RolloutDeviceState s) {
  return s == RolloutDeviceState::Offered || s == RolloutDeviceState::Downloading || s == RolloutDeviceState::Verified;
}

std::string sql_in_list(const std::vector<std::string_view>& names) {
  std::string out;
  for (auto n : names) {
    if (!out.empty()) out += ", ";
    out += "'";
    out += n;
    out += "'";
  }
  return out;
}

}  // namespace chargehub
