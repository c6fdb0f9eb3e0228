// A real tenant audit log (tenantai::audit::AuditLog, its key named after its origin) that the
// witness tests grow and checkpoint, and helpers to build add-checkpoint request bodies from its
// checkpoints and consistency proofs. Shared by tests/unit/audit/witness_test.cpp and
// tests/integration/witness/. Not thread-safe (one test at a time).
#pragma once

#include <tenantai/audit.h>
#include <tenantai/audit/witness.h>
#include <tenantai/core.h>

#include <memory>
#include <string>
#include <vector>

#include "support/test_auth.h"

namespace witness_test {

using namespace tenantai;
using namespace tenantai::audit;

// One tenant's log. Two instances built with the same `signer_from` share a key: the second is
// then a rewritten history of the first, signed by the same (stolen) key.
class TenantLogUnderTest {
 public:
  explicit TenantLogUnderTest(const std::string& tenant, const TenantLogUnderTest* signer_from = nullptr)
      : ctx_(test_support::context_for(tenant)),
        own_signer_(signer_from ? nullptr
                                : std::make_unique<CheckpointSigner>(CheckpointSigner::generate(origin_for(TenantId(tenant))))),
        signer_(signer_from ? signer_from->signer_ : own_signer_.get()),
        log_(std::filesystem::path(dir_.path()) / "audit", AuditLogOptions{.signer = signer_}) {}

  // Appends `n` events whose target carries `tag`, then signs a checkpoint over everything.
  Checkpoint grow(int n, const std::string& tag = "event") {
    return with_tenant(ctx_, [&](auto scope) {
      for (int i = 0; i < n; ++i) {
        log_.append(scope, AuditEvent{.operation = Operation::Infer, .target = tag + "-" + std::to_string(i)});
      }
      return scope.release(log_.checkpoint(scope));
    });
  }
  // RFC 9162 consistency proof between two sizes of this log (empty for old_size 0).
  std::vector<Hash> proof(std::uint64_t old_size, std::uint64_t new_size) {
    if (old_size == 0) return {};
    return with_tenant(ctx_, [&](auto scope) {
      return scope.release(log_.prove_consistency(scope, old_size, new_size)).path;
    });
  }
  std::string origin() const { return origin_for(ctx_.tenant()); }
  const CheckpointSigner& signer() const { return *signer_; }
  WitnessedLog witnessed() const { return {origin(), signer_->verifier_key()}; }

 private:
  test_support::TempDir dir_;
  TenantContext ctx_;
  std::unique_ptr<CheckpointSigner> own_signer_;
  const CheckpointSigner* signer_;
  AuditLog log_;
};

// The tlog-witness add-checkpoint body: "old N\n", base64 proof lines, "\n", the note.
inline std::string request_body(std::uint64_t old_size, const std::vector<Hash>& proof, const std::string& note) {
  std::string body = "old " + std::to_string(old_size) + "\n";
  for (const auto& h : proof) body += to_base64(h.data(), h.size()) + "\n";
  return body + "\n" + note;
}

}  // namespace witness_test
