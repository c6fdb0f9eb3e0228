// ToolRegistry: each tenant's tools, and the one place a model-requested tool call is checked
// before anything runs (prompt-injection containment).
//
//   registry.add(scope, std::make_shared<CrmLookup>());
//   registry.set_refusal_hook([&](const TenantContext& c, const ToolRefusal& r) { audit(c, r); });
//   for (const auto& call : parse_tool_calls(answer)) registry.invoke(scope, call);
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tenantai/core/error.h"
#include "tenantai/core/scope.h"
#include "tenantai/tools/tool.h"

namespace tenantai::tools {

// A tool call as the model asked for it: untrusted input. `tool` may be qualified as
// "<tenant>/<name>"; a qualifier other than the scope tenant is refused. Plain data.
struct ToolCall {
  std::string tool;
  nlohmann::json arguments = nlohmann::json::object();
};

// Why a call was refused. Plain data.
enum class RefusalReason {
  ForeignTool,          // the call named another tenant's tool ("<other>/<name>")
  ForeignTenantArgument,// an argument "tenant"/"tenant_id" names another tenant
  UnknownTool,          // the tenant has no such tool
  MissingCapability,    // the actor lacks a capability the tool requires
  MalformedCall,        // empty name or arguments that are not a JSON object
};
// Name of the reason, e.g. "ForeignTool", for audit records. Never fails.
std::string_view to_string(RefusalReason reason) noexcept;

// What the refusal hook receives (for the audit log). Plain data.
struct ToolRefusal {
  RefusalReason reason;
  std::string requested_tool;      // as the model wrote it
  std::string missing_capability;  // for MissingCapability
  std::string message;             // the text of the thrown Error
};

// Called for every refused call before invoke() throws, on the calling thread. Must be
// thread-safe. If it throws, that exception propagates instead (the call still does not run).
using RefusalHook = std::function<void(const TenantContext& context, const ToolRefusal& refusal)>;

// The result of an allowed call. Plain data.
struct ToolResult {
  std::string tool;
  nlohmann::json output;
};

// Thread-safe (shared_mutex: shared for invoke lookups, exclusive for changes; tools run
// outside the lock). Each tenant's tools are its own partition keyed by the scope's TenantId.
// invoke() checks, in order, and refuses (hook, then throw) on the first failure:
//   malformed call → InvalidArgument; another tenant's qualifier or a tenant argument naming
//   another tenant → PermissionDenied; unknown tool → NotFound; missing capability →
//   PermissionDenied. Errors thrown by the tool itself propagate unchanged (not refusals).
class ToolRegistry {
 public:
  ToolRegistry() = default;

  // Adds a tool for the scope tenant. AlreadyExists on a duplicate name; InvalidArgument on a
  // null tool, an empty name or one containing '/'.
  template <typename Tag>
  void add(const TenantScope<Tag>& scope, std::shared_ptr<Tool> tool) {
    add_impl(scope.tenant(), std::move(tool));
  }

  // The scope tenant's tool names, sorted.
  template <typename Tag>
  Scoped<std::vector<std::string>, Tag> names(const TenantScope<Tag>& scope) const {
    return scope.bind(names_impl(scope.tenant()));
  }

  // Sets the hook that hears every refusal (replacing any previous one). Not to be called
  // concurrently with invoke().
  void set_refusal_hook(RefusalHook hook) { hook_ = std::move(hook); }

  // Runs `call` for the scope's tenant and actor if every check passes (see class comment).
  template <typename Tag>
  Scoped<ToolResult, Tag> invoke(const TenantScope<Tag>& scope, const ToolCall& call) {
    scope.check_deadline();
    return scope.bind(invoke_impl(scope.context(), call));
  }

  // Offboarding: drops the scope tenant's tools; returns how many there were.
  template <typename Tag>
  std::size_t erase_tenant(const TenantScope<Tag>& scope) {
    return erase_impl(scope.tenant());
  }

 private:
  using TenantTools = std::map<std::string, std::shared_ptr<Tool>>;

  void add_impl(const TenantId& tenant, std::shared_ptr<Tool> tool);
  std::vector<std::string> names_impl(const TenantId& tenant) const;
  ToolResult invoke_impl(const TenantContext& context, const ToolCall& call);
  std::size_t erase_impl(const TenantId& tenant);
  [[noreturn]] void refuse(const TenantContext& context, ErrorCode code, ToolRefusal refusal) const;

  mutable std::shared_mutex mutex_;
  std::unordered_map<TenantId, std::shared_ptr<TenantTools>> tenants_;
  RefusalHook hook_;
};

// Extracts tool calls from model output: each line of the form
//   TOOL_CALL {"tool": "<name>", "arguments": {...}}
// becomes a ToolCall. Lines that do not parse are skipped (they are text, not calls). The
// result is untrusted: pass each call to ToolRegistry::invoke, which decides.
std::vector<ToolCall> parse_tool_calls(std::string_view model_output);

}  // namespace tenantai::tools
