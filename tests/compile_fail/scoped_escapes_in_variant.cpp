// EXPECT: cannot leave its with_tenant callback
// A Scoped value inside a std::variant (or a map, array, unique_ptr) cannot leave with_tenant.
#include <map>
#include <string>
#include <variant>

#include "cf_common.h"

int main() {
  auto out = tenantai::with_tenant(authenticated_context(0), [](auto scope) {
    auto v = scope.bind(std::string("secret"));
#ifdef TENANTAI_COMPILE_FAIL
    std::map<int, std::variant<int, decltype(v)>> smuggled;
    smuggled.emplace(1, v);
    return smuggled;
#else
    std::map<int, std::variant<int, std::string>> released;
    released.emplace(1, scope.release(v));
    return released;
#endif
  });
  (void)out;
  return 0;
}
