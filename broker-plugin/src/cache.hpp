// The device table kept on disk (plugin_opt_auth_cache_file), so chargers log in after a broker
// restart while no core answers. Hashes and public keys only: no secret is ever in it.
//
//   {"format":"chargehub-auth-cache/1","rev":R,
//    "devices":[{"id":"…","token_hash":…,"prev_token_hash":…,"prev_token_until":…,"pubkey":…,
//                "enabled":…,"rev":r},…],          (the snapshot entry of auth_control.hpp, plus its rev)
//    "deleted":[{"id":"…","rev":r},…]}              (tombstones, see devices.hpp)
//
// Read once at start and written by the background thread only (never on the broker thread):
// atomically (a temp file, fsync, rename, fsync of the directory), mode 0600.
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "devices.hpp"

namespace chargehub::auth {

inline constexpr std::string_view cache_format = "chargehub-auth-cache/1";

std::string cache_json(const DeviceTable& t);
// nullopt (with `error`) for anything that is not a whole cache file of this format.
std::optional<DeviceTable> parse_cache(std::string_view text, std::string& error);

// File I/O (background thread). Both return false with `error` set on failure.
bool read_cache_file(const std::string& path, DeviceTable& out, std::string& error);
bool write_file_atomically(const std::string& path, std::string_view content, std::string& error);

}  // namespace chargehub::auth
