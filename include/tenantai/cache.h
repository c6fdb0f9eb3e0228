// Umbrella header for tenantai's caches: exact response cache, semantic cache, embedding cache.
#pragma once

#include "tenantai/cache/cache_stats.h"
#include "tenantai/cache/embedding_cache.h"
#include "tenantai/cache/response_cache.h"
#include "tenantai/cache/response_key.h"
#include "tenantai/cache/semantic_cache.h"
