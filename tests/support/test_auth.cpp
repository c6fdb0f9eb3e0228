#include "support/test_auth.h"

#include <filesystem>
#include <random>
#include <stdexcept>

namespace tenantai::test_support {

TenantContext context_for(const std::string& tenant, const std::string& actor,
                          std::vector<std::string> groups, std::vector<std::string> capabilities) {
  static ApiKeyAuthenticator auth;
  auto key = auth.issue({TenantId(tenant), actor, std::move(groups), std::move(capabilities)});
  return auth.authenticate(key.secret).value();
}

std::string fixed_secret(const std::string& name) {
  std::string body = name;
  body.resize(43, '0');
  return "tai_" + body;
}

TempDir::TempDir() {
  namespace fs = std::filesystem;
  std::random_device rd;
  for (int attempt = 0; attempt < 100; ++attempt) {
    fs::path p = fs::temp_directory_path() / ("tenantai-test-" + std::to_string(rd()) + std::to_string(rd()));
    if (fs::create_directory(p)) {
      path_ = p.string();
      return;
    }
  }
  throw std::runtime_error("could not create a temporary directory");
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace tenantai::test_support
