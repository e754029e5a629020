// The states the platform stores as text, each an enum with one name table (the name is what tables,
// the API and docs say). The session's own state machine is in session.hpp; port states are frames.md's
// (proto::PortState).
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chargehub {

// A downlink command: queued (stored), sent (handed to the broker), then replied, failed or expired.
enum class CommandState { Queued, Sent, Replied, Failed, Expired };
std::string_view name(CommandState s);
std::optional<CommandState> parse_command_state(std::string_view s);
bool is_final(CommandState s);   // replied, failed, expired

// An IC card: only an active card starts sessions.
enum class CardState { Active, Lost, Blocked };
std::string_view name(CardState s);
std::optional<CardState> parse_card_state(std::string_view s);

// A device's life (the seed's 设备状态: 未生产, 库存, 未安装, 已安装).
enum class Lifecycle { NotProduced, InStock, NotInstalled, Installed };
std::string_view name(Lifecycle s);
std::optional<Lifecycle> parse_lifecycle(std::string_view s);

// A rider's ledger row: why the balance moved.
enum class LedgerKind { Topup, Charge, Refund, Bonus, Adjustment };
std::string_view name(LedgerKind k);
std::optional<LedgerKind> parse_ledger_kind(std::string_view s);

// A firmware rollout and each device in it (docs/ota.md).
enum class RolloutState { Running, Paused, Cancelled, Completed };
std::string_view name(RolloutState s);
std::optional<RolloutState> parse_rollout_state(std::string_view s);

enum class RolloutDeviceState { Pending, Offered, Downloading, Verified, Installed, Failed, RolledBack, Skipped, Cancelled };
std::string_view name(RolloutDeviceState s);
std::optional<RolloutDeviceState> parse_rollout_device_state(std::string_view s);
bool in_flight(RolloutDeviceState s);   // offered, downloading, verified

// "'a', 'b', 'c'": the names of the given states as an SQL IN list, so that SQL which needs "sessions
// that hold a port" derives from the one definition in code.
std::string sql_in_list(const std::vector<std::string_view>& names);

}  // namespace chargehub
