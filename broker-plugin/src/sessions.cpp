#include "sessions.hpp"

#include <algorithm>

namespace chargehub::auth {

void Sessions::add(const void* client, std::string username, const Credential& cred) {
  remove(client);
  by_client_[client] = Session{std::move(username), cred, false};
  if (cred.kind == CredentialKind::prev_token) ++in_grace_;
}

void Sessions::remove(const void* client) {
  auto it = by_client_.find(client);
  if (it == by_client_.end()) return;
  if (it->second.credential.kind == CredentialKind::prev_token) --in_grace_;
  by_client_.erase(it);
}

std::vector<std::string> Sessions::revoked(const DeviceTable& devices, const ServiceTable& services,
                                           std::int64_t now_s, const std::vector<std::string>* only) {
  std::vector<std::string> out;
  for (auto& [client, s] : by_client_) {
    if (s.kicked) continue;
    if (only && std::find(only->begin(), only->end(), s.username) == only->end()) continue;
    if (still_valid(s.username, s.credential, devices, services, now_s)) continue;
    s.kicked = true;
    if (std::find(out.begin(), out.end(), s.username) == out.end()) out.push_back(s.username);
  }
  return out;
}

}  // namespace chargehub::auth
