#include "chargehub/encoding.hpp"
#include "chargehub/text.hpp"
#include "chargehub/ota/firmware.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <memory>
#include <stdexcept>

namespace chargehub::firmware {

namespace {
struct PkeyDel { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct MdDel { void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); } };
struct BioDel { void operator()(BIO* p) const { BIO_free(p); } };
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDel>;
using Bio = std::unique_ptr<BIO, BioDel>;

std::string bio_text(BIO* b) {
  char* p = nullptr;
  long n = BIO_get_mem_data(b, &p);
  return std::string(p, static_cast<size_t>(n));
}

template <size_t N>
bool hex_into(std::string_view s, std::array<uint8_t, N>& out) {
  if (s.size() != 2 * N) return false;
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < N; ++i) {
    int h = nib(s[2 * i]), l = nib(s[2 * i + 1]);
    if (h < 0 || l < 0) return false;
    out[i] = static_cast<uint8_t>(h << 4 | l);
  }
  return true;
}

std::optional<int64_t> int_of(const json::value* v) {
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= INT64_MAX) return static_cast<int64_t>(v->get_uint64());
  return std::nullopt;
}
}  // namespace

std::string hex(ByteView b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  s.reserve(b.size() * 2);
  for (auto c : b) {
    s.push_back(d[c >> 4]);
    s.push_back(d[c & 15]);
  }
  return s;
}

// ---------------------------------------------------------------------------------------------------
// keys and primitives

KeyPair generate_key() {
  KeyPair k;
  if (RAND_bytes(k.priv.data(), static_cast<int>(k.priv.size())) != 1) throw std::runtime_error("no random bytes");
  k.pub = public_of(k.priv);
  return k;
}

PublicKey public_of(const PrivateKey& priv) {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, priv.data(), priv.size()));
  PublicKey pub{};
  size_t len = pub.size();
  if (!key || EVP_PKEY_get_raw_public_key(key.get(), pub.data(), &len) != 1) throw std::runtime_error("bad Ed25519 key");
  return pub;
}

std::string private_to_pem(const PrivateKey& priv) {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, priv.data(), priv.size()));
  Bio bio(BIO_new(BIO_s_mem()));
  if (!key || !bio || PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    throw std::runtime_error("cannot write the private key as PEM");
  return bio_text(bio.get());
}

std::string public_to_pem(const PublicKey& pub) {
  Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, pub.data(), pub.size()));
  Bio bio(BIO_new(BIO_s_mem()));
  if (!key || !bio || PEM_write_bio_PUBKEY(bio.get(), key.get()) != 1)
    throw std::runtime_error("cannot write the public key as PEM");
  return bio_text(bio.get());
}

std::optional<PrivateKey> private_from_pem(std::string_view pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  PrivateKey raw{};
  size_t len = raw.size();
  if (!key || EVP_PKEY_id(key.get()) != EVP_PKEY_ED25519 || EVP_PKEY_get_raw_private_key(key.get(), raw.data(), &len) != 1)
    return std::nullopt;
  return raw;
}

std::optional<PublicKey> public_from_pem(std::string_view pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Pkey key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  PublicKey raw{};
  size_t len = raw.size();
  if (!key || EVP_PKEY_id(key.get()) != EVP_PKEY_ED25519 || EVP_PKEY_get_raw_public_key(key.get(), raw.data(), &len) != 1)
    return std::nullopt;
  return raw;
}

std::string key_id(const PublicKey& pub) {
  auto d = sha256(pub);
  return hex(ByteView(d.data(), 8));
}

Sha256 sha256(ByteView data) {
  Sha256 out{};
  SHA256(data.data(), data.size(), out.data());
  return out;
}

Bytes signed_message(const Sha256& digest, const proto::Version& v) {
  Bytes m(digest.begin(), digest.end());
  m.push_back(v.major);
  m.push_back(v.minor);
  m.push_back(v.patch);
  return m;
}

Signature sign(const PrivateKey& priv, ByteView msg) {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, priv.data(), priv.size()));
  std::unique_ptr<EVP_MD_CTX, MdDel> ctx(EVP_MD_CTX_new());
  Signature sig{};
  size_t len = sig.size();
  if (!key || !ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig.data(), &len, msg.data(), msg.size()) != 1)
    throw std::runtime_error("Ed25519 signing failed");
  return sig;
}

bool verify(const PublicKey& pub, ByteView msg, ByteView sig) {
  if (sig.size() != 64) return false;
  Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, pub.data(), pub.size()));
  std::unique_ptr<EVP_MD_CTX, MdDel> ctx(EVP_MD_CTX_new());
  if (!key || !ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), msg.data(), msg.size()) == 1;
}

// ---------------------------------------------------------------------------------------------------
// manifest and package

json::object to_json(const Manifest& m) {
  return {{"model", m.model},
          {"version", m.version.text()},
          {"min_from", m.min_from.text()},
          {"size", m.size},
          {"sha256", hex(m.sha256)},
          {"signature", hex(m.signature)},
          {"key_id", m.key_id},
          {"created_at", m.created_at},
          {"notes", m.notes}};
}

