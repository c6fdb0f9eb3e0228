#include "tenantai/server/tenant_api.h"

#include <sodium.h>

#include <chrono>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "server/query_params.h"
#include "tenantai/pipeline/platform.h"

namespace tenantai::server {

namespace {

using nlohmann::json;

json parse_object(const HttpRequest& request) {
  auto body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) throw Error(ErrorCode::InvalidArgument, "request body is not valid JSON");
  if (!body.is_object()) throw Error(ErrorCode::InvalidArgument, "request body must be a JSON object");
  return body;
}

std::string string_field(const json& object, const char* name, bool required, std::size_t max_bytes) {
  if (!object.contains(name)) {
    if (required) throw Error(ErrorCode::InvalidArgument, fmt::format("missing field \"{}\"", name));
    return {};
  }
  if (!object[name].is_string()) throw Error(ErrorCode::InvalidArgument, fmt::format("field \"{}\" must be a string", name));
  auto value = object[name].get<std::string>();
  if (value.size() > max_bytes) {
    throw Error(ErrorCode::InvalidArgument, fmt::format("field \"{}\" is longer than {} bytes", name, max_bytes));
  }
  return value;
}

std::size_t count_field(const json& object, const char* name, std::size_t fallback, std::size_t max) {
  if (!object.contains(name)) return fallback;
  if (!object[name].is_number_unsigned()) {
    throw Error(ErrorCode::InvalidArgument, fmt::format("field \"{}\" must be a non-negative integer", name));
  }
  const auto value = object[name].get<std::uint64_t>();
  if (value > max) throw Error(ErrorCode::InvalidArgument, fmt::format("field \"{}\" must be at most {}", name, max));
  return static_cast<std::size_t>(value);
}

std::vector<std::string> string_list(const json& object, const char* name) {
  std::vector<std::string> out;
  if (!object.contains(name)) return out;
  if (!object[name].is_array()) throw Error(ErrorCode::InvalidArgument, fmt::format("field \"{}\" must be an array", name));
  for (const auto& item : object[name]) {
    if (!item.is_string()) throw Error(ErrorCode::InvalidArgument, fmt::format("field \"{}\" must hold strings", name));
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::string time_tag() {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count());
}

// Compares fixed-length BLAKE2b-256 digests, so the time taken says nothing about the token's
// length or its first differing byte.
bool tokens_equal(std::string_view presented, std::string_view expected) {
  unsigned char a[crypto_generichash_BYTES];
  unsigned char b[crypto_generichash_BYTES];
  crypto_generichash(a, sizeof a, reinterpret_cast<const unsigned char*>(presented.data()), presented.size(), nullptr, 0);
  crypto_generichash(b, sizeof b, reinterpret_cast<const unsigned char*>(expected.data()), expected.size(), nullptr, 0);
  return sodium_memcmp(a, b, sizeof a) == 0;
}

}  // namespace

namespace detail {

std::uint64_t query_number(const HttpRequest& request, const std::string& name, std::uint64_t fallback) {
  auto it = request.query.find(name);
  if (it == request.query.end()) return fallback;
  if (it->second.empty() || it->second.size() > 18 ||
      it->second.find_first_not_of("0123456789") != std::string::npos) {
    throw Error(ErrorCode::InvalidArgument, fmt::format("query parameter \"{}\" must be a non-negative integer", name));
  }
  return std::stoull(it->second);
}

std::uint64_t required_query_number(const HttpRequest& request, const std::string& name) {
  if (request.query.find(name) == request.query.end()) {
    throw Error(ErrorCode::InvalidArgument, fmt::format("missing query parameter \"{}\" (a non-negative integer)", name));
  }
  return query_number(request, name, 0);
}

}  // namespace detail

TenantApiLayers tenant_api_layers(pipeline::Platform& platform) {
  return {platform.authenticator(), platform.meter(),           platform.budgets(),
          platform.audit(),         platform.access_recorder(),
          [&platform](const TenantId& tenant) { return platform.audit_verifier_key(tenant); }};
}

TenantApi::TenantApi(HttpServer& server, pipeline::Platform& platform, pipeline::Pipeline& pipeline,
                     pipeline::TenantRegistry& registry, TenantApiOptions options)
    : TenantApi(server, pipeline, registry, tenant_api_layers(platform), std::move(options)) {}

TenantApi::TenantApi(HttpServer& server, pipeline::Pipeline& pipeline, pipeline::TenantRegistry& registry,
                     TenantApiLayers layers, TenantApiOptions options)
    : pipeline_(pipeline), registry_(registry), layers_(std::move(layers)), options_(std::move(options)) {
  server.route("POST", "/v1/documents", [this](const HttpRequest& r) { return documents(r); });
  server.route("DELETE", "/v1/documents", [this](const HttpRequest& r) { return remove_document(r); });
  server.route("POST", "/v1/query", [this](const HttpRequest& r) { return query(r); });
  server.route("POST", "/v1/chat", [this](const HttpRequest& r) { return chat(r); });
  server.route("POST", "/v1/chat/completions", [this](const HttpRequest& r) { return chat(r); });
  server.route("GET", "/v1/usage", [this](const HttpRequest& r) { return usage(r); });
  server.route("GET", "/v1/audit", [this](const HttpRequest& r) { return audit_records(r); });
  server.route("GET", "/v1/audit/checkpoint", [this](const HttpRequest& r) { return audit_checkpoint(r); });
  server.route("GET", "/v1/audit/proof/inclusion", [this](const HttpRequest& r) { return audit_inclusion(r); });
  server.route("GET", "/v1/audit/proof/consistency", [this](const HttpRequest& r) { return audit_consistency(r); });
  server.route("GET", "/v1/audit/bundle", [this](const HttpRequest& r) { return audit_bundle(r); });
  server.route("POST", "/v1/tenant/export", [this](const HttpRequest& r) { return export_tenant(r); });
  server.route("DELETE", "/v1/tenant", [this](const HttpRequest& r) { return offboard(r); });
  server.route("GET", "/metrics", [this](const HttpRequest& r) { return metrics(r); });
  server.route("GET", "/healthz", [](const HttpRequest&) { return HttpResponse::json(200, R"({"status":"ok"})"); });
}

TenantContext TenantApi::authenticate(const HttpRequest& request) const {
  const auto token = request.bearer_token();
  if (token.empty()) throw Error(ErrorCode::Unauthenticated, "missing \"Authorization: Bearer <api key>\" header");
  auto context = layers_.authenticator.authenticate(token);
  if (!context) throw context.error();
  return *context;
}

HttpResponse TenantApi::documents(const HttpRequest& request) {
  const auto context = authenticate(request);
  const auto body = parse_object(request);
  if (!body.contains("documents") || !body["documents"].is_array()) {
    throw Error(ErrorCode::InvalidArgument, "field \"documents\" must be an array");
  }
  if (body["documents"].size() > options_.max_documents_per_request) {
    throw Error(ErrorCode::InvalidArgument,
                fmt::format("at most {} documents per request", options_.max_documents_per_request));
  }
  std::vector<pipeline::IngestDocument> documents;
  for (const auto& item : body["documents"]) {
    if (!item.is_object()) throw Error(ErrorCode::InvalidArgument, "each document must be an object");
    pipeline::IngestDocument doc;
    doc.id = string_field(item, "id", true, 256);
    doc.title = string_field(item, "title", false, 1024);
    doc.text = string_field(item, "text", true, 1 << 20);
    doc.acl_groups = string_list(item, "acl_groups");
    documents.push_back(std::move(doc));
  }
  const auto count = with_tenant(context, [&](auto scope) { return pipeline_.ingest(scope, documents); });
  return HttpResponse::json(200, json{{"ingested", count}}.dump());
}

HttpResponse TenantApi::remove_document(const HttpRequest& request) {
  const auto context = authenticate(request);
  auto id = request.query.find("id");
  if (id == request.query.end() || id->second.empty() || id->second.size() > 256) {
    throw Error(ErrorCode::InvalidArgument, "query parameter \"id\" must name the document (1..256 bytes)");
  }
  const auto removed = with_tenant(context, [&](auto scope) { return pipeline_.remove_documents(scope, {id->second}); });
  return HttpResponse::json(200, json{{"removed", removed}}.dump());
}

HttpResponse TenantApi::query(const HttpRequest& request) {
  const auto context = authenticate(request);
  const auto body = parse_object(request);
  pipeline::QueryRequest query;
  query.text = string_field(body, "query", true, 1 << 20);
  query.k = count_field(body, "k", 4, 1000);
  auto passages = with_tenant(context, [&](auto scope) {
    return scope.release(pipeline_.query(scope, query), "http.query");
  });
  json results = json::array();
  for (const auto& p : passages) results.push_back({{"id", p.id}, {"title", p.title}, {"text", p.text}, {"score", p.score}});
  return HttpResponse::json(200, json{{"results", results}}.dump());
}

HttpResponse TenantApi::chat(const HttpRequest& request) {
  const auto context = authenticate(request);
  const auto body = parse_object(request);
  pipeline::ChatRequest chat;
  if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty()) {
    throw Error(ErrorCode::InvalidArgument, "field \"messages\" must be a non-empty array");
  }
  for (const auto& item : body["messages"]) {
    if (!item.is_object()) throw Error(ErrorCode::InvalidArgument, "each message must be an object");
    chat.messages.push_back({string_field(item, "role", true, 32), string_field(item, "content", true, 1 << 20)});
  }
  chat.max_tokens = count_field(body, "max_tokens", 256, 1'000'000);
  chat.session = string_field(body, "session", false, 256);
  chat.model = string_field(body, "model", false, 256);
  chat.adapter = string_field(body, "adapter", false, 256);
  chat.k = count_field(body, "k", 4, 1000);
  if (body.contains("cache")) {
    if (!body["cache"].is_boolean()) throw Error(ErrorCode::InvalidArgument, "field \"cache\" must be a boolean");
    chat.use_cache = body["cache"].get<bool>();
  }
  auto answer = with_tenant(context, [&](auto scope) {
    return scope.release(pipeline_.chat(scope, chat), "http.chat");
  });
  json response{
      {"id", "chatcmpl-" + answer.request_id},
      {"object", "chat.completion"},
      {"model", answer.model},
      {"choices", json::array({{{"index", 0},
                                {"message", {{"role", "assistant"}, {"content", answer.text}}},
                                {"finish_reason", "stop"}}})},
      {"usage",
       {{"prompt_tokens", answer.input_tokens},
        {"completion_tokens", answer.output_tokens},
        {"total_tokens", answer.input_tokens + answer.output_tokens}}},
      {"tenantai",
       {{"tenant", context.tenant().str()},
        {"citations", answer.citations},
        {"cache", answer.cache},
        {"adapter", answer.adapter},
        {"prompt_version", answer.prompt_version},
        {"cost_micros", answer.cost},
        {"clamped", answer.clamped},
        {"refused_tools", answer.refused_tools}}}};
  return HttpResponse::json(200, response.dump());
}

