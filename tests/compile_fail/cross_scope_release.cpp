// EXPECT: belongs to a different tenant scope
// Scope A cannot release (egress) a value that belongs to scope B.
#include "cf_common.h"

int main() {
  return tenantai::with_tenant(authenticated_context(0), [](auto a) {
    auto value_of_a = a.bind(1);
    return tenantai::with_tenant(authenticated_context(1), [&](auto b) {
#ifdef TENANTAI_COMPILE_FAIL
      return b.release(value_of_a);
#else
      (void)b.tenant();
      return a.release(value_of_a);
#endif
    });
  });
}
