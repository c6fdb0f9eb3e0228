// Umbrella header for tenantai's conversation memory: the MemoryStore interface and the
// one-SQLite-file-per-tenant implementation.
#pragma once

#include "tenantai/memory/memory_store.h"
#include "tenantai/memory/memory_types.h"
#include "tenantai/memory/sqlite_memory_store.h"
