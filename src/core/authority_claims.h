// Internal: which AccessRecorder's SystemScopes may visit a tenant in this process.
#pragma once

#include <cstdint>

#include "tenantai/core/tenant_id.h"

namespace tenantai::detail {

// Claims `tenant` for `authority`; throws AlreadyExists when another authority holds it.
// Claiming twice for the same authority is a no-op. Thread-safe.
void claim_tenant(std::uint64_t authority, const TenantId& tenant);
// Gives up the claim if `authority` holds it. Thread-safe, never throws.
void release_tenant(std::uint64_t authority, const TenantId& tenant) noexcept;
// Gives up every claim of `authority`. Thread-safe, never throws.
void release_all_tenants(std::uint64_t authority) noexcept;
// True when `tenant` is unclaimed or claimed by `authority`. Thread-safe, never throws.
bool authority_may_visit(std::uint64_t authority, const TenantId& tenant) noexcept;

}  // namespace tenantai::detail
