// RecordingLayer: a host TenantLayer for the lifecycle tests. It records every call it gets
// into a shared journal as "<name>:<call>:<tenant>" (thread-safe) and can be told to refuse
// provisioning; its export writes <name>.txt, its erase counts 1 under its name.
#pragma once

#include <tenantai/pipeline/tenant_layer.h>

#include <mutex>
#include <string>
#include <vector>

namespace pipeline_test {

using namespace tenantai;

// Records every lifecycle call it gets into a shared journal, and can be told to fail.
class RecordingLayer final : public pipeline::TenantLayer {
 public:
  RecordingLayer(std::string name, std::vector<std::string>& journal, bool fail_provision = false)
      : name_(std::move(name)), journal_(journal), fail_provision_(fail_provision) {}
  std::string_view name() const noexcept override { return name_; }
  void provision(const TenantContext& t, const pipeline::TenantConfig&, pipeline::OnboardReport&) override {
    note("provision", t);
    if (fail_provision_) throw Error(ErrorCode::InvalidArgument, name_ + " refuses this tenant");
  }
  void rollback(const TenantContext& t, const pipeline::TenantConfig&, const pipeline::OnboardReport&) noexcept override {
    note("rollback", t);
  }
  void export_to(const TenantContext& t, pipeline::ExportManifest& manifest) override {
    note("export", t);
    pipeline::write_export_file(manifest, name_ + ".txt", "exported by " + name_ + " for " + t.tenant().str());
  }
  void erase(const TenantContext& t, pipeline::ErasureSummary& summary) override {
    note("erase", t);
    summary.count(name_, 1);
  }
  void verify(const TenantContext& t) override { note("verify", t); }

 private:
  void note(const std::string& what, const TenantContext& t) {
    std::lock_guard lock(mutex_);
    journal_.push_back(name_ + ":" + what + ":" + t.tenant().str());
  }
  std::string name_;
  std::vector<std::string>& journal_;
  bool fail_provision_;
  std::mutex mutex_;
};

}  // namespace pipeline_test
