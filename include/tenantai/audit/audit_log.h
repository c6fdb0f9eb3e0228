// AuditLog: one append-only, tamper-evident log per tenant, kept in a LogStorage (by default
// files under a root directory).
//
//   auto signer = CheckpointSigner::generate();
//   AuditLog log(root, {.signer = &signer, .body_sealer = &sealer});
//   with_tenant(ctx, [&](auto scope) {
//     log.append(scope, {.operation = Operation::Infer, .model_id = "m1"});
//     auto cp = log.checkpoint(scope);                     // Scoped<Checkpoint>
//     auto proof = log.prove_inclusion(scope, 0, scope.view(cp).size);
//   });
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "tenantai/audit/checkpoint.h"
#include "tenantai/audit/event.h"
#include "tenantai/audit/log_storage.h"
#include "tenantai/audit/merkle.h"
#include "tenantai/audit/sink.h"
#include "tenantai/audit/witness.h"
#include "tenantai/core/scope.h"
#include "tenantai/core/system_scope.h"
#include "tenantai/crypto/sealer.h"

namespace tenantai::audit {

namespace detail {
struct Frame;
struct OpenedBody;
}  // namespace detail

struct AuditLogOptions {
  // Signs every tenant's checkpoints unless signer_for is set; must outlive the log.
  const CheckpointSigner* signer = nullptr;
  // The signer of each tenant's log (its key name should be origin_for(tenant), as C2SP
  // tlog-checkpoint asks), e.g. a per-tenant key sealed by the KeyProvider. Called once per
  // tenant when its log opens, from any thread; a throw (CryptoFailure: the key cannot be
  // unsealed) makes that tenant's log unusable, never another's. One of signer / signer_for is
  // required. The signing key also keys each record's authenticator (see docs/audit-format.md).
  std::function<std::shared_ptr<const CheckpointSigner>(const TenantId&)> signer_for = nullptr;
  // Verifier keys of earlier signing keys (key rotation): checkpoints they signed are still
  // accepted when a log opens; new checkpoints are signed by the current key.
  std::vector<std::string> previous_verifier_keys{};
  // Earlier signing keys still held (e.g. the single audit-signer.key of earlier releases). Their
  // checkpoints are accepted like previous_verifier_keys', and a log whose newest checkpoint one
  // of them signed links it to the current key: before its next checkpoint it appends a rotation
  // statement signed by that key (see key_rotation.h), so a verifier pinned to the old key
  // follows. Must outlive the log.
  std::vector<std::shared_ptr<const CheckpointSigner>> previous_signers{};
  // The witnesses each tenant's log submits its checkpoints to (C2SP tlog-witness), and how many
  // must cosign for a checkpoint to be published. Called once per tenant when its log opens, from
  // any thread; nullptr or an empty policy: that log is unwitnessed. Submission runs on one
  // background thread (appends never wait for a witness); the cosigned note is appended to the
  // checkpoint stream. When a log opens, its newest checkpoint is submitted at once: a witness
  // holding a larger tree (rollback) or refusing the tree as inconsistent (fork, rewrite) makes
  // that tenant's log Tampered (and calls on_tampered); an unreachable witness only delays
  // publication (retried every witness_retry).
  std::function<WitnessPolicy(const TenantId&)> witnesses_for = nullptr;
  std::chrono::milliseconds witness_retry{1000};
  // Called (from the witness thread, no lock held) when a tenant's log is found Tampered after it
  // opened, e.g. so the platform quarantines the tenant. Must be thread-safe and not throw.
  std::function<void(const TenantId&, const Error&)> on_tampered = nullptr;
  // Seals event bodies with the tenant's key (nullptr: bodies stored in clear). The Merkle leaf
  // covers the stored (sealed) bytes, so integrity is checkable without the key. Must outlive
  // the log. Events recorded without a tenant context (SystemScope visits) stay in clear.
  crypto::Sealer* body_sealer = nullptr;
  std::uint64_t checkpoint_every_events = 4096;  // sign a checkpoint after this many appends...
  std::chrono::milliseconds checkpoint_every{1000};  // ...or when this much time passed (checked on append)
  // Flush policy. Records are buffered in memory up to write_buffer_bytes, written when the
  // buffer fills, before every checkpoint, read or export, and on destruction; the log and the
  // checkpoint are fsynced at every checkpoint, and sync(scope) writes and fdatasyncs what was
  // appended (group commit, once per request). So a checkpointed or synced event survives a
  // machine crash, and any other may be lost (never corrupted: a torn tail is cut on open).
  // fsync_every_event: write and fdatasync every record before append returns (the slow peer).
  bool fsync_every_event = false;
  std::size_t write_buffer_bytes = 64 * 1024;
  // Retention per tenant (nullopt: keep forever). prune() removes bodies older than this.
  std::function<std::optional<std::chrono::hours>(const TenantId&)> retention = [](const TenantId&) {
    return std::optional<std::chrono::hours>{};
  };
  std::function<std::chrono::system_clock::time_point()> clock = [] {
    return std::chrono::system_clock::now();
  };
  // Where the tenants' records and checkpoints are kept (shared: verify_log can read the same
  // storage). nullptr: FileLogStorage under the AuditLog's root. The log opens each tenant's
  // streams ReadWrite on its first use; no other writer may hold them meanwhile.
  std::shared_ptr<LogStorage> storage = nullptr;
};

struct InclusionProof {
  std::uint64_t index = 0;
  std::uint64_t tree_size = 0;
  Hash leaf{};
  std::vector<Hash> path{};
};

struct ConsistencyProof {
  std::uint64_t old_size = 0;
  std::uint64_t new_size = 0;
  std::vector<Hash> path{};
};

class WitnessPublisher;

// Which redaction an operator read uses.
enum class OperatorView { Redacted, Full };

// With the default FileLogStorage, files per tenant under `root` (tenant ids are safe file names):
//   <tenant>.log          header, then records (see docs/audit-format.md), append-only except prune()
//   <tenant>.checkpoints  header, then every signed checkpoint note, appended
// Opening a tenant's log (on its first use) cuts a torn tail back to the last complete record
// and checks every record; a log whose checkpointed prefix does not verify fails with Tampered
// naming the first bad index, and stays unusable (fail closed).
// Thread-safe: appends to one tenant are serialised; tenants are independent.
class AuditLog {
 public:
  // With the default storage, creates `root` if needed (StorageFailure naming it on failure).
  // InvalidArgument without signer.
  AuditLog(std::filesystem::path root, AuditLogOptions options);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends to the scope tenant's log; returns the event's index. Empty actor / request id are
  // filled from the context. Throws StorageFailure / CryptoFailure (body sealing) and the event
  // is then not recorded.
  template <typename Tag>
  Scoped<std::uint64_t, Tag> append(const TenantScope<Tag>& scope, AuditEvent event) {
    return scope.bind(append_for(scope.context(), std::move(event)));
  }

