#include "tenantai/pipeline/pipeline.h"

#include <fmt/format.h>
#include <sodium.h>

#include "tenantai/audit/event.h"
#include "tenantai/corpus/corpus_store.h"
#include "tenantai/metering/meter.h"
#include "pipeline/chat_flow.h"
#include "pipeline/chat_request.h"
#include "pipeline/retrieval_step.h"

namespace tenantai::pipeline {

std::string sha256_hex(std::string_view data) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return std::string(hex, crypto_hash_sha256_BYTES * 2);
}

namespace {

// The tenant's config, after its state was verified and restored (TenantDirectory::ensure_ready):
// NotFound for an unknown tenant, TenantUnavailable for a quarantined one.
std::shared_ptr<const TenantConfig> provisioned(const PipelineLayers& layers, const TenantContext& context) {
  auto config = layers.tenants.tenant_config(context.tenant());
  if (!config) {
    throw Error(ErrorCode::NotFound,
                fmt::format("tenant '{}' is not provisioned", escape_for_message(context.tenant().str())));
  }
  layers.tenants.ensure_ready(context);
  return *config;
}

corpus::CorpusDocument corpus_document(const IngestDocument& doc, std::vector<float> vector) {
  return {doc.id, doc.title, doc.text, doc.acl_groups, doc.metadata, std::move(vector)};
}

template <typename Tag>
void audit_event(const PipelineLayers& layers, const TenantScope<Tag>& scope, audit::AuditEvent event) {
  layers.audit.append(scope, std::move(event));
}

// Group commit of a request's audit events: commit() before the response leaves makes them
// durable (concurrent requests share one fdatasync) and throws if they cannot be; a request
// that fails on the way still gets a best-effort sync of its failure event.
template <typename Tag>
class DurableRequest {
 public:
  DurableRequest(const PipelineLayers& layers, const TenantScope<Tag>& scope) : layers_(layers), scope_(scope) {}
  DurableRequest(const DurableRequest&) = delete;
  DurableRequest& operator=(const DurableRequest&) = delete;
  ~DurableRequest() {
    if (committed_) return;
    try {
      layers_.audit.sync(scope_);
    } catch (...) {  // NOLINT(bugprone-empty-catch): the request's own error is what propagates
    }
  }
  template <typename T>
  T commit(T result) {
    layers_.audit.sync(scope_);
    committed_ = true;
    return result;
  }

 private:
  const PipelineLayers& layers_;
  const TenantScope<Tag>& scope_;
  bool committed_ = false;
};

// One Write event per document (status "ok" or the refusal's code).
template <typename Tag>
void audit_write(const PipelineLayers& layers, const TenantScope<Tag>& scope, const std::string& target, const std::string& text,
                 std::string_view status) {
  audit::AuditEvent event;
  event.operation = audit::Operation::Write;
  event.target = target;
  if (!text.empty()) event.input_digest = sha256_hex(text);
  event.status = std::string(status);
  audit_event(layers, scope, std::move(event));
}

// Writes are access-checked like reads, all of a batch before any of it is written; a refusal
// is audited before it is thrown.
template <typename Tag>
void check_writes(const PipelineLayers& layers, const TenantScope<Tag>& scope, const std::vector<IngestDocument>& documents) {
  for (const auto& doc : documents) {
    try {
      layers.documents.check_write(scope, doc.id, doc.acl_groups);
    } catch (const Error& error) {
      audit_write(layers, scope, "document:" + doc.id, doc.text, to_string(error.code()));
      throw;
    }
  }
}

}  // namespace

