#include "audit.hpp"

#include <array>

namespace chargehub::core {

namespace {
bool secret_key(std::string_view key) {
  static constexpr std::array<std::string_view, 7> kWords = {"password", "secret", "token", "key_hash", "pubkey", "refresh", "authorization"};
  std::string k(key);
  for (auto& c : k)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  for (auto w : kWords)
    if (k.find(w) != std::string::npos) return true;
  return false;
}

std::optional<std::string> text_of(const boost::json::value& v) {
  if (v.is_null()) return std::nullopt;
  return boost::json::serialize(v);
}

boost::json::value parse_or_null(const std::optional<std::string>& s) {
  if (!s) return nullptr;
  boost::system::error_code ec;
  auto v = boost::json::parse(*s, ec);
  return ec ? boost::json::value(*s) : v;
}
}  // namespace

boost::json::value Audit::redact(const boost::json::value& v) {
  if (v.is_object()) {
    boost::json::object out;
    for (const auto& [k, x] : v.as_object()) out[k] = (secret_key(k) && !x.is_null() && !x.is_bool()) ? boost::json::value("***") : redact(x);   // a flag (must_change_password) is no secret
    return out;
  }
  if (v.is_array()) {
    boost::json::array out;
    for (const auto& x : v.as_array()) out.push_back(redact(x));
    return out;
  }
  return v;
}

int64_t Audit::record(AuditEntry e) {
  AuditRow r{0, e.at, e.account_id, e.actor, e.address, e.action, e.target_type, e.target_id, text_of(redact(e.before)),
             text_of(redact(e.after))};
  sql::Tx tx(db_);
  int64_t id = repo_.insert(r);
  tx.commit();
  return id;
}

Page<AuditEntry> Audit::list(const Scope& scope, const AuditFilter& f, const PageRequest& p) {
  Page<AuditRow> rows;
  {
    sql::Lock lock(db_);
    rows = repo_.list(scope, AuditQuery{f.account_id, f.action, f.target_type, f.target_id, f.from, f.to}, p);
  }
  Page<AuditEntry> out;
  out.total = rows.total;
  for (auto& r : rows.items)
    out.items.push_back(AuditEntry{r.id, r.at, r.account_id, std::move(r.actor), std::move(r.address), std::move(r.action),
                                   std::move(r.target_type), std::move(r.target_id), parse_or_null(r.before_json),
                                   parse_or_null(r.after_json)});
  return out;
}

}  // namespace chargehub::core
