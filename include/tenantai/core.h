// Umbrella header for tenantai's core: errors, tenant ids, contexts, authentication, scopes.
#pragma once

#include "tenantai/core/api_key_authenticator.h"
#include "tenantai/core/authenticator.h"
#include "tenantai/core/error.h"
#include "tenantai/core/key_encoding.h"
#include "tenantai/core/scope.h"
#include "tenantai/core/system_scope.h"
#include "tenantai/core/tenant_context.h"
#include "tenantai/core/tenant_id.h"
#include "tenantai/core/tenant_partitions.h"
