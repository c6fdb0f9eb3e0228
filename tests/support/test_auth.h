// Test helper: real ApiKeyAuthenticator-backed contexts for any tenant/actor/groups.
#pragma once

#include <tenantai/core.h>

#include <string>
#include <vector>

namespace tenantai::test_support {

// Issues a key for the principal on a process-wide ApiKeyAuthenticator and authenticates it,
// so tests exercise the same path production does. Thread-safe.
TenantContext context_for(const std::string& tenant, const std::string& actor = "user",
                          std::vector<std::string> groups = {}, std::vector<std::string> capabilities = {});

// A well-formed API key secret for tests and fixtures: "tai_" + `name` padded with '0' to 43
// characters (names longer than 43 are cut). Deterministic, so configs can name it.
std::string fixed_secret(const std::string& name);

// A fresh empty temporary directory, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace tenantai::test_support
