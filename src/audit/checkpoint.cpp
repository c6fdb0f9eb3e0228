#include "tenantai/audit/checkpoint.h"

#include "crypto/key_file_format.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "core/durable_file.h"

namespace tenantai::audit {

namespace {

constexpr std::string_view kDash = "\xE2\x80\x94 ";  // "— " (em dash + space) starts a signature line
constexpr unsigned char kAlgEd25519 = 0x01;

std::array<unsigned char, 4> key_hash(std::string_view name, const std::array<unsigned char, 32>& pk) {
  std::string input(name);
  input.push_back('\n');
  input.push_back(static_cast<char>(kAlgEd25519));
  input.append(reinterpret_cast<const char*>(pk.data()), pk.size());
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(input.data()), input.size());
  return {digest[0], digest[1], digest[2], digest[3]};
}

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == '+' || static_cast<unsigned char>(c) >= 0x7f) return false;
  }
  return true;
}

bool parse_u64(std::string_view text, std::uint64_t& out) {
  if (text.empty() || text.size() > 20 || (text.size() > 1 && text[0] == '0')) return false;
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

}  // namespace

std::string to_base64(const unsigned char* data, std::size_t size) {
  std::string out(sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), data, size, sodium_base64_VARIANT_ORIGINAL);
  out.pop_back();  // trailing NUL
  return out;
}

Result<std::string> from_base64(std::string_view text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                        &len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return Error(ErrorCode::InvalidArgument, "invalid base64: " + escape_for_message(text, 40));
  }
  out.resize(len);
  return out;
}

std::string origin_for(const TenantId& tenant) { return "tenantai.audit/" + tenant.str(); }

std::string Checkpoint::body() const {
  return origin + "\n" + std::to_string(size) + "\n" + to_base64(root.data(), root.size()) + "\n";
}

CheckpointSigner::CheckpointSigner(std::string name, const unsigned char* seed) : name_(std::move(name)) {
  detail::ensure_sodium();
  if (!valid_name(name_)) {
    throw Error(ErrorCode::InvalidArgument, "invalid signer name \"" + escape_for_message(name_) +
                                                "\" (non-empty, no spaces or '+')");
  }
  secret_ = static_cast<unsigned char*>(sodium_malloc(crypto_sign_SECRETKEYBYTES));
  if (secret_ == nullptr) throw Error(ErrorCode::CryptoFailure, "out of guarded memory for a signing key");
  crypto_sign_seed_keypair(public_.data(), secret_, seed);
}

CheckpointSigner CheckpointSigner::generate(std::string name) {
  detail::ensure_sodium();
  unsigned char seed[crypto_sign_SEEDBYTES];
  randombytes_buf(seed, sizeof seed);
  CheckpointSigner out(std::move(name), seed);
  sodium_memzero(seed, sizeof seed);
  return out;
}

CheckpointSigner CheckpointSigner::from_seed(std::string_view seed, std::string name) {
  if (seed.size() != crypto_sign_SEEDBYTES) {
    throw Error(ErrorCode::InvalidArgument, "an Ed25519 seed has 32 bytes, got " + std::to_string(seed.size()));
  }
  return CheckpointSigner(std::move(name), reinterpret_cast<const unsigned char*>(seed.data()));
}

CheckpointSigner CheckpointSigner::load(const std::string& path) {
  std::string file = detail::read_file(path);
  // Version 1: a "tenantai-signing-key 1 alg=ed25519" header line; version 0: the body alone.
  std::string text = crypto::detail::parse_key_file(path, file, crypto::detail::kSigningKeyMagic,
                                                    crypto::detail::kSigningKeyVersion,
                                                    crypto::detail::signing_key_fields())
                         .body;
  sodium_memzero(file.data(), file.size());
  std::istringstream in(text);
  std::string name;
  std::string b64;
  if (!(in >> name >> b64)) throw Error(ErrorCode::InvalidArgument, "malformed signing key file " + path);
  auto seed = from_base64(b64);
  sodium_memzero(text.data(), text.size());
  sodium_memzero(b64.data(), b64.size());
  if (!seed || seed->size() != crypto_sign_SEEDBYTES) {
    throw Error(ErrorCode::InvalidArgument, "malformed signing key in " + path);
  }
  CheckpointSigner out = from_seed(*seed, name);
  sodium_memzero(seed->data(), seed->size());
  return out;
}

CheckpointSigner::~CheckpointSigner() {
  if (secret_ != nullptr) sodium_free(secret_);  // sodium_free zeroes
}

CheckpointSigner::CheckpointSigner(CheckpointSigner&& other) noexcept
    : name_(std::move(other.name_)), secret_(other.secret_), public_(other.public_) {
  other.secret_ = nullptr;
}

void CheckpointSigner::save(const std::string& path) const {
  unsigned char seed[crypto_sign_SEEDBYTES];
  crypto_sign_ed25519_sk_to_seed(seed, secret_);
  std::string text = crypto::detail::key_file_header(crypto::detail::kSigningKeyMagic,
                                                     crypto::detail::kSigningKeyVersion,
                                                     crypto::detail::signing_key_fields()) +
                     name_ + " " + to_base64(seed, sizeof seed) + "\n";
  sodium_memzero(seed, sizeof seed);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    sodium_memzero(text.data(), text.size());
    throw Error(errno == EEXIST ? ErrorCode::AlreadyExists : ErrorCode::StorageFailure, "cannot create " + path);
  }
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  sodium_memzero(text.data(), text.size());
  if (!ok) throw Error(ErrorCode::StorageFailure, "cannot write " + path);
}

