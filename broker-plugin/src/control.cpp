#include "control.hpp"

#include <boost/json.hpp>

#include "identity.hpp"

namespace chargehub::auth {
namespace json = boost::json;
namespace {

constexpr std::size_t max_commands = 1000;

// Reads an optional 32-byte hex field: absent -> unchanged; null -> cleared; else must be valid.
bool read_hex32_field(const json::object& cmd, std::string_view name, std::optional<Digest>& field,
                      std::string& error) {
  auto it = cmd.find(name);
  if (it == cmd.end()) return true;
  if (it->value().is_null()) {
    field.reset();
    return true;
  }
  if (!it->value().is_string()) {
    error = std::string(name) + " must be a string of 64 lowercase hex digits or null";
    return false;
  }
  auto v = parse_hex32(it->value().as_string());
  if (!v) {
    error = std::string(name) + " must be 64 lowercase hex digits";
    return false;
  }
  field = *v;
  return true;
}

}  // namespace

ControlOutcome apply_control(std::string_view payload, const DeviceTable& current,
                             const std::function<json::object()>& stats) {
  ControlOutcome out;
  json::array responses;
  std::shared_ptr<DeviceTable> table;  // copy-on-write, made at the first change
  auto mutable_table = [&]() -> DeviceTable& {
    if (!table) table = std::make_shared<DeviceTable>(current);
    return *table;
  };
  auto lookup = [&](std::string_view id) -> const DeviceRecord* {
    return table ? table->find(id) : current.find(id);
  };

  json::error_code ec;
  json::value doc = json::parse(payload, ec);
  const json::array* commands = nullptr;
  if (!ec && doc.is_object()) {
    auto it = doc.as_object().find("commands");
    if (it != doc.as_object().end() && it->value().is_array()) commands = &it->value().as_array();
  }
  if (!commands) {
    responses.push_back(json::object{{"command", "unknown"}, {"ok", false},
                                     {"error", "payload must be {\"commands\":[…]}"}});
  } else if (commands->size() > max_commands) {
    responses.push_back(json::object{{"command", "unknown"}, {"ok", false}, {"error", "too many commands"}});
  } else {
    for (const auto& c : *commands) {
      json::object resp;
      ++out.commands;
      if (!c.is_object() || !c.as_object().contains("command") || !c.as_object().at("command").is_string()) {
        resp["command"] = "unknown";
        resp["ok"] = false;
        resp["error"] = "each command must be an object with a \"command\" string";
        responses.push_back(std::move(resp));
        continue;
      }
      const json::object& cmd = c.as_object();
      std::string name(cmd.at("command").as_string());
      resp["command"] = name;
      if (auto it = cmd.find("correlationData"); it != cmd.end()) resp["correlationData"] = it->value();
      std::string error;
      std::string id;
      if (auto it = cmd.find("id"); it != cmd.end() && it->value().is_string()) id = it->value().as_string();

      if (name == "reload") {
        out.reload = true;
      } else if (name == "get_stats") {
        resp["stats"] = stats();
      } else if (name == "disable_device" || name == "delete_device" || name == "set_device") {
        if (!is_device_id(id)) {
          error = "id must be a device id (decimal digits, no leading zero)";
        } else if (name == "set_device") {
          DeviceRecord rec;
          if (const DeviceRecord* old = lookup(id)) rec = *old;
          rec.deleted = false;
          bool ok = read_hex32_field(cmd, "token_hash", rec.token_hash, error) &&
                    read_hex32_field(cmd, "prev_token_hash", rec.prev_token_hash, error) &&
                    read_hex32_field(cmd, "pubkey", rec.pubkey, error);
          if (ok) {
            if (auto it = cmd.find("enabled"); it != cmd.end()) {
              if (it->value().is_bool()) rec.enabled = it->value().as_bool();
              else { error = "enabled must be true or false"; ok = false; }
            }
          }
          if (ok) {
            if (auto it = cmd.find("prev_token_until"); it != cmd.end()) {
              if (it->value().is_int64()) rec.prev_token_until = it->value().as_int64();
              else if (it->value().is_null()) rec.prev_token_until = 0;
              else { error = "prev_token_until must be an integer (unix s) or null"; ok = false; }
            }
          }
          if (ok) {
            mutable_table().devices[id] = rec;
            out.changed_ids.push_back(id);
          }
        } else {
          const DeviceRecord* old = lookup(id);
          if (!old) {
            error = "unknown device";
          } else {
            DeviceRecord rec = *old;
            if (name == "disable_device") rec.enabled = false;
            else rec.deleted = true;
            mutable_table().devices[id] = rec;
            out.changed_ids.push_back(id);
          }
        }
      } else {
        error = "unknown command";
      }
      resp["ok"] = error.empty();
      if (!error.empty()) resp["error"] = error;
      responses.push_back(std::move(resp));
    }
  }
  out.devices = table;
  out.response = json::serialize(json::object{{"responses", std::move(responses)}});
  return out;
}

}  // namespace chargehub::auth
