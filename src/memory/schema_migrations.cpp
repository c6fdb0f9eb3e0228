#include "memory/schema_migrations.h"

#include <array>
#include <string>

#include "tenantai/core/error.h"
#include "tenantai/core/tenant_id.h"

namespace tenantai::memory::detail {

namespace {

// Every migration ever shipped, oldest first. Add {N, "ALTER TABLE ..."} to move version N to
// N + 1, and raise kCurrent; never edit or remove a shipped step.
constexpr std::array<SchemaMigration, 0> kMigrations{};
constexpr int kCurrent = 1;

const SchemaMigration* step_from(const SchemaPlan& plan, int version) {
  for (const auto& m : plan.migrations) {
    if (m.from_version == version) return &m;
  }
  return nullptr;
}

std::string file_of(const SqliteDb& db) { return "memory database \"" + escape_for_message(db.path(), 200) + "\""; }

}  // namespace

const SchemaPlan& memory_schema_plan() noexcept {
  static const SchemaPlan plan{kCurrent, std::span<const SchemaMigration>(kMigrations.data(), kMigrations.size())};
  return plan;
}

void migrate_schema(SqliteDb& db, int found, const SchemaPlan& plan) {
  if (found > plan.current_version) {
    throw Error(ErrorCode::StorageFailure, file_of(db) + " has schema version " + std::to_string(found) +
                                               ", newer than this build's " + std::to_string(plan.current_version) +
                                               " (written by a newer tenantai?); refusing to use it");
  }
  for (int v = found; v < plan.current_version; ++v) {
    if (step_from(plan, v) == nullptr) {
      throw Error(ErrorCode::StorageFailure, file_of(db) + " has schema version " + std::to_string(found) +
                                                 " and this build (schema version " +
                                                 std::to_string(plan.current_version) + ") has no migration from version " +
                                                 std::to_string(v) + "; refusing to use it");
    }
  }
  for (int v = found; v < plan.current_version; ++v) {
    const SchemaMigration* step = step_from(plan, v);
    Transaction tx(db);
    db.exec(std::string(step->sql).c_str(), "schema migration from version " + std::to_string(v));
    db.exec(("PRAGMA user_version=" + std::to_string(v + 1)).c_str(), "set schema version");
    tx.commit();
  }
}

}  // namespace tenantai::memory::detail
