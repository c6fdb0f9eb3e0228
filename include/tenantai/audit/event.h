// AuditEvent: one thing that happened to a tenant's data, as recorded in its audit log.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tenantai/core/error.h"
#include "tenantai/core/tenant_id.h"

namespace tenantai::audit {

// What was done. Stable numbering (stored in the log); names are the JSON values.
enum class Operation : std::uint8_t {
  Read = 1,
  Write = 2,
  Decrypt = 3,
  Infer = 4,
  Retrieve = 5,
  CacheHit = 6,
  Export = 7,
  Erase = 8,
  OperatorAccess = 9,   // a SystemScope visit or an operator read of this log
  KeyUnwrap = 10,
  KeyRotate = 11,
  KeyDestroy = 12,
  GrantOperatorAccess = 13,
  RevokeOperatorAccess = 14,
  ToolCall = 15,
  Other = 16,
};

// "read", "cache_hit", "operator_access", ...
std::string_view to_string(Operation op) noexcept;
// Inverse of to_string; InvalidArgument naming the text when unknown.
Result<Operation> parse_operation(std::string_view text);

// One event. No plaintext of prompts or outputs by default: digests only (hex SHA-256 or
// similar, computed by the caller). Plain value type.
struct AuditEvent {
  Operation operation = Operation::Other;
  std::string actor{};           // empty: the appending context's actor
  std::string target{};          // object acted on (document id, cache key id, session, ...)
  std::string model_id{};        // gen_ai.request.model
  std::string prompt_version{};
  std::string request_id{};      // empty: the appending context's request id
  std::chrono::system_clock::time_point timestamp{};  // epoch: the log's clock at append
  std::string status = "ok";   // "ok" or an error code name
  std::string input_digest{};
  std::string output_digest{};
  std::string detail{};          // short non-sensitive note (reason, ticket, key version)
};

// A record as stored in the log, as seen by the tenant (body opened when it was sealed).
struct AuditRecord {
  std::uint64_t index = 0;
  std::int64_t timestamp_ms = 0;   // also stored in clear, for retention and redacted views
  bool sealed = false;             // the stored body is encrypted with the tenant's key
  bool pruned = false;             // body removed by retention; only the hash remains
  std::optional<AuditEvent> event; // nullopt when pruned, or sealed with a destroyed key
};

// A record as an operator sees it without a grant: index, time, operation class and status;
// actor, target, model, digests and detail are withheld.
struct RedactedRecord {
  std::uint64_t index = 0;
  std::int64_t timestamp_ms = 0;
  bool sealed = false;
  bool pruned = false;
  std::optional<Operation> operation;  // nullopt when the body is sealed or pruned
  std::string status{};                  // empty when sealed or pruned
};

// JSON object with OpenTelemetry GenAI names where one exists (gen_ai.request.model,
// enduser.id, ...) and tenantai.* otherwise; one line, no trailing newline.
std::string to_json_line(const TenantId& tenant, std::uint64_t index, const AuditEvent& event);

}  // namespace tenantai::audit
