// Firmware packages: the platform's Ed25519 firmware key, the manifest, signing and verifying
// (frames.md OTA_OFFER: Ed25519 over sha256 ‖ version, 35 bytes). Computation only, no I/O; OpenSSL.
//
//   auto key = firmware::generate_key();
//   auto pkg = firmware::make_package(image, {.model = 1, .version = {1,1,0}, .min_from = {1,0,0}}, key.priv);
//   std::string file = firmware::package_to_json(pkg);           // what `chargehub-ota package` writes
//   auto back = firmware::parse_package(file, &why);              // and what the core's upload accepts
//   firmware::check(back->manifest, back->image, key.pub) == firmware::Check::Ok
//
// A package file is one JSON object, the same body POST /api/v1/firmware takes (docs/ota.md):
//   {"format":"chargehub-firmware/1","manifest":{...},"image_base64":"..."}
#pragma once
#include <array>
#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "chargehub/messages.hpp"

namespace chargehub::firmware {

namespace json = boost::json;
using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;
using Sha256 = std::array<uint8_t, 32>;
using Signature = std::array<uint8_t, 64>;
using PublicKey = std::array<uint8_t, 32>;
using PrivateKey = std::array<uint8_t, 32>;   // the Ed25519 seed

inline constexpr std::string_view kFormat = "chargehub-firmware/1";
inline constexpr uint32_t kMaxImage = 4u << 20;   // 4 MiB: what chargers accept (docs/firmware-sim.md)

// ---- keys and primitives ----
struct KeyPair {
  PrivateKey priv{};
  PublicKey pub{};
};
KeyPair generate_key();
PublicKey public_of(const PrivateKey& priv);
std::string private_to_pem(const PrivateKey& priv);   // PKCS#8 "PRIVATE KEY"
std::string public_to_pem(const PublicKey& pub);      // SubjectPublicKeyInfo "PUBLIC KEY" (what chargers take)
std::optional<PrivateKey> private_from_pem(std::string_view pem);
std::optional<PublicKey> public_from_pem(std::string_view pem);
// First 8 bytes of SHA-256 of the public key, hex: names the key that signed a package.
std::string key_id(const PublicKey& pub);

Sha256 sha256(ByteView data);
// The 35 bytes the signature covers: sha256 ‖ version (major, minor, patch).
Bytes signed_message(const Sha256& digest, const proto::Version& v);
Signature sign(const PrivateKey& priv, ByteView msg);
bool verify(const PublicKey& pub, ByteView msg, ByteView sig);


// ---- the manifest ----
struct Manifest {
  int model = 1;                   // frames.md models 1..5
  proto::Version version;          // what the image is
  proto::Version min_from;         // the oldest version it may upgrade (0.0.0: any)
  uint32_t size = 0;
  Sha256 sha256{};
  Signature signature{};
  std::string key_id;              // informative; the signature is what counts
  int64_t created_at = 0;          // unix s
  std::string notes;               // release notes, free text (UTF-8, at most 2000 bytes)
};
json::object to_json(const Manifest& m);
// Nothing (and *why set) for a missing or malformed field.
std::optional<Manifest> manifest_from_json(const json::value& v, std::string* why);

struct PackageInfo {   // what the packager decides; the rest is computed
  int model = 1;
  proto::Version version;
  proto::Version min_from;
  std::string notes;
  int64_t created_at = 0;
};

struct Package {
  Manifest manifest;
  Bytes image;
};
// Throws std::invalid_argument for an empty image, one over kMaxImage, or a model outside 1..5.
Package make_package(Bytes image, const PackageInfo& info, const PrivateKey& priv);
std::string package_to_json(const Package& p);
// Parses a package file or upload body; checks only the form (not the hash or the signature).
std::optional<Package> parse_package(std::string_view text, std::string* why, size_t max_image = kMaxImage);

// Why a package does not verify, in the order the checks run.
enum class Check { Ok, SizeMismatch, HashMismatch, BadSignature };
Check check(const Manifest& m, ByteView image, const PublicKey& pub);
std::string_view check_name(Check c);      // "ok", "size_mismatch", "hash_mismatch", "bad_signature"
std::string_view check_message(Check c);   // a sentence for people

std::string hex(ByteView b);
template <size_t N>
std::string hex(const std::array<uint8_t, N>& a) { return hex(ByteView(a.data(), N)); }

}  // namespace chargehub::firmware
