// chargehub-ota: the installers' and operators' firmware tool. `chargehub-ota --help` for the commands;
// docs/ota.md for the whole story (keys, packages, rollouts, direct flashing).
#include <httplib.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "chargehub/log.hpp"
#include "chargehub/config.hpp"
#include "chargehub/ota/firmware.hpp"
#include "chargehub/ota/flash.hpp"
#include "link.hpp"

using namespace chargehub;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

// Exit codes (also in --help and docs/ota.md).
enum Exit {
  kOk = 0, kError = 1, kBadPackage = 2, kRejected = 3, kIncompatible = 4, kVerifyFailed = 5, kRolledBack = 6,
  kNoAnswer = 7, kApiRefused = 8, kApiUnreachable = 9,
};
const char* kExitCodes =
    "Exit codes: 0 done; 1 usage or local error (files, keys); 2 the package is malformed or does not verify;\n"
    "3 the charger rejected the offer (signature or size); 4 the charger is another model or too old (min_from);\n"
    "5 the charger's SHA-256 check failed; 6 the new image failed to boot and was rolled back;\n"
    "7 no answer from the charger in time; 8 the core's API refused the request; 9 the core's API is unreachable.";

struct Fail : std::runtime_error {
  Fail(int code, const std::string& what) : std::runtime_error(what), code(code) {}
  int code;
};

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Fail(kError, "cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text(const std::string& path, const std::string& text, mode_t mode) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Fail(kError, "cannot write " + path);
    ::chmod(tmp.c_str(), mode);
    out << text;
    if (!out.flush()) throw Fail(kError, "cannot write " + path);
  }
  ::chmod(tmp.c_str(), mode);
  fs::rename(tmp, path);
}

firmware::Package load_package(const std::string& path) {
  std::string why;
  auto p = firmware::parse_package(read_text(path), &why);
  if (!p) throw Fail(kBadPackage, path + ": not a firmware package: " + why);
  return *p;
}

firmware::PublicKey load_public(const std::string& path) {
  auto k = firmware::public_from_pem(read_text(path));
  if (!k) throw Fail(kError, path + ": not an Ed25519 public key (PEM \"PUBLIC KEY\"; make one with `chargehub-ota keygen`)");
  return *k;
}

firmware::PrivateKey load_private(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077))
    chargehub::log::warn("ota.key_readable_by_others", {{"path", path}});   // chmod 600 it
  auto k = firmware::private_from_pem(read_text(path));
  if (!k) throw Fail(kError, path + ": not an Ed25519 private key (PEM \"PRIVATE KEY\"; make one with `chargehub-ota keygen`)");
  return *k;
}

proto::Version version_arg(const std::string& s, const char* what) {
  auto v = proto::Version::parse(s);
  if (!v) throw Fail(kError, std::string(what) + " must be major.minor.patch (each 0..255), got '" + s + "'");
  return *v;
}

std::string human_bytes(double b) {
  char buf[32];
  if (b >= 1 << 20) std::snprintf(buf, sizeof buf, "%.1f MiB", b / (1 << 20));
  else if (b >= 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024);
  else std::snprintf(buf, sizeof buf, "%.0f B", b);
  return buf;
}

// ---- the core's API ----
struct Api {
  std::string url = "http://127.0.0.1:8080";
  std::string key_file;

  json::value call(const std::string& method, const std::string& path, const std::string& body = "") const {
    std::string key;
    if (!key_file.empty()) {
      key = read_text(key_file);
      while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' ')) key.pop_back();
    } else if (const char* e = std::getenv("CHARGEHUB_API_KEY")) {
      key = e;
    }
    if (key.empty()) throw Fail(kError, "no API key: give --api-key-file FILE (or set CHARGEHUB_API_KEY)");
    httplib::Client cli(url);
    cli.set_connection_timeout(5);
    cli.set_read_timeout(60);
    cli.set_write_timeout(60);
    httplib::Headers h{{"Authorization", "Bearer " + key}};
    std::string p = "/api/v1" + path;
    auto r = method == "GET" ? cli.Get(p.c_str(), h) : cli.Post(p.c_str(), h, body.empty() ? "{}" : body, "application/json");
    if (!r) throw Fail(kApiUnreachable, "cannot reach the core's API at " + url + " (" + httplib::to_string(r.error()) + ")");
    boost::system::error_code ec;
    auto v = json::parse(r->body, ec);
    if (r->status >= 300) {
      std::string msg = "HTTP " + std::to_string(r->status);
      if (!ec && v.is_object() && v.get_object().contains("error"))
        msg = json::value_to<std::string>(v.at("error")) + ": " +
              (v.get_object().contains("message") ? json::value_to<std::string>(v.at("message")) : "");
      throw Fail(kApiRefused, "the core refused " + method + " " + p + ": " + msg);
    }
    if (ec) throw Fail(kApiRefused, "the core answered " + p + " with something that is not JSON");
    return v;
  }
};

