// Sealer: the encryption seam every storage layer uses for "sealed with the tenant's key".
// Implemented by the crypto module's envelope encryption; stores depend only on this.
#pragma once

#include <string>
#include <string_view>

#include "tenantai/core/error.h"
#include "tenantai/core/tenant_context.h"

namespace tenantai::crypto {

// Encrypts and decrypts small objects for the tenant of a context. The associated data binds
// the tenant, `kind` and `object_id`, so a ciphertext copied to another tenant or another object
// fails to open. Taking a TenantContext (not a bare id) means only authenticated requests (or
// SystemScope visits) can reach a tenant's key, and the implementation can audit who did.
// Implementations must be thread-safe.
class Sealer {
 public:
  virtual ~Sealer() = default;

  // Ciphertext (self-describing: carries key version and nonce). Throws Error(CryptoFailure)
  // when the tenant has no usable key (e.g. it was destroyed: crypto-shredding).
  virtual std::string seal(const TenantContext& context, std::string_view kind,
                           std::string_view object_id, std::string_view plaintext) = 0;

  // Plaintext, or: Tampered (altered, truncated or moved ciphertext), CryptoFailure (key
  // destroyed or unavailable). Never returns another tenant's plaintext.
  virtual Result<std::string> open(const TenantContext& context, std::string_view kind,
                                   std::string_view object_id, std::string_view sealed) = 0;
};

}  // namespace tenantai::crypto
