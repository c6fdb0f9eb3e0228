#include "tenantai/audit/recorders.h"

namespace tenantai::audit {

void AuditAccessRecorder::record(const AccessRecord& record) { log_.append_access(record); }

void AuditKeyAccessObserver::on_key_access(const TenantContext& context, const crypto::KeyAccessEvent& event) {
  if (log_ == nullptr) {
    throw Error(ErrorCode::Internal, "AuditKeyAccessObserver has no audit log attached; refusing unaudited key use");
  }
  // The log's own bodies: recording their decrypts would append while reading (and recurse).
  if (event.access == crypto::KeyAccess::Decrypt && event.kind == "audit-event") return;
  AuditEvent e;
  switch (event.access) {
    case crypto::KeyAccess::Unwrap: e.operation = Operation::KeyUnwrap; break;
    case crypto::KeyAccess::Decrypt: e.operation = Operation::Decrypt; break;
    case crypto::KeyAccess::Rotate: e.operation = Operation::KeyRotate; break;
    case crypto::KeyAccess::Destroy: e.operation = Operation::KeyDestroy; break;
  }
  e.target = event.kind.empty() ? std::string("key") : event.kind + "/" + event.object_id;
  e.status = event.ok ? "ok" : "Tampered";
  e.detail = "key version " + std::to_string(event.key_version);
  with_tenant(context, [&](auto scope) { (void)scope.release(log_->append(scope, std::move(e)), "audit index"); });
}

}  // namespace tenantai::audit
