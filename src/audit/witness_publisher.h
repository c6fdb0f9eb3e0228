// WitnessPublisher: the one background thread that submits each witnessed tenant log's newest
// checkpoint to its witnesses and appends the cosigned note once the quorum answered (internal
// to AuditLog). A log is submitted when it opens (the start-up check) and after each checkpoint;
// while its quorum is not reached it is retried every AuditLogOptions::witness_retry. HTTP runs
// without the tenant's lock, so appends never wait for a witness.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "audit/tenant_log.h"

namespace tenantai::audit {

class WitnessPublisher {
 public:
  explicit WitnessPublisher(const AuditLogOptions& options);
  ~WitnessPublisher();  // stops the thread (a submission in flight finishes first)
  WitnessPublisher(const WitnessPublisher&) = delete;
  WitnessPublisher& operator=(const WitnessPublisher&) = delete;

  // Queues `log` for submission. Thread-safe; never blocks on a witness.
  void wake(const std::shared_ptr<AuditLog::TenantLog>& log);

  // Submits `log` now on the calling thread. Returns whether its newest checkpoint is published.
  // Throws the log's error when it is (or becomes) Tampered.
  bool publish_now(AuditLog::TenantLog& log);

 private:
  enum class Outcome { Published, Pending, Tampered, Unwitnessed };
  struct Answers;

  void run();
  Outcome submit(AuditLog::TenantLog& log);
  // One witness: submit, and after a 409 resubmit once from the size the witness holds.
  void ask(AuditLog::TenantLog& log, const AuditLog::TenantLog::Submission& s, std::size_t witness, Answers& out);
  void report_tampered(AuditLog::TenantLog& log, const Error& reason);
  // Whether the log holds at least `size` records now (a witness ahead of a stale snapshot is not
  // a rollback).
  static bool log_reached(AuditLog::TenantLog& log, std::uint64_t size);

  const AuditLogOptions& options_;
  std::mutex mutex_;
  std::condition_variable wakeup_;
  std::deque<std::weak_ptr<AuditLog::TenantLog>> due_;      // submit as soon as possible
  std::deque<std::weak_ptr<AuditLog::TenantLog>> retry_;    // submit after witness_retry
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tenantai::audit