  // Records a SystemScope visit into the visited tenant's log (used by AuditAccessRecorder),
  // on disk (group commit) before it returns. Body in clear (there is no tenant context to seal
  // with). Throws on I/O failure.
  std::uint64_t append_access(const AccessRecord& record);

  // Group commit: returns once every event appended to the scope tenant's log before the call
  // is on disk. Concurrent callers share one fdatasync, so a server calls it once per request
  // before the response leaves (the Pipeline does) and an acknowledged request's events
  // survive a crash. Checkpoints stay batched. Throws StorageFailure (the log is then closed).
  template <typename Tag>
  void sync(const TenantScope<Tag>& scope) {
    sync_for(scope.tenant());
  }

  // Signs a checkpoint over everything appended so far (fsyncs first) and returns it.
  template <typename Tag>
  Scoped<Checkpoint, Tag> checkpoint(const TenantScope<Tag>& scope) {
    return scope.bind(checkpoint_for(scope.tenant()));
  }
  // The latest signed checkpoint (NotFound if none yet).
  template <typename Tag>
  Scoped<Checkpoint, Tag> latest_checkpoint(const TenantScope<Tag>& scope) {
    return scope.bind(latest_checkpoint_for(scope.tenant()));
  }
  // The newest checkpoint a quorum of the tenant's witnesses cosigned (note with cosignature
  // lines). NotFound when none is yet (or the log is unwitnessed).
  template <typename Tag>
  Scoped<Checkpoint, Tag> published_checkpoint(const TenantScope<Tag>& scope) {
    return scope.bind(published_checkpoint_for(scope.tenant()));
  }
  // Signs a checkpoint over everything appended (once signing is open) and submits it to the
  // tenant's witnesses now, waiting for the answers (tests, tools, shutdown). Returns whether
  // everything appended before the call is published (false: the quorum did not answer yet). Throws what
  // the log throws (Tampered when a witness proves rollback or fork).
  template <typename Tag>
  bool publish_now(const TenantScope<Tag>& scope) {
    return publish_now_for(scope.tenant());
  }
  // Asks witnesses_for again for an open log (e.g. after the tenant's configuration changed) and
  // submits its newest checkpoint under the new policy. No-op for a log not open yet (it asks when
  // it opens). InvalidArgument for an invalid policy (the old one stays).
  void refresh_witnesses(const TenantId& tenant);
  // Number of events in the tenant's log.
  template <typename Tag>
  std::uint64_t size(const TenantScope<Tag>& scope) {
    return size_of(scope.tenant());
  }