void add_api_options(CLI::App* c, Api& api) {
  c->add_option("--api", api.url, "the core's HTTP API")->capture_default_str();
  c->add_option("--api-key-file", api.key_file, "file holding an API key (`chargehub-core api-key`); or set CHARGEHUB_API_KEY");
}

std::string str(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_null()) return "-";
  return json::serialize(v);
}

void print_rollout(const json::object& r) {
  std::cout << "rollout " << str(r.at("id")) << ": firmware " << str(r.at("firmware_id")) << " (" << str(r.at("version"))
            << ", model " << str(r.at("model")) << ") to " << str(r.at("target")) << "\n"
            << "  state      " << str(r.at("state"));
  if (!r.at("pause_reason").is_null()) std::cout << " — " << str(r.at("pause_reason"));
  std::cout << "\n  stage      " << str(r.at("stage")) << " of " << r.at("stages").as_array().size() << " (stages "
            << str(r.at("stages")) << " %), gate " << str(r.at("max_failure_pct")) << " % failures, at most "
            << str(r.at("max_concurrent")) << " downloading\n"
            << "  devices    " << str(r.at("total")) << ":";
  for (auto& kv : r.at("counts").as_object())
    if (kv.value().as_int64() > 0) std::cout << " " << kv.key() << " " << kv.value().as_int64();
  std::cout << "\n";
}

// ---- commands ----

int cmd_keygen(const std::string& priv_path, const std::string& pub_path, bool force) {
  if (!force && (fs::exists(priv_path) || fs::exists(pub_path)))
    throw Fail(kError, priv_path + " or " + pub_path + " exists; refusing to overwrite a key (--force to replace it)");
  auto k = firmware::generate_key();
  write_text(priv_path, firmware::private_to_pem(k.priv), 0600);
  write_text(pub_path, firmware::public_to_pem(k.pub), 0644);
  std::cout << "private key " << priv_path << " (mode 0600: keep it offline; it signs firmware for the whole fleet)\n"
            << "public key  " << pub_path << " (give it to `chargehub-core serve --firmware-pubkey` and to the chargers)\n"
            << "key id      " << firmware::key_id(k.pub) << "\n";
  return kOk;
}

int cmd_package(const std::string& image_path, int model, const std::string& ver, const std::string& min_from,
                const std::string& key_path, std::string out, const std::string& notes) {
  auto priv = load_private(key_path);
  std::string img = read_text(image_path);
  firmware::PackageInfo info{model, version_arg(ver, "--version"), version_arg(min_from, "--min-from"), notes,
                             static_cast<int64_t>(std::time(nullptr))};
  firmware::Package p;
  try {
    p = firmware::make_package(firmware::Bytes(img.begin(), img.end()), info, priv);
  } catch (const std::invalid_argument& e) {
    throw Fail(kBadPackage, image_path + ": " + e.what());
  }
  if (out.empty()) out = "model" + std::to_string(model) + "-" + ver + ".chfw";
  write_text(out, firmware::package_to_json(p), 0644);
  std::cout << out << ": model " << model << ", version " << ver << " (from " << min_from << "), " << p.manifest.size
            << " bytes, sha256 " << firmware::hex(p.manifest.sha256) << ", signed by key " << p.manifest.key_id << "\n";
  return kOk;
}

