// AuditSigners: one Ed25519 checkpoint-signing key per tenant log (key name = the log's origin,
// as C2SP tlog-checkpoint asks), sealed by the KeyProvider's service-key wrapping, so whoever
// holds the data directory but not the KeyProvider's master key (or HSM/KMS) can read the keys'
// files yet neither sign a checkpoint nor authenticate a record.
//
// File <dir>/<tenant>.signer (mode 0600, written atomically):
//   tenantai-audit-signer 1 alg=ed25519 wrap=key-provider
//   <kek_version> <base64 wrapped seed>
//   <verifier key>                       (public; checked against the unsealed key on load)
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "tenantai/audit/checkpoint.h"
#include "tenantai/core/tenant_id.h"
#include "tenantai/crypto/key_provider.h"

namespace tenantai::pipeline::detail {

// Thread-safe (one mutex). The KeyProvider must outlive this.
class AuditSigners {
 public:
  AuditSigners(crypto::KeyProvider& keys, std::filesystem::path dir);

  // The tenant's signer: unsealed from its file, or created (and its file written) on first use.
  // Throws CryptoFailure / Tampered (the file does not open with the KeyProvider, or its public
  // line differs from the unsealed key) or StorageFailure, naming the file.
  std::shared_ptr<const audit::CheckpointSigner> signer_for(const TenantId& tenant);

  // Key rotation: a fresh key is made, `apply(next)` lets the log sign its rotation statement
  // with the current key, then the new key's file replaces the old one (atomically) and becomes
  // current. Throws what apply or the file write throw (apply failing changes nothing). A crash
  // between apply and the write leaves a stream naming a key no file holds: that tenant's log is
  // then refused (Tampered, named), never silently signed by the old key.
  std::shared_ptr<const audit::CheckpointSigner> rotate(
      const TenantId& tenant, const std::function<void(std::shared_ptr<const audit::CheckpointSigner>)>& apply);

  // The verifier key of the tenant's log, read from its file without unsealing (empty if none).
  static std::string verifier_key_in(const std::filesystem::path& dir, const TenantId& tenant);

  std::filesystem::path path_of(const TenantId& tenant) const;

 private:
  std::shared_ptr<const audit::CheckpointSigner> load(const TenantId& tenant);
  std::shared_ptr<const audit::CheckpointSigner> create(const TenantId& tenant);
  // A fresh signer for the tenant and its sealed file text.
  std::pair<std::shared_ptr<const audit::CheckpointSigner>, std::string> fresh(const TenantId& tenant);

  crypto::KeyProvider& keys_;
  std::filesystem::path dir_;
  std::mutex mutex_;
  std::map<TenantId, std::shared_ptr<const audit::CheckpointSigner>> cache_;
};

}  // namespace tenantai::pipeline::detail
