// KeyAccessObserver: how the crypto layer reports key use (unwrap, decrypt, rotate, destroy)
// without depending on the audit log. The audit module's AuditKeyAccessObserver appends each
// report to the tenant's own audit log.
#pragma once

#include <cstdint>
#include <string>

#include "tenantai/core/tenant_context.h"

namespace tenantai::crypto {

enum class KeyAccess { Unwrap, Decrypt, Rotate, Destroy };

// One key use. `kind`/`object_id` name the object for Decrypt, are empty otherwise.
struct KeyAccessEvent {
  KeyAccess access = KeyAccess::Unwrap;
  std::uint32_t key_version = 0;
  std::string kind{};
  std::string object_id{};
  bool ok = true;  // false: the operation failed (tampered, destroyed key, ...)
};

// Implementations must be thread-safe. Called after the crypto layer released its own locks, so
// an observer may call back into the sealer. If it throws, the exception propagates out of the
// operation that reported (for open(): no plaintext is returned), so auditing fails closed.
class KeyAccessObserver {
 public:
  virtual ~KeyAccessObserver() = default;
  virtual void on_key_access(const TenantContext& context, const KeyAccessEvent& event) = 0;
};

// Name of an access, e.g. "unwrap".
const char* to_string(KeyAccess access) noexcept;

}  // namespace tenantai::crypto
