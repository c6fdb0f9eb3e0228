// Internal: the platform's own service principal, for layer operations that need
// administrative capabilities on behalf of a request that already proved its authority over the
// tenant (memory erasure and export, restoring a tenant's corpus into the indexes).
#pragma once

#include <string>

#include "tenantai/core/authenticator.h"

namespace tenantai::pipeline::detail {

// Accepts no credential (authenticate() is always Unauthenticated); mint() is reached only
// through Platform::service_context. Thread-safe (stateless).
class ServiceIdentity final : public Authenticator {
 public:
  Result<TenantContext> authenticate(std::string_view credential, const RequestOptions& options) const override;
  // A context of `tenant` for actor "tenantai-service" with every administrative capability.
  TenantContext mint(const TenantId& tenant) const;
};

}  // namespace tenantai::pipeline::detail
