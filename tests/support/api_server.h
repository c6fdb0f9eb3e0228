// Test fixture: a Platform with its TenantApi on a real HttpServer on 127.0.0.1, serving tenants
// "alpha" and "beta" (enterprise tier, echo model, 8 KiB request limit), each with an "admin"
// key (admin:export, admin:offboard; secret fixed_secret("<tenant>Admin")) and a "viewer" key
// without capabilities (fixed_secret("<tenant>Viewer")). The operator token is "op-token".
#pragma once

#include <tenantai/core/time_source.h>
#include <tenantai/pipeline.h>
#include <tenantai/server/http_server.h>
#include <tenantai/server/tenant_api.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "support/http_client.h"
#include "support/test_auth.h"

namespace tenantai::test_support {

struct ApiServerOptions {
  // Where the platform keeps its data; empty: a temporary directory the server owns. Give the
  // same directory to a second server to test a restart (onboarding again is what a host does
  // on every start).
  std::filesystem::path data_dir;
  std::shared_ptr<const TimeSource> clock;      // nullptr: the system clock
  std::chrono::milliseconds metrics_audit_period{std::chrono::hours(1)};
};

// Starts serving in the constructor, stops in the destructor. Not thread-safe to construct;
// call() is thread-safe.
class ApiServer {
 public:
  explicit ApiServer(ApiServerOptions options = {});
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // One request with "Authorization: Bearer <key>" (and `headers`); a non-null body is sent as JSON.
  HttpResult call(const std::string& key, const std::string& method, const std::string& target,
                  const nlohmann::json& body = nullptr,
                  std::vector<std::pair<std::string, std::string>> headers = {});

  std::unique_ptr<TempDir> owned_dir;  // set when no data_dir was given
  std::filesystem::path data_dir;
  std::unique_ptr<pipeline::Platform> platform;
  std::unique_ptr<pipeline::TenantRegistry> registry;
  std::unique_ptr<pipeline::Pipeline> pipeline;
  std::unique_ptr<server::HttpServer> http;
  std::unique_ptr<server::TenantApi> api;
  std::uint16_t port = 0;
};

}  // namespace tenantai::test_support
