#include "pipeline/service_identity.h"

#include <chrono>

#include "tenantai/memory/memory_store.h"
#include "tenantai/pipeline/document_library.h"
#include "tenantai/pipeline/tenant_registry.h"

namespace tenantai::pipeline::detail {

Result<TenantContext> ServiceIdentity::authenticate(std::string_view, const RequestOptions&) const {
  return Error(ErrorCode::Unauthenticated, "the platform's service identity accepts no credentials");
}

TenantContext ServiceIdentity::mint(const TenantId& tenant) const {
  Principal principal{tenant, "tenantai-service", {},
                      {std::string(memory::kAdminCapability), std::string(memory::kAnyUserCapability),
                       std::string(kExportCapability), std::string(kOffboardCapability), "admin:keys",
                       std::string(kWriteAnyCapability)}};
  RequestOptions options;
  options.request_id = "service-" + new_request_id();
  options.timeout = std::chrono::minutes(10);
  return make_context(std::move(principal), options);
}

}  // namespace tenantai::pipeline::detail
