#include "tenantai/pipeline/pipeline.h"

#include <sodium.h>

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <fmt/format.h>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

#include "tenantai/audit/event.h"
#include "tenantai/corpus/corpus_store.h"
#include "tenantai/cache/response_key.h"
#include "tenantai/inference/hashing_embedder.h"
#include "tenantai/metering/fair_scheduler.h"
#include "tenantai/metering/meter.h"
#include "pipeline/chat_cache_key.h"
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

constexpr std::size_t kMaxOutputTokens = 4096;
constexpr std::size_t kHistoryMessages = 20;

// The tenant's config, after its state was verified and restored (Platform::ensure_ready):
// NotFound for an unknown tenant, TenantUnavailable for a quarantined one.
std::shared_ptr<const TenantConfig> provisioned(Platform& platform, const TenantContext& context) {
  auto config = platform.tenant_config(context.tenant());
  if (!config) {
    throw Error(ErrorCode::NotFound,
                fmt::format("tenant '{}' is not provisioned", escape_for_message(context.tenant().str())));
  }
  platform.ensure_ready(context);
  return *config;
}

corpus::CorpusDocument corpus_document(const IngestDocument& doc, std::vector<float> vector) {
  return {doc.id, doc.title, doc.text, doc.acl_groups, doc.metadata, std::move(vector)};
}

nlohmann::json answer_to_json(const ChatAnswer& answer) {
  return {{"text", answer.text}, {"citations", answer.citations}, {"model", answer.model},
          {"adapter", answer.adapter}, {"prompt_version", answer.prompt_version}};
}

std::optional<ChatAnswer> answer_from_json(std::string_view text) {
  auto json = nlohmann::json::parse(text, nullptr, false);
  if (!json.is_object() || !json.contains("text")) return std::nullopt;
  ChatAnswer answer;
  answer.text = json.value("text", "");
  answer.citations = json.value("citations", std::vector<std::string>{});
  answer.model = json.value("model", "");
  answer.adapter = json.value("adapter", "");
  answer.prompt_version = json.value("prompt_version", "");
  return answer;
}

// The tenant's request size limit, the same message for every kind of input.
void check_size(const std::string& what, std::size_t bytes, const TenantConfig& config) {
  if (bytes > config.quotas.max_request_bytes) {
    throw Error(ErrorCode::InvalidArgument, fmt::format("{} of {} bytes exceeds the tenant's limit of {} bytes", what,
                                                        bytes, config.quotas.max_request_bytes));
  }
}

void validate_chat(const ChatRequest& request, const TenantConfig& config) {
  if (request.messages.empty()) throw Error(ErrorCode::InvalidArgument, "chat request has no messages");
  if (request.messages.back().role != "user") {
    throw Error(ErrorCode::InvalidArgument, "the last chat message must have role \"user\"");
  }
  std::size_t bytes = 0;
  for (const auto& message : request.messages) {
    if (message.role != "user" && message.role != "assistant" && message.role != "system") {
      throw Error(ErrorCode::InvalidArgument,
                  fmt::format("chat message role must be user, assistant or system, not '{}'",
                              escape_for_message(message.role)));
    }
    bytes += message.content.size() + message.role.size();
  }
  check_size("chat request", bytes, config);
  if (request.max_tokens == 0 || request.max_tokens > kMaxOutputTokens) {
    throw Error(ErrorCode::InvalidArgument,
                fmt::format("max_tokens must be between 1 and {}, not {}", kMaxOutputTokens, request.max_tokens));
  }
}

// Waits for a fair-scheduled backend call. The job owns its state, so a caller that gives up at
// its deadline leaves nothing dangling; the job then completes without calling the backend.
struct BackendCall {
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  bool abandoned = false;
  std::optional<inference::CompletionResult> result;
  std::exception_ptr error;
};

