#include "fixture.hpp"

#include <thread>

namespace chargehub::otatest {

firmware::Bytes image(size_t n, uint8_t seed) {
  firmware::Bytes b(n);
  uint32_t x = 2463534242u + seed;
  for (auto& c : b) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<uint8_t>(x);
  }
  return b;
}

Site::Site(const std::string& name) : dir(name) {
  pub = dir / "firmware.pub";
  write_file(pub, firmware::public_to_pem(key.pub));
  stack = std::make_unique<Stack>(dir, std::vector<std::string>{"--firmware-pubkey", pub.string()});
}

void Site::add_devices(int n, uint64_t base) {
  for (int i = 0; i < n; ++i) {
    std::string id = std::to_string(base + static_cast<uint64_t>(i));
    auto d = stack->api("POST", "/devices", json::object{{"id", id}, {"ports", 10}, {"model", 1}});
    if (d.status != 201) throw std::runtime_error("cannot create device " + id + ": " + json::serialize(d.body));
    devices.push_back(id);
    tokens.push_back(std::string(d.obj().at("token_hex").as_string()));
  }
}

void Site::start_bridge() {
  // The bridge's per-charger frame limit (default 20/s) would pace downloads at 20 KB/s; tests go faster.
  stack->start_bridge({"--heartbeat-s", "60", "--max-frames-per-s", "2000"});
}

Process& Site::start_sim(size_t i, std::vector<std::string> extra, bool with_key) {
  std::vector<std::string> args{"--tick-ms", "20", "--retry-ms", "1000", "--plug-in", "none"};
  if (with_key) {
    args.push_back("--firmware-key");
    args.push_back(pub.string());
  }
  args.insert(args.end(), extra.begin(), extra.end());
  return stack->start_sim(devices.at(i), tokens.at(i), args);
}

bool Site::wait_online(size_t count, std::chrono::seconds timeout) {
  return wait_until([&] {
    size_t n = 0;
    for (auto& d : devices) {
      auto r = stack->api("GET", "/devices/" + d);
      if (r.status == 200 && r.obj().at("online").as_bool()) ++n;
    }
    return n >= count;
  }, timeout);
}

firmware::Package Site::package(firmware::Bytes img, proto::Version v, proto::Version min_from) {
  return firmware::make_package(std::move(img), {1, v, min_from, "test", 0}, key.priv);
}

ApiReply Site::upload(const firmware::Package& p) {
  return stack->api_raw("POST", "/firmware", firmware::package_to_json(p), "application/json", stack->api_key());
}

int64_t Site::upload_ok(const firmware::Package& p) {
  auto r = upload(p);
  if (r.status != 201) throw std::runtime_error("upload failed: " + json::serialize(r.body));
  return r.obj().at("id").as_int64();
}

ApiReply Site::create_rollout(json::object body) { return stack->api("POST", "/rollouts", body); }

json::object Site::rollout(int64_t id) { return stack->api("GET", "/rollouts/" + std::to_string(id)).obj(); }

json::array Site::rollout_devices(int64_t id, const std::string& state) {
  return stack->api("GET", "/rollouts/" + std::to_string(id) + "/devices?size=5000" + (state.empty() ? "" : "&state=" + state))
      .obj()
      .at("items")
      .as_array();
}

json::object Site::wait_rollout(int64_t id, const std::string& state, std::chrono::seconds timeout) {
  json::object r;
  wait_until([&] {
    r = rollout(id);
    return r.at("state").as_string() == state;
  }, timeout);
  return r;
}

std::string Site::logs(size_t sims) {
  std::string s = "\n--- core\n" + stack->core_log() + "\n--- bridge (tail)\n";
  auto b = stack->bridge_log();
  s += b.size() > 4000 ? b.substr(b.size() - 4000) : b;
  for (size_t i = 0; i < sims; ++i) {
    auto l = stack->sim_log(i);
    if (l.empty()) break;
    s += "\n--- sim" + std::to_string(i) + " (tail)\n" + (l.size() > 3000 ? l.substr(l.size() - 3000) : l);
  }
  return s;
}

}  // namespace chargehub::otatest