int cmd_inspect(const std::string& path, bool as_json) {
  auto p = load_package(path);
  auto& m = p.manifest;
  if (as_json) {
    std::cout << json::serialize(firmware::to_json(m)) << "\n";
    return kOk;
  }
  bool consistent = p.image.size() == m.size && firmware::sha256(p.image) == m.sha256;
  std::time_t t = m.created_at;
  char when[32] = "-";
  if (t) std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%SZ", std::gmtime(&t));
  std::cout << "package    " << path << "\n"
            << "model      " << m.model << "\n"
            << "version    " << m.version.text() << " (upgrades from " << m.min_from.text() << " or later)\n"
            << "size       " << m.size << " bytes (" << human_bytes(m.size) << ")\n"
            << "sha256     " << firmware::hex(m.sha256) << (consistent ? " (matches the image)" : " (DOES NOT match the image)") << "\n"
            << "signature  " << firmware::hex(m.signature) << "\n"
            << "key id     " << (m.key_id.empty() ? "-" : m.key_id) << "\n"
            << "created    " << when << "\n";
  if (!m.notes.empty()) std::cout << "notes      " << m.notes << "\n";
  std::cout << "(`chargehub-ota verify " << path << " --pubkey KEY.pub` checks the signature)\n";
  return consistent ? kOk : kBadPackage;
}

int cmd_verify(const std::string& path, const std::string& pub_path) {
  auto p = load_package(path);
  auto pub = load_public(pub_path);
  auto c = firmware::check(p.manifest, p.image, pub);
  if (c != firmware::Check::Ok) {
    chargehub::log::error("ota.verify_failed", {{"path", path}, {"check", firmware::check_name(c)}, {"message", firmware::check_message(c)}});
    return kBadPackage;
  }
  std::cout << path << ": ok: " << firmware::check_message(c) << " (key " << firmware::key_id(pub) << ")\n";
  return kOk;
}

