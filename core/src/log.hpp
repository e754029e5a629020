// The core's logs are chargehub/log.hpp's structured events (docs/operations.md, "Logs"):
//   log::info("session.settled", {{"session", id}, {"device", dev}, {"fen", fen}});
// Never pass a secret (passwords, tokens, keys, device secrets).
#pragma once
#include "chargehub/log.hpp"

namespace chargehub::core {
namespace log = ::chargehub::log;
}  // namespace chargehub::core
