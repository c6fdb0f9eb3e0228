// KeyProvider: wraps, unwraps and destroys tenants' data keys. The seam for a tenant-held KMS:
// tenantai only ever sees wrapped keys and short-lived unwrapped leases, never the tenant's
// key-encryption key, so the KEK can live entirely outside the vendor's reach.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tenantai/core/error.h"
#include "tenantai/core/tenant_context.h"
#include "tenantai/crypto/key_lease.h"

namespace tenantai::crypto {

// A data key encrypted under one version of a tenant's key-encryption key. `blob` is opaque to
// tenantai (a KMS may put its own key id or ciphertext format there) and safe to store anywhere.
struct WrappedKey {
  std::uint32_t kek_version = 0;  // version of the KEK that wrapped it (1, 2, ...)
  std::string blob{};
};

// Implementations must be thread-safe and fail closed: a key they cannot positively unwrap for
// the context's tenant is an error, never a default key, and a context that fails
// TenantContext::check_usable() (kept past its SystemScope visit) is refused. Every method acts
// for context.tenant() only; a wrapped key of one tenant must not unwrap for another (bind the
// tenant into the wrapping, e.g. as associated data).
class KeyProvider {
 public:
  virtual ~KeyProvider() = default;

  // Encrypts `data_key` under the tenant's current KEK (creating version 1 on first use).
  // CryptoFailure when the tenant's keys were destroyed or the KMS refuses.
  virtual WrappedKey wrap(const TenantContext& context, const KeyLease& data_key) = 0;

  // Decrypts a wrapped data key into guarded memory. Tampered when the blob was altered or
  // belongs to another tenant; CryptoFailure when the KEK was destroyed or is unavailable.
  virtual Result<KeyLease> unwrap(const TenantContext& context, const WrappedKey& wrapped) = 0;

  // Starts a new KEK version for the tenant and returns it; later wrap() calls use it.
  // Older versions stay usable for unwrap (so callers can rewrap) until destroy().
  virtual std::uint32_t rotate(const TenantContext& context) = 0;

  // The tenant's current KEK version (0 if it has none yet). CryptoFailure if destroyed.
  virtual std::uint32_t current_version(const TenantContext& context) = 0;

  // Crypto-shredding: irrevocably destroys every KEK version of the tenant, so every data key
  // wrapped for it (and so every object sealed with those) can never be opened again.
  // Idempotent. Later wrap/unwrap/rotate for the tenant fail with CryptoFailure.
  virtual void destroy(const TenantContext& context) = 0;

  // True once destroy() ran for the tenant.
  virtual bool destroyed(const TenantContext& context) = 0;

  // Seals a key that belongs to the service, not to a tenant's data (e.g. the key that signs a
  // tenant's audit checkpoints, which must outlive that tenant's crypto-shredding), under a
  // key-encryption key the provider holds for `purpose` and binds to it. Nothing in the data
  // directory alone can open it. CryptoFailure when the provider cannot (KMS refuses or is down).
  virtual WrappedKey wrap_service_key(std::string_view purpose, const KeyLease& key) = 0;
  // Opens what wrap_service_key sealed for the same purpose. Tampered when the blob was altered or
  // sealed for another purpose; CryptoFailure when the provider cannot.
  virtual Result<KeyLease> unwrap_service_key(std::string_view purpose, const WrappedKey& wrapped) = 0;
};

}  // namespace tenantai::crypto
