// Umbrella header of the orchestration layer: Platform (every layer wired together), Pipeline
// (one request through every layer), TenantRegistry (onboarding, export, offboarding).
#pragma once

#include "tenantai/pipeline/document_library.h"
#include "tenantai/pipeline/pipeline.h"
#include "tenantai/pipeline/platform.h"
#include "tenantai/pipeline/search_documents_tool.h"
#include "tenantai/pipeline/tenant_config.h"
#include "tenantai/pipeline/tenant_registry.h"
