// EXPECT: belongs to a different tenant scope
// A value produced in scope B cannot be read through scope A (nested call sites).
#include "cf_common.h"

int main() {
  return tenantai::with_tenant(authenticated_context(0), [](auto a) {
    return tenantai::with_tenant(authenticated_context(1), [&](auto b) {
      auto value_of_b = b.bind(42);
#ifdef TENANTAI_COMPILE_FAIL
      return a.view(value_of_b);
#else
      (void)a.tenant();
      return b.view(value_of_b);
#endif
    });
  });
}
