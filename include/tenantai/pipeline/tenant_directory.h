// TenantDirectory: which tenants are provisioned (with which config), whether a tenant's state
// has been verified, and which tenants are quarantined. The Pipeline reads it on every request;
// the TenantRegistry writes it. Platform implements it; a unit test supplies a fake.
#pragma once

#include <memory>

#include "tenantai/core/error.h"
#include "tenantai/core/scope.h"
#include "tenantai/pipeline/tenant_config.h"

namespace tenantai::pipeline {

// Every member is thread-safe in an implementation.
class TenantDirectory {
 public:
  virtual ~TenantDirectory() = default;

  // The tenant's onboarding document; NotFound for an unknown or offboarded tenant (its
  // requests fail closed).
  virtual Result<std::shared_ptr<const TenantConfig>> tenant_config(const TenantId& tenant) const = 0;
  // Records (or replaces) a provisioned tenant's config. May throw AlreadyExists when the
  // tenant is served elsewhere.
  virtual void set_tenant_config(const TenantId& tenant, std::shared_ptr<const TenantConfig> config) = 0;
  // From now on the tenant's requests fail closed. Never throws.
  virtual void forget_tenant_config(const TenantId& tenant) = 0;

  // Returns once the tenant of `context` has been verified and restored (lazily, once); throws
  // TenantUnavailable for a quarantined tenant, or the error that keeps it from being ready.
  virtual void ensure_ready(const TenantContext& context) = 0;
  // Quarantines a tenant: ensure_ready throws TenantUnavailable with `reason` from now on.
  virtual void quarantine(const TenantId& tenant, const Error& reason) = 0;

  // A context of the requester's tenant for the platform's own service principal (for layer
  // operations done on behalf of a request that already proved its authority). Refuses a dead
  // context (PermissionDenied).
  virtual TenantContext service_context(const TenantContext& requester) const = 0;
};

}  // namespace tenantai::pipeline
