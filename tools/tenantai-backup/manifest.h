// The backup manifest (manifest.json at the top of a backup directory): what the backup holds
// and the digest of every file, read back before a restore writes anything.
//
//   {"format": "tenantai-backup", "version": 1, "created_at": "2024-05-01T12:00:00Z",
//    "scope": "data_dir" | "tenant", "tenant": "<id, scope tenant only>",
//    "digest": "blake2b-256", "audit_verifier_key": "<key of the data_dir's audit signer>",
//    "files": [{"path": "audit/acme.log", "owner": "tenant", "tenant": "acme",
//               "size": 1234, "mode": 384, "blake2b": "<hex>"}, ...],
//    "tenants": [{"id": "acme", "audit": {"signed_size": 12, "signed_root": "<base64>",
//                                         "events": 12} | null, "audit_error": "<why>"?}]}
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tenantai::backup {

inline constexpr const char* kManifestFormat = "tenantai-backup";
inline constexpr int kManifestVersion = 1;
inline constexpr const char* kManifestName = "manifest.json";
inline constexpr const char* kFilesDir = "files";  // file copies: <backup>/files/<path>

struct ManifestFile {
  std::string path;    // relative to data_dir, generic form
  std::string owner;   // "shared", "tenant", "records" or "other"
  std::string tenant;  // owner "tenant" only
  std::uint64_t size = 0;
  unsigned mode = 0600;
  std::string blake2b;
};

// A tenant's audit log as of its last signed checkpoint.
struct AuditSignedState {
  std::uint64_t signed_size = 0;  // records covered by the last checkpoint
  std::string signed_root;        // its root hash, base64
  std::uint64_t events = 0;       // records in the log file (signed or not)
};

struct ManifestTenant {
  std::string id;
  std::optional<AuditSignedState> audit;  // nullopt: no audit log (or it did not verify)
  std::string audit_error;                // why the log did not verify, if it did not
};

struct Manifest {
  int version = kManifestVersion;
  std::string created_at;
  std::string scope = "data_dir";  // or "tenant"
  std::string tenant;              // scope "tenant" only
  std::string audit_verifier_key;  // empty when the data_dir had no audit signer
  std::vector<ManifestFile> files;
  std::vector<ManifestTenant> tenants;

  const ManifestTenant* find_tenant(const std::string& id) const;
};

// The current UTC time as manifests and restore records write it ("2024-05-01T12:00:00Z").
std::string utc_now();

// JSON text of the manifest.
std::string to_json(const Manifest& manifest);

// Parses manifest text read from `path`. Error(InvalidArgument) naming the file for malformed
// JSON, another format, an unknown version ("version 2; this tool reads version 1") or a file
// path that leaves the backup (absolute, "..").
Manifest parse_manifest(const std::string& text, const std::filesystem::path& path);

}  // namespace tenantai::backup
