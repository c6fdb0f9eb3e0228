// PipelineLayers: the layers one request goes through, by reference — what a Pipeline (and the
// built-in search_docs tool) depends on, and nothing more. pipeline_layers(platform) gives a
// platform's own; a unit test fills the struct with fakes and needs no Platform, data_dir or
// key files.
#pragma once

#include <cstddef>

#include "tenantai/audit/audit_log.h"
#include "tenantai/cache/embedding_cache.h"
#include "tenantai/cache/response_cache_store.h"
#include "tenantai/cache/semantic_cache.h"
#include "tenantai/corpus/corpus_store.h"
#include "tenantai/inference/backend.h"
#include "tenantai/inference/model_router.h"
#include "tenantai/memory/memory_store.h"
#include "tenantai/metering/budget.h"
#include "tenantai/metering/meter.h"
#include "tenantai/metering/rate_limiter.h"
#include "tenantai/pipeline/document_library.h"
#include "tenantai/pipeline/tenant_directory.h"
#include "tenantai/prompt/prompt_registry.h"
#include "tenantai/retrieval/vector_store.h"
#include "tenantai/tools/tool_registry.h"

namespace tenantai::metering {
class FairScheduler;  // tenantai/metering/fair_scheduler.h
}  // namespace tenantai::metering

namespace tenantai::pipeline {

class Platform;

// Not owning: whoever fills it (the Platform, or a test) keeps every layer alive for as long as
// a Pipeline or tool built on it runs. Every layer is itself thread-safe.
struct PipelineLayers {
  TenantDirectory& tenants;          // configs, readiness, quarantine
  audit::AuditLog& audit;            // one event per request, durable before the response
  metering::RateLimiter& limiter;
  metering::BudgetManager& budgets;
  metering::Meter& meter;
  metering::FairScheduler& scheduler;  // in front of `backend`
  inference::InferenceBackend& backend;
  inference::EmbeddingBackend& embedder;
  inference::ModelRouter& router;
  prompt::PromptRegistry& prompts;   // publishes the answer template (kAnswerTemplate)
  tools::ToolRegistry& tools;
  corpus::CorpusStore& corpus;       // the system of record for documents and vectors
  DocumentLibrary& documents;
  retrieval::VectorStore& vectors;
  memory::MemoryStore& memory;
  cache::ResponseCacheStore& response_cache;
  cache::SemanticCache& semantic_cache;
  cache::EmbeddingCache& embedding_cache;
  std::size_t max_retrieved_passages = 8;  // per request
};

// The name of the system prompt template every tenant's overlay applies to.
inline constexpr const char* kAnswerTemplate = "tenantai.answer";
// That template (identity, the isolation rule, topics, escalation), as a Platform publishes it;
// a host filling PipelineLayers itself publishes it in its PromptRegistry. Never throws except
// std::bad_alloc.
prompt::BaseTemplate answer_template();

// The platform's own layers. The platform must outlive what is built on them. Never throws.
PipelineLayers pipeline_layers(Platform& platform) noexcept;

}  // namespace tenantai::pipeline