  // The tenant's own view: records [first, first + count), bodies opened with the tenant's key.
  // Only the scope tenant's log is reachable from here. In a SystemScope visit this is an
  // operator's full read: it needs the tenant's grant (PermissionDenied otherwise) and is
  // recorded in the log either way, exactly like operator_read_full.
  template <typename Tag>
  Scoped<std::vector<AuditRecord>, Tag> read(const TenantScope<Tag>& scope, std::uint64_t first,
                                             std::uint64_t count) {
    return scope.bind(read_for(scope.context(), first, count));
  }

  template <typename Tag>
  Scoped<InclusionProof, Tag> prove_inclusion(const TenantScope<Tag>& scope, std::uint64_t index,
                                              std::uint64_t tree_size) {
    return scope.bind(inclusion_for(scope.tenant(), index, tree_size));
  }
  template <typename Tag>
  Scoped<ConsistencyProof, Tag> prove_consistency(const TenantScope<Tag>& scope,
                                                  std::uint64_t old_size, std::uint64_t new_size) {
    return scope.bind(consistency_for(scope.tenant(), old_size, new_size));
  }

  // Rotates the tenant log's signing key to `next` (key name origin_for(tenant)): records a
  // KeyRotate event, signs a checkpoint with the old key, then a rotation statement by the old
  // key naming the new one (docs/audit-format.md), after which `next` signs and authenticates.
  // The caller persists `next` (a log reopened with the old key refuses the stream). InvalidArgument
  // for the same key; StorageFailure on I/O.
  template <typename Tag>
  void rotate_signing_key(const TenantScope<Tag>& scope, std::shared_ptr<const CheckpointSigner> next) {
    rotate_for(scope.context(), std::move(next));
  }

  // The tenant lets `operator_id` read its log in full until `until` (needs capability
  // "admin:audit"; PermissionDenied otherwise). The grant is an event of the tenant's log,
  // covered by a checkpoint signed at once; grants are derived from the log when it opens, and
  // only from records a signed checkpoint covers (no side file is read).
  template <typename Tag>
  void grant_operator_access(const TenantScope<Tag>& scope, const std::string& operator_id,
                             std::chrono::system_clock::time_point until) {
    grant_for(scope.context(), operator_id, until, true);
  }
  template <typename Tag>
  void revoke_operator_access(const TenantScope<Tag>& scope, const std::string& operator_id) {
    grant_for(scope.context(), operator_id, {}, false);
  }

