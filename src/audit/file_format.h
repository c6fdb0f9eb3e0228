// Headers of the audit files (internal; documented in docs/audit-format.md).
//
//   <tenant>.log          := log_header frame*          (format 0: frame* only, no header)
//   log_header            := magic "\x89TAUDIT\n" version:u16le tenant_len:u16le tenant
//   <tenant>.checkpoints  := "tenantai.audit.checkpoints <version> <tenant>\n" entry*
//                            (format 0: entry* only)
//   entry                 := "note " <decimal byte length> "\n" note
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "tenantai/core/tenant_id.h"

namespace tenantai::audit::detail {

inline constexpr std::uint16_t kLogFormat = 1;          // written by this build
inline constexpr std::uint16_t kCheckpointsFormat = 1;  // written by this build

// A parsed header: the format version and the header's length in bytes (0 for format 0).
struct FileHeader {
  std::uint16_t version = 0;
  std::size_t size = 0;
};

std::string log_header(const TenantId& tenant);
std::string checkpoints_header(const TenantId& tenant);

// Reads the header at the start of a file's bytes. Throws StorageFailure naming `path`, the
// version found and the versions this build reads when the version is unknown;
// IsolationViolation when the header names another tenant; Tampered when it is malformed.
FileHeader parse_log_header(std::string_view bytes, const TenantId& tenant, const std::filesystem::path& path);
FileHeader parse_checkpoints_header(std::string_view bytes, const TenantId& tenant,
                                    const std::filesystem::path& path);

}  // namespace tenantai::audit::detail
