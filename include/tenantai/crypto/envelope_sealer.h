// EnvelopeSealer: the crypto::Sealer implementation. Per-tenant random data keys (one per key
// version) wrapped by a KeyProvider; objects sealed with XChaCha20-Poly1305.
//
//   LocalKeyProvider keys(dir / "keys");
//   EnvelopeSealer sealer(keys, dir / "keyrings");
//   std::string box = sealer.seal(ctx, "memory", "session-42", "hello");
//   auto plain = sealer.open(ctx, "memory", "session-42", box);   // Result<std::string>
//   sealer.destroy(admin_ctx);   // crypto-shredding: every box of the tenant is now unreadable
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "tenantai/crypto/key_access_observer.h"
#include "tenantai/crypto/key_provider.h"
#include "tenantai/crypto/sealer.h"

namespace tenantai::crypto {

struct EnvelopeSealerOptions {
  // How long an unwrapped data key stays cached in guarded memory before it is unwrapped (and
  // audited) again. Zero: unwrap for every operation.
  std::chrono::milliseconds key_cache_ttl{std::chrono::minutes(5)};
  // Report every successful open() as a Decrypt access (in addition to every Unwrap).
  bool report_decrypts = true;
  // Injectable clock for the cache TTL.
  std::function<std::chrono::steady_clock::time_point()> clock = [] {
    return std::chrono::steady_clock::now();
  };
};

// Sealed format (binary): "TS" | format byte '1' | u32 key version (LE) | 24-byte nonce |
// ciphertext+16-byte tag. The format byte is the envelope's version and algorithm id: '1' is
// XChaCha20-Poly1305 (IETF); a box of another format byte is refused (CryptoFailure naming the
// format), never tried as format 1. Every box ever written starts "TS1".
// Associated data: "tenantai/seal/v1" then u32-length-prefixed tenant, kind, object_id, then
// the u32 key version, so a box copied to another tenant, kind, object or version fails to
// open (Tampered).
// Keyrings (the wrapped data keys) live in `keyring_dir/<tenant>.keyring`, replaced atomically;
// the file starts with a versioned header naming the seal algorithm (a keyring without one was
// written before keyrings were versioned: read as it is, rewritten with the header on the next
// key change). An unknown keyring version or algorithm: StorageFailure naming the file.
// Thread-safe: seal/open on different tenants run in parallel; key changes lock one tenant.
class EnvelopeSealer final : public Sealer {
 public:
  // `provider` (and `observer`, if given) must outlive the sealer. Throws StorageFailure if
  // `keyring_dir` cannot be created.
  EnvelopeSealer(KeyProvider& provider, std::filesystem::path keyring_dir,
                 KeyAccessObserver* observer = nullptr, EnvelopeSealerOptions options = {});
  ~EnvelopeSealer() override;
  EnvelopeSealer(const EnvelopeSealer&) = delete;
  EnvelopeSealer& operator=(const EnvelopeSealer&) = delete;

  // Seals with the tenant's current data key (created and wrapped on first use).
  // CryptoFailure when the tenant's keys were destroyed.
  std::string seal(const TenantContext& context, std::string_view kind, std::string_view object_id,
                   std::string_view plaintext) override;

  // Tampered: malformed, altered, or bound to another tenant/kind/object. CryptoFailure: the key
  // version is unknown or was destroyed, or the envelope format byte is unknown. Reports Decrypt (and Unwrap on a cache miss).
  Result<std::string> open(const TenantContext& context, std::string_view kind,
                           std::string_view object_id, std::string_view sealed) override;

  // New data key version for new seals; the provider rotates its KEK too and every older data
  // key is rewrapped under the new KEK, so old boxes still open. Returns the new version.
  // Needs capability "admin:keys" or a system context (PermissionDenied otherwise).
  std::uint32_t rotate(const TenantContext& context);

  // Crypto-shredding: destroys the tenant's KEKs at the provider, wipes its cached keys and
  // deletes its keyring. Afterwards seal/open for the tenant fail with CryptoFailure; other
  // tenants are untouched. Same permission as rotate(). Idempotent.
  void destroy(const TenantContext& context);

  // The key version new seals of the tenant use (0 before the first seal).
  std::uint32_t current_version(const TenantContext& context);

  // Checks the tenant's keys before its first request after a start: reads its keyring and
  // unwraps every data-key version through the provider (each unwrap reported as usual; the keys
  // stay cached). Throws StorageFailure (malformed keyring) or Tampered (a wrapped key that does
  // not open), naming the keyring file; CryptoFailure as the provider reports it (destroyed
  // keys, a KMS that refuses). A tenant without keys yet passes. Thread-safe.
  void verify(const TenantContext& context);

  // The key version a sealed box names; InvalidArgument if it is not a sealed box,
  // CryptoFailure if it is one of an envelope format this build does not know.
  static Result<std::uint32_t> version_of(std::string_view sealed);

 private:
  struct TenantKeys;
  std::shared_ptr<TenantKeys> keys_of(const TenantId& tenant);
  void load_locked(const TenantContext& context, TenantKeys& keys);
  // The provider's unwrap of data key `version`; its error names the keyring file and version.
  Result<KeyLease> unwrap_version(const TenantContext& context, const TenantKeys& keys, std::uint32_t version);
  void report(const TenantContext& context, const KeyAccessEvent& event);

  KeyProvider& provider_;
  std::filesystem::path keyring_dir_;
  KeyAccessObserver* observer_;
  EnvelopeSealerOptions options_;
  std::mutex map_mutex_;
  std::unordered_map<TenantId, std::shared_ptr<TenantKeys>> tenants_;
  unsigned char nonce_prefix_[16];
  std::atomic<std::uint64_t> nonce_counter_{0};
};

}  // namespace tenantai::crypto
