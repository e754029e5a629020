// chargehub-passwd: issues a secret for a service account and writes its hashed line into the
// services file read by the broker plugin (plugin_opt_services). The secret is shown once (stdout,
// or a 0600 file) and never stored.
//
//   chargehub-passwd --services /etc/mosquitto/chargehub-services --user core --role core
//   chargehub-passwd --services F --user bridge-site1 --role bridge --secret-file /etc/chargehub/bridge.secret
//   chargehub-passwd --services F --user old-monitor --remove
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "../src/crypto.hpp"
#include "../src/log_text.hpp"
#include "chargehub/encoding.hpp"
#include "../src/services.hpp"

using namespace chargehub::auth;

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The first field of a non-comment line, or "".
std::string line_user(const std::string& line) {
  std::size_t i = line.find_first_not_of(" \t");
  if (i == std::string::npos || line[i] == '#') return "";
  std::size_t j = line.find_first_of(" \t", i);
  return line.substr(i, j == std::string::npos ? std::string::npos : j - i);
}

// Writes `text` to `path` atomically (temp file + rename) with `mode`.
void write_atomic(const std::string& path, const std::string& text, mode_t mode) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw std::runtime_error("cannot write " + tmp);
  std::size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n <= 0) {
      ::close(fd);
      ::unlink(tmp.c_str());
      throw std::runtime_error("cannot write " + tmp);
    }
    off += static_cast<std::size_t>(n);
  }
  ::fchmod(fd, mode);
  ::fsync(fd);
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot replace " + path);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Issue a secret for a ChargeHub service account (broker plugin services file)"};
  std::string services, user, role_text, secret_file;
  bool remove = false;
  app.add_option("--services", services, "services file to update (created if missing)")->required();
  app.add_option("--user", user, "account username")->required();
  app.add_option("--role", role_text, "core | bridge | monitor")->check(CLI::IsMember({"core", "bridge", "monitor"}));
  app.add_option("--secret-file", secret_file, "write the secret to this file (mode 0600) instead of stdout");
  app.add_flag("--remove", remove, "remove the account instead of issuing a secret");
  CLI11_PARSE(app, argc, argv);

  try {
    Role role = service_role_from_name(role_text);
    if (!remove) {
      if (role == Role::none) throw std::runtime_error("--role is required (core, bridge or monitor)");
      if (!valid_service_username(user, role))
        throw std::runtime_error("invalid username '" + printable(user) +
                                 "': 1-64 of [A-Za-z0-9._-], not all digits; a bridge's must start with bridge-");
    }
    std::string old = read_all(services);
    std::string text;
    bool found = false;
    std::istringstream in(old);
    for (std::string line; std::getline(in, line);) {
      if (line_user(line) == user) {
        found = true;
        continue;
      }
      text += line + "\n";
    }
    if (text.empty()) text = "# ChargeHub service accounts: <username> <role> sha256$<salt>$<hash>. Edit with chargehub-passwd.\n";
    std::string secret;
    if (!remove) {
      secret = chargehub::encoding::to_hex(random_bytes(32));  // 256 bits
      text += format_service_line(make_service_account(user, role, secret)) + "\n";
    } else if (!found) {
      throw std::runtime_error("no account '" + user + "' in " + services);
    }
    struct stat st {};
    mode_t mode = ::stat(services.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0640;
    if (!remove && !secret_file.empty()) write_atomic(secret_file, secret + "\n", 0600);
    write_atomic(services, text, mode);
    if (!remove && secret_file.empty()) std::cout << secret << "\n";
    std::cerr << (remove ? "removed " : found ? "replaced " : "added ") << user << " in " << services << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "chargehub-passwd: " << e.what() << "\n";
    return 1;
  }
}
