// Service accounts (core instances, edge bridges, monitoring) from the services file.
//
// File format, one account per line, '#' starts a comment line, blank lines ignored:
//   <username> <role> sha256$<salt hex>$<hex of SHA-256(salt bytes || secret bytes)>
// role is core | bridge | monitor. The secret is the text the client sends as its MQTT password
// (chargehub-passwd generates it: 32 random bytes as 64 hex characters).
#pragma once
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "devices.hpp"
#include "identity.hpp"

namespace chargehub::auth {

struct ServiceAccount {
  std::string username;
  Role role = Role::none;
  Bytes salt;
  Digest hash{};
};

struct ServiceTable {
  std::unordered_map<std::string, ServiceAccount, StringHash, std::equal_to<>> accounts;
  const ServiceAccount* find(std::string_view user) const {
    auto it = accounts.find(user);
    return it == accounts.end() ? nullptr : &it->second;
  }
};

struct ServicesParse {
  ServiceTable table;
  std::vector<std::string> errors;  // "line N: why" for every line skipped
};

// A username a service account may have: 1-64 of [A-Za-z0-9._-], not a device id (all digits), and
// for a bridge starting with "bridge-".
bool valid_service_username(std::string_view user, Role role);

ServicesParse parse_services(std::string_view text);
std::string format_service_line(const ServiceAccount& a);
ServiceAccount make_service_account(std::string username, Role role, std::string_view secret);
bool verify_service_secret(const ServiceAccount& a, std::string_view secret);

// Whether a client id may be used with this account (mqtt.md, Identities).
bool service_client_id_ok(const ServiceAccount& a, std::string_view client_id);

}  // namespace chargehub::auth
