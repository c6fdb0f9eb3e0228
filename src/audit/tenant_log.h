// One tenant's log (its streams in a LogStorage) and in-memory tree state (internal to AuditLog).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "audit/record_codec.h"
#include "tenantai/audit/audit_log.h"
#include "tenantai/audit/key_rotation.h"
#include "tenantai/audit/log_storage.h"

namespace tenantai::audit {

// The detail text of a grant record ("until_ms <ms since epoch>") and its inverse (nullopt when
// the text is not one).
std::string grant_detail(std::int64_t until_ms);
std::optional<std::int64_t> parse_grant_expiry(std::string_view detail);

// Not thread-safe by itself: AuditLog holds `mutex` around every call.
class AuditLog::TenantLog {
 public:
  // Opens the tenant's streams in `storage` (throws what LogStorage::open throws), then checks
  // them; a log that fails its checks is kept but unusable (check_usable throws the reason).
  TenantLog(LogStorage& storage, const TenantId& tenant, const AuditLogOptions& options);
  ~TenantLog();
  TenantLog(const TenantLog&) = delete;
  TenantLog& operator=(const TenantLog&) = delete;

  std::mutex mutex;
  // Held by whoever submits this log to its witnesses (one submission at a time, so an answer is
  // never judged against a stale snapshot). Taken before `mutex`, never while holding it.
  std::mutex submitting;

  // Throws the error that made the log unusable, if any (fail closed).
  void check_usable() const;
  // Appends one record; returns its index. Checkpoints when the policy says so. `clear_digest`:
  // SHA-256(salt || clear body) of a sealed body (see record_codec.h).
  std::uint64_t append(bool sealed, std::int64_t timestamp_ms, std::uint64_t event_id, std::string_view body,
                       std::optional<Hash> clear_digest = std::nullopt);
  // fsync + sign + persist a checkpoint over everything appended.
  const Checkpoint& checkpoint();
  // Key rotation: signs a checkpoint with the current key, then a rotation statement by it
  // naming `next`, which signs (and authenticates records) from then on. InvalidArgument for the
  // same key; StorageFailure as checkpoint().
  void rotate_signer(std::shared_ptr<const CheckpointSigner> next);
  const std::vector<KeyRotation>& rotations() const noexcept { return rotations_; }
  // Per rotation: how many checkpoints precede it in the stream.
  const std::vector<std::size_t>& rotation_at() const noexcept { return rotation_at_; }
  std::uint64_t size() const noexcept { return leaves_.size(); }
  const std::vector<Hash>& leaves() const noexcept { return leaves_; }
  const std::vector<Checkpoint>& checkpoints() const noexcept { return checkpoints_; }
  // Writes buffered records to storage (see flush policy in AuditLogOptions).
  void flush();
  // Group commit: returns once every record appended before the call is durable. `lock` holds
  // `mutex`; it may be released while this thread syncs for everyone, so concurrent callers
  // share one sync. A failed sync makes the log unusable (StorageFailure).
  void sync(std::unique_lock<std::mutex>& lock);
  // Stored bytes of records [first, first + count) (clamped), read back from storage.
  std::string read_frames(std::uint64_t first, std::uint64_t count);
  // Rewrites the log with bodies older than `cutoff_ms` removed; returns how many were pruned.
  // `lock` holds `mutex` (released while waiting for a running group commit).
  std::uint64_t prune_before(std::unique_lock<std::mutex>& lock, std::int64_t cutoff_ms);

  // Operator grants (operator id → expiry, ms since epoch), derived from the grant and revoke
  // records of the log that a signed checkpoint covers; nothing else is a grant.
  std::optional<std::int64_t> grant_of(const std::string& operator_id) const;
  // Applies a grant (until_ms) or revocation (nullopt) just appended and checkpointed.
  void apply_grant(const std::string& operator_id, std::optional<std::int64_t> until_ms);

  const TenantId& tenant() const noexcept { return tenant_; }

