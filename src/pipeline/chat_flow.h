// Internal: one chat request as named stages over one per-request state. Pipeline::chat_impl
// calls them in the order docs/architecture.md ("One request") lists; each stage reads what the
// earlier ones left in the state and adds its own part. Errors are tenantai::Error as listed on
// Pipeline; the ChatAudit guard records the request's one audit event whatever the exit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "pipeline/chat_audit.h"
#include "pipeline/chat_backend_call.h"
#include "pipeline/chat_cache_key.h"
#include "pipeline/chat_request.h"
#include "pipeline/retrieval_step.h"
#include "tenantai/inference/backend.h"
#include "tenantai/inference/tokenizer.h"
#include "tenantai/metering/budget.h"
#include "tenantai/memory/memory_types.h"
#include "tenantai/metering/meter.h"
#include "tenantai/pipeline/pipeline.h"
#include "tenantai/pipeline/pipeline_layers.h"
#include "tenantai/pipeline/tenant_config.h"
#include "tenantai/prompt/prompt_registry.h"
#include "tenantai/tools/tool_registry.h"

namespace tenantai::pipeline::detail {

// Session messages read back from memory into the prompt.
inline constexpr std::size_t kHistoryMessages = 20;

// One request's state and stages. Used by the request's thread only; every reference given to
// the constructor must outlive it. Token estimates (admission, reservation, memory) are the
// backend's tokenizer's; the budget is charged the usage the backend reports.
template <typename Tag>
class ChatFlow {
 public:
  // `call_id` distinguishes this request's budget hold from other calls of the same context.
  ChatFlow(const PipelineLayers& layers, const TenantScope<Tag>& scope, const TenantConfig& config, const ChatRequest& request,
           std::string call_id)
      : layers_(layers),
        scope_(scope),
        config_(config),
        request_(request),
        tokenizer_(layers.backend.tokenizer()),
        call_id_(std::move(call_id)),
        audit_(layers, scope, request) {}

  ChatAudit<Tag>& audit() noexcept { return audit_; }

  // The request's shape and the tenant's size limit (InvalidArgument).
  void validate() { validate_chat(request_, config_, layers_.max_retrieved_passages); }

  // The rate limiter, charged the tokenizer's count of the messages plus max_tokens (RateLimited).
  void admit() {
    const auto tokens = count_tokens(tokenizer_, request_.messages) + request_.max_tokens;
    layers_.limiter.admit(scope_, static_cast<std::int64_t>(tokens));
  }

  // Model, adapter and prompt version (all three part of the cache key and the audit event).
  void route_and_render_prompt() {
    inference::RouteRequest wanted;
    wanted.model = request_.model;
    wanted.adapter = request_.adapter;
    route_ = scope_.view(layers_.router.route(scope_, wanted));
    prompt_ = scope_.view(layers_.prompts.render(scope_, kAnswerTemplate));
    audit_.set_route(route_.model, prompt_.version_id);
    answer_.request_id = scope_.context().request_id();
    answer_.model = route_.model;
    answer_.adapter = route_.adapter;
    answer_.prompt_version = prompt_.version_id;
  }

  // Stateless requests only: the exact cache, then (single-message requests) the semantic one.
  // True when the answer came from a cache; finish_from_cache() then ends the request.
  bool answered_from_cache() {
    if (!request_.session.empty() || !request_.use_cache || config_.cache_opt_out) {
      answer_.cache = "off";
      return false;
    }
    cache_key_ = chat_cache_key({scope_.context().tenant(), scope_.context().groups(), route_.model, route_.adapter,
                                 prompt_.version_id, request_.max_tokens, request_.k, request_.messages});
    auto exact = layers_.response_cache.lookup(scope_, cache_key_->response_key());
    if (const auto& value = scope_.view(exact)) return take_cached(*value, "exact");
    if (request_.messages.size() != 1) return false;
    question_vector_ = embed_text(layers_, scope_, question());
    auto semantic = layers_.semantic_cache.lookup(scope_, cache_key_->semantic_key(), *question_vector_);
    if (const auto& hit = scope_.view(semantic)) return take_cached(hit->value, "semantic");
    return false;
  }

  // A cache hit's end: one meter record (a cache hit, no tokens) and the CacheHit event.
  ChatAnswer finish_from_cache() {
    metering::UsageEvent usage;
    usage.feature = request_.feature;
    usage.model = route_.model;
    usage.cache_hits = 1;
    (void)layers_.meter.record(scope_, usage);
    std::string detail = "cache=" + answer_.cache;
    return audit_.succeed(std::move(answer_), audit::Operation::CacheHit, std::move(detail));
  }

  // The passages the actor may read (k = 0: none); their ids become the answer's citations.
  void retrieve_passages() {
    if (request_.k == 0) return;
    if (!question_vector_) question_vector_ = embed_text(layers_, scope_, question());
    for (auto& passage : retrieve(layers_, scope_, *question_vector_, request_.k, {})) {
      answer_.citations.push_back(passage.id);
      context_block_ += fmt::format("[{}] {}\n{}\n\n", passage.id, passage.title, passage.text);
    }
  }

  // The session's latest messages (none for a stateless request).
  void read_history() {
    if (request_.session.empty()) return;
    auto history = layers_.memory.messages(scope_, memory_scope(), kHistoryMessages);
    for (const auto& message : scope_.view(history)) history_.push_back({message.role, message.content});
  }

