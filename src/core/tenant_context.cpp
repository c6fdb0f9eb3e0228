#include <sodium.h>

#include "tenantai/core/authenticator.h"
#include "tenantai/core/tenant_context.h"
#include "core/authority_claims.h"

namespace tenantai {
namespace {

void sort_unique(std::vector<std::string>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

void check_label(std::string_view what, std::string_view label) {
  if (label.empty() || label.size() > 256) {
    throw Error(ErrorCode::InvalidArgument,
                std::string(what) + " must be 1..256 bytes, got \"" + escape_for_message(label) + "\"");
  }
  for (unsigned char c : label) {
    if (c < 0x20 || c == 0x7f) {
      throw Error(ErrorCode::InvalidArgument,
                  std::string(what) + " \"" + escape_for_message(label) + "\" has a control character");
    }
  }
}

}  // namespace

TenantContext::TenantContext(Principal principal, std::string request_id,
                             Clock::time_point deadline, bool system)
    : tenant_(std::move(principal.tenant)),
      actor_(std::move(principal.actor)),
      groups_(std::move(principal.groups)),
      capabilities_(std::move(principal.capabilities)),
      request_id_(std::move(request_id)),
      deadline_(deadline),
      system_(system) {
  check_label("actor", actor_);
  check_label("request id", request_id_);
  for (const auto& g : groups_) check_label("group", g);
  for (const auto& c : capabilities_) check_label("capability", c);
  sort_unique(groups_);
  sort_unique(capabilities_);
}

TenantContext::TenantContext(Principal principal, std::string request_id, Clock::time_point deadline,
                             std::shared_ptr<detail::VisitToken> visit)
    : TenantContext(std::move(principal), std::move(request_id), deadline, /*system=*/true) {
  visit_ = std::move(visit);
}

const std::string& TenantContext::system_operator() const noexcept {
  static const std::string kNone;
  return visit_ ? visit_->operator_id : kNone;
}

void TenantContext::check_visit() const {
  if (!visit_ || !visit_->open.load(std::memory_order_acquire)) {
    throw Error(ErrorCode::PermissionDenied, "the system context of request " + request_id_ +
                                                 " belongs to a SystemScope visit that has ended; open a new visit");
  }
  if (!detail::authority_may_visit(visit_->authority, tenant_)) {
    throw Error(ErrorCode::PermissionDenied,
                "tenant \"" + tenant_.str() + "\" is served by a platform in this process: a SystemScope must be "
                "opened on that platform's access recorder (Platform::system_scope), not on another recorder");
  }
}

TenantContext Authenticator::make_context(Principal principal, const RequestOptions& options) {
  std::string rid = options.request_id.empty() ? new_request_id() : options.request_id;
  return TenantContext(std::move(principal), std::move(rid),
                       TenantContext::Clock::now() + options.timeout, /*system=*/false);
}

std::string new_request_id() {
  if (sodium_init() < 0) throw Error(ErrorCode::CryptoFailure, "libsodium failed to initialise");
  unsigned char raw[16];
  randombytes_buf(raw, sizeof raw);
  char hex[sizeof raw * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
  return std::string(hex, sizeof raw * 2);
}

}  // namespace tenantai
