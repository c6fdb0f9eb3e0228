// ModelRouter: per-tenant model choice (compliance and cost tiers) and per-tenant adapters.
//
//   router.add_model({"llama-8b", {"standard"}, 1});
//   router.configure(scope, {.compliance = {"standard"}, .max_cost_tier = 2});
//   router.register_adapter(scope, {"acme-support-lora", "llama-8b"});
//   auto decision = router.route(scope, {.adapter = "acme-support-lora"});  // Scoped<RoutingDecision>
//
// The returned RoutingDecision (model, adapter, tier, reason) is what the Pipeline puts in the
// CompletionRequest and records in the audit event.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "tenantai/core/error.h"
#include "tenantai/core/scope.h"

namespace tenantai::inference {

// A model the vendor serves. `compliance` lists the regimes it satisfies ("standard", "hipaa",
// "eu-resident", ...); `cost_tier` orders models by price (higher = dearer, better). Plain data.
struct ModelSpec {
  std::string id;
  std::vector<std::string> compliance;
  int cost_tier = 0;
};

// A tenant's LoRA (or similar) adapter over a base model. Adapter ids are global names on the
// model server, so one id belongs to exactly one tenant. Plain data.
struct AdapterSpec {
  std::string id;
  std::string base_model;
};

// A tenant's routing policy. The chosen model must satisfy every `compliance` entry and have
// cost_tier <= max_cost_tier; among those, `preferred_model` if set, else the dearest allowed
// (ties by id). `default_adapter` (optional) is used when a request names none. Plain data.
struct TenantRouting {
  std::vector<std::string> compliance;
  int max_cost_tier = 0;
  std::string preferred_model;
  std::string default_adapter;
};

// What one request asks for; empty fields mean "the tenant's default". Plain data.
struct RouteRequest {
  std::string model;    // a specific model; must be allowed by the tenant's policy
  std::string adapter;  // one of the tenant's own adapters
  int max_cost_tier = -1;  // a per-request ceiling below the tenant's (e.g. a cheap tier); -1 = none
};

// The routing decision, recorded in the audit event. Plain data.
struct RoutingDecision {
  std::string model;
  std::string adapter;  // empty = base model
  int cost_tier = 0;
  std::string reason;   // "preferred", "requested", "dearest-allowed", "adapter"
};

// Thread-safe (one shared_mutex: shared for routing, exclusive for changes). The model
// catalogue is shared; each tenant's policy and adapters are its own partition (a map keyed by
// the TenantId taken from a scope, never by a string), and a global owner index enforces one
// owner per adapter id. Failures throw tenantai::Error:
//   tenant without a policy → NotFound (no default tenant, no default policy)
//   an adapter that is not the scope tenant's (another tenant's, or unknown) → PermissionDenied,
//     with the same message either way so the answer does not reveal other tenants' adapters
//   a requested model outside the policy → PermissionDenied; no model satisfies it → NotFound
//   malformed specs → InvalidArgument
class ModelRouter {
 public:
  ModelRouter() = default;

  // Adds or replaces a catalogue model. InvalidArgument on an empty id.
  void add_model(const ModelSpec& model);

  // Sets the scope tenant's policy (replacing any previous one). InvalidArgument when its
  // preferred model is unknown or violates the policy; PermissionDenied when its default
  // adapter is not the tenant's.
  template <typename Tag>
  void configure(const TenantScope<Tag>& scope, const TenantRouting& routing) {
    configure_impl(scope.tenant(), routing);
  }

  // Registers an adapter for the scope tenant. AlreadyExists when the id is taken (by this or
  // any tenant); InvalidArgument when the base model is not in the catalogue or the id is empty.
  template <typename Tag>
  void register_adapter(const TenantScope<Tag>& scope, const AdapterSpec& adapter) {
    register_adapter_impl(scope.tenant(), adapter);
  }

  // Removes one of the scope tenant's adapters; PermissionDenied if it is not the tenant's.
  template <typename Tag>
  void remove_adapter(const TenantScope<Tag>& scope, const std::string& adapter_id) {
    remove_adapter_impl(scope.tenant(), adapter_id);
  }

  // The scope tenant's adapter ids, sorted.
  template <typename Tag>
  Scoped<std::vector<std::string>, Tag> adapters(const TenantScope<Tag>& scope) const {
    return scope.bind(adapters_impl(scope.tenant()));
  }

  // Decides model and adapter for one request of the scope tenant (see class comment).
  template <typename Tag>
  Scoped<RoutingDecision, Tag> route(const TenantScope<Tag>& scope, const RouteRequest& request = {}) const {
    return scope.bind(route_impl(scope.tenant(), request));
  }

  // Offboarding: drops the tenant's policy and adapters (their ids become free). Returns the
  // number of adapters removed.
  template <typename Tag>
  std::size_t erase_tenant(const TenantScope<Tag>& scope) {
    return erase_impl(scope.tenant());
  }

 private:
  struct TenantState {
    bool configured = false;
    TenantRouting routing;
    std::map<std::string, AdapterSpec> adapters;
  };

  void configure_impl(const TenantId& tenant, const TenantRouting& routing);
  void register_adapter_impl(const TenantId& tenant, const AdapterSpec& adapter);
  void remove_adapter_impl(const TenantId& tenant, const std::string& adapter_id);
  std::vector<std::string> adapters_impl(const TenantId& tenant) const;
  RoutingDecision route_impl(const TenantId& tenant, const RouteRequest& request) const;
  std::size_t erase_impl(const TenantId& tenant);

  // Catalogue and adapter owner index (global infrastructure, not tenant data).
  mutable std::shared_mutex mutex_;
  std::map<std::string, ModelSpec> models_;
  std::unordered_map<std::string, TenantId> adapter_owner_;
  // Per-tenant state: a true partition, reached only with the tenant's id from a scope.
  std::unordered_map<TenantId, std::shared_ptr<TenantState>> tenants_;
};

}  // namespace tenantai::inference
