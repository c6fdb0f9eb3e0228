// EXPECT: cannot leave its with_tenant callback
// A Scoped value cannot be returned out of with_tenant: the only way out is scope.release().
#include "cf_common.h"

int main() {
  auto out = tenantai::with_tenant(authenticated_context(0), [](auto scope) {
    auto v = scope.bind(3);
#ifdef TENANTAI_COMPILE_FAIL
    return v;
#else
    return scope.release(v);
#endif
  });
  (void)out;
  return 0;
}
