#include "connections.hpp"

#include <algorithm>

namespace chargehub::auth {

void Connections::add(const void* client, std::string username, const Credential& cred) {
  remove(client);
  by_client_[client] = Connection{std::move(username), cred, false};
  if (cred.kind == CredentialKind::prev_token) ++in_grace_;
}

void Connections::remove(const void* client) {
  auto it = by_client_.find(client);
  if (it == by_client_.end()) return;
  if (it->second.credential.kind == CredentialKind::prev_token) --in_grace_;
  by_client_.erase(it);
}

std::vector<std::string> Connections::revoked(const DeviceTable& devices, const ServiceTable& services,
                                              std::int64_t now_s, const std::vector<std::string>* only) {
  std::vector<std::string> out;
  for (auto& [client, c] : by_client_) {
    if (c.kicked) continue;
    if (only && std::find(only->begin(), only->end(), c.username) == only->end()) continue;
    if (still_valid(c.username, c.credential, devices, services, now_s)) continue;
    c.kicked = true;
    if (std::find(out.begin(), out.end(), c.username) == out.end()) out.push_back(c.username);
  }
  return out;
}

}  // namespace chargehub::auth
