// FairScheduler: weighted Virtual Token Counter (Sheng et al., OSDI 2024, "Fairness in Serving
// Large Language Models") in front of a fixed number of inference slots on a Boost.Asio
// executor. Each tenant has a counter of weighted service received (input_weight · input tokens
// + output_weight · output tokens, divided by the tier weight); a free slot goes to the
// backlogged tenant with the smallest counter. A tenant that becomes backlogged again has its
// counter lifted to the smallest backlogged counter (or the last dispatched one when nobody is
// waiting), so idle time is never banked. Excess requests beyond the tier's queue limit are
// rejected with RateLimited.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tenantai/core/error.h"
#include "tenantai/core/scope.h"
#include "tenantai/metering/tiers.h"

namespace tenantai::metering {

class FairScheduler;

class SlotGrant;

// One queued inference request.
struct ScheduledJob {
  ScheduledJob() = default;
  ScheduledJob(std::int64_t input, std::int64_t max_output, std::function<void(SlotGrant)> run_fn,
               std::function<void(const Error&)> on_expired_fn = {})
      : input_tokens(input), max_output_tokens(max_output), run(std::move(run_fn)),
        on_expired(std::move(on_expired_fn)) {}

  std::int64_t input_tokens = 0;       // charged to the counter at dispatch
  std::int64_t max_output_tokens = 0;  // informational (for callers' bookkeeping)
  // Runs on the executor when a slot is granted. Should not throw; if it does, the exception
  // is swallowed, counted in failed_jobs(), and the slot is freed (grant destroyed).
  std::function<void(SlotGrant)> run;
  // Optional. Called on the executor instead of `run` when the request's deadline (its
  // TenantContext's) passes while it waits: it gets DeadlineExceeded and never takes a slot.
  std::function<void(const Error&)> on_expired;
};

enum class SchedulingPolicy {
  kVirtualTokenCounter,  // weighted VTC (default)
  kFirstComeFirstServed, // the baseline peer: global arrival order
};

struct FairSchedulerOptions {
  std::size_t slots = 4;          // concurrent inference slots (> 0)
  double input_weight = 1.0;      // VTC cost of an input token (the paper uses 1)
  double output_weight = 2.0;     // VTC cost of an output token (the paper uses 2)
  SchedulingPolicy policy = SchedulingPolicy::kVirtualTokenCounter;
};

// Per-tenant scheduler view (only the scope's own tenant).
struct TenantSchedule {
  double counter = 0;             // virtual token counter
  std::size_t queued = 0;         // waiting requests
  std::size_t running = 0;        // requests holding a slot
  std::int64_t served_input = 0;  // tokens dispatched
  std::int64_t served_output = 0; // tokens completed
};

// Thread-safe. Jobs are posted to `executor`; the executor, tiers and every outstanding
// SlotGrant's jobs must be finished before the scheduler is destroyed.
class FairScheduler {
 public:
  FairScheduler(boost::asio::any_io_executor executor, const TenantTiers& tiers, FairSchedulerOptions options = {});
  ~FairScheduler();
  FairScheduler(const FairScheduler&) = delete;
  FairScheduler& operator=(const FairScheduler&) = delete;

  // Queues a job for the scope's tenant and dispatches whatever fits into free slots.
  // NotFound (no tier: fail closed), InvalidArgument (no run function, negative tokens),
  // RateLimited (the tenant already has its tier's max_queued requests waiting).
  template <typename Tag>
  Status submit(const TenantScope<Tag>& scope, ScheduledJob job) {
    return submit_impl(scope.context(), std::move(job));
  }

  // The scope tenant's state (all zero if it never submitted).
  template <typename Tag>
  Scoped<TenantSchedule, Tag> schedule(const TenantScope<Tag>& scope) const {
    return scope.bind(schedule_impl(scope.context()));
  }

  std::size_t free_slots() const;
  std::size_t failed_jobs() const;
  // Jobs dropped because their deadline passed while queued.
  std::size_t expired_jobs() const;

 private:
  friend class SlotGrant;
  struct TenantQueue;
  struct Pending {
    ScheduledJob job;
    std::uint64_t seq;
    std::chrono::steady_clock::time_point deadline;
  };
  using ReadyKey = std::tuple<double, std::uint64_t, TenantQueue*>;

  Status submit_impl(const TenantContext& context, ScheduledJob job);
  TenantSchedule schedule_impl(const TenantContext& context) const;
  void complete(TenantQueue& queue, std::int64_t output_tokens) noexcept;
  ReadyKey key_of(const TenantQueue& q) const;
  struct Batch {  // work decided under the lock, posted after it
    std::vector<std::pair<std::shared_ptr<TenantQueue>, ScheduledJob>> run;
    std::vector<std::pair<ScheduledJob, Error>> expired;
  };
  void dispatch_locked(Batch& out);
  void post_all(Batch& batch);

  boost::asio::any_io_executor executor_;
  const TenantTiers& tiers_;
  FairSchedulerOptions options_;
  mutable std::mutex mutex_;
  // Each tenant's own queue and counter (a true partition: nothing is shared between entries).
  std::unordered_map<TenantId, std::shared_ptr<TenantQueue>> queues_;
  std::set<ReadyKey> ready_;  // backlogged tenants ordered by counter (or head arrival for FCFS)
  std::size_t free_slots_;
  std::uint64_t next_seq_ = 0;
  double last_dispatched_counter_ = 0;
  std::size_t failed_jobs_ = 0;
  std::size_t expired_jobs_ = 0;
};

// The right to use one inference slot. Move-only. complete(output_tokens) frees the slot and
// charges the output; destroying an uncompleted grant completes it with 0 output tokens (a failed
// call). Must not outlive its FairScheduler.
class SlotGrant {
 public:
  SlotGrant(SlotGrant&& other) noexcept;
  SlotGrant& operator=(SlotGrant&&) = delete;
  SlotGrant(const SlotGrant&) = delete;
  SlotGrant& operator=(const SlotGrant&) = delete;
  ~SlotGrant();

  // Frees the slot; `output_tokens` (≥ 0, negatives count as 0) is charged to the tenant's
  // counter. Second and later calls are ignored.
  void complete(std::int64_t output_tokens) noexcept;
  const TenantId& tenant() const noexcept;

 private:
  friend class FairScheduler;
  SlotGrant(FairScheduler* scheduler, std::shared_ptr<FairScheduler::TenantQueue> queue) noexcept;
  FairScheduler* scheduler_;
  std::shared_ptr<FairScheduler::TenantQueue> queue_;
};

}  // namespace tenantai::metering
