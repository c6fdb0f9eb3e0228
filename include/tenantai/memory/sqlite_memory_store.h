// SqliteMemoryStore: one SQLite database file per tenant under a root directory, opened lazily
// through a bounded pool of handles (least recently used handle closed first), so any number
// of tenants needs at most max_open_handles open databases (2 file descriptors each: the
// database and its WAL). Each database is opened in WAL mode with exclusive locking: while its
// handle is pooled, no other process can open that tenant's file (the WAL index lives in this
// process's memory, so there is no -shm file). Closing a pooled handle does not checkpoint
// (no fsync); the WAL is replayed on the next open.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tenantai/core/system_scope.h"
#include "tenantai/core/tenant_id.h"
#include "tenantai/crypto/sealer.h"
#include "tenantai/memory/memory_store.h"

namespace tenantai::memory {

struct SqliteMemoryOptions {
  std::string root_dir;              // must exist and be a directory (InvalidArgument otherwise)
  std::size_t max_open_handles = 64; // >= 1
  // true: PRAGMA synchronous=FULL (a committed write survives power loss); false: NORMAL
  // (survives a process crash, which is what the crash test checks; much faster).
  bool sync_full = false;
  std::chrono::milliseconds busy_timeout{5000};
  // Wall clock for created_at and retention; injectable for tests.
  std::function<std::chrono::system_clock::time_point()> clock = [] { return std::chrono::system_clock::now(); };
  // Optional sealing with the tenant's key (crypto-shredding). Not owned; must outlive the
  // store; called concurrently for different tenants (Sealer implementations are thread-safe).
  // When set, every piece of user text — message, fact and summary content, fact provenance
  // source — is stored as a BLOB sealed for the calling context, with kind "memory.message",
  // "memory.fact", "memory.fact-source" or "memory.summary" and an object id binding the scope
  // (and the row id and role for messages, the row id for facts), so a row copied to another
  // scope, row or tenant file fails to open. Ids, roles, scopes, provenance session and message
  // id, token counts and timestamps stay plain (queries and retention need them).
  // Failures: a seal that throws (CryptoFailure: key destroyed) rolls the write back; a read of
  // a row that does not open throws the sealer's error (Tampered, CryptoFailure) naming the file
  // — never ciphertext, never a silently skipped row. Export fails the same way; retention,
  // erase_user and erase_tenant never open anything, so they work after the key is destroyed.
  // The mode is recorded in each database when it is created (files from before sealing existed
  // are plaintext); a store configured the other way refuses the file with StorageFailure
  // naming it, and leaves it unchanged.
  crypto::Sealer* sealer = nullptr;
};

// Thread-safe. Each tenant's database stores its own tenant id (table meta) and a tenantai
// application id; opening a file that is not a tenantai memory database fails with
// StorageFailure naming the file, and one that belongs to another tenant (renamed or copied)
// with IsolationViolation — it is never read or written.
// erase_tenant() removes the files (with sealing, destroying the tenant's key in the sealer
// also makes any copy of them unreadable); a call racing with it may write into the removed file and
// that write is lost (erasure wins).
class SqliteMemoryStore final : public MemoryStore {
 public:
  explicit SqliteMemoryStore(SqliteMemoryOptions options);
  ~SqliteMemoryStore() override;
  SqliteMemoryStore(const SqliteMemoryStore&) = delete;
  SqliteMemoryStore& operator=(const SqliteMemoryStore&) = delete;

  // The database file name used for `tenant` (no directory): the id with any byte outside
  // [a-z0-9-] written as "_XX" (hex), plus ".memory.db". Injective, so no two tenants share a
  // file, and never contains '/' or "..". Never throws except std::bad_alloc.
  static std::string file_name_for(const TenantId& tenant);
  // The inverse: the tenant whose database file is called `name` (no directory), or nullopt
  // for a name file_name_for() cannot have produced (e.g. the "-wal" file). Never throws
  // except std::bad_alloc.
  static std::optional<TenantId> tenant_of_file_name(std::string_view name);

  // Tenants that have a database file under the root (decoded from the file names; files that
  // do not decode to a valid tenant id are ignored). Enumerating tenants is cross-tenant
  // knowledge, so it needs a SystemScope. Throws StorageFailure if the root cannot be listed.
  std::vector<TenantId> tenants(const SystemScope& system) const;

  // Retention sweep over every tenant (e.g. a nightly job): each tenant is visited, and so
  // recorded, through `system` (its visit limit applies: RateLimited past it), then
  // apply_retention(max_age) runs for it. Returns the rows removed in total. A tenant whose
  // file is corrupt or foreign stops the sweep with that error (fail closed, nothing skipped
  // silently).
  std::size_t apply_retention_all(SystemScope& system, std::chrono::hours max_age);

  // Number of tenant databases currently open (≤ max_open_handles, plus handles still in use
  // by a running call after being evicted from the pool).
  std::size_t open_handles() const;

 protected:
  std::vector<std::int64_t> do_append(const TenantContext& context, const MemoryScope& where,
                                      const std::vector<MessageInput>& messages) override;
  std::vector<Message> do_messages(const TenantContext& context, const MemoryScope& where,
                                   std::size_t last_n) override;
  std::int64_t do_add_fact(const TenantContext& context, std::string_view user, std::string_view agent,
                           std::string_view content, const Provenance& provenance) override;
  std::vector<Fact> do_facts(const TenantContext& context, std::string_view user, std::string_view agent) override;
  void do_put_summary(const TenantContext& context, const MemoryScope& where, std::string_view content,
                      std::int64_t covers_up_to) override;
  std::optional<Summary> do_summary(const TenantContext& context, const MemoryScope& where) override;
  void do_set_grant(const TenantContext& context, std::string_view grantee, bool granted) override;
  std::size_t do_erase_user(const TenantContext& context, std::string_view user) override;
  void do_erase_tenant(const TenantContext& context) override;
  std::size_t do_apply_retention(const TenantContext& context, std::chrono::hours max_age) override;
  std::string do_export_jsonl(const TenantContext& context) override;
  // Opens the tenant's file if it exists (format, version, sealing checked) and runs SQLite's
  // quick_check over it.
  void do_verify(const TenantContext& context) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tenantai::memory
