// EXPECT: invalid initialization of reference of type .+tenantai::TenantId&.+ from expression of type .+std::string
// A bare string is not a tenant: APIs that need a tenant take a validated TenantId.
#include <string>

#include "cf_common.h"

static int count_keys(const tenantai::TenantId& tenant) { return static_cast<int>(tenant.str().size()); }

int main() {
  std::string from_request = "acme";
#ifdef TENANTAI_COMPILE_FAIL
  return count_keys(from_request);
#else
  return count_keys(tenantai::TenantId(from_request));
#endif
}
