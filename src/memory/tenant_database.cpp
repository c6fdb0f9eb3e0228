#include "memory/tenant_database.h"

#include <string>
#include <string_view>

#include "tenantai/core/error.h"

namespace tenantai::memory::detail {

namespace {
// $CONTENT is the type of user-text columns: TEXT, or BLOB in a sealed database (STRICT tables
// then refuse a plaintext value there, and a sealed one in a plaintext database).
constexpr std::string_view kSchema = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE messages(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user TEXT NOT NULL, agent TEXT NOT NULL, session TEXT NOT NULL,
  role TEXT NOT NULL, content $CONTENT NOT NULL,
  input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
  created_at INTEGER NOT NULL) STRICT;
CREATE INDEX messages_by_session ON messages(user, agent, session, id);
CREATE INDEX messages_by_time ON messages(created_at);
CREATE TABLE facts(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user TEXT NOT NULL, agent TEXT NOT NULL, content $CONTENT NOT NULL,
  source $CONTENT NOT NULL, message_id INTEGER, session TEXT NOT NULL,
  created_at INTEGER NOT NULL) STRICT;
CREATE INDEX facts_by_user ON facts(user, agent, id);
CREATE TABLE summaries(
  user TEXT NOT NULL, agent TEXT NOT NULL, session TEXT NOT NULL,
  content $CONTENT NOT NULL, covers_up_to INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  PRIMARY KEY(user, agent, session)) STRICT;
CREATE TABLE grants(owner TEXT NOT NULL, grantee TEXT NOT NULL, PRIMARY KEY(owner, grantee)) STRICT;
)sql";

// Values of meta 'sealing'. A database without the entry predates sealing: plaintext.
constexpr std::string_view kSealedMode = "tenant-key";
constexpr std::string_view kPlainMode = "none";

std::string schema_for(bool sealed) {
  std::string sql(kSchema);
  constexpr std::string_view kPlaceholder = "$CONTENT";
  for (auto at = sql.find(kPlaceholder); at != std::string::npos; at = sql.find(kPlaceholder, at)) {
    sql.replace(at, kPlaceholder.size(), sealed ? "BLOB" : "TEXT");
  }
  return sql;
}

std::int64_t pragma_int(SqliteDb& db, const char* sql) {
  Statement s(db, sql);
  return s.step() ? s.int64(0) : 0;
}

[[noreturn]] void foreign(const SqliteDb& db, const std::string& why) {
  throw Error(ErrorCode::StorageFailure, "file \"" + escape_for_message(db.path(), 200) +
                                             "\" is not a tenantai memory database (" + why + "); refusing to use it");
}

void use_wal(SqliteDb& db, bool sync_full) {
  db.exec("PRAGMA journal_mode=WAL", "enable WAL");
  db.exec(sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", "set synchronous");
}

// Creates the schema in an empty database, or checks an existing one. Nothing is written to a
// file before it is known to be empty or ours.
// The sealing mode recorded in the database must match the store's: a sealed database read
// without a sealer would hand out ciphertext, and sealing into a plaintext one would mix both.
void check_sealing(SqliteDb& db, bool sealed) {
  Statement mode(db, "SELECT value FROM meta WHERE key = 'sealing'");
  const std::string recorded = mode.step() ? mode.text(0) : std::string(kPlainMode);
  if (recorded == (sealed ? kSealedMode : kPlainMode)) return;
  const std::string file = "memory database \"" + escape_for_message(db.path(), 200) + "\"";
  if (recorded == kSealedMode) {
    throw Error(ErrorCode::StorageFailure, file + " is sealed with the tenant's key, but the store has no sealer; "
                                                  "refusing to use it (configure SqliteMemoryOptions::sealer)");
  }
  if (recorded == kPlainMode) {
    throw Error(ErrorCode::StorageFailure, file + " holds plaintext, but the store seals; refusing to mix plaintext "
                                                  "and sealed records (open it with a store without a sealer)");
  }
  throw Error(ErrorCode::StorageFailure, file + " records an unknown sealing mode \"" +
                                             escape_for_message(recorded) + "\"; refusing to use it");
}

void initialise_or_check(SqliteDb& db, const TenantId& tenant, bool sync_full, bool sealed, const SchemaPlan& plan) {
  std::int64_t app_id = 0;
  try {
    app_id = pragma_int(db, "PRAGMA application_id");
  } catch (const Error&) {
    // Only "not a database" / "corrupt" mean the file is not ours; anything else (e.g. the
    // file is locked by another connection) is reported as it is.
    const int rc = sqlite3_extended_errcode(db.get()) & 0xff;
    if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT) foreign(db, "not a SQLite database or corrupt");
    throw;
  }
  if (app_id == 0 && pragma_int(db, "SELECT count(*) FROM sqlite_schema") != 0) {
    foreign(db, "a SQLite database of another application");  // checked before anything is written
  }
  if (app_id == 0) {
    // Creating an empty database needs no fsync unless power-loss durability was asked for: a
    // process crash cannot lose it, and a half-created file after power loss is refused as
    // corrupt (it held no data yet).
    if (!sync_full) db.exec("PRAGMA synchronous=OFF", "set synchronous");
    db.exec("PRAGMA journal_mode=WAL", "enable WAL");
    Transaction tx(db);
    const std::int64_t objects = pragma_int(db, "SELECT count(*) FROM sqlite_schema");
    const std::int64_t app_now = pragma_int(db, "PRAGMA application_id");
    if (objects == 0 && app_now == 0) {
      db.exec(schema_for(sealed).c_str(), "create schema");
      db.exec(("PRAGMA application_id=" + std::to_string(kApplicationId)).c_str(), "set application id");
      db.exec(("PRAGMA user_version=" + std::to_string(kBaseSchemaVersion)).c_str(), "set schema version");
      Statement(db, "INSERT INTO meta(key, value) VALUES('tenant', ?)").bind(1, tenant.view()).run();
      Statement(db, "INSERT INTO meta(key, value) VALUES('format', 'tenantai-memory')").run();
      Statement(db, "INSERT INTO meta(key, value) VALUES('sealing', ?)").bind(1, sealed ? kSealedMode : kPlainMode).run();
      tx.commit();
      // Move the schema and owner record into the main file now, so the file names its owner
      // even when copied or renamed without its WAL.
      db.exec("PRAGMA wal_checkpoint(TRUNCATE)", "checkpoint new database");
      migrate_schema(db, kBaseSchemaVersion, plan);
      use_wal(db, sync_full);
      return;
    }
    if (app_now == 0) foreign(db, "a SQLite database of another application");
    tx.commit();  // initialised concurrently by another connection: check it below
  } else if (app_id != kApplicationId) {
    foreign(db, "application id " + std::to_string(app_id));
  }
  const auto found = static_cast<int>(pragma_int(db, "PRAGMA user_version"));
  if (found > plan.current_version) migrate_schema(db, found, plan);  // refuses before reading further
  Statement owner(db, "SELECT value FROM meta WHERE key = 'tenant'");
  if (!owner.step()) foreign(db, "no owner recorded");
  const std::string recorded = owner.text(0);
  if (recorded != tenant.str()) {
    throw Error(ErrorCode::IsolationViolation,
                "memory database \"" + escape_for_message(db.path(), 200) + "\" belongs to tenant \"" +
                    escape_for_message(recorded) + "\", not \"" + tenant.str() +
                    "\" (renamed or copied file?); refusing to use it");
  }
  check_sealing(db, sealed);
  migrate_schema(db, found, plan);
  use_wal(db, sync_full);
}
}  // namespace

TenantDatabase::TenantDatabase(const std::string& path, const TenantId& t, bool sync_full, bool sealed,
                               std::chrono::milliseconds busy, std::atomic<std::size_t>& open_counter,
                               const SchemaPlan& plan)
    : db(path), tenant(t), open_counter_(open_counter) {
  sqlite3_busy_timeout(db.get(), static_cast<int>(busy.count()));
  // One connection per tenant database: exclusive locking keeps the WAL index in process
  // memory (no -shm file, 2 descriptors per open database) and must be set before WAL is used.
  db.exec("PRAGMA locking_mode=EXCLUSIVE", "set locking mode");
  // Closing a pooled handle then needs no checkpoint (and no fsync); the WAL is replayed on the
  // next open and checkpointed automatically as it grows. With sync_full, close checkpoints.
  if (!sync_full) sqlite3_db_config(db.get(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  initialise_or_check(db, tenant, sync_full, sealed, plan);
  open_counter_.fetch_add(1);
}

TenantDatabase::~TenantDatabase() { open_counter_.fetch_sub(1); }

}  // namespace tenantai::memory::detail
