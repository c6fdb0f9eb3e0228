// TenantApi's audit routes: the tenant's records, its signed checkpoint, inclusion and
// consistency proofs, and the export bundle streamed to the client, so a tenant can verify its
// own log over HTTP with nothing but its pinned verifier key.
#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>

#include "server/query_params.h"
#include "tenantai/audit/event.h"
#include "tenantai/audit/sink.h"
#include "tenantai/server/tenant_api.h"

namespace tenantai::server {

namespace {

using nlohmann::json;

std::string b64(const audit::Hash& h) { return audit::to_base64(h.data(), h.size()); }

json b64_path(const std::vector<audit::Hash>& path) {
  json out = json::array();
  for (const auto& h : path) out.push_back(b64(h));
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The q value the Accept header gives `type` ("text/plain"): that of its most specific matching
// range (type/subtype over type/* over */*, RFC 9110 12.5.1), 0 when none matches.
double quality(std::string_view accept, std::string_view type) {
  const std::string_view major = type.substr(0, type.find('/'));
  int best_specificity = 0;
  double best_q = 0;
  while (!accept.empty()) {
    const auto comma = accept.find(',');
    const std::string_view element = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view() : accept.substr(comma + 1);
    const auto semi = element.find(';');
    const std::string range = lower(trim(element.substr(0, semi)));
    const int specificity = range == type ? 3 : range == std::string(major) + "/*" ? 2 : range == "*/*" ? 1 : 0;
    if (specificity <= best_specificity) continue;
    double q = 1;
    for (std::string_view params = semi == std::string_view::npos ? "" : element.substr(semi + 1); !params.empty();) {
      const auto next = params.find(';');
      const std::string param = lower(trim(params.substr(0, next)));
      if (param.rfind("q=", 0) == 0) q = std::strtod(param.c_str() + 2, nullptr);
      params = next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
    }
    best_specificity = specificity;
    best_q = q;
  }
  return best_q;
}

enum class NoteForm { Text, Json };

// text/plain unless the client prefers application/json; nullopt when it accepts neither.
std::optional<NoteForm> checkpoint_form(const HttpRequest& request) {
  const std::string accept = request.header("accept");
  if (trim(accept).empty()) return NoteForm::Text;
  const double text = quality(accept, "text/plain");
  const double json_q = quality(accept, "application/json");
  if (text <= 0 && json_q <= 0) return std::nullopt;
  return json_q > text ? NoteForm::Json : NoteForm::Text;
}

// An AuditSink that streams the bundle to the client. A write the client does not take ends the
// export (Unavailable); commit() has nothing to do: the server sends the last chunk when the
// export returns, and a failed export's body stays truncated.
class ResponseSink final : public audit::AuditSink {
 public:
  explicit ResponseSink(ResponseWriter& out) : out_(out) {}
  void write(std::string_view chunk) override {
    if (!out_.write(chunk)) throw Error(ErrorCode::Unavailable, "the client stopped reading the audit bundle");
  }
  void commit() override {}

 private:
  ResponseWriter& out_;
};

}  // namespace

std::string TenantApi::verifier_key_for(const TenantId& tenant) const { return layers_.audit_verifier_key(tenant); }

HttpResponse TenantApi::audit_records(const HttpRequest& request) {
  const auto context = authenticate(request);
  if (!context.has_capability(pipeline::kExportCapability) && !context.has_capability("audit:read")) {
    throw Error(ErrorCode::PermissionDenied, "reading the audit log needs capability admin:export or audit:read");
  }
  const auto first = detail::query_number(request, "first", 0);
  const auto count = std::min<std::uint64_t>(detail::query_number(request, "count", 100), options_.max_audit_records);
  auto [records, size] = with_tenant(context, [&](auto scope) {
    auto size_now = layers_.audit.size(scope);
    return std::make_pair(scope.release(layers_.audit.read(scope, first, count), "http.audit"), size_now);
  });
  json events = json::array();
  for (const auto& record : records) {
    json item{{"index", record.index}, {"timestamp_ms", record.timestamp_ms}, {"sealed", record.sealed},
              {"pruned", record.pruned}};
    if (record.event) item["event"] = json::parse(audit::to_json_line(context.tenant(), record.index, *record.event));
    events.push_back(std::move(item));
  }
  return HttpResponse::json(200, json{{"tenant", context.tenant().str()}, {"size", size}, {"records", events}}.dump());
}

HttpResponse TenantApi::audit_checkpoint(const HttpRequest& request) {
  const auto context = authenticate(request);
  const auto form = checkpoint_form(request);
  if (!form) return HttpResponse::error(406, "NotAcceptable", "the checkpoint is served as text/plain or application/json");
  // ?published=1: the newest checkpoint the tenant's witnesses cosigned (404 until there is
  // one); otherwise a checkpoint signed now over everything, cosigned if it is already published.
  const bool published_only = request.query.count("published") != 0 && request.query.at("published") == "1";
  auto [checkpoint, published] = with_tenant(context, [&](auto scope) {
    if (published_only) {
      return std::make_pair(scope.release(layers_.audit.published_checkpoint(scope), "http.audit.checkpoint"), true);
    }
    auto signed_now = scope.release(layers_.audit.checkpoint(scope), "http.audit.checkpoint");
    try {
      auto cosigned = scope.release(layers_.audit.published_checkpoint(scope), "http.audit.checkpoint");
      if (cosigned.size == signed_now.size && cosigned.root == signed_now.root) return std::make_pair(cosigned, true);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::NotFound) throw;
    }
    return std::make_pair(signed_now, false);
  });
  const std::string key = verifier_key_for(context.tenant());
  HttpResponse response;
  if (*form == NoteForm::Json) {
    response = HttpResponse::json(200, json{{"tenant", context.tenant().str()},
                                            {"size", checkpoint.size},
                                            {"checkpoint", checkpoint.note},
                                            {"verifier_key", key}}
                                           .dump());
  } else {
    response.content_type = "text/plain; charset=utf-8";
    response.body = checkpoint.note;
  }
  response.headers.emplace_back(kVerifierKeyHeader, key);
  response.headers.emplace_back("Vary", "Accept");
  response.headers.emplace_back("X-Tenantai-Published", published ? "true" : "false");
  return response;
}

HttpResponse TenantApi::audit_inclusion(const HttpRequest& request) {
  const auto context = authenticate(request);
  const auto index = detail::required_query_number(request, "index");
  const auto size = detail::required_query_number(request, "size");
  auto proof = with_tenant(context, [&](auto scope) {
    const auto log_size = layers_.audit.size(scope);
    if (size == 0 || size > log_size) {
      throw Error(ErrorCode::InvalidArgument, fmt::format("\"size\" must be between 1 and the log's size {}", log_size));
    }
    if (index >= size) throw Error(ErrorCode::InvalidArgument, fmt::format("\"index\" must be below \"size\" ({})", size));
    return scope.release(layers_.audit.prove_inclusion(scope, index, size), "http.audit.inclusion");
  });
  return HttpResponse::json(200, json{{"index", proof.index},
                                      {"tree_size", proof.tree_size},
                                      {"leaf", b64(proof.leaf)},
                                      {"path", b64_path(proof.path)}}
                                     .dump());
}

HttpResponse TenantApi::audit_consistency(const HttpRequest& request) {
  const auto context = authenticate(request);
  const auto old_size = detail::required_query_number(request, "old");
  const auto new_size = detail::required_query_number(request, "new");
  auto proof = with_tenant(context, [&](auto scope) {
    const auto log_size = layers_.audit.size(scope);
    if (new_size > log_size) {
      throw Error(ErrorCode::InvalidArgument, fmt::format("\"new\" must be at most the log's size {}", log_size));
    }
    if (old_size == 0 || old_size > new_size) {
      throw Error(ErrorCode::InvalidArgument, fmt::format("\"old\" must be between 1 and \"new\" ({})", new_size));
    }
    return scope.release(layers_.audit.prove_consistency(scope, old_size, new_size), "http.audit.consistency");
  });
  return HttpResponse::json(200, json{{"old_size", proof.old_size}, {"new_size", proof.new_size}, {"path", b64_path(proof.path)}}
                                     .dump());
}

HttpResponse TenantApi::audit_bundle(const HttpRequest& request) {
  const auto context = authenticate(request);
  // As POST /v1/tenant/export (TenantRegistry::export_tenant): the bundle holds the readable events.
  if (!context.has_capability(pipeline::kExportCapability)) {
    throw Error(ErrorCode::PermissionDenied, "the audit bundle needs capability admin:export");
  }
  HttpResponse response = HttpResponse::streamed(200, "application/x-ndjson", [this, context](ResponseWriter& out) {
    ResponseSink sink(out);
    with_tenant(context, [&](auto scope) { (void)scope.release(layers_.audit.export_bundle(scope, sink), "http.audit.bundle"); });
  });
  response.headers.emplace_back(kVerifierKeyHeader, verifier_key_for(context.tenant()));
  return response;
}

}  // namespace tenantai::server
