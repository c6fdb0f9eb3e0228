// Pipeline: one request through every layer — admission, caches, retrieval with the actor's
// ACL, conversation memory, the tenant's prompt, the fair-scheduled model call, tool calls,
// budget settle, metering and audit. The order, stage by stage, is written once, in
// docs/architecture.md ("One request"), and the code follows it (src/pipeline/chat_flow.h).
// Every step runs in the caller's branded scope; nothing is looked up by a bare string.
//
//   auto answer = with_tenant(ctx, [&](auto scope) {
//     return scope.release(pipeline.chat(scope, {.messages = {{"user", "What is our policy?"}}}));
//   });
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tenantai/core/scope.h"
#include "tenantai/inference/backend.h"
#include "tenantai/metering/price_table.h"
#include "tenantai/pipeline/pipeline_layers.h"
#include "tenantai/retrieval/document.h"
#include "tenantai/tools/tool_registry.h"

namespace tenantai::pipeline {

// One document to ingest.
struct IngestDocument {
  std::string id;                       // unique inside the tenant (replaces an existing one)
  std::string title;
  std::string text;                     // non-empty
  std::vector<std::string> acl_groups;  // empty: every actor of the tenant
  retrieval::Metadata metadata;         // optional, usable as a query filter
};

// A retrieved passage (a whole document here: the demo documents are short).
struct Passage {
  std::string id;
  std::string title;
  std::string text;
  float score = 0.f;
};

struct QueryRequest {
  std::string text;            // non-empty
  std::size_t k = 4;           // 1..PlatformOptions::max_retrieved_passages
  retrieval::Filter filter;
};

struct ChatRequest {
  std::vector<inference::ChatMessage> messages;  // the last one must have role "user"
  std::string session;          // non-empty: history is read from and written to memory
  std::string agent = "assistant";
  std::string model;            // "" = the tenant's routing decides
  std::string adapter;          // "" = the tenant's default adapter
  std::size_t max_tokens = 256; // 1..4096; may be clamped by the remaining budget
  std::size_t k = 4;            // passages to retrieve (0 = no retrieval)
  bool use_cache = true;        // stateless requests only (a session's answer depends on history)
  std::string feature = "chat"; // metering label
};

struct ChatAnswer {
  std::string text;
  std::vector<std::string> citations;  // ids of the documents the model was given
  std::string model;
  std::string adapter;
  std::string prompt_version;
  std::string request_id;
  std::string cache = "miss";          // "miss", "exact", "semantic", "off"
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  metering::Micros cost = 0;           // charged against the tenant's budget (0 on a cache hit)
  bool clamped = false;                // max_tokens was lowered to fit the budget
  std::vector<tools::ToolResult> tool_results;
  std::vector<std::string> refused_tools;  // tool calls the model asked for and was refused
};

// Thread-safe: any number of requests, of any tenants, run concurrently. The layers (the
// platform's, or a test's) must outlive the pipeline. Errors are thrown as tenantai::Error, never swallowed:
// NotFound (tenant not provisioned — fail closed), InvalidArgument (malformed or oversize
// request; the message says which limit), RateLimited, BudgetExceeded, PermissionDenied
// (another tenant's adapter, a tool the actor may not use when no answer is possible),
// DeadlineExceeded, Unavailable (backend), CryptoFailure (offboarded tenant's key),
// TenantUnavailable (quarantined tenant). A chat of a provisioned tenant appends exactly one
// audit event, whatever the outcome (Infer, or CacheHit; status "ok" or the error code,
// invalid requests included); a failed request releases its budget reservation.
class Pipeline {
 public:
  // On the layers given (a unit test's fakes, a host's own wiring).
  explicit Pipeline(PipelineLayers layers) : layers_(layers) {}
  // On a platform's own layers (pipeline_layers(platform)).
  explicit Pipeline(Platform& platform) : Pipeline(pipeline_layers(platform)) {}

  // Embeds and stores documents (all validated first, ACL write checks included: a batch with one
  // document the actor may not write writes nothing and throws PermissionDenied). Audited as one
  // Write event per document, refusals included.
  template <typename Tag>
  std::size_t ingest(const TenantScope<Tag>& scope, const std::vector<IngestDocument>& documents) {
    return ingest_impl(scope.context(), documents);
  }

  // Removes documents (text and vector) by id; ids that do not exist are skipped. The actor must
  // be allowed to write each document (DocumentLibrary::check_write): PermissionDenied, audited,
  // stops at the first refused id. Returns how many were removed; each removal is audited.
  template <typename Tag>
  std::size_t remove_documents(const TenantScope<Tag>& scope, const std::vector<std::string>& ids) {
    return remove_impl(scope.context(), ids);
  }

  // Retrieval only: the tenant's passages the actor may read, best first.
  template <typename Tag>
  Scoped<std::vector<Passage>, Tag> query(const TenantScope<Tag>& scope, const QueryRequest& request) {
    return scope.bind(query_impl(scope.context(), request));
  }

  // The whole flow (see the top of this file). Token estimates for admission and the budget
  // reservation are the backend's tokenizer's (InferenceBackend::tokenizer()); the budget is
  // charged the usage the backend reports.
  template <typename Tag>
  Scoped<ChatAnswer, Tag> chat(const TenantScope<Tag>& scope, const ChatRequest& request) {
    return scope.bind(chat_impl(scope.context(), request));
  }

  const PipelineLayers& layers() const noexcept { return layers_; }

 private:
  std::size_t ingest_impl(const TenantContext& context, const std::vector<IngestDocument>& documents);
  std::size_t remove_impl(const TenantContext& context, const std::vector<std::string>& ids);
  std::vector<Passage> query_impl(const TenantContext& context, const QueryRequest& request);
  ChatAnswer chat_impl(const TenantContext& context, const ChatRequest& request);

  PipelineLayers layers_;
  std::atomic<std::uint64_t> next_call_{0};  // distinguishes budget holds of one request context
};

// Hex SHA-256 of `data` (audit digests). Never throws except std::bad_alloc.
std::string sha256_hex(std::string_view data);

}  // namespace tenantai::pipeline