std::string CheckpointSigner::verifier_key() const {
  const auto hash = key_hash(name_, public_);
  char hex[9];
  sodium_bin2hex(hex, sizeof hex, hash.data(), hash.size());
  unsigned char raw[33];
  raw[0] = kAlgEd25519;
  std::memcpy(raw + 1, public_.data(), 32);
  return name_ + "+" + hex + "+" + to_base64(raw, sizeof raw);
}

Checkpoint CheckpointSigner::sign(std::string_view origin, std::uint64_t size, const Hash& root) const {
  Checkpoint cp;
  cp.origin = std::string(origin);
  cp.size = size;
  cp.root = root;
  const std::string body = cp.body();
  unsigned char sig[4 + crypto_sign_BYTES];
  const auto hash = key_hash(name_, public_);
  std::memcpy(sig, hash.data(), 4);
  crypto_sign_detached(sig + 4, nullptr, reinterpret_cast<const unsigned char*>(body.data()), body.size(), secret_);
  cp.note = body + "\n" + std::string(kDash) + name_ + " " + to_base64(sig, sizeof sig) + "\n";
  return cp;
}

crypto::KeyLease CheckpointSigner::derive_key(std::string_view purpose) const {
  unsigned char seed[crypto_sign_SEEDBYTES];
  crypto_sign_ed25519_sk_to_seed(seed, secret_);
  unsigned char out[crypto::KeyLease::kSize];
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(purpose.data()), purpose.size(), seed,
                     sizeof seed);
  sodium_memzero(seed, sizeof seed);
  crypto::KeyLease key = crypto::KeyLease::copy_of(out);
  sodium_memzero(out, sizeof out);
  return key;
}

Result<CheckpointVerifier> CheckpointVerifier::parse(std::string_view vkey) {
  detail::ensure_sodium();
  const auto p1 = vkey.find('+');
  const auto p2 = p1 == std::string_view::npos ? p1 : vkey.find('+', p1 + 1);
  if (p2 == std::string_view::npos) {
    return Error(ErrorCode::InvalidArgument, "malformed verifier key (want name+hash+key): " + escape_for_message(vkey));
  }
  CheckpointVerifier v;
  v.name_ = std::string(vkey.substr(0, p1));
  const std::string_view hex = vkey.substr(p1 + 1, p2 - p1 - 1);
  auto raw = from_base64(vkey.substr(p2 + 1));
  if (!valid_name(v.name_) || hex.size() != 8 || !raw || raw->size() != 33 ||
      static_cast<unsigned char>((*raw)[0]) != kAlgEd25519) {
    return Error(ErrorCode::InvalidArgument, "malformed Ed25519 verifier key: " + escape_for_message(vkey));
  }
  std::memcpy(v.public_.data(), raw->data() + 1, 32);
  v.key_hash_ = key_hash(v.name_, v.public_);
  char expect[9];
  sodium_bin2hex(expect, sizeof expect, v.key_hash_.data(), 4);
  if (hex != expect) return Error(ErrorCode::InvalidArgument, "verifier key hash does not match its key");
  return v;
}

Result<Checkpoint> CheckpointVerifier::verify(std::string_view note, std::string_view expected_origin) const {
  auto bad = [&](const std::string& why) {
    return Error(ErrorCode::Tampered, "checkpoint rejected: " + why);
  };
  if (note.size() > 64 * 1024) return bad("note too large");
  const auto split = note.find("\n\n");
  if (split == std::string_view::npos) return bad("no blank line between body and signatures");
  const std::string_view body = note.substr(0, split + 1);
  // Body: origin, size, root, then optional extension lines (ignored but signed).
  std::vector<std::string_view> lines;
  for (std::size_t pos = 0; pos < body.size();) {
    const auto nl = body.find('\n', pos);
    lines.push_back(body.substr(pos, nl - pos));
    pos = nl + 1;
  }
  if (lines.size() < 3) return bad("body needs origin, size and root hash lines");
  Checkpoint cp;
  cp.origin = std::string(lines[0]);
  if (!parse_u64(lines[1], cp.size)) return bad("size line is not a decimal number");
  auto root = from_base64(lines[2]);
  if (!root || root->size() != cp.root.size()) return bad("root hash is not 32 base64 bytes");
  std::memcpy(cp.root.data(), root->data(), cp.root.size());
  // Signature lines: "— <name> <base64(hash4 || sig)>\n".
  bool signed_by_us = false;
  std::string_view rest = note.substr(split + 2);
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    if (nl == std::string_view::npos) return bad("signature line without newline");
    std::string_view line = rest.substr(0, nl);
    rest = rest.substr(nl + 1);
    if (line.substr(0, kDash.size()) != kDash) return bad("malformed signature line");
    line.remove_prefix(kDash.size());
    const auto sp = line.find(' ');
    if (sp == std::string_view::npos) return bad("malformed signature line");
    if (line.substr(0, sp) != name_) continue;
    auto sig = from_base64(line.substr(sp + 1));
    if (!sig || sig->size() != 4 + crypto_sign_BYTES) return bad("malformed signature");
    if (std::memcmp(sig->data(), key_hash_.data(), 4) != 0) continue;
    if (crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig->data()) + 4,
                                    reinterpret_cast<const unsigned char*>(body.data()), body.size(),
                                    public_.data()) != 0) {
      return bad("Ed25519 signature by \"" + name_ + "\" does not verify");
    }
    signed_by_us = true;
  }
  if (!signed_by_us) return bad("no signature by the pinned key \"" + name_ + "\"");
  if (cp.origin != expected_origin) {
    return Error(ErrorCode::IsolationViolation, "checkpoint is for origin \"" + escape_for_message(cp.origin) +
                                                    "\", expected \"" + std::string(expected_origin) + "\"");
  }
  cp.note = std::string(note);
  return cp;
}

}  // namespace tenantai::audit
