// Internal: the one audit event of a chat request, recorded on every exit by an RAII guard.
#pragma once

#include <exception>
#include <string>
#include <utility>

#include "tenantai/audit/event.h"
#include "tenantai/pipeline/pipeline.h"
#include "tenantai/pipeline/pipeline_layers.h"

namespace tenantai::pipeline::detail {

// Owns the request's audit event from the moment the tenant is known to be provisioned. The
// request ends in exactly one of two ways, and either way exactly one event is appended:
//   succeed()   — Infer (or CacheHit) with status "ok", then a group-commit sync of the
//                 request's events, which throws if they cannot be made durable;
//   destruction — without succeed(): the status is the error code outcome_of() saw (Internal
//                 for an exception that is not a tenantai::Error), appended and synced best
//                 effort (the request's own error is what propagates; a failing audit log fails
//                 the next request).
// One guard per request, used by the request's thread only; the layers and scope must
// outlive it.
template <typename Tag>
class ChatAudit {
 public:
  ChatAudit(const PipelineLayers& layers, const TenantScope<Tag>& scope, const ChatRequest& request)
      : layers_(layers), scope_(scope) {
    event_.operation = audit::Operation::Infer;
    event_.target = request.session.empty() ? "chat" : "session:" + request.session;
    if (!request.messages.empty()) event_.input_digest = sha256_hex(request.messages.back().content);
  }
  ChatAudit(const ChatAudit&) = delete;
  ChatAudit& operator=(const ChatAudit&) = delete;
  ~ChatAudit() {
    if (appended_) return;
    event_.status = failure_;
    try {
      layers_.audit.append(scope_, event_);
      layers_.audit.sync(scope_);
    } catch (...) {  // NOLINT(bugprone-empty-catch): the request's own error is what propagates
    }
  }

  // Runs the request's steps; an exception on the way becomes the event's status, then goes on.
  template <typename Steps>
  decltype(auto) outcome_of(Steps&& steps) {
    try {
      return std::forward<Steps>(steps)();
    } catch (const Error& error) {
      failure_ = std::string(to_string(error.code()));
      throw;
    } catch (...) {
      failure_ = std::string(to_string(ErrorCode::Internal));
      throw;
    }
  }

  // What routing and the prompt registry decided (part of the event whatever the outcome).
  void set_route(const std::string& model_id, const std::string& prompt_version) {
    event_.model_id = model_id;
    event_.prompt_version = prompt_version;
  }

  // Records the answer (operation Infer or CacheHit, digest of its text, detail) and makes the
  // request's events durable; returns `answer`. Throws when the log refuses the event or the
  // sync fails (then the request fails; a refused append is retried once by the destructor).
  ChatAnswer succeed(ChatAnswer answer, audit::Operation operation, std::string detail) {
    event_.operation = operation;
    event_.output_digest = sha256_hex(answer.text);
    event_.detail = std::move(detail);
    layers_.audit.append(scope_, event_);
    appended_ = true;
    layers_.audit.sync(scope_);
    return answer;
  }

 private:
  const PipelineLayers& layers_;
  const TenantScope<Tag>& scope_;
  audit::AuditEvent event_;
  std::string failure_ = std::string(to_string(ErrorCode::Internal));
  bool appended_ = false;
};

}  // namespace tenantai::pipeline::detail
