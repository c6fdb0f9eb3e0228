// EXPECT: is private within this context
// A TenantContext cannot be made up: only an Authenticator (or SystemScope) produces one.
#include "cf_common.h"

int main() {
  tenantai::Principal principal{tenantai::TenantId("victim"), "mallory", {}, {}};
#ifdef TENANTAI_COMPILE_FAIL
  tenantai::TenantContext forged(principal, "req-1", tenantai::TenantContext::Clock::now(), false);
  return forged.actor().empty() ? 1 : 0;
#else
  tenantai::ApiKeyAuthenticator auth;
  auto key = auth.issue(principal);
  auto ctx = auth.authenticate(key.secret);
  return ctx.ok() ? 0 : 1;
#endif
}
