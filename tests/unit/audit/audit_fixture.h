// Shared set-up for audit tests: a signer, a key provider + envelope sealer that reports into
// the log, and the log itself, all on disk in a temporary directory.
#pragma once

#include <tenantai/audit.h>
#include <tenantai/core.h>
#include <tenantai/crypto.h>

#include <filesystem>
#include <memory>
#include <string>

#include "support/test_auth.h"

namespace audit_test {

using namespace tenantai;
using namespace tenantai::audit;

// Appends `n` events for `ctx`, each with `canary` in its target, and returns the last index.
inline std::uint64_t append_n(AuditLog& log, const TenantContext& ctx, int n, const std::string& canary) {
  std::uint64_t last = 0;
  with_tenant(ctx, [&](auto scope) {
    for (int i = 0; i < n; ++i) {
      AuditEvent e;
      e.operation = Operation::Infer;
      e.target = canary + "-" + std::to_string(i);
      e.model_id = "model-x";
      e.input_digest = "sha256:" + std::to_string(i);
      last = scope.release(log.append(scope, e));
    }
  });
  return last;
}

struct AuditFixture {
  explicit AuditFixture(bool seal_bodies = true, AuditLogOptions base = {}) {
    keys = std::make_unique<crypto::LocalKeyProvider>(root() / "keys");
    sealer = std::make_unique<crypto::EnvelopeSealer>(*keys, root() / "keyrings", &key_observer);
    base.signer = &signer;
    base.body_sealer = seal_bodies ? sealer.get() : nullptr;
    log = std::make_unique<AuditLog>(root() / "audit", base);
    key_observer.attach(*log);
  }
  std::filesystem::path root() const { return std::filesystem::path(dir.path()); }
  CheckpointVerifier verifier() const { return CheckpointVerifier::parse(signer.verifier_key()).value(); }

  test_support::TempDir dir;
  CheckpointSigner signer = CheckpointSigner::generate("test-log");
  AuditKeyAccessObserver key_observer;
  std::unique_ptr<crypto::LocalKeyProvider> keys;
  std::unique_ptr<crypto::EnvelopeSealer> sealer;
  std::unique_ptr<AuditLog> log;
  TenantContext a = test_support::context_for("tenant-a");
  TenantContext b = test_support::context_for("tenant-b");
};

}  // namespace audit_test
