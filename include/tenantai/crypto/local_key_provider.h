// LocalKeyProvider: a KeyProvider backed by a master key file on local disk, for single-node
// deployments and tests. Per-tenant key-encryption keys are derived with crypto_kdf.
#pragma once

#include <filesystem>
#include <map>
#include <mutex>
#include <string>

#include "tenantai/crypto/key_provider.h"

namespace tenantai::crypto {

// Layout of `directory` (formats: docs/formats.md):
//   master.key            "TAMK" | u8 format version (1) | 32 random bytes, created whole with
//                         mode 0600 on first use (written aside, then linked into place). A
//                         file of exactly 32 bytes (format 0, before versioning) is read as it
//                         is and never rewritten. Refused (CryptoFailure naming the file): not a
//                         regular file, accessible by group/others, unknown version, wrong size.
//   <tenant>.kek          header "tenantai-kek 1 kdf=blake2b256-kdf wrap=xchacha20poly1305-ietf",
//                         then one line per KEK version: "<version> <salt hex>", or "destroyed".
//                         A file without the header (format 0) is read and gets the header on
//                         its next write; an unknown version or algorithm is refused
//                         (StorageFailure naming the file).
// KEK(tenant, v) = crypto_kdf_derive_from_key(id = v, ctx "tai-kek_",
//                    key = BLAKE2b-256(key = master, "tenantai/kek/" tenant salt_v)).
// The per-version random salt is what destroy() erases (file overwritten, fsynced, replaced by a
// tombstone), so even the master key cannot re-derive a destroyed tenant's KEKs.
// Wrapping is XChaCha20-Poly1305 with associated data "tenantai/dek|<tenant>|<version>".
// Service keys: KEK(purpose) = BLAKE2b-256(key = master, "tenantai/service/" purpose), wrapping
// with associated data "tenantai/service|<purpose>" (kek_version 1).
// Thread-safe (one mutex; wrap/unwrap are microseconds).
class LocalKeyProvider final : public KeyProvider {
 public:
  // Opens or creates the key directory. Throws StorageFailure (cannot create/read, naming the
  // path) or CryptoFailure (master key of the wrong size, unknown format version or with unsafe
  // permissions, naming the path).
  explicit LocalKeyProvider(std::filesystem::path directory);
  ~LocalKeyProvider() override;
  LocalKeyProvider(const LocalKeyProvider&) = delete;
  LocalKeyProvider& operator=(const LocalKeyProvider&) = delete;

  WrappedKey wrap(const TenantContext& context, const KeyLease& data_key) override;
  Result<KeyLease> unwrap(const TenantContext& context, const WrappedKey& wrapped) override;
  std::uint32_t rotate(const TenantContext& context) override;
  std::uint32_t current_version(const TenantContext& context) override;
  void destroy(const TenantContext& context) override;
  bool destroyed(const TenantContext& context) override;
  WrappedKey wrap_service_key(std::string_view purpose, const KeyLease& key) override;
  Result<KeyLease> unwrap_service_key(std::string_view purpose, const WrappedKey& wrapped) override;

  const std::filesystem::path& directory() const noexcept { return directory_; }

 private:
  struct TenantKeks;
  TenantKeks& load_locked(const TenantId& tenant);
  void store_locked(const TenantId& tenant, const TenantKeks& keks);
  void add_version_locked(const TenantId& tenant, TenantKeks& keks);
  KeyLease derive_locked(const TenantId& tenant, const TenantKeks& keks, std::uint32_t version);

  std::filesystem::path directory_;
  KeyLease master_;
  std::mutex mutex_;
  std::map<TenantId, TenantKeks> cache_;
};

}  // namespace tenantai::crypto
