// EXPECT: cannot leave its with_tenant callback
// A Scoped value wrapped in a std::shared_ptr cannot be returned out of with_tenant either.
#include <memory>

#include "cf_common.h"

int main() {
  auto out = tenantai::with_tenant(authenticated_context(0), [](auto scope) {
    auto v = scope.bind(3);
#ifdef TENANTAI_COMPILE_FAIL
    return std::make_shared<decltype(v)>(v);
#else
    return std::make_shared<int>(scope.release(v));
#endif
  });
  (void)out;
  return 0;
}
