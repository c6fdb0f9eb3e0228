#include "tenantai/core/api_key_authenticator.h"

#include <sodium.h>

#include <cstring>
#include <mutex>

namespace tenantai {
namespace {

constexpr std::string_view kPrefix = "tai_";
constexpr std::size_t kSecretBytes = 32;
constexpr std::size_t kEncodedLength = 43;  // base64url without padding of 32 bytes

void ensure_sodium() {
  if (sodium_init() < 0) throw Error(ErrorCode::CryptoFailure, "libsodium failed to initialise");
}

Error unauthenticated() {
  return Error(ErrorCode::Unauthenticated, "invalid, revoked or expired API key");
}

bool is_base64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

std::string random_key_id() {
  unsigned char raw[8];
  randombytes_buf(raw, sizeof raw);
  char hex[sizeof raw * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
  return "k_" + std::string(hex, sizeof raw * 2);
}

std::string random_secret() {
  unsigned char raw[kSecretBytes];
  randombytes_buf(raw, sizeof raw);
  char b64[sodium_base64_ENCODED_LEN(kSecretBytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(raw, sizeof raw);
  return std::string(kPrefix) + b64;
}

}  // namespace

std::size_t ApiKeyAuthenticator::DigestHash::operator()(const Digest& d) const noexcept {
  std::size_t h;
  std::memcpy(&h, d.data(), sizeof h);  // keyed-hash output is uniform already
  return h;
}

bool ApiKeyAuthenticator::DigestEqual::operator()(const Digest& a, const Digest& b) const noexcept {
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

ApiKeyAuthenticator::ApiKeyAuthenticator(ApiKeyOptions options) : options_(std::move(options)) {
  ensure_sodium();
  secret_ = static_cast<unsigned char*>(sodium_malloc(crypto_generichash_KEYBYTES));
  if (secret_ == nullptr) throw Error(ErrorCode::CryptoFailure, "sodium_malloc failed for the API key secret");
  crypto_generichash_keygen(secret_);
  sodium_mprotect_readonly(secret_);
}

ApiKeyAuthenticator::ApiKeyAuthenticator(std::string_view hashing_secret, ApiKeyOptions options)
    : options_(std::move(options)) {
  ensure_sodium();
  if (hashing_secret.size() != crypto_generichash_KEYBYTES) {
    throw Error(ErrorCode::InvalidArgument, "API key hashing secret must be " +
                                                std::to_string(crypto_generichash_KEYBYTES) + " bytes, got " +
                                                std::to_string(hashing_secret.size()));
  }
  secret_ = static_cast<unsigned char*>(sodium_malloc(crypto_generichash_KEYBYTES));
  if (secret_ == nullptr) throw Error(ErrorCode::CryptoFailure, "sodium_malloc failed for the API key secret");
  std::memcpy(secret_, hashing_secret.data(), hashing_secret.size());
  sodium_mprotect_readonly(secret_);
}

ApiKeyAuthenticator::~ApiKeyAuthenticator() { sodium_free(secret_); }

bool ApiKeyAuthenticator::is_well_formed(std::string_view secret) noexcept {
  if (secret.size() != kPrefix.size() + kEncodedLength) return false;
  if (secret.substr(0, kPrefix.size()) != kPrefix) return false;
  for (char c : secret.substr(kPrefix.size())) {
    if (!is_base64url_char(c)) return false;
  }
  return true;
}

ApiKeyAuthenticator::Digest ApiKeyAuthenticator::digest(std::string_view secret) const {
  Digest d{};
  crypto_generichash(d.data(), d.size(), reinterpret_cast<const unsigned char*>(secret.data()),
                     secret.size(), secret_, crypto_generichash_KEYBYTES);
  return d;
}

std::string ApiKeyAuthenticator::insert_locked(
    const Digest& d, Principal principal,
    std::optional<std::chrono::system_clock::time_point> expires_at) {
  if (principal.actor.empty()) throw Error(ErrorCode::InvalidArgument, "API key principal needs an actor");
  if (by_digest_.count(d) != 0) throw Error(ErrorCode::AlreadyExists, "this API key is already registered");
  std::string key_id = random_key_id();
  while (by_key_id_.count(key_id) != 0) key_id = random_key_id();
  by_digest_.emplace(d, Entry{key_id, std::move(principal), expires_at, false});
  by_key_id_.emplace(key_id, d);
  return key_id;
}

IssuedKey ApiKeyAuthenticator::issue(Principal principal,
                                     std::optional<std::chrono::system_clock::time_point> expires_at) {
  std::string secret = random_secret();
  const Digest d = digest(secret);
  std::unique_lock lock(mutex_);
  std::string key_id = insert_locked(d, std::move(principal), expires_at);
  return IssuedKey{std::move(key_id), std::move(secret)};
}

std::string ApiKeyAuthenticator::add(std::string_view secret, Principal principal,
                                     std::optional<std::chrono::system_clock::time_point> expires_at) {
  if (!is_well_formed(secret)) {
    throw Error(ErrorCode::InvalidArgument,
                "API key is malformed: expected \"tai_\" followed by 43 base64url characters");
  }
  const Digest d = digest(secret);
  std::unique_lock lock(mutex_);
  return insert_locked(d, std::move(principal), expires_at);
}

Status ApiKeyAuthenticator::revoke(std::string_view key_id) {
  std::unique_lock lock(mutex_);
  auto it = by_key_id_.find(std::string(key_id));
  if (it == by_key_id_.end()) {
    return Error(ErrorCode::NotFound, "no API key with id \"" + escape_for_message(key_id) + "\"");
  }
  by_digest_.at(it->second).revoked = true;
  return {};
}

Result<IssuedKey> ApiKeyAuthenticator::rotate(std::string_view key_id, std::chrono::seconds overlap) {
  if (overlap.count() < 0) return Error(ErrorCode::InvalidArgument, "rotation overlap must not be negative");
  std::string secret = random_secret();
  const Digest new_digest = digest(secret);
  const auto now = options_.clock();
  std::unique_lock lock(mutex_);
  auto it = by_key_id_.find(std::string(key_id));
  if (it == by_key_id_.end()) {
    return Error(ErrorCode::NotFound, "no API key with id \"" + escape_for_message(key_id) + "\"");
  }
  Entry& old = by_digest_.at(it->second);
  if (old.revoked || (old.expires_at && *old.expires_at <= now)) return unauthenticated();
  const auto original_expiry = old.expires_at;  // the replacement keeps the key's lifetime
  const auto old_until = now + overlap;
  if (!old.expires_at || *old.expires_at > old_until) old.expires_at = old_until;
  std::string new_id = insert_locked(new_digest, old.principal, original_expiry);
  return IssuedKey{std::move(new_id), std::move(secret)};
}

Result<TenantContext> ApiKeyAuthenticator::authenticate(std::string_view credential,
                                                        const RequestOptions& options) const {
  if (!is_well_formed(credential)) return unauthenticated();
  const Digest d = digest(credential);
  const auto now = options_.clock();
  std::optional<Principal> principal;
  {
    std::shared_lock lock(mutex_);
    auto it = by_digest_.find(d);
    if (it == by_digest_.end()) return unauthenticated();
    const Entry& e = it->second;
    if (e.revoked || (e.expires_at && *e.expires_at <= now)) return unauthenticated();
    principal = e.principal;
  }
  return make_context(std::move(*principal), options);
}

std::vector<ApiKeyInfo> ApiKeyAuthenticator::keys_of(const TenantId& tenant) const {
  std::shared_lock lock(mutex_);
  std::vector<ApiKeyInfo> out;
  for (const auto& [d, e] : by_digest_) {
    if (e.principal.tenant == tenant) {
      out.push_back(ApiKeyInfo{e.key_id, e.principal.tenant, e.principal.actor, e.expires_at, e.revoked});
    }
  }
  return out;
}

std::size_t ApiKeyAuthenticator::size() const {
  std::shared_lock lock(mutex_);
  return by_digest_.size();
}

}  // namespace tenantai
