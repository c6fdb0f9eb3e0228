// TenantApi: the multi-tenant REST surface over a Pipeline, mounted on an HttpServer. API keys
// (Authorization: Bearer tai_...) map to tenants through the Authenticator (a platform's
// ApiKeyAuthenticator by default);
// every route runs in that tenant's branded scope and can only ever see that tenant's data.
//
//   POST   /v1/documents          {"documents":[{"id","title","text","acl_groups"}]}
//   DELETE /v1/documents?id=ID    remove one document (the actor must hold its ACL groups)
//   POST   /v1/query              {"query": "...", "k": 4}
//   POST   /v1/chat               OpenAI-style {"messages":[...], "max_tokens", "session"?, "model"?}
//   GET    /v1/usage              the caller's tenant usage and budget
//   GET    /v1/audit              ?first=&count=  the caller's tenant audit records (admin:export)
//   GET    /v1/audit/checkpoint   a fresh signed checkpoint (own tenant): the C2SP signed note
//                                 as text/plain, or JSON {tenant,size,checkpoint,verifier_key}
//                                 for "Accept: application/json"; the verifier key also in the
//                                 X-Tenantai-Verifier-Key header
//   GET    /v1/audit/proof/inclusion?index=I&size=N    {index,tree_size,leaf,path} (base64 hashes)
//   GET    /v1/audit/proof/consistency?old=A&new=B     {old_size,new_size,path}
//   GET    /v1/audit/bundle       the export bundle, streamed as chunked JSON Lines (admin:export)
//   POST   /v1/tenant/export      export bundle into the server's export directory (admin:export)
//   DELETE /v1/tenant             offboard the caller's tenant (admin:offboard) → erasure receipt
//   GET    /metrics               Prometheus text, tenant-labelled (operator token only); audited
//                                 once per tenant per TenantApiOptions::metrics_audit_period
// (docs/http-api.md has the details.)
//   GET    /healthz               liveness, no authentication, no tenant data
#pragma once

#include <chrono>
#include <functional>
#include <filesystem>
#include <string>

#include "tenantai/audit/audit_log.h"
#include "tenantai/core/authenticator.h"
#include "tenantai/core/system_scope.h"
#include "tenantai/metering/budget.h"
#include "tenantai/metering/meter.h"
#include "tenantai/pipeline/pipeline.h"
#include "tenantai/pipeline/tenant_registry.h"
#include "tenantai/server/http_server.h"

namespace tenantai::pipeline {
class Platform;
}  // namespace tenantai::pipeline

namespace tenantai::server {

// What the routes use besides the Pipeline and the TenantRegistry, by reference: a platform's
// (tenant_api_layers()), or a unit test's fakes; each must outlive the TenantApi.
struct TenantApiLayers {
  Authenticator& authenticator;      // bearer token → tenant context (fails closed)
  metering::Meter& meter;            // GET /v1/usage, /metrics
  metering::BudgetManager& budgets;  // GET /v1/usage
  audit::AuditLog& audit;            // GET /v1/audit, /v1/audit/checkpoint, proofs, bundle
  AccessRecorder& access_recorder;   // the /metrics scrape's SystemScope is recorded here
  // The verifier key of a tenant's log, returned with its checkpoint, proofs and bundle (may
  // throw as Platform::audit_verifier_key does). Must be thread-safe.
  std::function<std::string(const TenantId&)> audit_verifier_key;
};

// The response header naming the verifier key ("<name>+<hash>+<key>") of the log a checkpoint,
// proof or bundle comes from. An auditor pins its own copy; this one is for comparison.
inline constexpr const char* kVerifierKeyHeader = "X-Tenantai-Verifier-Key";

// The platform's own. Never throws except std::bad_alloc.
TenantApiLayers tenant_api_layers(pipeline::Platform& platform);

struct TenantApiOptions {
  // Bearer token that opens /metrics (operator only; empty = /metrics always 401).
  std::string operator_token;
  // Where POST /v1/tenant/export and DELETE /v1/tenant write bundles: <dir>/<tenant>-<time>/.
  std::filesystem::path export_dir;
  std::size_t max_documents_per_request = 256;
  std::size_t max_audit_records = 1000;  // per GET /v1/audit
  // A /metrics scrape visits every tenant with usage; identical scrapes (same operator and
  // reason) within this period are one audit record per tenant, the first at once and the
  // count in the next period's record (see SystemScopeOptions::coalesce_within). 0: one record
  // per tenant per scrape.
  std::chrono::milliseconds metrics_audit_period{std::chrono::hours(1)};
};

// Registers the routes on `server` (before server.start()). Not copyable; the pipeline,
// registry and server must outlive it. Handlers are thread-safe. Errors become JSON
// {"error":{"code","message"}} with the status http_status_for() gives; a malformed JSON body
// is 400 InvalidArgument, an unknown/missing key 401, another tenant's ids simply do not exist.
class TenantApi {
 public:
  TenantApi(HttpServer& server, pipeline::Pipeline& pipeline, pipeline::TenantRegistry& registry,
            TenantApiLayers layers, TenantApiOptions options);
  // On a platform's own layers (tenant_api_layers(platform)).
  TenantApi(HttpServer& server, pipeline::Platform& platform, pipeline::Pipeline& pipeline,
            pipeline::TenantRegistry& registry, TenantApiOptions options);
  TenantApi(const TenantApi&) = delete;
  TenantApi& operator=(const TenantApi&) = delete;

 private:
  TenantContext authenticate(const HttpRequest& request) const;
  HttpResponse documents(const HttpRequest& request);
  HttpResponse remove_document(const HttpRequest& request);
  HttpResponse query(const HttpRequest& request);
  HttpResponse chat(const HttpRequest& request);
  HttpResponse usage(const HttpRequest& request);
  HttpResponse audit_records(const HttpRequest& request);
  HttpResponse audit_checkpoint(const HttpRequest& request);
  HttpResponse audit_inclusion(const HttpRequest& request);
  HttpResponse audit_consistency(const HttpRequest& request);
  HttpResponse audit_bundle(const HttpRequest& request);
  // The verifier key of `tenant`'s log: every route that names one asks here.
  std::string verifier_key_for(const TenantId& tenant) const;
  HttpResponse export_tenant(const HttpRequest& request);
  HttpResponse offboard(const HttpRequest& request);
  HttpResponse metrics(const HttpRequest& request);

  pipeline::Pipeline& pipeline_;
  pipeline::TenantRegistry& registry_;
  TenantApiLayers layers_;
  TenantApiOptions options_;
};

}  // namespace tenantai::server
