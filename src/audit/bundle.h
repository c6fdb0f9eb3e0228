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

// A record's body as its tenant reads it: the clear body bytes and, for a format-2 sealed body,
// the salt its header's clear digest covers.
struct OpenedBody {
  std::string clear;
  std::string salt;
};

// Opens a record's body for the "event" lines (nullopt: not readable, e.g. the key was destroyed;
// the bundle then says "unreadable" for that index). Not called for pruned records.
using EventOpener = std::function<std::optional<OpenedBody>(const Frame&)>;

// The "event" line of record `index` (no newline): the OpenTelemetry-style event JSON and, for a
// sealed body, "tenantai.record.salt" and "tenantai.record.body" (base64), from which anyone
// holding the bundle can recompute the digest the record's header commits to. nullopt when the
// clear body is malformed.
std::optional<std::string> event_line(const TenantId& tenant, std::uint64_t index, const RecordHeader& header,
                                      const OpenedBody& body);
// Why `line` is not the event line record `index` (with `header`) renders to, or nullopt when it
// is. Sealed format-2 lines carry the salt and clear body; sealed format-1 lines cannot be checked
// and are accepted as they are.
std::optional<std::string> event_line_error(const TenantId& tenant, std::uint64_t index, const RecordHeader& header,
                                            std::string_view line);
// The clear-body check of a format-2 record: SHA-256 of the stored body (clear) or of salt ||
// clear body (sealed) equals what the header commits to. Format-1 clear records compare the stored
// body itself. False for a format-1 sealed record (nothing to check against).
bool body_matches(const RecordHeader& header, const OpenedBody& body);

// Writes the bundle for the records in `log_bytes` (already verified) covered by the last of
// `checkpoints` (the bundle's size), then commits the sink. Lines, in order: header, every
// checkpoint, consistency proofs between consecutive checkpoints, every record frame, then for
// each unpruned record its event line or {"type":"unreadable","index":i}.
// `rotations`: key-rotation notes with the number of checkpoints before each, written as
// checkpoint lines in stream order so a verifier pinned to an old key follows the chain.
using RotationNotes = std::vector<std::pair<std::size_t, std::string>>;
void write_bundle(const TenantId& tenant, std::string_view log_bytes, const std::vector<Checkpoint>& checkpoints,
                  const EventOpener& open_event, AuditSink& sink, const RotationNotes& rotations = {});

// The clear body of a frame, or nullopt when it is sealed or pruned.
std::optional<OpenedBody> clear_body(const Frame& frame);

}  // namespace tenantai::audit::detail
