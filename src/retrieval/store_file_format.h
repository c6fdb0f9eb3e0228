// Internal: the on-disk form of one tenant's rows ("<tenant>.<generation>.tvec") — a header,
// the documents, and a BLAKE2b-256 trailer over everything before it — plus the crash-safe
// file helpers save() and open() share.
#pragma once

#include <string>
#include <vector>

#include "retrieval/tenant_rows.h"
#include "tenantai/core/tenant_id.h"

namespace tenantai::retrieval::detail {

// Serialises every row of `rows` for `tenant` (the caller holds the partition's read lock).
std::string encode_tenant_file(const TenantId& tenant, const TenantRows& rows, Metric metric);

// Parses a tenant file. `path` names the file in errors: StorageFailure when it is truncated or
// malformed, Tampered when its checksum fails or it belongs to another tenant than `tenant`.
std::vector<Document> decode_tenant_file(const std::string& bytes, const std::string& path, const TenantId& tenant,
                                         std::size_t dim, Metric metric);

// Lower-case hex BLAKE2b-256 of `bytes`.
std::string blake2b_hex(const std::string& bytes);

// Writing, syncing and reading whole files: tenantai::detail in core/durable_file.h.

}  // namespace tenantai::retrieval::detail