HttpResponse TenantApi::usage(const HttpRequest& request) {
  const auto context = authenticate(request);
  auto [usage, summary] = with_tenant(context, [&](auto scope) {
    return std::make_pair(scope.release(layers_.meter.to_json(scope), "http.usage"),
                          scope.release(layers_.budgets.tenant_summary(scope), "http.budget"));
  });
  json out{{"tenant", context.tenant().str()},
           {"usage", usage},
           {"budget",
            {{"day", {{"spent_micros", summary.day.spent}, {"reserved_micros", summary.day.reserved}}},
             {"month", {{"spent_micros", summary.month.spent}, {"reserved_micros", summary.month.reserved}}}}}};
  return HttpResponse::json(200, out.dump());
}

HttpResponse TenantApi::export_tenant(const HttpRequest& request) {
  const auto context = authenticate(request);
  if (options_.export_dir.empty()) throw Error(ErrorCode::Unavailable, "this server has no export directory");
  const auto dir = options_.export_dir / (context.tenant().str() + "-export-" + time_tag());
  auto manifest = with_tenant(context, [&](auto scope) {
    return scope.release(registry_.export_tenant(scope, dir), "http.export");
  });
  return HttpResponse::json(200, json{{"tenant", context.tenant().str()},
                                      {"directory", manifest.directory.string()},
                                      {"files", manifest.files},
                                      {"audit_size", manifest.audit_size},
                                      {"audit_checkpoint", manifest.audit_checkpoint}}
                                     .dump());
}

