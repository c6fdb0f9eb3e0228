// The platform's built-in TenantLayer implementations (internal to the pipeline layer).
#pragma once

#include <memory>
#include <vector>

#include "tenantai/pipeline/tenant_layer.h"

namespace tenantai::pipeline {
class Platform;
namespace detail {

// The built-in layers in provisioning order: keys, rate limits, budgets, routing, prompt overlays,
// caches, tools, API keys, documents (corpus + vector store + document library), memory,
// usage, audit. Each holds a reference to `platform`, which must outlive them.
std::vector<std::shared_ptr<TenantLayer>> builtin_layers(Platform& platform);

}  // namespace detail
}  // namespace tenantai::pipeline
