// EXPECT: cannot convert|conversion from .*Scoped<int
// Scoped<T> does not convert to T implicitly: reading needs scope.view(), egress scope.release().
#include "cf_common.h"

int main() {
  return tenantai::with_tenant(authenticated_context(0), [](auto scope) {
    auto secret = scope.bind(5);
#ifdef TENANTAI_COMPILE_FAIL
    int plain = secret;
#else
    int plain = scope.view(secret);
#endif
    return plain;
  });
}