  // Operator read of `tenant`'s log through a SystemScope (which records the visit). Redacted:
  // always allowed. Full: needs an unexpired grant to system.operator_id() (PermissionDenied).
  // Either way the read itself is appended to the tenant's log before data is returned.
  std::vector<RedactedRecord> operator_read(SystemScope& system, const TenantId& tenant,
                                            std::uint64_t first, std::uint64_t count);
  std::vector<AuditRecord> operator_read_full(SystemScope& system, const TenantId& tenant,
                                              std::uint64_t first, std::uint64_t count);

  // Retention: drops the bodies of events older than the tenant's retention (leaf hashes stay,
  // so checkpoints and proofs still verify). Returns how many bodies were pruned.
  template <typename Tag>
  std::uint64_t prune(const TenantScope<Tag>& scope) {
    return prune_for(scope.context());
  }

  // Writes an export bundle (JSON Lines: header, every checkpoint, consistency proofs between
  // consecutive checkpoints, every event with its stored bytes and leaf index, the tenant's
  // readable events) to `sink`, after signing a fresh checkpoint. Recorded as an Export event
  // (after the bundle's checkpoint). Returns the bundle's checkpoint.
  template <typename Tag>
  Scoped<Checkpoint, Tag> export_bundle(const TenantScope<Tag>& scope, AuditSink& sink) {
    return scope.bind(export_for(scope.context(), sink));
  }

  const std::filesystem::path& root() const noexcept { return root_; }
  // The storage holding every tenant's log (for verify_log and tools). Lives as long as the log.
  LogStorage& storage() const noexcept { return *options_.storage; }
  // Paths of a tenant's files under root() (meaningful with the default FileLogStorage).
  std::filesystem::path log_path(const TenantId& tenant) const;
  std::filesystem::path checkpoints_path(const TenantId& tenant) const;

 private:
  class TenantLog;
  std::shared_ptr<TenantLog> log_of(const TenantId& tenant);
  std::string frames_of(const TenantId& tenant, std::uint64_t first, std::uint64_t count);

  std::uint64_t append_for(const TenantContext& context, AuditEvent event);
  // Appends a clear-bodied record (access records, grants). Caller holds log.mutex.
  std::uint64_t append_clear(TenantLog& log, const AuditEvent& event);
  // For a SystemScope visit's context: records the operator's read of the log and throws
  // PermissionDenied unless the tenant granted that operator access. No-op for tenant requests.
  void require_operator_grant(const TenantContext& context, std::string_view what);
  void sync_for(const TenantId& tenant);
  Checkpoint checkpoint_for(const TenantId& tenant);
  Checkpoint latest_checkpoint_for(const TenantId& tenant);
  Checkpoint published_checkpoint_for(const TenantId& tenant);
  bool publish_now_for(const TenantId& tenant);
  friend class WitnessPublisher;
  std::uint64_t size_of(const TenantId& tenant);
  std::vector<AuditRecord> read_for(const TenantContext& context, std::uint64_t first,
                                    std::uint64_t count);
  // A record's clear body, opened with the tenant's key when sealed (CryptoFailure: the key is
  // gone; Tampered: the opened body does not match its header).
  Result<detail::OpenedBody> open_body(const TenantContext& context, const detail::Frame& frame);
  InclusionProof inclusion_for(const TenantId& tenant, std::uint64_t index, std::uint64_t size);
  ConsistencyProof consistency_for(const TenantId& tenant, std::uint64_t old_size,
                                   std::uint64_t new_size);
  void grant_for(const TenantContext& context, const std::string& operator_id,
                 std::chrono::system_clock::time_point until, bool grant);
  std::uint64_t prune_for(const TenantContext& context);
  void rotate_for(const TenantContext& context, std::shared_ptr<const CheckpointSigner> next);
  Checkpoint export_for(const TenantContext& context, AuditSink& sink);

  std::filesystem::path root_;
  AuditLogOptions options_;
  std::mutex logs_mutex_;
  std::unordered_map<TenantId, std::shared_ptr<TenantLog>> logs_;  // opened on first use
  std::atomic<std::uint64_t> next_event_id_{0};
  std::unique_ptr<WitnessPublisher> publisher_;  // with witnesses_for; stopped first
};

}  // namespace tenantai::audit
