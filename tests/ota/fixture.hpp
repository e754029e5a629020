// A whole site for OTA tests: mosquitto + plugin, the core with the platform's firmware key, the edge
// bridge, and simulated chargers that trust that key. Every test has its own TempDir and ports.
#pragma once
#include <boost/json.hpp>
#include <memory>
#include <string>
#include <vector>

#include "chargehub/ota/firmware.hpp"
#include "stack.hpp"

namespace chargehub::otatest {

using namespace chargehub::testing;
namespace json = boost::json;

// A deterministic image of n bytes.
firmware::Bytes image(size_t n, uint8_t seed = 1);

class Site {
 public:
  explicit Site(const std::string& name);
  TempDir dir;
  firmware::KeyPair key = firmware::generate_key();
  fs::path pub;                       // the platform key as PEM (core and chargers)
  std::unique_ptr<Stack> stack;
  std::vector<std::string> devices, tokens;

  // n devices of model 1, ids base, base+1, …
  void add_devices(int n, uint64_t base = 861000000000001ULL);
  void start_bridge();
  // A simulated charger for devices[i]; it trusts `pub` unless extra says otherwise.
  Process& start_sim(size_t i, std::vector<std::string> extra = {}, bool with_key = true);
  bool wait_online(size_t count, std::chrono::seconds timeout = std::chrono::seconds(30));

  firmware::Package package(firmware::Bytes img, proto::Version v = {1, 1, 0}, proto::Version min_from = {1, 0, 0});
  ApiReply upload(const firmware::Package& p);
  int64_t upload_ok(const firmware::Package& p);
  ApiReply create_rollout(json::object body);
  json::object rollout(int64_t id);
  json::array rollout_devices(int64_t id, const std::string& state = "");
  // Polls until the rollout is in `state` (or timeout); returns its last view.
  json::object wait_rollout(int64_t id, const std::string& state, std::chrono::seconds timeout);
  std::string logs(size_t sims = 3);
};

}  // namespace chargehub::otatest
