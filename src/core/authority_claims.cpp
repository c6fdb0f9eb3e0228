#include "core/authority_claims.h"

#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "tenantai/core/error.h"

namespace tenantai::detail {

namespace {

struct Claims {
  std::shared_mutex mutex;
  std::unordered_map<TenantId, std::uint64_t> owner;
};

Claims& claims() {
  static Claims instance;  // never destroyed before the recorders that release into it
  return instance;
}

}  // namespace

void claim_tenant(std::uint64_t authority, const TenantId& tenant) {
  Claims& c = claims();
  std::unique_lock lock(c.mutex);
  auto [it, inserted] = c.owner.emplace(tenant, authority);
  if (!inserted && it->second != authority) {
    throw Error(ErrorCode::AlreadyExists, "tenant \"" + tenant.str() +
                                              "\" is already served by another platform in this process");
  }
}

void release_tenant(std::uint64_t authority, const TenantId& tenant) noexcept {
  Claims& c = claims();
  std::unique_lock lock(c.mutex);
  auto it = c.owner.find(tenant);
  if (it != c.owner.end() && it->second == authority) c.owner.erase(it);
}

void release_all_tenants(std::uint64_t authority) noexcept {
  Claims& c = claims();
  std::unique_lock lock(c.mutex);
  std::erase_if(c.owner, [&](const auto& entry) { return entry.second == authority; });
}

bool authority_may_visit(std::uint64_t authority, const TenantId& tenant) noexcept {
  Claims& c = claims();
  std::shared_lock lock(c.mutex);
  auto it = c.owner.find(tenant);
  return it == c.owner.end() || it->second == authority;
}

}  // namespace tenantai::detail
