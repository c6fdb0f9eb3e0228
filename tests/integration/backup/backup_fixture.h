// Shared set-up for the backup tests: a data_dir with three tenants built through the real
// Platform / TenantRegistry / Pipeline, and the shipped tenantai-backup binary run as a process.
#pragma once

#include <tenantai/audit/verify.h>
#include <tenantai/core.h>
#include <tenantai/pipeline.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace backup_test {

namespace fs = std::filesystem;

inline const std::vector<std::pair<std::string, bool>> kTenants = {
    {"acme-bank", true}, {"globex", false}, {"initech", true}};  // (id, corpus sealed)

// One process lifetime of the platform on a data directory that outlives it.
struct Life {
  std::unique_ptr<tenantai::pipeline::Platform> platform;
  std::unique_ptr<tenantai::pipeline::TenantRegistry> registry;
  std::unique_ptr<tenantai::pipeline::Pipeline> pipeline;

  explicit Life(const fs::path& data_dir);
  ~Life();
  tenantai::TenantContext login(const std::string& tenant, const std::string& actor) const;
  void ingest(const std::string& tenant, const std::string& doc_id, const std::string& text);
  // The ids of the documents a query of `tenant`'s teller finds (one line per passage).
  std::string query(const std::string& tenant, const std::string& text);
  void remember(const std::string& tenant, const std::string& content);
  std::vector<std::string> memories(const std::string& tenant);
  // verify_log of the tenant's audit log with this platform's verifier.
  tenantai::Result<tenantai::audit::VerifyReport> verify_audit(const std::string& tenant);
};

// Builds the three tenants with a document and a memory each (the platform is then stopped).
void populate(const fs::path& data_dir);

struct Run {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs the tenantai-backup binary with `args` (shell-quoted here) and waits for it.
Run run_tool(const std::vector<std::string>& args);

// BLAKE2b hex of every file under `dir` (relative path → digest), except the .lock file.
std::map<std::string, std::string> digests_under(const fs::path& dir);

}  // namespace backup_test
