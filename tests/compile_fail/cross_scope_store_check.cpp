// EXPECT: belongs to a different tenant scope
// A store running for scope A rejects, at compile time, a value branded by scope B.
#include "cf_common.h"

template <typename Tag, typename Value>
int store_put(const tenantai::TenantScope<Tag>& scope, const Value& v) {
  scope.check_owner(v);  // what every tenantai store does with a value it receives
  return 0;
}

int main() {
  return tenantai::with_tenant(authenticated_context(0), [](auto a) {
    return tenantai::with_tenant(authenticated_context(1), [&](auto b) {
      auto value_of_b = b.bind(7);
#ifdef TENANTAI_COMPILE_FAIL
      return store_put(a, value_of_b);
#else
      (void)a.tenant();
      return store_put(b, value_of_b);
#endif
    });
  });
}
