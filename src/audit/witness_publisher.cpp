#include "audit/witness_publisher.h"

#include <iostream>

namespace tenantai::audit {

struct WitnessPublisher::Answers {
  std::string cosignatures;          // the lines of the witnesses that cosigned
  std::size_t cosigned = 0;
  std::optional<Error> tampered;     // a witness proved rollback or fork
};

WitnessPublisher::WitnessPublisher(const AuditLogOptions& options) : options_(options), thread_([this] { run(); }) {}

WitnessPublisher::~WitnessPublisher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wakeup_.notify_all();
  thread_.join();
}

void WitnessPublisher::wake(const std::shared_ptr<AuditLog::TenantLog>& log) {
  {
    std::lock_guard lock(mutex_);
    due_.push_back(log);
  }
  wakeup_.notify_all();
}

void WitnessPublisher::run() {
  std::unique_lock lock(mutex_);
  auto next_retry = std::chrono::steady_clock::now() + options_.witness_retry;
  while (!stopping_) {
    wakeup_.wait_until(lock, next_retry, [&] { return stopping_ || !due_.empty(); });
    if (stopping_) break;
    if (due_.empty() && std::chrono::steady_clock::now() >= next_retry) {
      due_.swap(retry_);
      next_retry = std::chrono::steady_clock::now() + options_.witness_retry;
    }
    if (due_.empty()) continue;
    auto log = due_.front().lock();
    due_.pop_front();
    if (!log) continue;
    lock.unlock();
    const Outcome outcome = submit(*log);
    lock.lock();
    if (outcome == Outcome::Pending) retry_.push_back(log);
  }
}

bool WitnessPublisher::publish_now(AuditLog::TenantLog& log) {
  // Two rounds at most: the start-up check may publish less than the log holds (what it held
  // when the check began); signing is open after it, so the second round covers the rest.
  Outcome outcome = Outcome::Pending;
  for (int round = 0; round < 2; ++round) {
    {
      std::lock_guard lock(log.mutex);
      log.check_usable();
      if (log.signing_allowed()) (void)log.checkpoint();  // cover everything appended so far
    }
    outcome = submit(log);
    std::lock_guard lock(log.mutex);
    log.check_usable();
    if (outcome != Outcome::Published || log.published()->size >= log.size()) break;
  }
  return outcome == Outcome::Published;
}

WitnessPublisher::Outcome WitnessPublisher::submit(AuditLog::TenantLog& log) {
  std::lock_guard submitting(log.submitting);
  std::optional<AuditLog::TenantLog::Submission> s;
  {
    std::lock_guard lock(log.mutex);
    s = log.next_submission();
    if (!log.witnessed()) return Outcome::Unwitnessed;
    if (!s) return log.published() ? Outcome::Published : Outcome::Pending;
  }
  Answers answers;
  for (std::size_t i = 0; i < s->policy.witnesses.size() && !answers.tampered; ++i) ask(log, *s, i, answers);
  if (answers.tampered) {
    report_tampered(log, *answers.tampered);
    return Outcome::Tampered;
  }
  std::lock_guard lock(log.mutex);
  if (answers.cosigned < s->policy.quorum) return Outcome::Pending;
  try {
    log.publish(s->checkpoint, answers.cosignatures);
  } catch (const Error& e) {
    std::cerr << "tenantai: cannot store the cosigned checkpoint of tenant " << log.tenant().str() << ": "
              << e.message() << std::endl;
    return Outcome::Pending;
  }
  // Not stored when a newer checkpoint was signed meanwhile: that one is submitted next.
  return log.published() && log.published()->size >= s->checkpoint.size ? Outcome::Published : Outcome::Pending;
}

void WitnessPublisher::ask(AuditLog::TenantLog& log, const AuditLog::TenantLog::Submission& s, std::size_t i,
                           Answers& out) {
  Witness& witness = *s.policy.witnesses[i];
  const std::string& name = witness.verifier().name();
  const std::uint64_t size = s.checkpoint.size;
  WitnessReply reply = witness.add_checkpoint(s.old_sizes[i], s.proofs[i], s.checkpoint.note);
  if (reply.status == WitnessReply::Status::Conflict) {
    if (reply.witness_size > size && !log_reached(log, reply.witness_size)) {
      out.tampered = Error(ErrorCode::Tampered, "audit log of tenant \"" + log.tenant().str() + "\": first bad index " +
                                                    std::to_string(size) + ": witness " + name + " holds a checkpoint of size " +
                                                    std::to_string(reply.witness_size) + " but the log ends at " +
                                                    std::to_string(size) + " (rolled back)");
      return;
    }
    if (reply.witness_size > size) return;  // the log has grown past this snapshot: the next round submits more
    std::vector<Hash> proof;
    {
      std::lock_guard lock(log.mutex);
      proof = log.proof_between(reply.witness_size, size);
    }
    reply = witness.add_checkpoint(reply.witness_size, proof, s.checkpoint.note);
  }
  switch (reply.status) {
    case WitnessReply::Status::Cosigned: {
      out.cosignatures += reply.cosignature;
      ++out.cosigned;
      std::lock_guard lock(log.mutex);
      log.witness_holds(i, size);
      return;
    }
    case WitnessReply::Status::Refused:
      if (reply.http_status == 422) {  // the witness's tree does not extend to ours: fork or rewrite
        out.tampered = Error(ErrorCode::Tampered, "audit log of tenant \"" + log.tenant().str() + "\": witness " + name +
                                                      " refused the checkpoint of size " + std::to_string(size) +
                                                      " as inconsistent with what it cosigned (fork or rewritten "
                                                      "history): " + reply.message);
        return;
      }
      std::cerr << "tenantai: witness " << name << " refused tenant " << log.tenant().str() << "'s checkpoint: "
                << reply.message << std::endl;
      return;
    case WitnessReply::Status::Conflict:
    case WitnessReply::Status::Unavailable:
      return;  // retried later; the policy decides whether the others suffice
  }
}

bool WitnessPublisher::log_reached(AuditLog::TenantLog& log, std::uint64_t size) {
  std::lock_guard lock(log.mutex);
  return log.size() >= size;
}

void WitnessPublisher::report_tampered(AuditLog::TenantLog& log, const Error& reason) {
  {
    std::lock_guard lock(log.mutex);
    if (!log.mark_tampered(reason)) return;  // already reported
  }
  std::cerr << "tenantai: " << reason.message() << std::endl;
  if (options_.on_tampered) options_.on_tampered(log.tenant(), reason);
}

}  // namespace tenantai::audit
