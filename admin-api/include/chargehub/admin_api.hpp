// The admin HTTP API (cpp-httplib), served by the core process: devices, price plans, riders and wallets,
// charging sessions and commands. JSON in and out; errors as {"error": code, "message": text} with a
// fitting HTTP status. Every route but /api/v1/health needs `Authorization: Bearer <api key>`.
// Routes and fields: docs/admin-api.md.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace httplib {
class Server;
}

namespace chargehub::core {
class Service;
}

namespace chargehub::api {

struct ApiKey {
  std::string name;
  std::string salt_hex, hash_hex;   // SHA-256(salt || key)
};

// Reads `<name> sha256$<salt hex>$<hash hex>` lines (# comments); throws std::runtime_error on bad lines.
std::vector<ApiKey> load_api_keys(const std::string& path);
// A new random key and its line for the keys file.
std::pair<std::string, std::string> make_api_key(const std::string& name);
// The name of the key that matches, or "" (constant-time per key).
std::string check_api_key(const std::vector<ApiKey>& keys, const std::string& presented);

struct ApiConfig {
  std::vector<ApiKey> keys;
  std::function<bool()> mqtt_connected;
  // The MQTT adapter's queue: messages waiting for the worker and QoS 0 messages shed under overload.
  std::function<std::pair<uint64_t, uint64_t>()> mqtt_queue;
};

// Registers every route on the server.
void mount(httplib::Server& srv, core::Service& svc, ApiConfig cfg);

}  // namespace chargehub::api
