#include "config.hpp"

#include "chargehub/credentials.hpp"
#include "log_text.hpp"

namespace chargehub::auth {

ConfigResult parse_config(const std::vector<std::pair<std::string, std::string>>& options) {
  ConfigResult r;
  Config& c = r.config;
  for (const auto& [key, value] : options) {
    auto number = [&](std::int64_t& out, std::int64_t min, std::int64_t max) {
      auto v = credentials::parse_decimal(value);
      if (!v || *v < min || *v > max)
        r.errors.push_back("plugin_opt_" + key + ": expected an integer in [" + std::to_string(min) + ", " +
                           std::to_string(max) + "], got '" + printable(value) + "'");
      else
        out = *v;
    };
    auto throttle_both = [&](auto member, std::int64_t min, std::int64_t max) {
      std::int64_t v = c.user_throttle.*member;
      number(v, min, max);
      c.user_throttle.*member = v;
      c.addr_throttle.*member = v;
    };
    // The plugin no longer reads the core's database (issue 14.4): an old configuration must not
    // start a broker that silently admits no charger.
    if (key == "database" || key == "db")
      r.errors.push_back("plugin_opt_" + key +
                         " is no longer supported: the plugin does not read the core's database; credentials "
                         "come from the core over $CONTROL/chargehub-auth/v1 (snapshot and pushes) and are kept "
                         "in plugin_opt_auth_cache_file (see docs/broker-plugin.md)");
    else if (key == "auth_cache_file") c.auth_cache_file = value;
    else if (key == "auth_snapshot_interval") number(c.auth_snapshot_interval, 10, 86400);
    else if (key == "services") c.services = value;
    else if (key == "status_file") c.status_file = value;
    else if (key == "metrics_file") c.metrics_file = value;
    else if (key == "ed25519_window_s") number(c.ed25519_window_s, 1, 86400);
    else if (key == "poll_ms") number(c.poll_ms, 10, 60000);
    else if (key == "status_interval_s") number(c.status_interval_s, 1, 86400);
    else if (key == "stats_log_s") number(c.stats_log_s, 0, 86400);
    else if (key == "throttle_user_free" || key == "throttle_addr_free") {
      std::int64_t v = 0;
      number(v, 0, 1000000);
      (key == "throttle_user_free" ? c.user_throttle : c.addr_throttle).free_failures =
          static_cast<std::uint32_t>(v);
    } else if (key == "throttle_base_ms") throttle_both(&ThrottlePolicy::base_ms, 1, 3600000);
    else if (key == "throttle_max_ms") throttle_both(&ThrottlePolicy::max_ms, 1, 86400000);
    else if (key == "throttle_forget_s") throttle_both(&ThrottlePolicy::forget_s, 1, 86400);
    else if (key == "limit_max_payload") number(c.limits.max_payload, 0, 268435455);
    else if (key == "limit_rate_per_s") number(c.limits.rate_per_s, 0, 1000000);
    else if (key == "limit_burst") number(c.limits.burst, 1, 1000000);
    else if (key == "throttle_addr_exempt") {
      std::string_view v = value;
      while (!v.empty()) {
        auto comma = v.find(',');
        auto item = v.substr(0, comma);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        if (!item.empty()) c.addr_exempt.emplace_back(item);
        v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
      }
    } else {
      r.errors.push_back("unknown option plugin_opt_" + printable(key));
    }
  }
  if (c.user_throttle.max_ms < c.user_throttle.base_ms)
    r.errors.push_back("plugin_opt_throttle_max_ms must be >= plugin_opt_throttle_base_ms");
  return r;
}

}  // namespace chargehub::auth
