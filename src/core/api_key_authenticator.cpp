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

void use_default_store(ApiKeyOptions& options) {
  if (!options.store) options.store = std::make_shared<InMemoryApiKeyStore>();
}

}  // namespace

ApiKeyAuthenticator::ApiKeyAuthenticator(ApiKeyOptions options) : options_(std::move(options)) {
  ensure_sodium();
  use_default_store(options_);
  secret_ = static_cast<unsigned char*>(sodium_malloc(crypto_generichash_KEYBYTES));
  if (secret_ == nullptr) throw Error(ErrorCode::CryptoFailure, "sodium_malloc failed for the API key secret");
  crypto_generichash_keygen(secret_);
  sodium_mprotect_readonly(secret_);
}

ApiKeyAuthenticator::ApiKeyAuthenticator(std::string_view hashing_secret, ApiKeyOptions options)
    : options_(std::move(options)) {
  ensure_sodium();
  use_default_store(options_);
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

ApiKeyDigest ApiKeyAuthenticator::digest(std::string_view secret) const {
  ApiKeyDigest d{};
  crypto_generichash(d.data(), d.size(), reinterpret_cast<const unsigned char*>(secret.data()),
                     secret.size(), secret_, crypto_generichash_KEYBYTES);
  return d;
}

std::string ApiKeyAuthenticator::insert(const ApiKeyDigest& d, Principal principal,
                                        std::optional<std::chrono::system_clock::time_point> expires_at) {
  if (principal.actor.empty()) throw Error(ErrorCode::InvalidArgument, "API key principal needs an actor");
  ApiKeyRecord record{random_key_id(), d, std::move(principal), expires_at, false};
  // A key id collision (64 random bits) is retried; a digest already present is an error.
  for (int attempt = 0;; ++attempt) {
    auto stored = options_.store->insert(record);
    if (stored) return record.key_id;
    if (stored.error().code() != ErrorCode::AlreadyExists || attempt == 3) throw stored.error();
    if (options_.store->find(d)) throw Error(ErrorCode::AlreadyExists, "this API key is already registered");
    record.key_id = random_key_id();
  }
}

IssuedKey ApiKeyAuthenticator::issue(Principal principal,
                                     std::optional<std::chrono::system_clock::time_point> expires_at) {
  std::string secret = random_secret();
  std::string key_id = insert(digest(secret), std::move(principal), expires_at);
  return IssuedKey{std::move(key_id), std::move(secret)};
}

std::string ApiKeyAuthenticator::add(std::string_view secret, Principal principal,
                                     std::optional<std::chrono::system_clock::time_point> expires_at) {
  if (!is_well_formed(secret)) {
    throw Error(ErrorCode::InvalidArgument,
                "API key is malformed: expected \"tai_\" followed by 43 base64url characters");
  }
  return insert(digest(secret), std::move(principal), expires_at);
}

Status ApiKeyAuthenticator::revoke(std::string_view key_id) {
  auto record = options_.store->find_id(key_id);
  if (!record) return Error(ErrorCode::NotFound, "no API key with id \"" + escape_for_message(key_id) + "\"");
  return options_.store->update(key_id, true, record->expires_at);
}

Result<IssuedKey> ApiKeyAuthenticator::rotate(std::string_view key_id, std::chrono::seconds overlap) {
  if (overlap.count() < 0) return Error(ErrorCode::InvalidArgument, "rotation overlap must not be negative");
  const auto now = options_.clock();
  auto old = options_.store->find_id(key_id);
  if (!old) return Error(ErrorCode::NotFound, "no API key with id \"" + escape_for_message(key_id) + "\"");
  if (old->revoked || (old->expires_at && *old->expires_at <= now)) return unauthenticated();
  // The replacement first (keeps the key's lifetime), then the old key's shortened expiry: a
  // failure in between leaves the old key valid, never both keys dead.
  std::string secret = random_secret();
  std::string new_id = insert(digest(secret), old->principal, old->expires_at);
  auto old_until = now + overlap;
  if (old->expires_at && *old->expires_at < old_until) old_until = *old->expires_at;
  if (auto updated = options_.store->update(key_id, false, old_until); !updated) return updated.error();
  return IssuedKey{std::move(new_id), std::move(secret)};
}

Result<TenantContext> ApiKeyAuthenticator::authenticate(std::string_view credential,
                                                        const RequestOptions& options) const {
  if (!is_well_formed(credential)) return unauthenticated();
  std::optional<ApiKeyRecord> record;
  try {
    record = options_.store->find(digest(credential));
  } catch (const Error&) {
    return unauthenticated();  // a store that cannot answer verifies nothing
  }
  const auto now = options_.clock();
  if (!record || record->revoked || (record->expires_at && *record->expires_at <= now)) return unauthenticated();
  return make_context(std::move(record->principal), options);
}

std::vector<ApiKeyInfo> ApiKeyAuthenticator::keys_of(const TenantId& tenant) const {
  std::vector<ApiKeyInfo> out;
  for (auto& record : options_.store->of_tenant(tenant)) {
    out.push_back(ApiKeyInfo{record.key_id, record.principal.tenant, record.principal.actor, record.expires_at,
                             record.revoked});
  }
  return out;
}

std::size_t ApiKeyAuthenticator::size() const { return options_.store->size(); }

}  // namespace tenantai