  // System prompt, context documents, history, then the request's messages; and their token
  // count by the backend's tokenizer (the reservation's input estimate).
  void build_prompt() {
    messages_.push_back({"system", prompt_.text});
    if (!context_block_.empty()) messages_.push_back({"system", "Context documents:\n" + context_block_});
    for (auto& message : history_) messages_.push_back(std::move(message));
    for (const auto& message : request_.messages) messages_.push_back(message);
    input_estimate_ = static_cast<std::int64_t>(count_tokens(tokenizer_, messages_));
  }

  // Reserves the worst case (input estimate + max_tokens, clamped to what the tenant can still
  // afford); released by the hold's destructor unless settled (BudgetExceeded, NotFound).
  void reserve_budget() {
    metering::CallEstimate estimate;
    estimate.model = route_.model;
    estimate.input_tokens = input_estimate_;
    estimate.max_output_tokens = static_cast<std::int64_t>(request_.max_tokens);
    estimate.call_id = call_id_;
    auto hold = layers_.budgets.hold(scope_, estimate);
    if (!hold) throw hold.error();
    hold_.emplace(std::move(*hold));
    answer_.clamped = hold_->reservation().clamped;
  }

  // The backend, through the fair scheduler, for at most the reserved output tokens.
  void call_model() {
    inference::CompletionRequest call;
    call.model = route_.model;
    call.adapter = route_.adapter;
    call.messages = std::move(messages_);
    call.params.max_tokens = static_cast<std::size_t>(hold_->max_output_tokens());
    call.deadline = scope_.context().deadline();
    completion_ = call_backend(layers_, scope_, std::move(call), input_estimate_);
    answer_.text = completion_->text;
    answer_.input_tokens = static_cast<std::int64_t>(completion_->input_tokens);
    answer_.output_tokens = static_cast<std::int64_t>(completion_->output_tokens);
  }

  // The tool calls the model asked for, capability-checked; a refusal (audited by the
  // registry's hook) is listed in the answer, not thrown.
  void run_tools() {
    for (const auto& call : tools::parse_tool_calls(completion_->text)) {
      ++tool_calls_;
      try {
        auto result = layers_.tools.invoke(scope_, call);
        answer_.tool_results.push_back(scope_.view(result));
      } catch (const Error&) {
        answer_.refused_tools.push_back(call.tool);
      }
    }
  }

  // Charges the usage the backend reported (not the estimate) and records it in the meter.
  void settle_and_meter() {
    auto receipt = hold_->settle({answer_.input_tokens, answer_.output_tokens});
    if (!receipt) throw receipt.error();
    answer_.cost = receipt->charged;
    metering::UsageEvent usage;
    usage.feature = request_.feature;
    usage.model = route_.model;
    usage.input_tokens = answer_.input_tokens;
    usage.output_tokens = answer_.output_tokens;
    usage.retrieval_calls = request_.k > 0 ? 1 : 0;
    usage.tool_calls = tool_calls_;
    usage.time_to_first_token = completion_->time_to_first_token;
    (void)layers_.meter.record(scope_, usage);
  }

  // Cacheable answers without refused tools, exact and (single-message) semantic; a full cache
  // is not an error.
  void store_in_cache() {
    if (!cache_key_ || !answer_.refused_tools.empty()) return;
    const std::string value = answer_to_json(answer_);
    (void)layers_.response_cache.store(scope_, cache_key_->response_key(), value);
    if (question_vector_ && request_.messages.size() == 1) {
      (void)layers_.semantic_cache.store(scope_, cache_key_->semantic_key(), *question_vector_, value);
    }
  }

  // A session's question and answer, with their token counts.
  void write_memory() {
    if (request_.session.empty()) return;
    const auto question_tokens = static_cast<std::int64_t>(tokenizer_.count(question()));
    (void)layers_.memory.append_batch(
        scope_, memory_scope(),
        {{"user", question(), question_tokens, 0}, {"assistant", answer_.text, 0, answer_.output_tokens}});
  }

  // A model answer's end: the Infer event (adapter, citations, tokens, cost).
  ChatAnswer finish() {
    std::string detail = audit_json({{"adapter", route_.adapter},
                                     {"citations", answer_.citations},
                                     {"input_tokens", answer_.input_tokens},
                                     {"output_tokens", answer_.output_tokens},
                                     {"cost_micros", answer_.cost}});
    return audit_.succeed(std::move(answer_), audit::Operation::Infer, std::move(detail));
  }

 private:
  const std::string& question() const { return request_.messages.back().content; }
  memory::MemoryScope memory_scope() const { return {scope_.context().actor(), request_.agent, request_.session}; }

  bool take_cached(std::string_view value, const char* kind) {
    auto hit = answer_from_json(value);
    if (!hit) return false;  // not an answer: served as a miss
    hit->request_id = scope_.context().request_id();
    hit->cache = kind;
    answer_ = std::move(*hit);
    return true;
  }

  const PipelineLayers& layers_;
  const TenantScope<Tag>& scope_;
  const TenantConfig& config_;
  const ChatRequest& request_;
  const inference::Tokenizer& tokenizer_;
  const std::string call_id_;
  ChatAudit<Tag> audit_;  // declared before the hold: the budget is released before the event

  // Filled by the stages, in order.
  inference::RoutingDecision route_;
  prompt::RenderedPrompt prompt_;
  std::optional<ChatCacheKey> cache_key_;  // set when the request is cacheable
  std::optional<std::vector<float>> question_vector_;
  std::string context_block_;
  std::vector<inference::ChatMessage> history_;
  std::vector<inference::ChatMessage> messages_;
  std::int64_t input_estimate_ = 0;
  std::optional<metering::BudgetHold<Tag>> hold_;
  std::optional<inference::CompletionResult> completion_;
  std::int64_t tool_calls_ = 0;
  ChatAnswer answer_;
};

}  // namespace tenantai::pipeline::detail
