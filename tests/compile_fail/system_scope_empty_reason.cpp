// EXPECT: system_scope_reason_must_not_be_empty
// ...and the reason cannot be an empty or blank literal.
#include "cf_common.h"

int main() {
  tenantai::InMemoryAccessRecorder recorder;
#ifdef TENANTAI_COMPILE_FAIL
  tenantai::SystemScope sys(recorder, "ops-oncall", "   ");
#else
  tenantai::SystemScope sys(recorder, "ops-oncall", "key rotation");
#endif
  return static_cast<int>(sys.reason().size());
}
