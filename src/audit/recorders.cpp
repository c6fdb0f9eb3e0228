#include "tenantai/audit/recorders.h"

#include <fmt/format.h>

#include <cstdio>
#include <ctime>

namespace tenantai::audit {

namespace {

// UTC, millisecond precision: "2026-05-01T10:00:00.000Z".
std::string utc(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03}Z", text, ms % 1000);
}

// "N visits in [from, to)", or "[from, to]" for a period cut short at `to` (a flush).
std::string visits_in(std::uint64_t visits, std::chrono::system_clock::time_point from,
                      std::chrono::system_clock::time_point to, bool to_included) {
  return fmt::format("{} visits in [{}, {}{}", visits, utc(from), utc(to), to_included ? "]" : ")");
}

}  // namespace

AuditAccessRecorder::AuditAccessRecorder(AuditLog& log, std::shared_ptr<const TimeSource> clock)
    : log_(log), clock_(clock ? std::move(clock) : system_time_source()) {}

AuditAccessRecorder::~AuditAccessRecorder() {
  try {
    flush();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tenantai: coalesced operator-access counts not recorded: %s\n", e.what());
  }
}

void AuditAccessRecorder::record(const AccessRecord& record) {
  if (record.coalesce_within.count() > 0) return record_coalesced(record);
  log_.append_access(record);
}

void AuditAccessRecorder::record_coalesced(const AccessRecord& record) {
  const auto now = clock_->wall();
  std::lock_guard lock(mutex_);
  const Key key{record.tenant, record.operator_id, record.reason, record.ticket};
  auto it = periods_.find(key);
  if (it != periods_.end() && now >= it->second.start && now < it->second.start + it->second.length) {
    ++it->second.visits;  // its period's first visit is in the log already
    return;
  }
  // The first visit of a period: in the log before it runs, with the count of the period before.
  AccessRecord first = record;
  first.at = now;
  first.reason = fmt::format("{} (first of its period: identical visits until {} are counted, not recorded one by one",
                             record.reason, utc(now + record.coalesce_within));
  if (it != periods_.end() && it->second.visits > 1) {
    const Period& previous = it->second;
    first.reason += "; previous period: " + visits_in(previous.visits, previous.start, previous.start + previous.length, false);
  }
  first.reason += ")";
  log_.append_access(first);  // throws: nothing changes, the visit does not happen
  periods_.insert_or_assign(key, Period{now, record.coalesce_within, 1, record});
}

void AuditAccessRecorder::flush() {
  const auto now = clock_->wall();
  std::lock_guard lock(mutex_);
  for (auto it = periods_.begin(); it != periods_.end();) {
    const Period& period = it->second;
    if (period.visits > 1) {
      AccessRecord summary = period.first;
      summary.at = now;
      summary.request_id.clear();  // it stands for many requests, not the first one's
      const auto end = period.start + period.length;
      summary.reason = fmt::format("{} (summary: {})", period.first.reason,
                                   now < end ? visits_in(period.visits, period.start, now, true)
                                             : visits_in(period.visits, period.start, end, false));
      log_.append_access(summary);  // throws: this and the later periods stay pending
    }
    it = periods_.erase(it);
  }
}

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
