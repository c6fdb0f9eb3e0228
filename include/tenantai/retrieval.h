// Umbrella header for tenantai's retrieval layer: the tenant-partitioned VectorStore, its
// documents, filters and options, and the SIMD distance kernels.
#pragma once

#include "tenantai/retrieval/distance.h"
#include "tenantai/retrieval/document.h"
#include "tenantai/retrieval/vector_store.h"
#include "tenantai/retrieval/vector_store_options.h"
