// Bridges that feed other layers' events into tenants' audit logs.
#pragma once

#include "tenantai/audit/audit_log.h"
#include "tenantai/core/system_scope.h"
#include "tenantai/crypto/key_access_observer.h"

namespace tenantai::audit {

// AccessRecorder for SystemScope: every visit is appended (OperatorAccess) to the visited
// tenant's own log before the visit runs. Thread-safe; the log must outlive it. If the append
// fails, record() throws and the visit does not happen.
class AuditAccessRecorder final : public AccessRecorder {
 public:
  explicit AuditAccessRecorder(AuditLog& log) : log_(log) {}
  void record(const AccessRecord& record) override;

 private:
  AuditLog& log_;
};

// KeyAccessObserver for the crypto layer: every unwrap, decrypt, rotate and destroy is appended
// to the tenant's log (KeyUnwrap / Decrypt / KeyRotate / KeyDestroy). Decrypts of the audit log's
// own bodies (kind "audit-event") are not re-recorded, which would recurse. Thread-safe.
class AuditKeyAccessObserver final : public crypto::KeyAccessObserver {
 public:
  // The log is set after construction because the log's body sealer usually reports here.
  AuditKeyAccessObserver() = default;
  explicit AuditKeyAccessObserver(AuditLog& log) : log_(&log) {}
  void attach(AuditLog& log) noexcept { log_ = &log; }
  void on_key_access(const TenantContext& context, const crypto::KeyAccessEvent& event) override;

 private:
  AuditLog* log_ = nullptr;
};

}  // namespace tenantai::audit
