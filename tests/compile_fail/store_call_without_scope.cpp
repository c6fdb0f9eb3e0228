// EXPECT: is private within this context
// A tenant-partitioned store cannot be reached with a bare TenantId: only with a scope.
#include "cf_common.h"

struct Partition { int rows = 0; };

int main() {
  tenantai::TenantPartitions<Partition> store;
#ifdef TENANTAI_COMPILE_FAIL
  auto p = store.find(tenantai::TenantId("acme"));
  return p ? 1 : 0;
#else
  return tenantai::with_tenant(authenticated_context(0), [&](auto scope) {
    auto p = store.find(scope);
    return p ? 1 : 0;
  });
#endif
}
