#include "support/memory_log_storage.h"

#include <algorithm>

namespace audit_test {

namespace {

using namespace tenantai;
using namespace tenantai::audit;

class MemoryStreams final : public TenantLogStreams {
 public:
  MemoryStreams(std::shared_ptr<MemoryLogStorage::Tenant> state, const TenantId& tenant, OpenMode mode)
      : state_(std::move(state)), name_("memory:" + tenant.str()), mode_(mode) {}

  std::string records_name() const override { return name_ + "/records"; }
  std::string checkpoints_name() const override { return name_ + "/checkpoints"; }

  RecordScan scan_records(const std::function<bool(std::string_view)>& visit) override {
    std::lock_guard lock(state_->mutex);
    RecordScan scan;
    scan.records = state_->records.size();
    for (const auto& r : state_->records) {
      if (!visit(r)) break;
    }
    return scan;
  }

  std::string read_records(std::uint64_t first, std::uint64_t count) override {
    std::lock_guard lock(state_->mutex);
    std::string out;
    for (std::uint64_t i = first; i < state_->records.size() && i - first < count; ++i) out += state_->records[i];
    return out;
  }

  void append_records(std::uint64_t first_index, std::span<const std::string_view> frames) override {
    writable();
    std::lock_guard lock(state_->mutex);
    if (first_index != state_->records.size()) {
      std::string why = "append at record ";
      why += std::to_string(first_index);
      why += " to ";
      why += records_name();
      throw Error(ErrorCode::InvalidArgument, why);
    }
    for (auto f : frames) state_->records.emplace_back(f);
  }

  void sync_records() override { writable(); }
  void sync_records_shared(std::unique_lock<std::mutex>&) override { writable(); }
  void wait_idle(std::unique_lock<std::mutex>&) override {}

  void truncate_records(std::uint64_t keep) override {
    writable();
    std::lock_guard lock(state_->mutex);
    state_->records.resize(std::min<std::uint64_t>(keep, state_->records.size()));
  }

  void replace_records(std::span<const std::string_view> frames) override {
    writable();
    std::lock_guard lock(state_->mutex);
    state_->records.assign(frames.begin(), frames.end());
  }

  CheckpointScan read_checkpoints() override {
    std::lock_guard lock(state_->mutex);
    return {state_->notes, false};
  }

  void append_checkpoint(std::string_view note) override {
    writable();
    std::lock_guard lock(state_->mutex);
    state_->notes.emplace_back(note);
  }

  void truncate_checkpoints(std::uint64_t keep) override {
    writable();
    std::lock_guard lock(state_->mutex);
    state_->notes.resize(std::min<std::uint64_t>(keep, state_->notes.size()));
  }

 private:
  void writable() const {
    if (mode_ != OpenMode::ReadWrite) throw Error(ErrorCode::Internal, name_ + " was opened read-only");
  }

  std::shared_ptr<MemoryLogStorage::Tenant> state_;
  std::string name_;
  OpenMode mode_;
};

}  // namespace

std::unique_ptr<TenantLogStreams> MemoryLogStorage::open(const TenantId& tenant, OpenMode mode) {
  std::lock_guard lock(mutex_);
  auto it = tenants_.find(tenant);
  if (it == tenants_.end()) {
    if (mode == OpenMode::ReadOnly) throw Error(ErrorCode::NotFound, "no audit log for tenant \"" + tenant.str() + "\" in memory");
    it = tenants_.emplace(tenant, std::make_shared<Tenant>()).first;
  }
  return std::make_unique<MemoryStreams>(it->second, tenant, mode);
}

void MemoryLogStorage::erase(const TenantId& tenant) {
  std::lock_guard lock(mutex_);
  tenants_.erase(tenant);
}

std::vector<TenantId> MemoryLogStorage::tenants() {
  std::lock_guard lock(mutex_);
  std::vector<TenantId> out;
  for (const auto& [id, state] : tenants_) out.push_back(id);
  return out;
}

std::shared_ptr<MemoryLogStorage::Tenant> MemoryLogStorage::state(const TenantId& tenant) {
  std::lock_guard lock(mutex_);
  auto& slot = tenants_[tenant];
  if (!slot) slot = std::make_shared<Tenant>();
  return slot;
}

}  // namespace audit_test
