// Internal: one tenant's open memory database, checked to be a tenantai memory database that
// belongs to that tenant before anything else touches it.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>

#include "memory/schema_migrations.h"
#include "memory/sqlite_db.h"
#include "tenantai/core/tenant_id.h"

namespace tenantai::memory::detail {

inline constexpr int kApplicationId = 0x54414d31;  // "TAM1"

// Opening checks the file (ours, this tenant's, same sealing mode as `sealed`: StorageFailure
// or IsolationViolation naming the file otherwise, with nothing written) or creates it,
// recording the owner and the sealing mode. A database of an older schema version is migrated
// (`plan`, this build's by default) once it is known to be this tenant's; a newer one is
// refused, naming the file and both versions. Use only with `mutex` held. `erased` is set (under the mutex) when the tenant's memory was
// erased; later users must not touch the connection.
struct TenantDatabase {
  TenantDatabase(const std::string& path, const TenantId& tenant, bool sync_full, bool sealed,
                 std::chrono::milliseconds busy, std::atomic<std::size_t>& open_counter,
                 const SchemaPlan& plan = memory_schema_plan());
  ~TenantDatabase();
  TenantDatabase(const TenantDatabase&) = delete;
  TenantDatabase& operator=(const TenantDatabase&) = delete;

  std::mutex mutex;
  SqliteDb db;
  TenantId tenant;
  bool erased = false;

 private:
  std::atomic<std::size_t>& open_counter_;
};

}  // namespace tenantai::memory::detail