std::size_t Pipeline::ingest_impl(const TenantContext& context, const std::vector<IngestDocument>& documents) {
  auto config = provisioned(layers_, context);
  for (const auto& doc : documents) {
    if (doc.text.empty()) throw Error(ErrorCode::InvalidArgument, fmt::format("document '{}' has no text", escape_for_message(doc.id)));
    detail::check_request_size(fmt::format("document '{}'", escape_for_message(doc.id)), doc.text.size(), *config);
  }
  return with_tenant(context, [&](auto scope) {
    DurableRequest durable(layers_, scope);
    check_writes(layers_, scope, documents);
    std::vector<std::string> texts;
    texts.reserve(documents.size());
    for (const auto& doc : documents) texts.push_back(doc.title + "\n" + doc.text);
    auto vectors = layers_.embedder.embed(texts);
    if (vectors.size() != documents.size()) throw Error(ErrorCode::Unavailable, "the embedder returned too few vectors");
    // The system of record first: durable (group commit) before anything is acknowledged, and
    // idempotent, so a client's retry after a lost response changes nothing.
    std::vector<corpus::CorpusDocument> records;
    records.reserve(documents.size());
    for (std::size_t i = 0; i < documents.size(); ++i) records.push_back(corpus_document(documents[i], vectors[i]));
    layers_.corpus.put(scope, records);
    for (std::size_t i = 0; i < documents.size(); ++i) {
      const auto& doc = documents[i];
      // The text first: its write re-checks the ACL atomically, so a refused write touches no vector.
      try {
        layers_.documents.put(scope, StoredText{doc.id, doc.title, doc.text, doc.acl_groups}, config->encryption_required);
      } catch (const Error& error) {
        if (error.code() == ErrorCode::PermissionDenied) audit_write(layers_, scope, "document:" + doc.id, doc.text, "PermissionDenied");
        throw;
      }
      layers_.vectors.upsert(scope, retrieval::Document{doc.id, std::move(vectors[i]), doc.acl_groups, doc.metadata});
      audit_write(layers_, scope, "document:" + doc.id, doc.text, "ok");
    }
    return durable.commit(documents.size());
  });
}

std::size_t Pipeline::remove_impl(const TenantContext& context, const std::vector<std::string>& ids) {
  (void)provisioned(layers_, context);
  return with_tenant(context, [&](auto scope) {
    DurableRequest durable(layers_, scope);
    std::size_t removed = 0;
    for (const auto& id : ids) {
      try {
        layers_.documents.check_write(scope, id, {});  // the existing document's ACL groups
      } catch (const Error& error) {
        audit_write(layers_, scope, "document:" + id, "", to_string(error.code()));
        throw;
      }
    }
    layers_.corpus.remove(scope, ids);  // durable first, like ingest
    for (const auto& id : ids) {
      const bool existed = layers_.documents.remove(scope, id);
      layers_.vectors.remove(scope, id);
      if (existed) {
        ++removed;
        audit_write(layers_, scope, "document:" + id, "", "ok: removed");
      }
    }
    return durable.commit(removed);
  });
}

std::vector<Passage> Pipeline::query_impl(const TenantContext& context, const QueryRequest& request) {
  auto config = provisioned(layers_, context);
  if (request.text.empty()) throw Error(ErrorCode::InvalidArgument, "query text must not be empty");
  detail::check_request_size("query", request.text.size(), *config);
  if (request.k == 0 || request.k > layers_.max_retrieved_passages) {
    throw Error(ErrorCode::InvalidArgument, fmt::format("k must be between 1 and {}, not {}",
                                                        layers_.max_retrieved_passages, request.k));
  }
  return with_tenant(context, [&](auto scope) {
    DurableRequest durable(layers_, scope);
    layers_.limiter.admit(scope, 1);
    auto query = detail::embed_text(layers_, scope, request.text);
    auto passages = detail::retrieve(layers_, scope, query, request.k, request.filter);
    std::vector<std::string> ids;
    for (const auto& p : passages) ids.push_back(p.id);
    metering::UsageEvent usage;
    usage.feature = "query";
    usage.model = config->models.model;
    usage.retrieval_calls = 1;
    (void)layers_.meter.record(scope, usage);
    audit::AuditEvent event;
    event.operation = audit::Operation::Retrieve;
    event.target = "documents";
    event.detail = detail::audit_json({{"documents", ids}});
    event.input_digest = sha256_hex(request.text);
    audit_event(layers_, scope, std::move(event));
    return durable.commit(std::move(passages));
  });
}

// The request order of docs/architecture.md ("One request"); each step is a ChatFlow stage.
ChatAnswer Pipeline::chat_impl(const TenantContext& context, const ChatRequest& request) {
  auto config = provisioned(layers_, context);  // unknown or quarantined tenants: no audit log to write
  return with_tenant(context, [&](auto scope) {
    detail::ChatFlow flow(layers_, scope, *config, request,
                          fmt::format("chat-{}", next_call_.fetch_add(1, std::memory_order_relaxed)));
    return flow.audit().outcome_of([&] {
      flow.validate();
      flow.admit();
      flow.route_and_render_prompt();
      if (flow.answered_from_cache()) return flow.finish_from_cache();
      flow.retrieve_passages();
      flow.read_history();
      flow.build_prompt();
      flow.reserve_budget();
      flow.call_model();
      flow.run_tools();
      flow.settle_and_meter();
      flow.store_in_cache();
      flow.write_memory();
      return flow.finish();
    });
  });
}

}  // namespace tenantai::pipeline
