#include "tenantai/inference/model_router.h"

#include <algorithm>

namespace tenantai::inference {

namespace {

bool satisfies(const ModelSpec& model, const std::vector<std::string>& compliance, int max_cost_tier) {
  if (model.cost_tier > max_cost_tier) return false;
  return std::all_of(compliance.begin(), compliance.end(), [&](const std::string& need) {
    return std::find(model.compliance.begin(), model.compliance.end(), need) != model.compliance.end();
  });
}

Error not_yours(const std::string& adapter_id) {
  return Error(ErrorCode::PermissionDenied, "adapter \"" + adapter_id + "\" is not registered for this tenant");
}

}  // namespace

void ModelRouter::add_model(const ModelSpec& model) {
  if (model.id.empty()) throw Error(ErrorCode::InvalidArgument, "ModelRouter: model id is empty");
  std::unique_lock lock(mutex_);
  models_[model.id] = model;
}

void ModelRouter::configure_impl(const TenantId& tenant, const TenantRouting& routing) {
  std::unique_lock lock(mutex_);
  auto& slot = tenants_[tenant];
  if (!slot) slot = std::make_shared<TenantState>();
  if (!routing.preferred_model.empty()) {
    auto it = models_.find(routing.preferred_model);
    if (it == models_.end()) {
      throw Error(ErrorCode::InvalidArgument, "preferred model \"" + routing.preferred_model + "\" is not in the catalogue");
    }
    if (!satisfies(it->second, routing.compliance, routing.max_cost_tier)) {
      throw Error(ErrorCode::InvalidArgument,
                  "preferred model \"" + routing.preferred_model + "\" violates the tenant's compliance or cost tier");
    }
  }
  if (!routing.default_adapter.empty() && slot->adapters.count(routing.default_adapter) == 0) {
    throw not_yours(routing.default_adapter);
  }
  slot->routing = routing;
  slot->configured = true;
}

void ModelRouter::register_adapter_impl(const TenantId& tenant, const AdapterSpec& adapter) {
  if (adapter.id.empty()) throw Error(ErrorCode::InvalidArgument, "adapter id is empty");
  std::unique_lock lock(mutex_);
  if (models_.count(adapter.base_model) == 0) {
    throw Error(ErrorCode::InvalidArgument, "adapter base model \"" + adapter.base_model + "\" is not in the catalogue");
  }
  if (adapter_owner_.count(adapter.id) != 0) {
    throw Error(ErrorCode::AlreadyExists, "adapter id \"" + adapter.id + "\" is already registered");
  }
  auto& slot = tenants_[tenant];
  if (!slot) slot = std::make_shared<TenantState>();
  slot->adapters.emplace(adapter.id, adapter);
  adapter_owner_.emplace(adapter.id, tenant);
}

void ModelRouter::remove_adapter_impl(const TenantId& tenant, const std::string& adapter_id) {
  std::unique_lock lock(mutex_);
  auto owner = adapter_owner_.find(adapter_id);
  if (owner == adapter_owner_.end() || owner->second != tenant) throw not_yours(adapter_id);
  auto& state = *tenants_.at(tenant);
  if (state.routing.default_adapter == adapter_id) state.routing.default_adapter.clear();
  state.adapters.erase(adapter_id);
  adapter_owner_.erase(owner);
}

std::vector<std::string> ModelRouter::adapters_impl(const TenantId& tenant) const {
  std::shared_lock lock(mutex_);
  std::vector<std::string> out;
  auto it = tenants_.find(tenant);
  if (it == tenants_.end()) return out;
  for (const auto& [id, spec] : it->second->adapters) out.push_back(id);
  return out;
}

RoutingDecision ModelRouter::route_impl(const TenantId& tenant, const RouteRequest& request) const {
  std::shared_lock lock(mutex_);
  auto it = tenants_.find(tenant);
  if (it == tenants_.end() || !it->second->configured) {
    throw Error(ErrorCode::NotFound, "tenant \"" + tenant.str() + "\" has no routing policy");
  }
  const TenantState& state = *it->second;
  const TenantRouting& policy = state.routing;
  int ceiling = policy.max_cost_tier;
  if (request.max_cost_tier >= 0) ceiling = std::min(ceiling, request.max_cost_tier);

  RoutingDecision decision;
  const std::string& adapter_id = request.adapter.empty() ? policy.default_adapter : request.adapter;
  if (!adapter_id.empty()) {
    // Only the tenant's own partition is consulted: another tenant's adapter is simply absent.
    auto a = state.adapters.find(adapter_id);
    if (a == state.adapters.end()) throw not_yours(adapter_id);
    const ModelSpec& base = models_.at(a->second.base_model);
    if (!request.model.empty() && request.model != base.id) {
      throw Error(ErrorCode::InvalidArgument,
                  "adapter \"" + adapter_id + "\" is built on \"" + base.id + "\", not \"" + request.model + "\"");
    }
    if (!satisfies(base, policy.compliance, ceiling)) {
      throw Error(ErrorCode::PermissionDenied,
                  "adapter \"" + adapter_id + "\"'s base model violates the tenant's compliance or cost tier");
    }
    decision.model = base.id;
    decision.adapter = adapter_id;
    decision.cost_tier = base.cost_tier;
    decision.reason = "adapter";
    return decision;
  }
  if (!request.model.empty()) {
    auto m = models_.find(request.model);
    if (m == models_.end() || !satisfies(m->second, policy.compliance, ceiling)) {
      throw Error(ErrorCode::PermissionDenied, "model \"" + request.model + "\" is not allowed for this tenant");
    }
    decision.model = m->first;
    decision.cost_tier = m->second.cost_tier;
    decision.reason = "requested";
    return decision;
  }
  if (!policy.preferred_model.empty()) {
    auto m = models_.find(policy.preferred_model);
    if (m != models_.end() && satisfies(m->second, policy.compliance, ceiling)) {
      decision.model = m->first;
      decision.cost_tier = m->second.cost_tier;
      decision.reason = "preferred";
      return decision;
    }
  }
  const ModelSpec* best = nullptr;
  for (const auto& [id, model] : models_) {
    if (!satisfies(model, policy.compliance, ceiling)) continue;
    if (best == nullptr || model.cost_tier > best->cost_tier) best = &model;  // map order breaks ties by id
  }
  if (best == nullptr) {
    throw Error(ErrorCode::NotFound, "no catalogue model satisfies tenant \"" + tenant.str() + "\"'s compliance and cost tier");
  }
  decision.model = best->id;
  decision.cost_tier = best->cost_tier;
  decision.reason = "dearest-allowed";
  return decision;
}

std::size_t ModelRouter::erase_impl(const TenantId& tenant) {
  std::unique_lock lock(mutex_);
  auto it = tenants_.find(tenant);
  if (it == tenants_.end()) return 0;
  std::size_t n = it->second->adapters.size();
  for (const auto& [id, spec] : it->second->adapters) adapter_owner_.erase(id);
  tenants_.erase(it);
  return n;
}

}  // namespace tenantai::inference
