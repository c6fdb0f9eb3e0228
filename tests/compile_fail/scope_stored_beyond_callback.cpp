// EXPECT: use of deleted function .*TenantScope
// A TenantScope cannot be copied or moved into storage that outlives its callback.
#include <type_traits>

#include "cf_common.h"

int main() {
  return tenantai::with_tenant(authenticated_context(0), [](auto scope) {
    using ScopeType = std::remove_cvref_t<decltype(scope)>;
#ifdef TENANTAI_COMPILE_FAIL
    static ScopeType* saved = nullptr;
    saved = new ScopeType(scope);  // a copy that would outlive the callback
    return saved != nullptr ? 1 : 0;
#else
    const ScopeType& borrowed = scope;  // passing it on by reference is how helpers get it
    return static_cast<int>(borrowed.tenant().str().size());
#endif
  });
}
