// Clients admitted and what they were admitted with (a "connection": one MQTT client connection, not
// a charging session), so a change of the tables (a snapshot, a push, the services file, a rotation
// grace period running out) can tell whom to disconnect. Broker thread only.
#pragma once
#include <string>
#include <unordered_map>
#include <vector>

#include "auth.hpp"

namespace chargehub::auth {

class Connections {
 public:
  void add(const void* client, std::string username, const Credential& cred);
  void remove(const void* client);
  std::size_t size() const { return by_client_.size(); }
  bool any_in_grace() const { return in_grace_ > 0; }

  // Usernames whose credential no longer holds (each returned once per connection). With `only` set,
  // only connections of those usernames are checked.
  std::vector<std::string> revoked(const DeviceTable& devices, const ServiceTable& services,
                                   std::int64_t now_s, const std::vector<std::string>* only = nullptr);

 private:
  struct Connection {
    std::string username;
    Credential credential;
    bool kicked = false;
  };
  std::unordered_map<const void*, Connection> by_client_;
  std::size_t in_grace_ = 0;  // connections admitted with a previous (rotated) token
};

}  // namespace chargehub::auth