template <typename Tag>
inference::CompletionResult call_backend(Platform& platform, const TenantScope<Tag>& scope,
                                         inference::CompletionRequest request, std::int64_t input_tokens) {
  auto call = std::make_shared<BackendCall>();
  auto* backend = &platform.backend();
  const auto max_output = static_cast<std::int64_t>(request.params.max_tokens);
  metering::ScheduledJob job(
      input_tokens, max_output,
      [call, backend, request = std::move(request)](metering::SlotGrant grant) mutable {
        {
          std::lock_guard lock(call->mutex);
          if (call->abandoned) return;  // the grant's destructor frees the slot
        }
        std::optional<inference::CompletionResult> result;
        std::exception_ptr error;
        try {
          result = backend->complete(request);
        } catch (...) {
          error = std::current_exception();
        }
        grant.complete(result ? static_cast<std::int64_t>(result->output_tokens) : 0);
        std::lock_guard lock(call->mutex);
        call->result = std::move(result);
        call->error = error;
        call->done = true;
        call->done_cv.notify_all();
      },
      [call](const Error& expired) {
        std::lock_guard lock(call->mutex);
        call->error = std::make_exception_ptr(expired);
        call->done = true;
        call->done_cv.notify_all();
      });
  auto submitted = platform.scheduler().submit(scope, std::move(job));
  if (!submitted) throw submitted.error();
  std::unique_lock lock(call->mutex);
  if (!call->done_cv.wait_until(lock, scope.context().deadline(), [&] { return call->done; })) {
    call->abandoned = true;
    throw Error(ErrorCode::DeadlineExceeded, "the request deadline passed while waiting for the model");
  }
  if (call->error) std::rethrow_exception(call->error);
  return std::move(*call->result);
}

template <typename Tag>
void audit_event(Platform& platform, const TenantScope<Tag>& scope, audit::AuditEvent event) {
  platform.audit().append(scope, std::move(event));
}

// Group commit of a request's audit events: commit() before the response leaves makes them
// durable (concurrent requests share one fdatasync) and throws if they cannot be; a request
// that fails on the way still gets a best-effort sync of its failure event.
template <typename Tag>
class DurableRequest {
 public:
  DurableRequest(Platform& platform, const TenantScope<Tag>& scope) : platform_(platform), scope_(scope) {}
  DurableRequest(const DurableRequest&) = delete;
  DurableRequest& operator=(const DurableRequest&) = delete;
  ~DurableRequest() {
    if (committed_) return;
    try {
      platform_.audit().sync(scope_);
    } catch (...) {  // NOLINT(bugprone-empty-catch): the request's own error is what propagates
    }
  }
  template <typename T>
  T commit(T result) {
    platform_.audit().sync(scope_);
    committed_ = true;
    return result;
  }

 private:
  Platform& platform_;
  const TenantScope<Tag>& scope_;
  bool committed_ = false;
};

