#include "cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "chargehub/frame.hpp"

namespace chargehub::auth {
namespace json = boost::json;
namespace ac = chargehub::auth_control;

std::string cache_json(const DeviceTable& t) {
  json::array devices, deleted;
  for (const auto& [id, r] : t.devices) {
    if (r.deleted) {
      deleted.push_back(json::object{{"id", id}, {"rev", r.rev}});
      continue;
    }
    json::value v = json::value_from(credentials_of(id, r));
    v.as_object()["rev"] = r.rev;
    devices.push_back(std::move(v));
  }
  return json::serialize(json::object{
      {"format", cache_format}, {"rev", t.rev}, {"devices", std::move(devices)}, {"deleted", std::move(deleted)}});
}

std::optional<DeviceTable> parse_cache(std::string_view text, std::string& error) {
  json::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec || !doc.is_object()) {
    error = "not a JSON object";
    return std::nullopt;
  }
  const json::object& o = doc.as_object();
  const json::value* fmt = o.if_contains("format");
  if (!fmt || !fmt->is_string() || fmt->as_string() != cache_format) {
    error = "not a " + std::string(cache_format) + " file";
    return std::nullopt;
  }
  const json::value* rev = o.if_contains("rev");
  const json::value* devs = o.if_contains("devices");
  const json::value* dels = o.if_contains("deleted");
  if (!rev || !rev->is_int64() || !devs || !devs->is_array() || !dels || !dels->is_array()) {
    error = "rev, devices or deleted missing";
    return std::nullopt;
  }
  // The entries are snapshot entries: the same parser as the wire's.
  json::object as_snapshot{{"command", "snapshot"}, {"rev", rev->as_int64() < 0 ? 0 : rev->as_int64()},
                           {"devices", *devs}};
  auto parsed = ac::parse_command(as_snapshot);
  if (!parsed.body) {
    error = parsed.error;
    return std::nullopt;
  }
  std::unordered_map<std::string, std::int64_t> revs;
  for (const auto& e : devs->as_array()) {
    const json::object* d = e.if_object();
    if (!d) continue;
    const json::value* id = d->if_contains("id");
    const json::value* r = d->if_contains("rev");
    if (id && id->is_string() && r && r->is_int64()) revs[std::string(id->as_string())] = r->as_int64();
  }
  DeviceTable t;
  t.rev = rev->as_int64();
  t.bad_fields = parsed.ignored;
  for (const auto& d : std::get<ac::Snapshot>(*parsed.body).devices) {
    auto it = revs.find(d.id);
    t.devices[d.id] = record_from(d, it == revs.end() ? std::max<std::int64_t>(t.rev, 0) : it->second);
  }
  for (const auto& e : dels->as_array()) {
    const json::object* d = e.if_object();
    const json::value* id = d ? d->if_contains("id") : nullptr;
    const json::value* r = d ? d->if_contains("rev") : nullptr;
    if (!id || !id->is_string() || !proto::parse_device_id(id->as_string()) || !r || !r->is_int64()) {
      ++t.bad_fields;
      continue;
    }
    DeviceRecord tomb;
    tomb.deleted = true;
    tomb.enabled = false;
    tomb.rev = r->as_int64();
    t.devices[std::string(id->as_string())] = tomb;
  }
  return t;
}

bool read_cache_file(const std::string& path, DeviceTable& out, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read " + path + ": " + std::strerror(errno);
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  auto t = parse_cache(ss.str(), error);
  if (!t) {
    error = path + ": " + error;
    return false;
  }
  out = std::move(*t);
  return true;
}

bool write_file_atomically(const std::string& path, std::string_view content, std::string& error) {
  const std::string tmp = path + ".tmp";
  auto fail = [&](const std::string& what) {
    error = what + " " + tmp + ": " + std::strerror(errno);
    return false;
  };
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail("cannot create");
  bool ok = ::fchmod(fd, 0600) == 0;  // also when the temp file was left by an earlier run
  for (std::size_t off = 0; ok && off < content.size();) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ok = false;
    else off += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  int saved = errno;
  ::close(fd);
  errno = saved;
  if (!ok) {
    fail("cannot write");
    ::unlink(tmp.c_str());
    return false;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    error = "cannot rename " + tmp + " to " + path + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  // The rename itself must survive a crash: sync the directory.
  std::string dir = std::filesystem::path(path).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

}  // namespace chargehub::auth