int cmd_upload(const std::string& path, const Api& api) {
  std::string text = read_text(path);
  std::string why;
  if (!firmware::parse_package(text, &why)) throw Fail(kBadPackage, path + ": not a firmware package: " + why);
  auto r = api.call("POST", "/firmware", text).as_object();
  std::cout << "uploaded: firmware " << str(r.at("id")) << " (model " << str(r.at("model")) << ", version " << str(r.at("version"))
            << ", " << str(r.at("size")) << " bytes)\n"
            << "next: chargehub-ota rollout create --firmware " << str(r.at("id")) << " --model " << str(r.at("model")) << "\n";
  return kOk;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ',' || c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

struct RolloutArgs {
  int64_t firmware = 0;
  int model = 0;
  std::string devices, devices_file, station, agent, stages = "1,10,100";
  int max_failure_pct = 10, max_concurrent = 10;
};

int cmd_rollout_create(const RolloutArgs& a, const Api& api) {
  json::object target;
  int given = (a.model ? 1 : 0) + (!a.devices.empty() || !a.devices_file.empty() ? 1 : 0) + (!a.station.empty() ? 1 : 0) +
              (!a.agent.empty() ? 1 : 0);
  if (given != 1) throw Fail(kError, "give exactly one target: --model N, --devices ID,ID,… (or --devices-file F), --station S or --agent A");
  if (a.model) target["model"] = a.model;
  else if (!a.station.empty()) target["station"] = a.station;
  else if (!a.agent.empty()) target["agent"] = a.agent;
  else {
    json::array ids;
    for (auto& d : split(a.devices_file.empty() ? a.devices : read_text(a.devices_file))) ids.push_back(json::value(d));
    target["devices"] = std::move(ids);
  }
  json::array stages;
  for (auto& s : split(a.stages)) {
    try {
      stages.push_back(std::stoi(s));
    } catch (...) {
      throw Fail(kError, "--stages must be percentages like 1,10,100");
    }
  }
  json::object body{{"firmware_id", a.firmware}, {"target", std::move(target)}, {"stages", std::move(stages)},
                    {"max_failure_pct", a.max_failure_pct}, {"max_concurrent", a.max_concurrent}};
  auto r = api.call("POST", "/rollouts", json::serialize(body)).as_object();
  print_rollout(r);
  std::cout << "follow it with: chargehub-ota rollout show " << str(r.at("id")) << " --watch\n";
  return kOk;
}

int cmd_rollout_op(const std::string& op, int64_t id, const Api& api) {
  auto r = api.call("POST", "/rollouts/" + std::to_string(id) + "/" + op).as_object();
  print_rollout(r);
  return kOk;
}

int cmd_rollout_show(int64_t id, bool devices, bool watch, const std::string& state, const Api& api) {
  for (;;) {
    auto r = api.call("GET", "/rollouts/" + std::to_string(id)).as_object();
    print_rollout(r);
    if (devices) {
      std::string q = "/rollouts/" + std::to_string(id) + "/devices?size=5000" + (state.empty() ? "" : "&state=" + state);
      auto d = api.call("GET", q).as_object();
      std::printf("  %-17s %-5s %-12s %-9s %10s  %s\n", "device", "stage", "state", "from", "bytes", "error");
      for (auto& v : d.at("items").as_array()) {
        auto& o = v.as_object();
        std::printf("  %-17s %-5s %-12s %-9s %10s  %s\n", str(o.at("device_id")).c_str(), str(o.at("stage")).c_str(),
                    str(o.at("state")).c_str(), str(o.at("from_fw")).c_str(), str(o.at("bytes")).c_str(), str(o.at("error")).c_str());
      }
    }
    std::string s = str(r.at("state"));
    if (!watch || s == "completed" || s == "cancelled" || s == "paused") break;
    std::this_thread::sleep_for(std::chrono::seconds(2));
    std::cout << "\n";
  }
  return kOk;
}

void progress_bar(const flash::FlashRun& s, bool tty, std::chrono::steady_clock::time_point started) {
  static int last_decile = -1;
  double pct = s.size() ? 100.0 * s.bytes() / s.size() : 0;
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (tty) {
    int w = 30, fill = static_cast<int>(pct / 100 * w);
    std::string bar(static_cast<size_t>(fill), '#');
    bar.resize(static_cast<size_t>(w), '.');
    std::fprintf(stderr, "\r[%s] %5.1f%% %s/%s %s/s  %-40s", bar.c_str(), pct, human_bytes(s.bytes()).c_str(),
                 human_bytes(s.size()).c_str(), human_bytes(secs > 0 ? s.bytes() / secs : 0).c_str(),
                 std::string(flash::phase_name(s.phase())).c_str());
    std::fflush(stderr);
  } else if (static_cast<int>(pct / 10) != last_decile) {
    last_decile = static_cast<int>(pct / 10);
    chargehub::log::info("flash.progress", {{"pct", static_cast<int>(pct)}, {"bytes", s.bytes()}, {"size", s.size()},
                                           {"phase", flash::phase_name(s.phase())}});
  }
}

int cmd_flash(const std::string& path, const otacli::LinkSpec& link, const std::string& device, bool force, int timeout_s,
              const std::string& pub_path) {
  auto p = load_package(path);
  if (p.image.size() != p.manifest.size || firmware::sha256(p.image) != p.manifest.sha256)
    throw Fail(kBadPackage, path + ": the image does not match its manifest; not flashing it");
  if (!pub_path.empty()) {
    auto c = firmware::check(p.manifest, p.image, load_public(pub_path));
    if (c != firmware::Check::Ok) throw Fail(kBadPackage, path + ": " + std::string(firmware::check_message(c)));
  }
  flash::Options o;
  o.force = force;
  if (!device.empty()) {
    auto d = proto::parse_device_id(device);
    if (!d) throw Fail(kError, "--device must be 1-16 digits");
    o.device = *d;
  }
  bool tty = ::isatty(2);
  // Power-cycle or reconnect the charger if it does not log in (docs/ota.md).
  chargehub::log::info("flash.starting", {{"version", p.manifest.version.text()}, {"model", p.manifest.model}, {"bytes", p.manifest.size},
                                         {"link", link.where}});
  flash::FlashRun s(std::move(p), o);
  auto started = std::chrono::steady_clock::now();
  otacli::RunHooks hooks;
  hooks.before_log = [tty] {
    if (tty) std::fprintf(stderr, "\r%-100s\r", "");
  };
  hooks.progress = [tty, started](const flash::FlashRun& ss) {
    if (ss.phase() != flash::Phase::WaitingForLogin) progress_bar(ss, tty, started);
  };
  otacli::run_flash(link, s, std::chrono::seconds(timeout_s), hooks);
  if (tty) std::fprintf(stderr, "\n");
  if (!s.done()) {
    chargehub::log::error("flash.no_result", {{"reason", s.device() ? "the charger stopped answering" : "no charger logged in"},
                                             {"timeout_s", timeout_s}, {"phase", flash::phase_name(s.phase())}});
    return kNoAnswer;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (s.exit_code() == 0)
    std::cout << flash::outcome_name(s.outcome()) << ": " << s.message() << " (" << std::fixed << std::setprecision(1) << secs << " s)\n";
  else
    chargehub::log::error("flash.failed", {{"outcome", flash::outcome_name(s.outcome())}, {"message", s.message()}, {"seconds", secs}});
  return s.exit_code();
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  CLI::App app{
      "chargehub-ota: sign firmware, send it to the fleet, or flash one charger on site.\n"
      "\n"
      "  1. chargehub-ota keygen                           the platform's firmware key pair (once; keep the private key offline)\n"
      "  2. chargehub-ota package fw.bin --model 1 --version 1.1.0 --min-from 1.0.0 --key firmware.key\n"
      "  3. chargehub-ota verify model1-1.1.0.chfw --pubkey firmware.pub\n"
      "  4. chargehub-ota upload model1-1.1.0.chfw --api http://127.0.0.1:8080 --api-key-file api.key\n"
      "  5. chargehub-ota rollout create --firmware 1 --model 1 --stages 1,10,100 --api-key-file api.key\n"
      "     chargehub-ota rollout show 1 --watch          (pause / resume / cancel 1)\n"
      "  On site: chargehub-ota flash model1-1.1.0.chfw --serial /dev/ttyUSB0\n"
      "\n"
      "Details: docs/ota.md."};
  app.footer(kExitCodes);
  app.require_subcommand(1);

  // keygen
  std::string priv = "firmware.key", pub = "firmware.pub";
  bool force = false;
  auto* keygen = app.add_subcommand("keygen", "make the platform's Ed25519 firmware key pair (private key mode 0600)");
  keygen->add_option("--private", priv, "private key file (PEM); it signs every package")->capture_default_str();
  keygen->add_option("--public", pub, "public key file (PEM) for the core and the chargers")->capture_default_str();
  keygen->add_flag("--force", force, "replace existing files");

  // package
  std::string image, key = "firmware.key", out, ver, min_from = "0.0.0", notes;
  int model = 0;
  auto* package = app.add_subcommand("package", "sign an image: writes a package file (manifest + image) for upload or flash");
  package->add_option("image", image, "the firmware image (binary)")->required()->check(CLI::ExistingFile);
  package->add_option("--model", model, "charger model it is for: 1 ten-port scan, 2 touch card, 3 key card, 4 eight+two, 5 twenty-port")
      ->required()->check(CLI::Range(1, 5));
  package->add_option("--version", ver, "the image's version, major.minor.patch")->required();
  package->add_option("--min-from", min_from, "the oldest version it may upgrade")->capture_default_str();
  package->add_option("--key", key, "the platform's private key (`keygen`)")->capture_default_str();
  package->add_option("--notes", notes, "release notes (UTF-8)");
  package->add_option("-o,--out", out, "package file (default: model<N>-<version>.chfw)");

  // inspect, verify
  std::string pkg;
  bool as_json = false;
  auto* inspect = app.add_subcommand("inspect", "show a package's manifest and check its hash");
  inspect->add_option("package", pkg, "package file")->required();
  inspect->add_flag("--json", as_json, "print the manifest as JSON");
  auto* verify = app.add_subcommand("verify", "check a package's size, SHA-256 and signature with the platform's public key");
  verify->add_option("package", pkg, "package file")->required();
  verify->add_option("--pubkey", pub, "the platform's public key")->capture_default_str();

  // upload
  Api api;
  auto* upload = app.add_subcommand("upload", "send a package to the core's registry (it checks the signature with its key)");
  upload->add_option("package", pkg, "package file")->required();
  add_api_options(upload, api);

  // rollout
  auto* rollout = app.add_subcommand("rollout", "send firmware from the registry to the fleet, in stages with a health gate");
  rollout->require_subcommand(1);
  RolloutArgs ra;
  auto* create = rollout->add_subcommand("create", "start a rollout: target, stages, gate, concurrency");
  create->add_option("--firmware", ra.firmware, "firmware id (from `upload`)")->required();
  create->add_option("--model", ra.model, "target every charger of this model (must be the firmware's)");
  create->add_option("--devices", ra.devices, "target these device ids, in this order (canaries first), comma separated");
  create->add_option("--devices-file", ra.devices_file, "target the device ids in this file (one per line)");
  create->add_option("--station", ra.station, "target a station (stored; awaits the station model in the core)");
  create->add_option("--agent", ra.agent, "target an agent's chargers (stored; awaits the agent model in the core)");
  create->add_option("--stages", ra.stages, "cumulative percentages of the target, the last 100")->capture_default_str();
  create->add_option("--max-failure-pct", ra.max_failure_pct, "pause when failures in a stage pass this share of it")
      ->capture_default_str()->check(CLI::Range(0, 100));
  create->add_option("--max-concurrent", ra.max_concurrent, "at most this many chargers downloading at once")
      ->capture_default_str()->check(CLI::Range(1, 100000));
  add_api_options(create, api);
  int64_t rid = 0;
  bool devices = false, watch = false;
  std::string state;
  std::map<std::string, CLI::App*> ops;
  for (auto op : {"pause", "resume", "cancel"}) {
    auto* c = rollout->add_subcommand(op, std::string(op) + " a rollout" +
                                              (std::string(op) == "resume" ? " (accepts the failures seen so far in the stage)" : ""));
    c->add_option("id", rid, "rollout id")->required();
    add_api_options(c, api);
    ops[op] = c;
  }
  auto* show = rollout->add_subcommand("show", "a rollout's progress: stage, state, devices per state");
  show->add_option("id", rid, "rollout id")->required();
  show->add_flag("--devices", devices, "list every device with its progress");
  show->add_option("--state", state, "with --devices: only devices in this state");
  show->add_flag("--watch", watch, "refresh every 2 s until it completes, pauses or is cancelled");
  add_api_options(show, api);

  // flash
  std::string serial, connect, listen, device;
  unsigned baud = 115200;
  int timeout_s = 120;
  bool frames = false;
  auto* flash = app.add_subcommand("flash",
                                   "flash one charger directly over a serial line or TCP: this tool plays the server, "
                                   "offers the package and serves its chunks");
  flash->add_option("package", pkg, "package file")->required();
  auto* g = flash->add_option_group("link", "exactly one")->require_option(1);
  g->add_option("--serial", serial, "serial port (RS-485/TTL adapter), e.g. /dev/ttyUSB0");
  g->add_option("--connect", connect, "dial HOST:PORT (a serial device server or the charger's maintenance port)");
  g->add_option("--listen", listen, "listen on HOST:PORT and let the charger dial in (point its server address here)");
  flash->add_option("--baud", baud, "serial speed (8N1)")->capture_default_str();
  flash->add_option("--device", device, "flash only this device id (several chargers on one bus)");
  flash->add_option("--pubkey", pub, "also verify the package with this public key before offering it");
  flash->add_flag("--force", force, "offer even to another model or a version older than min_from");
  flash->add_option("--timeout", timeout_s, "give up after this many seconds without progress")->capture_default_str();
  flash->add_flag("--frames", frames, "log every frame in hex");

  // Logs (docs/operations.md, "Logs"): on every subcommand, before or after it.
  chargehub::log::set_program("ota");
  std::vector<CLI::App*> all{&app};
  for (size_t i = 0; i < all.size(); ++i)
    for (auto* sub : all[i]->get_subcommands({})) all.push_back(sub);
  for (auto* a : all) chargehub::log::add_cli_flags(*a);

  chargehub::config::add_config_option(app);   // --config FILE: every flag above (docs/packages.md)
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kOk : kError;   // --help is 0; any usage error is 1 (see the exit codes)
  }

  try {
    if (*keygen) return cmd_keygen(priv, pub, force);
    if (*package) return cmd_package(image, model, ver, min_from, key, out, notes);
    if (*inspect) return cmd_inspect(pkg, as_json);
    if (*verify) return cmd_verify(pkg, pub);
    if (*upload) return cmd_upload(pkg, api);
    if (*create) return cmd_rollout_create(ra, api);
    for (auto& [op, c] : ops)
      if (*c) return cmd_rollout_op(op, rid, api);
    if (*show) return cmd_rollout_show(rid, devices, watch, state, api);
    if (*flash) {
      otacli::LinkSpec l;
      l.kind = !serial.empty() ? otacli::LinkSpec::Serial : !connect.empty() ? otacli::LinkSpec::Connect : otacli::LinkSpec::Listen;
      l.where = !serial.empty() ? serial : !connect.empty() ? connect : listen;
      l.baud = baud;
      l.frames = frames;
      return cmd_flash(pkg, l, device, force, timeout_s, flash->count("--pubkey") ? pub : "");
    }
  } catch (const Fail& e) {
    chargehub::log::error("ota.failed", {{"error", e.what()}, {"exit", e.code}});
    return e.code;
  } catch (const std::exception& e) {
    chargehub::log::error("ota.failed", {{"error", e.what()}});
    return kError;
  }
  return kError;
}
