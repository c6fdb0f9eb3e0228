// Authenticator: the only producer of TenantContext. Host applications implement it for their
// own identity systems (mTLS, OIDC, ...); tenantai ships ApiKeyAuthenticator.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "tenantai/core/error.h"
#include "tenantai/core/tenant_context.h"

namespace tenantai {

// Per-request parameters that are not part of the credential.
struct RequestOptions {
  std::string request_id;  // empty: a random 128-bit id is generated
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};  // deadline = now + timeout
};

// Maps a credential to a TenantContext. Implementations must be thread-safe and must fail
// closed: any credential they cannot positively verify yields ErrorCode::Unauthenticated,
// never a default tenant.
class Authenticator {
 public:
  virtual ~Authenticator() = default;

  // Verifies `credential`; returns the bound context or an Unauthenticated error.
  virtual Result<TenantContext> authenticate(std::string_view credential,
                                             const RequestOptions& options = {}) const = 0;

 protected:
  // For implementations: turns a verified principal into a context. Validates the principal
  // (non-empty actor, sane group/capability names) and throws Error(InvalidArgument) if not.
  static TenantContext make_context(Principal principal, const RequestOptions& options);
};

// A random 128-bit request id as 32 lower-case hex characters. Thread-safe.
std::string new_request_id();

}  // namespace tenantai
