// Internal: how the memory store writes and reads user text (message, fact and summary
// contents, fact sources) — plain TEXT, or sealed with the tenant's key into a BLOB.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "memory/sqlite_db.h"
#include "tenantai/core/tenant_context.h"
#include "tenantai/crypto/sealer.h"
#include "tenantai/memory/memory_types.h"

namespace tenantai::memory::detail {

// Sealer kinds: a box of one kind never opens as another.
inline constexpr std::string_view kMessageKind = "memory.message";
inline constexpr std::string_view kFactKind = "memory.fact";
inline constexpr std::string_view kFactSourceKind = "memory.fact-source";
inline constexpr std::string_view kSummaryKind = "memory.summary";

// Object ids binding a box to where it lives: every part length-prefixed ("<size>:<bytes>"), so
// no two different (scope, id, role) tuples give the same string. Never throw except bad_alloc.
std::string message_object_id(const MemoryScope& where, std::int64_t id, std::string_view role);
std::string fact_object_id(std::string_view user, std::string_view agent, std::int64_t id);
std::string summary_object_id(const MemoryScope& where);

// Writes/reads content columns for one call of one tenant. With a null sealer, content is
// bound as TEXT and read as it is; otherwise it is sealed for `context` and bound as a BLOB.
// `sealer` is not owned. Not thread-safe (one per call).
class ContentColumns {
 public:
  ContentColumns(crypto::Sealer* sealer, const TenantContext& context) : sealer_(sealer), context_(context) {}

  bool sealed() const noexcept { return sealer_ != nullptr; }

  // Binds `content` at `index`. Sealing failures (e.g. CryptoFailure: key destroyed) propagate,
  // so the caller's transaction rolls back and nothing is stored.
  void bind(Statement& statement, int index, std::string_view kind, std::string_view object_id,
            std::string_view content);

  // The plaintext of `column` in the current row. Throws the sealer's error (Tampered,
  // CryptoFailure), naming the database file and `kind`: never returns ciphertext.
  std::string read(const Statement& statement, int column, std::string_view kind, std::string_view object_id,
                   const SqliteDb& db);

 private:
  crypto::Sealer* sealer_;
  const TenantContext& context_;
};

}  // namespace tenantai::memory::detail
