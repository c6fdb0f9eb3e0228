// Tool: something the model may ask to run (search a CRM, open a ticket). Tools are invoked by
// a ToolRegistry with the caller's TenantContext, after the registry has checked the actor's
// capabilities, never directly with what the model asked for.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tenantai/core/tenant_context.h"

namespace tenantai::tools {

// A tool implementation. name() and required_capabilities() must be constant over the tool's
// life. invoke() may be called concurrently from many requests and must be thread-safe. It
// receives the request's TenantContext (the tenant and actor the registry already checked) and
// must act for that tenant only; it throws tenantai::Error on failure.
class Tool {
 public:
  virtual ~Tool() = default;
  virtual std::string name() const = 0;
  // Every capability the actor needs (TenantContext::has_capability), e.g. "tool:crm.read".
  virtual std::vector<std::string> required_capabilities() const = 0;
  virtual nlohmann::json invoke(const TenantContext& context, const nlohmann::json& arguments) = 0;
};

}  // namespace tenantai::tools
