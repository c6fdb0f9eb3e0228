// The consumer both packaging tests build: authenticate a key, act inside a tenant scope.
#include <tenantai/core.h>
#include <tenantai/version.h>

#include <iostream>

int main() {
  tenantai::ApiKeyAuthenticator auth;
  auto key = auth.issue({tenantai::TenantId("acme-corp"), "alice", {"staff"}, {}});
  auto ctx = auth.authenticate(key.secret).value();
  std::string tenant = tenantai::with_tenant(ctx, [](auto scope) {
    auto v = scope.bind(scope.tenant().str());
    return scope.release(v);
  });
  std::cout << "consumer ok: tenant " << tenant << " (tenantai " << tenantai::version() << ")\n";
  return tenant == "acme-corp" ? 0 : 1;
}