HttpResponse TenantApi::offboard(const HttpRequest& request) {
  const auto context = authenticate(request);
  if (options_.export_dir.empty()) throw Error(ErrorCode::Unavailable, "this server has no export directory");
  const auto dir = options_.export_dir / (context.tenant().str() + "-offboard-" + time_tag());
  auto receipt = with_tenant(context, [&](auto scope) {
    return scope.release(registry_.offboard(scope, dir), "http.offboard");
  });
  return HttpResponse::json(200, json{{"receipt", json::parse(receipt.json)},
                                      {"signature", receipt.signature},
                                      {"verifier_key", receipt.verifier_key},
                                      {"export_directory", dir.string()}}
                                     .dump());
}

HttpResponse TenantApi::metrics(const HttpRequest& request) {
  if (options_.operator_token.empty() || !tokens_equal(request.bearer_token(), options_.operator_token)) {
    throw Error(ErrorCode::Unauthenticated, "/metrics needs the operator token");
  }
  // Identical scrapes within the period are one record per tenant (see TenantApiOptions).
  SystemScopeOptions scope_options;
  scope_options.coalesce_within = options_.metrics_audit_period;
  SystemScope system(layers_.access_recorder, "metrics-scraper", "Prometheus scrape of per-tenant usage counters",
                     std::move(scope_options));
  HttpResponse response;
  response.status = 200;
  response.content_type = "text/plain; version=0.0.4";
  response.body = layers_.meter.prometheus(system);
  return response;
}

}  // namespace tenantai::server
