#include "control.hpp"

#include "chargehub/auth_control.hpp"

namespace chargehub::auth {
namespace ac = chargehub::auth_control;

ParsedControl parse_control(std::string_view payload, std::string user) {
  ParsedControl p;
  p.user = std::move(user);
  p.request = ac::parse_request(payload);
  p.prepared.resize(p.request.commands.size());
  for (std::size_t i = 0; i < p.request.commands.size(); ++i) {
    const auto& c = p.request.commands[i];
    if (c.body)
      if (auto* s = std::get_if<ac::Snapshot>(&*c.body)) p.prepared[i] = table_from_snapshot(*s, c.ignored);
  }
  return p;
}

ControlOutcome apply_control(std::string_view payload, const DeviceTable& current,
                             const std::function<boost::json::object()>& stats, bool force_snapshot) {
  return apply_control(parse_control(payload, {}), current, stats, force_snapshot);
}

ControlOutcome apply_control(ParsedControl&& pc, const DeviceTable& current,
                             const std::function<boost::json::object()>& stats, bool force_snapshot) {
  ControlOutcome out;
  ac::Responses responses;
  std::shared_ptr<DeviceTable> table;  // copy-on-write, made at the first change
  auto mutable_table = [&]() -> DeviceTable& {
    if (!table) table = std::make_shared<DeviceTable>(current);
    return *table;
  };

  auto& parsed = pc.request;
  if (!parsed.error.empty()) responses.responses.push_back({"unknown", false, parsed.error, {}, {}, {}});
  for (std::size_t index = 0; index < parsed.commands.size(); ++index) {
    auto& cmd = parsed.commands[index];
    ++out.commands;
    ac::Response resp;
    resp.command = cmd.name;
    resp.correlation_data = std::move(cmd.correlation_data);
    if (!cmd.body) {
      resp.ok = false;
      resp.error = cmd.error;
      responses.responses.push_back(std::move(resp));
      continue;
    }
    // Merged into the scratch copy (a stale or refused command leaves it as it was).
    auto merge = [&](auto&& fn) {
      DeviceTable& t = mutable_table();
      MergeResult m = fn(t);
      if (!m.error.empty()) {
        resp.ok = false;
        resp.error = m.error;
      } else {
        resp.applied = m.applied;
        if (!m.applied) ++out.stale;
      }
      out.changed_ids.insert(out.changed_ids.end(), m.changed.begin(), m.changed.end());
      return m.applied;
    };
    if (auto* s = std::get_if<ac::Snapshot>(&*cmd.body)) {
      out.ignored_fields += cmd.ignored;
      // The snapshot's table is built already (or now): installing it keeps the newer records.
      std::shared_ptr<DeviceTable> prepared =
          pc.prepared.size() > index && pc.prepared[index] ? pc.prepared[index] : table_from_snapshot(*s, cmd.ignored);
      const DeviceTable& base = table ? *table : current;
      if (install_snapshot(*prepared, base, force_snapshot)) {
        table = std::move(prepared);
        out.snapshot_rev = s->rev;
        resp.applied = true;
      } else {
        resp.applied = false;
        ++out.stale;
      }
    } else if (auto* s = std::get_if<ac::SetDevice>(&*cmd.body)) {
      merge([&](DeviceTable& t) { return apply_set_device(t, *s); });
    } else if (auto* s = std::get_if<ac::DisableDevice>(&*cmd.body)) {
      merge([&](DeviceTable& t) { return apply_disable_device(t, *s); });
    } else if (auto* s = std::get_if<ac::DeleteDevice>(&*cmd.body)) {
      merge([&](DeviceTable& t) { return apply_delete_device(t, *s); });
    } else if (std::holds_alternative<ac::Reload>(*cmd.body)) {
      out.reload = true;
    } else if (std::holds_alternative<ac::GetStats>(*cmd.body)) {
      resp.stats = stats();
    }
    responses.responses.push_back(std::move(resp));
  }
  if (table && (!out.changed_ids.empty() || out.snapshot_rev)) out.devices = table;
  out.response = ac::responses_json(responses);
  return out;
}

}  // namespace chargehub::auth
