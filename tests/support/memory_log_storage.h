// MemoryLogStorage: a second, complete LogStorage (records and notes kept in memory, one entry
// per record as a database row would be), so the audit behaviour tests run against more than
// the file format. Thread-safe: one mutex per tenant, one for the tenant map.
#pragma once

#include <tenantai/audit/log_storage.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace audit_test {

class MemoryLogStorage final : public tenantai::audit::LogStorage {
 public:
  struct Tenant {
    std::mutex mutex;
    std::vector<std::string> records;
    std::vector<std::string> notes;
  };

  std::unique_ptr<tenantai::audit::TenantLogStreams> open(const tenantai::TenantId& tenant,
                                                          tenantai::audit::OpenMode mode) override;
  void erase(const tenantai::TenantId& tenant) override;
  std::vector<tenantai::TenantId> tenants() override;

  // The stored state of `tenant` (created if absent), for tests that tamper with it.
  std::shared_ptr<Tenant> state(const tenantai::TenantId& tenant);

 private:
  std::mutex mutex_;
  std::map<tenantai::TenantId, std::shared_ptr<Tenant>> tenants_;
};

}  // namespace audit_test
