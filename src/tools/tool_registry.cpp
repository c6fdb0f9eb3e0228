#include "tenantai/tools/tool_registry.h"

#include <mutex>

namespace tenantai::tools {

std::string_view to_string(RefusalReason reason) noexcept {
  switch (reason) {
    case RefusalReason::ForeignTool: return "ForeignTool";
    case RefusalReason::ForeignTenantArgument: return "ForeignTenantArgument";
    case RefusalReason::UnknownTool: return "UnknownTool";
    case RefusalReason::MissingCapability: return "MissingCapability";
    case RefusalReason::MalformedCall: return "MalformedCall";
  }
  return "Unknown";
}

void ToolRegistry::add_impl(const TenantId& tenant, std::shared_ptr<Tool> tool) {
  if (!tool) throw Error(ErrorCode::InvalidArgument, "ToolRegistry: null tool");
  const std::string name = tool->name();
  if (name.empty() || name.find('/') != std::string::npos) {
    throw Error(ErrorCode::InvalidArgument, "ToolRegistry: tool name \"" + name + "\" is empty or contains '/'");
  }
  std::unique_lock lock(mutex_);
  auto& slot = tenants_[tenant];
  if (!slot) slot = std::make_shared<TenantTools>();
  if (!slot->emplace(name, std::move(tool)).second) {
    throw Error(ErrorCode::AlreadyExists, "tool \"" + name + "\" is already registered for this tenant");
  }
}

std::vector<std::string> ToolRegistry::names_impl(const TenantId& tenant) const {
  std::shared_lock lock(mutex_);
  std::vector<std::string> out;
  if (auto it = tenants_.find(tenant); it != tenants_.end()) {
    for (const auto& [name, tool] : *it->second) out.push_back(name);
  }
  return out;
}

void ToolRegistry::refuse(const TenantContext& context, ErrorCode code, ToolRefusal refusal) const {
  if (hook_) hook_(context, refusal);
  throw Error(code, refusal.message);
}

ToolResult ToolRegistry::invoke_impl(const TenantContext& context, const ToolCall& call) {
  const TenantId& tenant = context.tenant();
  auto refusal = [&](RefusalReason reason, std::string message, std::string capability = {}) {
    return ToolRefusal{reason, call.tool, std::move(capability), std::move(message)};
  };
  if (call.tool.empty() || !call.arguments.is_object()) {
    refuse(context, ErrorCode::InvalidArgument,
           refusal(RefusalReason::MalformedCall, "tool call has an empty name or non-object arguments"));
  }
  std::string name = call.tool;
  if (auto slash = name.find('/'); slash != std::string::npos) {
    if (name.compare(0, slash, tenant.str()) != 0 || slash != tenant.str().size()) {
      refuse(context, ErrorCode::PermissionDenied,
             refusal(RefusalReason::ForeignTool, "tool call \"" + call.tool + "\" names another tenant's tool"));
    }
    name = name.substr(slash + 1);
  }
  for (const char* key : {"tenant", "tenant_id"}) {
    auto it = call.arguments.find(key);
    if (it != call.arguments.end() && !(it->is_string() && it->get<std::string>() == tenant.str())) {
      refuse(context, ErrorCode::PermissionDenied,
             refusal(RefusalReason::ForeignTenantArgument,
                     "tool call \"" + call.tool + "\" names another tenant in its \"" + key + "\" argument"));
    }
  }
  std::shared_ptr<Tool> tool;
  {
    std::shared_lock lock(mutex_);
    if (auto t = tenants_.find(tenant); t != tenants_.end()) {
      if (auto it = t->second->find(name); it != t->second->end()) tool = it->second;
    }
  }
  if (!tool) {
    refuse(context, ErrorCode::NotFound, refusal(RefusalReason::UnknownTool, "this tenant has no tool \"" + name + "\""));
  }
  for (const auto& capability : tool->required_capabilities()) {
    if (!context.has_capability(capability)) {
      refuse(context, ErrorCode::PermissionDenied,
             refusal(RefusalReason::MissingCapability,
                     "actor \"" + context.actor() + "\" lacks capability \"" + capability + "\" for tool \"" + name + "\"",
                     capability));
    }
  }
  return ToolResult{name, tool->invoke(context, call.arguments)};
}

std::size_t ToolRegistry::erase_impl(const TenantId& tenant) {
  std::unique_lock lock(mutex_);
  auto it = tenants_.find(tenant);
  if (it == tenants_.end()) return 0;
  std::size_t n = it->second->size();
  tenants_.erase(it);
  return n;
}

std::vector<ToolCall> parse_tool_calls(std::string_view model_output) {
  static constexpr std::string_view kMarker = "TOOL_CALL ";
  std::vector<ToolCall> calls;
  std::size_t pos = 0;
  while (pos <= model_output.size()) {
    std::size_t end = model_output.find('\n', pos);
    if (end == std::string_view::npos) end = model_output.size();
    std::string_view line = model_output.substr(pos, end - pos);
    if (auto m = line.find(kMarker); m != std::string_view::npos) {
      auto doc = nlohmann::json::parse(line.substr(m + kMarker.size()), nullptr, false);
      if (!doc.is_discarded() && doc.is_object() && doc.contains("tool") && doc["tool"].is_string()) {
        ToolCall call;
        call.tool = doc["tool"].get<std::string>();
        if (doc.contains("arguments")) call.arguments = doc["arguments"];
        calls.push_back(std::move(call));
      }
    }
    pos = end + 1;
  }
  return calls;
}

}  // namespace tenantai::tools
