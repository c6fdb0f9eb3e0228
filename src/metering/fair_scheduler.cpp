#include "tenantai/metering/fair_scheduler.h"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <utility>
#include <vector>

namespace tenantai::metering {

struct FairScheduler::TenantQueue {
  explicit TenantQueue(TenantId id) : tenant(std::move(id)) {}
  TenantId tenant;
  double counter = 0;
  double weight = 1;
  std::deque<Pending> pending;
  std::size_t running = 0;
  std::int64_t served_input = 0;
  std::int64_t served_output = 0;
  bool in_ready = false;
};

SlotGrant::SlotGrant(FairScheduler* scheduler, std::shared_ptr<FairScheduler::TenantQueue> queue) noexcept
    : scheduler_(scheduler), queue_(std::move(queue)) {}

SlotGrant::SlotGrant(SlotGrant&& other) noexcept
    : scheduler_(std::exchange(other.scheduler_, nullptr)), queue_(std::move(other.queue_)) {}

SlotGrant::~SlotGrant() { complete(0); }

void SlotGrant::complete(std::int64_t output_tokens) noexcept {
  if (scheduler_ == nullptr || !queue_) return;
  FairScheduler* s = std::exchange(scheduler_, nullptr);
  s->complete(*queue_, output_tokens < 0 ? 0 : output_tokens);
}

const TenantId& SlotGrant::tenant() const noexcept { return queue_->tenant; }

FairScheduler::FairScheduler(boost::asio::any_io_executor executor, const TenantTiers& tiers,
                             FairSchedulerOptions options)
    : executor_(std::move(executor)), tiers_(tiers), options_(options), free_slots_(options.slots) {
  if (options_.slots == 0) throw Error(ErrorCode::InvalidArgument, "FairScheduler needs at least one slot");
  if (!(options_.input_weight >= 0) || !(options_.output_weight >= 0)) {
    throw Error(ErrorCode::InvalidArgument, "VTC token weights must not be negative");
  }
}

FairScheduler::~FairScheduler() = default;

FairScheduler::ReadyKey FairScheduler::key_of(const TenantQueue& q) const {
  if (options_.policy == SchedulingPolicy::kFirstComeFirstServed) {
    return {0.0, q.pending.front().seq, const_cast<TenantQueue*>(&q)};
  }
  return {q.counter, q.pending.front().seq, const_cast<TenantQueue*>(&q)};
}

Status FairScheduler::submit_impl(const TenantContext& context, ScheduledJob job) {
  if (!job.run) return Error(ErrorCode::InvalidArgument, "scheduled job has no run function");
  if (job.input_tokens < 0 || job.max_output_tokens < 0) {
    return Error(ErrorCode::InvalidArgument, "token counts must not be negative");
  }
  auto tier = tiers_.tier_of(context);
  if (!tier) return tier.error();
  Batch to_post;
  {
    std::lock_guard lock(mutex_);
    auto& slot = queues_[context.tenant()];
    if (!slot) slot = std::make_shared<TenantQueue>(context.tenant());
    TenantQueue& q = *slot;
    if (q.pending.size() >= (*tier)->max_queued) {
      return Error(ErrorCode::RateLimited, "tenant \"" + context.tenant().str() + "\" already has " +
                                               std::to_string(q.pending.size()) +
                                               " queued inference requests (tier \"" + (*tier)->name +
                                               "\" allows " + std::to_string((*tier)->max_queued) +
                                               "); retry later");
    }
    q.weight = (*tier)->weight;
    if (q.pending.empty()) {
      // Counter lift: a tenant returning from idle starts at the smallest backlogged counter
      // (or the last dispatched one), never below: idle time is not banked.
      double floor = last_dispatched_counter_;
      if (!ready_.empty()) {
        floor = std::get<2>(*ready_.begin())->counter;
        for (const auto& key : ready_) floor = std::min(floor, std::get<2>(key)->counter);
      }
      q.counter = std::max(q.counter, floor);
    }
    q.pending.push_back(Pending{std::move(job), next_seq_++, context.deadline()});
    if (!q.in_ready) {
      ready_.insert(key_of(q));
      q.in_ready = true;
    }
    dispatch_locked(to_post);
  }
  post_all(to_post);
  return {};
}

void FairScheduler::dispatch_locked(Batch& out) {
  const auto now = std::chrono::steady_clock::now();
  while (free_slots_ > 0 && !ready_.empty()) {
    TenantQueue& q = *std::get<2>(*ready_.begin());
    ready_.erase(ready_.begin());
    Pending next = std::move(q.pending.front());
    q.pending.pop_front();
    const bool expired = now >= next.deadline;
    if (!expired) {
      --free_slots_;
      ++q.running;
      q.served_input += next.job.input_tokens;
      q.counter += options_.input_weight * static_cast<double>(next.job.input_tokens) / q.weight;
      last_dispatched_counter_ = q.counter;
    }
    if (q.pending.empty()) {
      q.in_ready = false;
    } else {
      ready_.insert(key_of(q));
    }
    if (expired) {
      ++expired_jobs_;
      out.expired.emplace_back(std::move(next.job),
                               Error(ErrorCode::DeadlineExceeded, "a request of tenant \"" + q.tenant.str() +
                                                                      "\" passed its deadline while queued"));
    } else {
      out.run.emplace_back(queues_.at(q.tenant), std::move(next.job));
    }
  }
}

void FairScheduler::post_all(Batch& batch) {
  for (auto& [queue, job] : batch.run) {
    boost::asio::post(executor_, [this, queue = std::move(queue), job = std::move(job)]() mutable {
      try {
        job.run(SlotGrant(this, queue));
      } catch (...) {
        std::lock_guard lock(mutex_);
        ++failed_jobs_;
      }
    });
  }
  for (auto& [job, error] : batch.expired) {
    if (!job.on_expired) continue;
    boost::asio::post(executor_, [job = std::move(job), error = std::move(error)]() {
      try {
        job.on_expired(error);
      } catch (...) {
      }
    });
  }
}

void FairScheduler::complete(TenantQueue& q, std::int64_t output_tokens) noexcept {
  Batch to_post;
  try {
    std::lock_guard lock(mutex_);
    if (q.in_ready) ready_.erase(key_of(q));
    q.counter += options_.output_weight * static_cast<double>(output_tokens) / q.weight;
    q.served_output += output_tokens;
    if (q.in_ready) ready_.insert(key_of(q));
    --q.running;
    ++free_slots_;
    dispatch_locked(to_post);
  } catch (...) {
    // Only allocation can fail here; the slot has been freed either way.
  }
  try {
    post_all(to_post);
  } catch (...) {
  }
}

TenantSchedule FairScheduler::schedule_impl(const TenantContext& context) const {
  std::lock_guard lock(mutex_);
  auto it = queues_.find(context.tenant());
  if (it == queues_.end()) return {};
  const TenantQueue& q = *it->second;
  return TenantSchedule{q.counter, q.pending.size(), q.running, q.served_input, q.served_output};
}

std::size_t FairScheduler::free_slots() const {
  std::lock_guard lock(mutex_);
  return free_slots_;
}

std::size_t FairScheduler::expired_jobs() const {
  std::lock_guard lock(mutex_);
  return expired_jobs_;
}

std::size_t FairScheduler::failed_jobs() const {
  std::lock_guard lock(mutex_);
  return failed_jobs_;
}

}  // namespace tenantai::metering
