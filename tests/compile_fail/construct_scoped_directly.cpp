// EXPECT: is private within this context
// Scoped<T, Tag> has no public constructor: only a TenantScope can mark a value as a tenant's.
#include "cf_common.h"

int main() {
  return tenantai::with_tenant(authenticated_context(0), [](auto scope) {
    using Brand = typename decltype(scope)::brand;
#ifdef TENANTAI_COMPILE_FAIL
    tenantai::Scoped<int, Brand> forged(tenantai::TenantId("victim"), 1);
#else
    tenantai::Scoped<int, Brand> forged = scope.bind(1);
#endif
    return scope.view(forged);
  });
}
