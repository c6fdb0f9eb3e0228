// EXPECT: no matching function for call to .*TenantId::TenantId\(\)
// There is no default tenant: TenantId has no default constructor.
#include "cf_common.h"

int main() {
#ifdef TENANTAI_COMPILE_FAIL
  tenantai::TenantId tenant;
#else
  tenantai::TenantId tenant("acme");
#endif
  return static_cast<int>(tenant.str().size());
}
