// Internal: the memory database's schema versions (PRAGMA user_version) and the migrations
// between them. A new database is created at kBaseSchemaVersion and then migrated like any
// other, so every database reaches the current version by the same path.
#pragma once

#include <span>
#include <string_view>

#include "memory/sqlite_db.h"

namespace tenantai::memory::detail {

// The version the CREATE TABLE statements in tenant_database.cpp produce.
inline constexpr int kBaseSchemaVersion = 1;

// Brings a database from `from_version` to from_version + 1 (SQL run inside the migration's
// transaction; it must not COMMIT itself).
struct SchemaMigration {
  int from_version;
  std::string_view sql;
};

// What a build reads: the version it writes and how to get there from older ones.
struct SchemaPlan {
  int current_version;
  std::span<const SchemaMigration> migrations;  // one per step, any order
};

// This build's plan: version 1, no migrations yet (version 1 is the first versioned schema).
const SchemaPlan& memory_schema_plan() noexcept;

// Brings the database (of schema version `found`) to plan.current_version, one step per
// transaction, each step setting user_version. Throws StorageFailure naming the file and both
// versions when `found` is newer than the plan's (written by a newer tenantai) or no migration
// leads from it; the database is then untouched. A no-op when `found` is current.
void migrate_schema(SqliteDb& db, int found, const SchemaPlan& plan);

}  // namespace tenantai::memory::detail
