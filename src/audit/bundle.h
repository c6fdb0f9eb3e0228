// Export bundle writer shared by AuditLog::export_bundle and the tenantai-audit CLI (internal).
#pragma once

#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "audit/record_codec.h"
#include "tenantai/audit/checkpoint.h"
#include "tenantai/audit/sink.h"

namespace tenantai::audit::detail {

// Opens a record's event for the "event" lines (nullopt: not readable, e.g. sealed or pruned).
using EventOpener = std::function<std::optional<AuditEvent>(const Frame&)>;

// Writes the bundle for the records in `log_bytes` (already verified) covered by the last of
// `checkpoints` (the bundle's size), then commits the sink. Lines, in order: header, every
// checkpoint, consistency proofs between consecutive checkpoints, every record frame, every
// readable event.
void write_bundle(const TenantId& tenant, std::string_view log_bytes, const std::vector<Checkpoint>& checkpoints,
                  const EventOpener& open_event, AuditSink& sink);

// The clear event of a frame, or nullopt when it is sealed, pruned or malformed.
std::optional<AuditEvent> clear_event(const Frame& frame);

}  // namespace tenantai::audit::detail