std::optional<Manifest> manifest_from_json(const json::value& v, std::string* why) {
  auto no = [&](std::string w) -> std::optional<Manifest> {
    if (why) *why = std::move(w);
    return std::nullopt;
  };
  if (!v.is_object()) return no("the manifest must be a JSON object");
  auto& o = v.get_object();
  Manifest m;
  auto model = int_of(o.if_contains("model"));
  if (!model || *model < 1 || *model > 5) return no("manifest.model must be 1..5 (frames.md models)");
  m.model = static_cast<int>(*model);
  auto ver = [&](const char* k, bool required, proto::Version& out) {
    auto* x = o.if_contains(k);
    if (!x) return !required;
    if (!x->is_string()) return false;
    auto p = proto::Version::parse(x->get_string());
    if (!p) return false;
    out = *p;
    return true;
  };
  if (!ver("version", true, m.version)) return no("manifest.version must be \"major.minor.patch\", each 0..255");
  if (!ver("min_from", false, m.min_from)) return no("manifest.min_from must be \"major.minor.patch\"");
  auto size = int_of(o.if_contains("size"));
  if (!size || *size < 1 || *size > kMaxImage) return no("manifest.size must be 1.." + std::to_string(kMaxImage));
  m.size = static_cast<uint32_t>(*size);
  auto* sha = o.if_contains("sha256");
  if (!sha || !sha->is_string() || !hex_into(sha->get_string(), m.sha256)) return no("manifest.sha256 must be 64 hex digits");
  auto* sig = o.if_contains("signature");
  if (!sig || !sig->is_string() || !hex_into(sig->get_string(), m.signature))
    return no("manifest.signature must be 128 hex digits (Ed25519)");
  if (auto* k = o.if_contains("key_id"); k && k->is_string() && k->get_string().size() <= 64) m.key_id = k->get_string();
  if (auto t = int_of(o.if_contains("created_at"))) m.created_at = *t;
  if (auto* n = o.if_contains("notes")) {
    if (!n->is_string() || n->get_string().size() > 2000 || !valid_utf8(n->get_string()))
      return no("manifest.notes must be UTF-8 text of at most 2000 bytes");
    m.notes = n->get_string();
  }
  return m;
}

Package make_package(Bytes image, const PackageInfo& info, const PrivateKey& priv) {
  if (image.empty()) throw std::invalid_argument("the image is empty");
  if (image.size() > kMaxImage)
    throw std::invalid_argument("the image is " + std::to_string(image.size()) + " bytes; chargers take at most " +
                                std::to_string(kMaxImage));
  if (info.model < 1 || info.model > 5) throw std::invalid_argument("model must be 1..5");
  if (info.notes.size() > 2000 || !valid_utf8(info.notes)) throw std::invalid_argument("notes must be UTF-8, at most 2000 bytes");
  Package p;
  p.manifest.model = info.model;
  p.manifest.version = info.version;
  p.manifest.min_from = info.min_from;
  p.manifest.size = static_cast<uint32_t>(image.size());
  p.manifest.sha256 = sha256(image);
  p.manifest.signature = sign(priv, signed_message(p.manifest.sha256, info.version));
  p.manifest.key_id = key_id(public_of(priv));
  p.manifest.created_at = info.created_at;
  p.manifest.notes = info.notes;
  p.image = std::move(image);
  return p;
}

std::string package_to_json(const Package& p) {
  json::object o{{"format", kFormat}, {"manifest", to_json(p.manifest)}, {"image_base64", encoding::base64_encode(p.image)}};
  return json::serialize(o);
}

std::optional<Package> parse_package(std::string_view text, std::string* why, size_t max_image) {
  auto no = [&](std::string w) -> std::optional<Package> {
    if (why) *why = std::move(w);
    return std::nullopt;
  };
  size_t max_text = (max_image + 2) / 3 * 4 + 64 * 1024;
  if (text.size() > max_text) return no("too large: images are at most " + std::to_string(max_image) + " bytes");
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return no("not a JSON object");
  auto& o = v.get_object();
  if (auto* f = o.if_contains("format"); f && (!f->is_string() || f->get_string() != kFormat))
    return no("format must be \"" + std::string(kFormat) + "\"");
  auto* mv = o.if_contains("manifest");
  if (!mv) return no("no manifest");
  Package p;
  auto m = manifest_from_json(*mv, why);
  if (!m) return std::nullopt;
  p.manifest = *m;
  auto* img = o.if_contains("image_base64");
  if (!img || !img->is_string()) return no("image_base64 must be the image in base64");
  auto bytes = encoding::base64_decode(img->get_string());
  if (!bytes) return no("image_base64 is not valid base64");
  if (bytes->size() > max_image) return no("the image is over " + std::to_string(max_image) + " bytes");
  p.image = std::move(*bytes);
  return p;
}

Check check(const Manifest& m, ByteView image, const PublicKey& pub) {
  if (image.size() != m.size) return Check::SizeMismatch;
  if (sha256(image) != m.sha256) return Check::HashMismatch;
  if (!verify(pub, signed_message(m.sha256, m.version), m.signature)) return Check::BadSignature;
  return Check::Ok;
}

std::string_view check_name(Check c) {
  switch (c) {
    case Check::Ok: return "ok";
    case Check::SizeMismatch: return "size_mismatch";
    case Check::HashMismatch: return "hash_mismatch";
    case Check::BadSignature: return "bad_signature";
  }
  return "?";
}

std::string_view check_message(Check c) {
  switch (c) {
    case Check::Ok: return "the image matches its manifest and the signature verifies";
    case Check::SizeMismatch: return "the image's size differs from the manifest's size";
    case Check::HashMismatch: return "the image's SHA-256 differs from the manifest's sha256";
    case Check::BadSignature: return "the signature does not verify with this public key (other key, or altered version/hash)";
  }
  return "?";
}

}  // namespace chargehub::firmware
