// Bridges that feed other layers' events into tenants' audit logs.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include "tenantai/audit/audit_log.h"
#include "tenantai/core/system_scope.h"
#include "tenantai/core/time_source.h"
#include "tenantai/crypto/key_access_observer.h"

namespace tenantai::audit {

// AccessRecorder for SystemScope: every visit is appended (OperatorAccess) to the visited
// tenant's own log before the visit runs. Thread-safe; the log must outlive it. If the append
// fails, record() throws and the visit does not happen.
//
// Visits that allow it (AccessRecord::coalesce_within > 0, e.g. /metrics scrapes) are coalesced
// per (tenant, operator, reason, ticket): the first of a period is appended at once (fail closed
// as above) and opens the period [t0, t0 + coalesce_within); later identical visits in it are
// only counted; the first visit after it is appended with "previous period: N visits in
// [t0, t1)". flush() (and destruction) appends the counts of periods still open. Periods and
// the coalesced records' times come from `clock`, so they follow the platform's time source.
class AuditAccessRecorder final : public AccessRecorder {
 public:
  // `clock` nullptr: the system clock.
  explicit AuditAccessRecorder(AuditLog& log, std::shared_ptr<const TimeSource> clock = nullptr);
  // flush(); a failure is reported on stderr (a destructor cannot throw).
  ~AuditAccessRecorder() override;
  void record(const AccessRecord& record) override;
  // Appends "summary: N visits in [t0, now)" for every open period with visits not yet in the
  // log, and ends those periods (the next identical visit is appended at once). Throws what the
  // log throws; the counts not written stay pending. Thread-safe.
  void flush();

 private:
  struct Period {
    std::chrono::system_clock::time_point start;
    std::chrono::milliseconds length{0};
    std::uint64_t visits = 0;  // in the period, the recorded first one included
    AccessRecord first;        // the recorded first visit (operator, reason, ticket, tenant)
  };
  using Key = std::tuple<TenantId, std::string, std::string, std::string>;  // tenant, operator, reason, ticket
  void record_coalesced(const AccessRecord& record);

  AuditLog& log_;
  std::shared_ptr<const TimeSource> clock_;
  std::mutex mutex_;  // held while a coalesced record is appended, so no visit is counted unrecorded
  std::map<Key, Period> periods_;
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