// Ids and names may contain any character, so an audit field holding several of them is JSON
// (one unambiguous encoding), never a separator-joined string.
std::string audit_json(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

namespace {

// One Write event per document (status "ok" or the refusal's code).
template <typename Tag>
void audit_write(Platform& platform, const TenantScope<Tag>& scope, const std::string& target, const std::string& text,
                 std::string_view status) {
  audit::AuditEvent event;
  event.operation = audit::Operation::Write;
  event.target = target;
  if (!text.empty()) event.input_digest = sha256_hex(text);
  event.status = std::string(status);
  audit_event(platform, scope, std::move(event));
}

// Writes are access-checked like reads, all of a batch before any of it is written; a refusal
// is audited before it is thrown.
template <typename Tag>
void check_writes(Platform& platform, const TenantScope<Tag>& scope, const std::vector<IngestDocument>& documents) {
  for (const auto& doc : documents) {
    try {
      platform.documents().check_write(scope, doc.id, doc.acl_groups);
    } catch (const Error& error) {
      audit_write(platform, scope, "document:" + doc.id, doc.text, to_string(error.code()));
      throw;
    }
  }
}

}  // namespace

std::size_t Pipeline::ingest_impl(const TenantContext& context, const std::vector<IngestDocument>& documents) {
  auto config = provisioned(platform_, context);
  for (const auto& doc : documents) {
    if (doc.text.empty()) throw Error(ErrorCode::InvalidArgument, fmt::format("document '{}' has no text", escape_for_message(doc.id)));
    check_size(fmt::format("document '{}'", escape_for_message(doc.id)), doc.text.size(), *config);
  }
  return with_tenant(context, [&](auto scope) {
    DurableRequest durable(platform_, scope);
    check_writes(platform_, scope, documents);
    std::vector<std::string> texts;
    texts.reserve(documents.size());
    for (const auto& doc : documents) texts.push_back(doc.title + "\n" + doc.text);
    auto vectors = platform_.embedder().embed(texts);
    if (vectors.size() != documents.size()) throw Error(ErrorCode::Unavailable, "the embedder returned too few vectors");
    // The system of record first: durable (group commit) before anything is acknowledged, and
    // idempotent, so a client's retry after a lost response changes nothing.
    std::vector<corpus::CorpusDocument> records;
    records.reserve(documents.size());
    for (std::size_t i = 0; i < documents.size(); ++i) records.push_back(corpus_document(documents[i], vectors[i]));
    platform_.corpus().put(scope, records);
    for (std::size_t i = 0; i < documents.size(); ++i) {
      const auto& doc = documents[i];
      // The text first: its write re-checks the ACL atomically, so a refused write touches no vector.
      try {
        platform_.documents().put(scope, StoredText{doc.id, doc.title, doc.text, doc.acl_groups}, config->encryption_required);
      } catch (const Error& error) {
        if (error.code() == ErrorCode::PermissionDenied) audit_write(platform_, scope, "document:" + doc.id, doc.text, "PermissionDenied");
        throw;
      }
      platform_.vectors().upsert(scope, retrieval::Document{doc.id, std::move(vectors[i]), doc.acl_groups, doc.metadata});
      audit_write(platform_, scope, "document:" + doc.id, doc.text, "ok");
    }
    return durable.commit(documents.size());
  });
}

std::size_t Pipeline::remove_impl(const TenantContext& context, const std::vector<std::string>& ids) {
  (void)provisioned(platform_, context);
  return with_tenant(context, [&](auto scope) {
    DurableRequest durable(platform_, scope);
    std::size_t removed = 0;
    for (const auto& id : ids) {
      try {
        platform_.documents().check_write(scope, id, {});  // the existing document's ACL groups
      } catch (const Error& error) {
        audit_write(platform_, scope, "document:" + id, "", to_string(error.code()));
        throw;
      }
    }
    platform_.corpus().remove(scope, ids);  // durable first, like ingest
    for (const auto& id : ids) {
      const bool existed = platform_.documents().remove(scope, id);
      platform_.vectors().remove(scope, id);
      if (existed) {
        ++removed;
        audit_write(platform_, scope, "document:" + id, "", "ok: removed");
      }
    }
    return durable.commit(removed);
  });
}

std::vector<Passage> Pipeline::query_impl(const TenantContext& context, const QueryRequest& request) {
  auto config = provisioned(platform_, context);
  if (request.text.empty()) throw Error(ErrorCode::InvalidArgument, "query text must not be empty");
  check_size("query", request.text.size(), *config);
  if (request.k == 0 || request.k > platform_.options().max_retrieved_passages) {
    throw Error(ErrorCode::InvalidArgument, fmt::format("k must be between 1 and {}, not {}",
                                                        platform_.options().max_retrieved_passages, request.k));
  }
  return with_tenant(context, [&](auto scope) {
    DurableRequest durable(platform_, scope);
    platform_.limiter().admit(scope, 1);
    auto query = detail::embed_text(platform_, scope, request.text);
    auto passages = detail::retrieve(platform_, scope, query, request.k, request.filter);
    std::vector<std::string> ids;
    for (const auto& p : passages) ids.push_back(p.id);
    metering::UsageEvent usage;
    usage.feature = "query";
    usage.model = config->models.model;
    usage.retrieval_calls = 1;
    (void)platform_.meter().record(scope, usage);
    audit::AuditEvent event;
    event.operation = audit::Operation::Retrieve;
    event.target = "documents";
    event.detail = audit_json({{"documents", ids}});
    event.input_digest = sha256_hex(request.text);
    audit_event(platform_, scope, std::move(event));
    return durable.commit(std::move(passages));
  });
}

ChatAnswer Pipeline::chat_impl(const TenantContext& context, const ChatRequest& request) {
  auto config = provisioned(platform_, context);
  validate_chat(request, *config);
  if (request.k > platform_.options().max_retrieved_passages) {
    throw Error(ErrorCode::InvalidArgument, fmt::format("k must be at most {}", platform_.options().max_retrieved_passages));
  }
  return with_tenant(context, [&](auto scope) {
    DurableRequest durable(platform_, scope);
    const std::string& question = request.messages.back().content;
    std::int64_t request_tokens = 0;
    for (const auto& m : request.messages) request_tokens += static_cast<std::int64_t>(inference::count_tokens(m.content));

    // The failure path: audited with the error code, then rethrown.
    audit::AuditEvent event;
    event.operation = audit::Operation::Infer;
    event.target = request.session.empty() ? "chat" : "session:" + request.session;
    event.input_digest = sha256_hex(question);
    try {
      // 1. admission
      platform_.limiter().admit(scope, request_tokens + static_cast<std::int64_t>(request.max_tokens));

      // 2. routing and prompt version (both part of the cache key)
      inference::RouteRequest route_request;
      route_request.model = request.model;
      route_request.adapter = request.adapter;
      auto route = scope.view(platform_.router().route(scope, route_request));
      auto rendered = platform_.prompts().render(scope, Platform::kAnswerTemplate);
      const auto& prompt = scope.view(rendered);
      event.model_id = route.model;
      event.prompt_version = prompt.version_id;

      ChatAnswer answer;
      answer.request_id = context.request_id();
      answer.model = route.model;
      answer.adapter = route.adapter;
      answer.prompt_version = prompt.version_id;

      // 3. caches (stateless requests only)
      const bool cacheable = request.session.empty() && request.use_cache && !config->cache_opt_out;
      const auto cache_key = detail::chat_cache_key({context.tenant(), context.groups(), route.model, route.adapter,
                                                     prompt.version_id, request.max_tokens, request.k, request.messages});
      const cache::ResponseKey key = cache_key.response_key();
      std::optional<std::vector<float>> question_vector;
      if (cacheable) {
        std::optional<ChatAnswer> hit;
        std::string kind;
        auto exact = platform_.response_cache().lookup(scope, key);
        if (scope.view(exact)) {
          hit = answer_from_json(*scope.view(exact));
          kind = "exact";
        } else if (request.messages.size() == 1) {
          question_vector = detail::embed_text(platform_, scope, question);
          auto semantic = platform_.semantic_cache().lookup(scope, cache_key.semantic_key(), *question_vector);
          if (scope.view(semantic)) {
            hit = answer_from_json(scope.view(semantic)->value);
            kind = "semantic";
          }
        }
        if (hit) {
          hit->request_id = context.request_id();
          hit->cache = kind;
          metering::UsageEvent usage;
          usage.feature = request.feature;
          usage.model = route.model;
          usage.cache_hits = 1;
          (void)platform_.meter().record(scope, usage);
          event.operation = audit::Operation::CacheHit;
          event.output_digest = sha256_hex(hit->text);
          event.detail = "cache=" + kind;
          audit_event(platform_, scope, event);
          return durable.commit(std::move(*hit));
        }
      } else {
        answer.cache = "off";
      }

      // 4. retrieval with the actor's ACL
      std::vector<Passage> passages;
      if (request.k > 0) {
        if (!question_vector) question_vector = detail::embed_text(platform_, scope, question);
        passages = detail::retrieve(platform_, scope, *question_vector, request.k, {});
      }
      std::string context_block;
      for (const auto& p : passages) {
        answer.citations.push_back(p.id);
        context_block += fmt::format("[{}] {}\n{}\n\n", p.id, p.title, p.text);
      }

      // 5. memory
      const memory::MemoryScope where{context.actor(), request.agent, request.session};
      std::vector<inference::ChatMessage> messages;
      messages.push_back({"system", prompt.text});
      if (!context_block.empty()) messages.push_back({"system", "Context documents:\n" + context_block});
      if (!request.session.empty()) {
        auto history = platform_.memory().messages(scope, where, kHistoryMessages);
        for (const auto& m : scope.view(history)) messages.push_back({m.role, m.content});
      }
      for (const auto& m : request.messages) messages.push_back(m);
      std::int64_t input_tokens = 0;
      for (const auto& m : messages) input_tokens += static_cast<std::int64_t>(inference::count_tokens(m.content));

      // 6. budget reservation (clamps max_tokens to what the tenant can still afford)
      metering::CallEstimate estimate;
      estimate.model = route.model;
      estimate.input_tokens = input_tokens;
      estimate.max_output_tokens = static_cast<std::int64_t>(request.max_tokens);
      // One request context may run several model calls (agents, tools): each is its own hold.
      estimate.call_id = fmt::format("chat-{}", next_call_.fetch_add(1, std::memory_order_relaxed));
      auto hold = platform_.budgets().hold(scope, estimate);
      if (!hold) throw hold.error();
      answer.clamped = hold->reservation().clamped;

      // 7. the model, through the fair scheduler
      inference::CompletionRequest completion_request;
      completion_request.model = route.model;
      completion_request.adapter = route.adapter;
      completion_request.messages = std::move(messages);
      completion_request.params.max_tokens = static_cast<std::size_t>(hold->max_output_tokens());
      completion_request.deadline = context.deadline();
      auto completion = call_backend(platform_, scope, std::move(completion_request), input_tokens);
      answer.text = completion.text;
      answer.input_tokens = static_cast<std::int64_t>(completion.input_tokens);
      answer.output_tokens = static_cast<std::int64_t>(completion.output_tokens);

      // 8. tool calls the model asked for: capability-checked, refusals audited by the hook
      std::int64_t tool_calls = 0;
      for (const auto& call : tools::parse_tool_calls(completion.text)) {
        ++tool_calls;
        try {
          auto result = platform_.tools().invoke(scope, call);
          answer.tool_results.push_back(scope.view(result));
        } catch (const Error&) {
          answer.refused_tools.push_back(call.tool);
        }
      }

      // 9. settle, meter
      auto receipt = hold->settle({answer.input_tokens, answer.output_tokens});
      if (!receipt) throw receipt.error();
      answer.cost = receipt->charged;
      metering::UsageEvent usage;
      usage.feature = request.feature;
      usage.model = route.model;
      usage.input_tokens = answer.input_tokens;
      usage.output_tokens = answer.output_tokens;
      usage.retrieval_calls = request.k > 0 ? 1 : 0;
      usage.tool_calls = tool_calls;
      usage.time_to_first_token = completion.time_to_first_token;
      (void)platform_.meter().record(scope, usage);

      // 10. cache store, memory write
      if (cacheable && answer.refused_tools.empty()) {
        const std::string value = answer_to_json(answer).dump();
        (void)platform_.response_cache().store(scope, key, value);  // a full cache is not an error
        if (question_vector && request.messages.size() == 1) {
          (void)platform_.semantic_cache().store(scope, cache_key.semantic_key(), *question_vector, value);
        }
      }
      if (!request.session.empty()) {
        platform_.memory().append_batch(
            scope, where,
            {{"user", question, static_cast<std::int64_t>(inference::count_tokens(question)), 0},
             {"assistant", answer.text, 0, answer.output_tokens}});
      }

      // 11. audit
      event.output_digest = sha256_hex(answer.text);
      event.detail = audit_json({{"adapter", route.adapter},
                                 {"citations", answer.citations},
                                 {"input_tokens", answer.input_tokens},
                                 {"output_tokens", answer.output_tokens},
                                 {"cost_micros", answer.cost}});
      audit_event(platform_, scope, event);
      return durable.commit(std::move(answer));
    } catch (const Error& error) {
      event.status = std::string(to_string(error.code()));
      try {
        audit_event(platform_, scope, event);
      } catch (...) {
        // The original error is what the caller needs; a failing audit log fails the next call.
      }
      throw;
    }
  });
}

}  // namespace tenantai::pipeline
