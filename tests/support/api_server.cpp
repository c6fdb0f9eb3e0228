#include "support/api_server.h"

#include <tenantai/inference/echo_model.h>
#include <tenantai/inference/hashing_embedder.h>

namespace tenantai::test_support {

ApiServer::ApiServer(ApiServerOptions options) : data_dir(std::move(options.data_dir)) {
  if (data_dir.empty()) {
    owned_dir = std::make_unique<TempDir>();
    data_dir = std::filesystem::path(owned_dir->path()) / "data";
  }
  pipeline::PlatformOptions platform_options;
  platform_options.data_dir = data_dir;
  platform_options.backend = std::make_shared<inference::EchoModel>();
  platform_options.embedder = std::make_shared<inference::HashingEmbedder>();
  platform_options.clock = options.clock;
  platform = std::make_unique<pipeline::Platform>(std::move(platform_options));
  registry = std::make_unique<pipeline::TenantRegistry>(*platform);
  pipeline = std::make_unique<pipeline::Pipeline>(*platform);
  {
    SystemScope system(platform->access_recorder(), "test", "provision api test tenants");
    for (const std::string tenant : {"alpha", "beta"}) {
      pipeline::TenantConfig config{TenantId(tenant)};
      config.tier = "enterprise";
      config.models.model = "echo-small";
      config.quotas.max_request_bytes = 8192;
      config.api_keys.push_back({"admin", {"staff"}, {"admin:export", "admin:offboard"}, fixed_secret(tenant + "Admin")});
      config.api_keys.push_back({"viewer", {"staff"}, {}, fixed_secret(tenant + "Viewer")});
      registry->onboard(system, config);
    }
  }
  server::HttpServerOptions http_options;
  http_options.max_body_bytes = 64 << 10;
  http_options.read_timeout = std::chrono::milliseconds(500);
  http = std::make_unique<server::HttpServer>(http_options);
  server::TenantApiOptions api_options{"op-token", data_dir.parent_path() / "exports"};
  api_options.metrics_audit_period = options.metrics_audit_period;
  api = std::make_unique<server::TenantApi>(*http, *platform, *pipeline, *registry, std::move(api_options));
  http->start();
  port = http->port();
}

ApiServer::~ApiServer() { http->stop(); }

HttpResult ApiServer::call(const std::string& key, const std::string& method, const std::string& target,
                           const nlohmann::json& body, std::vector<std::pair<std::string, std::string>> headers) {
  headers.emplace_back("Authorization", "Bearer " + key);
  return http_call(port, method, target, body.is_null() ? "" : body.dump(), headers);
}

}  // namespace tenantai::test_support
