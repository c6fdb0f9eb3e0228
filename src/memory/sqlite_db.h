// Internal: thin RAII over the SQLite C API, turning every failure into
// tenantai::Error(StorageFailure) that names the database file.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace tenantai::memory::detail {

// An open connection (SQLITE_OPEN_NOMUTEX: the owner serialises use). Move-only.
class SqliteDb {
 public:
  // Opens (creating if missing, never following a symlink) `path`. Throws StorageFailure.
  explicit SqliteDb(const std::string& path);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  sqlite3* get() const noexcept { return db_; }
  const std::string& path() const noexcept { return path_; }
  // Runs statements without results. Throws StorageFailure naming the file and `what`.
  void exec(const char* sql, std::string_view what);
  // Throws StorageFailure for result code `rc` (message from SQLite, file name, `what`).
  [[noreturn]] void fail(int rc, std::string_view what) const;
  int changes() const noexcept { return sqlite3_changes(db_); }
  std::int64_t last_insert_rowid() const noexcept { return sqlite3_last_insert_rowid(db_); }
  // Closes now (idempotent); later use throws.
  void close() noexcept;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

// A prepared statement bound to one SqliteDb. Move-only; finalised on destruction.
class Statement {
 public:
  Statement(SqliteDb& db, const char* sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, std::string_view text);
  Statement& bind_blob(int index, std::string_view bytes);
  Statement& bind(int index, std::int64_t value);
  Statement& bind_null(int index);
  // true when a row is available, false when done. Throws StorageFailure.
  bool step();
  // Runs to completion (for statements without rows).
  void run();
  void reset() noexcept;

  std::int64_t int64(int column) const noexcept { return sqlite3_column_int64(stmt_, column); }
  bool is_null(int column) const noexcept { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  // The column's bytes (TEXT or BLOB), empty for NULL.
  std::string text(int column) const;

 private:
  SqliteDb& db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN IMMEDIATE … COMMIT; rolls back when destroyed without commit().
class Transaction {
 public:
  explicit Transaction(SqliteDb& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  SqliteDb& db_;
  bool done_ = false;
};

}  // namespace tenantai::memory::detail
