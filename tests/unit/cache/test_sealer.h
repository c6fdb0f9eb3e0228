// Test-only Sealer: real libsodium XChaCha20-Poly1305 with one key per tenant (derived from a
// random master key with keyed BLAKE2b over the tenant id); the associated data binds tenant,
// kind and object id. destroy() forgets a tenant's key (crypto-shredding).
#pragma once

#include <sodium.h>
#include <tenantai/crypto/sealer.h>

#include <array>
#include <atomic>
#include <mutex>
#include <set>
#include <string>

namespace tenantai::test_support {

class TestSealer final : public crypto::Sealer {
 public:
  TestSealer() {
    if (sodium_init() < 0) throw Error(ErrorCode::CryptoFailure, "sodium_init failed");
    randombytes_buf(master_.data(), master_.size());
  }

  std::string seal(const TenantContext& context, std::string_view kind, std::string_view object_id,
                   std::string_view plaintext) override {
    const auto key = key_of(context.tenant());
    const std::string ad = associated_data(context.tenant(), kind, object_id);
    std::string out(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + plaintext.size() +
                        crypto_aead_xchacha20poly1305_ietf_ABYTES,
                    '\0');
    auto* nonce = reinterpret_cast<unsigned char*>(out.data());
    randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    unsigned long long n = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &n,
                                               reinterpret_cast<const unsigned char*>(plaintext.data()),
                                               plaintext.size(), reinterpret_cast<const unsigned char*>(ad.data()),
                                               ad.size(), nullptr, nonce, key.data());
    seals.fetch_add(1);
    return out;
  }

  Result<std::string> open(const TenantContext& context, std::string_view kind, std::string_view object_id,
                           std::string_view sealed) override {
    if (destroyed(context.tenant())) return Error(ErrorCode::CryptoFailure, "key destroyed");
    const auto key = key_of(context.tenant());
    const std::string ad = associated_data(context.tenant(), kind, object_id);
    constexpr std::size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
    if (sealed.size() < kNonce + crypto_aead_xchacha20poly1305_ietf_ABYTES) {
      return Error(ErrorCode::Tampered, "sealed value too short");
    }
    std::string out(sealed.size() - kNonce - crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
    unsigned long long n = 0;
    const auto* nonce = reinterpret_cast<const unsigned char*>(sealed.data());
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(out.data()), &n, nullptr,
                                                   nonce + kNonce, sealed.size() - kNonce,
                                                   reinterpret_cast<const unsigned char*>(ad.data()), ad.size(),
                                                   nonce, key.data()) != 0) {
      return Error(ErrorCode::Tampered, "sealed value does not open for this tenant/object");
    }
    opens.fetch_add(1);
    return out;
  }

  void destroy(const TenantId& tenant) {
    std::lock_guard lock(mutex_);
    destroyed_.insert(tenant.str());
  }

  std::atomic<int> seals{0};
  std::atomic<int> opens{0};

 private:
  using Key = std::array<unsigned char, crypto_aead_xchacha20poly1305_ietf_KEYBYTES>;

  bool destroyed(const TenantId& tenant) const {
    std::lock_guard lock(mutex_);
    return destroyed_.count(tenant.str()) > 0;
  }
  Key key_of(const TenantId& tenant) const {
    if (destroyed(tenant)) throw Error(ErrorCode::CryptoFailure, "key of " + tenant.str() + " destroyed");
    Key key;
    crypto_generichash(key.data(), key.size(), reinterpret_cast<const unsigned char*>(tenant.view().data()),
                       tenant.view().size(), master_.data(), master_.size());
    return key;
  }
  static std::string associated_data(const TenantId& tenant, std::string_view kind, std::string_view id) {
    std::string ad;
    for (std::string_view part : {tenant.view(), kind, id}) {
      ad += std::to_string(part.size());
      ad += ':';
      ad += part;
    }
    return ad;
  }

  std::array<unsigned char, 32> master_{};
  mutable std::mutex mutex_;
  std::set<std::string> destroyed_;
};

}  // namespace tenantai::test_support
