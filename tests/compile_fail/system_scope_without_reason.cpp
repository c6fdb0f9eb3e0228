// EXPECT: no matching function for call to .*SystemScope::SystemScope
// The cross-tenant SystemScope cannot be opened without a stated reason.
#include "cf_common.h"

int main() {
  tenantai::InMemoryAccessRecorder recorder;
#ifdef TENANTAI_COMPILE_FAIL
  tenantai::SystemScope sys(recorder, "ops-oncall");
#else
  tenantai::SystemScope sys(recorder, "ops-oncall", "retention sweep, ticket OPS-1");
#endif
  return static_cast<int>(sys.reason().size());
}