  // Witnessing (driven by WitnessPublisher, always under `mutex`).
  struct Submission {
    Checkpoint checkpoint;                    // the newest signed checkpoint
    std::vector<std::uint64_t> old_sizes;     // per witness: the size it is believed to hold
    std::vector<std::vector<Hash>> proofs;    // per witness: consistency proof old -> new
    WitnessPolicy policy;                     // as it was (refresh_witnesses may replace it)
  };
  const WitnessPolicy& policy() const noexcept { return policy_; }
  // Replaces the witness policy (validated like the one loaded on open: InvalidArgument) and
  // re-derives the published checkpoint from the stored cosigned notes.
  void set_policy(WitnessPolicy policy);
  bool witnessed() const noexcept { return !policy_.witnesses.empty(); }
  // Signing is gated by the witnesses' start-up check (always allowed for an unwitnessed log).
  bool signing_allowed() const noexcept { return !witnessed() || startup_checked_; }
  // What to submit, or nullopt when the newest checkpoint is published and the start-up check is
  // done (or the log is broken or unwitnessed).
  std::optional<Submission> next_submission();
  std::vector<Hash> proof_between(std::uint64_t old_size, std::uint64_t new_size) const;
  // A witness cosigned `checkpoint` (it now holds its size).
  void witness_holds(std::size_t witness, std::uint64_t size);
  // Appends `checkpoint`'s note with the quorum's cosignature lines as the published checkpoint.
  void publish(const Checkpoint& checkpoint, const std::string& cosignatures);
  // A witness proved the log rolled back or forked: the log becomes unusable with `reason`.
  // Returns false (and keeps the first reason) when the log was already unusable.
  bool mark_tampered(const Error& reason) {
    if (broken_) return false;
    broken_ = reason;
    return true;
  }
  const std::optional<Checkpoint>& published() const noexcept { return published_; }
  // Called after each signed checkpoint (AuditLog wakes the witness thread).
  std::function<void()> on_signed;

 private:
  void load_keys();
  void load_policy();
  // The published checkpoint (newest with a quorum of cosignatures) and the witnesses' sizes, from
  // the stored checkpoints.
  void derive_published();
  // The key of this log's record authenticators under `signer`.
  crypto::KeyLease record_key_of(const CheckpointSigner& signer) const;
  // Whether `note` carries the policy's quorum of valid cosignatures.
  bool cosigned_by_quorum(std::string_view note) const;
  void recover();
  void load_checkpoints();
  // Finds the earlier key (previous_signers) that signed the newest checkpoint, if not the current.
  void find_key_to_link();
  // Appends the rotation statement link_from_ signs for the current key (once).
  void link_previous_key();
  // The start of the first checkpoint interval whose records do not match its signed root.
  std::uint64_t first_unmatched_index() const;
  // Refuses records after the newest trusted checkpoint that this log's key did not write (an
  // appended or rewritten tail, or an unauthenticated format-1 tail).
  void check_tail_authentic(std::uint64_t trusted_size) const;
  // Notes a clear grant or revoke record seen while recovering.
  void remember_grant(const detail::Frame& frame);
  // Grants and revocations of the records [0, covered) that a checkpoint signed, in log order.
  void derive_grants(std::uint64_t covered);
  // Fails closed with Tampered naming the stream.
  [[noreturn]] void refuse(const std::string& why) const;
  // Writes buffered records to storage (not synced). A failure makes the log unusable.
  void flush_locked();

  TenantId tenant_;
  const AuditLogOptions& options_;
  std::unique_ptr<TenantLogStreams> streams_;
  std::optional<Error> broken_;
  std::shared_ptr<const CheckpointSigner> signer_;
  std::optional<crypto::KeyLease> record_key_;  // authenticates this log's records (from signer_)
  std::vector<bool> authentic_;                 // per stored record, found while recovering
  WitnessPolicy policy_;
  std::vector<CosignatureVerifier> witness_verifiers_;  // of policy_, parsed once
  std::optional<Checkpoint> published_;          // newest checkpoint with a quorum of cosignatures
  std::vector<std::uint64_t> witness_sizes_;     // per witness: size it is believed to hold
  bool startup_checked_ = false;                 // the witnesses saw this log's newest checkpoint
  std::vector<Hash> leaves_;
  MerkleFrontier frontier_;
  std::vector<Checkpoint> checkpoints_;
  std::vector<KeyRotation> rotations_;
  std::shared_ptr<const CheckpointSigner> link_from_;  // an earlier key that signed the newest checkpoint
  std::vector<std::size_t> rotation_at_;
  std::uint64_t since_checkpoint_ = 0;
  std::chrono::steady_clock::time_point last_checkpoint_ = std::chrono::steady_clock::now();
  std::map<std::string, std::int64_t> grants_;
  struct GrantRecord {
    std::uint64_t index;
    std::string operator_id;
    std::optional<std::int64_t> until_ms;  // nullopt: a revocation
  };
  std::vector<GrantRecord> grant_records_;  // found while recovering, before checkpoints are known
  std::string pending_;                      // records appended but not yet written (bounded, see flush)
  std::vector<std::uint32_t> pending_sizes_;  // frame sizes within pending_
  std::uint64_t stored_ = 0;                  // records written to storage
  bool torn_ = false;                         // the record stream ended in an incomplete record
};

}  // namespace tenantai::audit
