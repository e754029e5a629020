#include "services.hpp"

#include <algorithm>
#include <sstream>

namespace chargehub::auth {
namespace {

std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::vector<std::string_view> split_ws(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

}  // namespace

bool valid_service_username(std::string_view user, Role role) {
  if (user.empty() || user.size() > 64 || is_device_id(user)) return false;
  if (std::all_of(user.begin(), user.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  for (char c : user) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  if (role == Role::bridge && (!starts_with(user, "bridge-") || user.size() == 7)) return false;
  return role != Role::none && role != Role::charger;
}

ServicesParse parse_services(std::string_view text) {
  ServicesParse out;
  std::size_t lineno = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto fields = split_ws(line);
    if (fields.empty() || fields[0][0] == '#') continue;
    auto fail = [&](const std::string& why) {
      out.errors.push_back("line " + std::to_string(lineno) + ": " + why);
    };
    if (fields.size() != 3) { fail("expected <username> <role> sha256$<salt>$<hash>"); continue; }
    Role role = service_role_from_name(fields[1]);
    if (role == Role::none) { fail("unknown role"); continue; }
    if (!valid_service_username(fields[0], role)) { fail("invalid username for its role"); continue; }
    auto cred = fields[2];
    if (!starts_with(cred, "sha256$")) { fail("credential must start with sha256$"); continue; }
    cred.remove_prefix(7);
    auto dollar = cred.find('$');
    if (dollar == std::string_view::npos) { fail("credential must be sha256$<salt>$<hash>"); continue; }
    auto salt = encoding::hex_decode(cred.substr(0, dollar));
    auto hash = parse_hex32(cred.substr(dollar + 1));
    if (!salt || salt->size() < 8 || !hash) { fail("bad salt or hash hex"); continue; }
    ServiceAccount a{std::string(fields[0]), role, std::move(*salt), *hash};
    if (out.table.accounts.count(a.username)) { fail("duplicate username"); continue; }
    out.table.accounts.emplace(a.username, std::move(a));
  }
  return out;
}

std::string format_service_line(const ServiceAccount& a) {
  return a.username + " " + std::string(role_name(a.role)) + " sha256$" + encoding::to_hex(a.salt) + "$" +
         encoding::to_hex(a.hash);
}

ServiceAccount make_service_account(std::string username, Role role, std::string_view secret) {
  ServiceAccount a{std::move(username), role, random_bytes(16), {}};
  a.hash = sha256(a.salt, as_bytes(secret));
  return a;
}

bool verify_service_secret(const ServiceAccount& a, std::string_view secret) {
  return digest_equal(sha256(a.salt, as_bytes(secret)), a.hash);
}

bool service_client_id_ok(const ServiceAccount& a, std::string_view client_id) {
  switch (a.role) {
    case Role::core: return starts_with(client_id, "core-") && client_id.size() > 5;
    case Role::bridge: return client_id == a.username;
    case Role::monitor: return starts_with(client_id, a.username);
    default: return false;
  }
}

}  // namespace chargehub::auth
