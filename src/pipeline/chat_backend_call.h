// Internal: the model call of a request, through the fair scheduler, bounded by the request's
// deadline.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "tenantai/inference/backend.h"
#include "tenantai/metering/fair_scheduler.h"
#include "tenantai/pipeline/pipeline_layers.h"

namespace tenantai::pipeline::detail {

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

// Runs `request` on the layers' backend once the fair scheduler grants the scope's tenant a
// slot; `input_tokens` is the estimate the scheduler accounts up front, the reported output
// tokens complete the grant. Throws the scheduler's refusal (RateLimited when the tenant's queue
// is full), DeadlineExceeded when the request's deadline passes first, or what the backend threw.
template <typename Tag>
inference::CompletionResult call_backend(const PipelineLayers& layers, const TenantScope<Tag>& scope,
                                         inference::CompletionRequest request, std::int64_t input_tokens) {
  auto call = std::make_shared<BackendCall>();
  auto* backend = &layers.backend;
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
  auto submitted = layers.scheduler.submit(scope, std::move(job));
  if (!submitted) throw submitted.error();
  std::unique_lock lock(call->mutex);
  if (!call->done_cv.wait_until(lock, scope.context().deadline(), [&] { return call->done; })) {
    call->abandoned = true;
    throw Error(ErrorCode::DeadlineExceeded, "the request deadline passed while waiting for the model");
  }
  if (call->error) std::rethrow_exception(call->error);
  return std::move(*call->result);
}

}  // namespace tenantai::pipeline::detail
