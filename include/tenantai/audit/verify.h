// Offline verification of a tenant's log (in any LogStorage, or its files) or an exported bundle
// against a pinned public key and origin. Used by tenantai-audit; needs no tenant key (sealed
// bodies are covered as stored). Thread-safe; never writes to the log.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "tenantai/audit/checkpoint.h"
#include "tenantai/audit/log_storage.h"
#include "tenantai/audit/merkle.h"
#include "tenantai/core/error.h"

namespace tenantai::audit {

struct VerifyReport {
  std::uint64_t events = 0;       // records read
  std::uint64_t pruned = 0;       // of which only the hash remains
  std::uint64_t checkpoints = 0;  // signed checkpoints checked (each against the tree prefix)
  std::uint64_t events_checked = 0;  // bundles: event lines checked against their records' digests
  std::uint64_t unreadable = 0;      // bundles: sealed records the exporter could not open
  Checkpoint latest;              // the newest checkpoint
};

// Verifies the tenant's streams in `storage` (opened ReadOnly): every record well formed, its
// stored index and tenant right, its stored leaf hash recomputed; every checkpoint signed by
// `verifier` for origin_for(tenant) and equal to the tree of its size; checkpoints consistent.
// Failure: Tampered with a message naming the first bad index ("first bad index 17: ...");
// NotFound without a log or checkpoint; StorageFailure (unknown format version) and
// IsolationViolation (another tenant's files) naming the file.
Result<VerifyReport> verify_log(LogStorage& storage, const TenantId& tenant, const CheckpointVerifier& verifier);

// The same, accepting a checkpoint signed by any of `trusted` (key rotation: the keys a log has
// been signed with). InvalidArgument when `trusted` is empty.
Result<VerifyReport> verify_log(LogStorage& storage, const TenantId& tenant,
                                const std::vector<CheckpointVerifier>& trusted);

// The same for `<tenant>.log` and `<tenant>.checkpoints` in `root` (a FileLogStorage).
Result<VerifyReport> verify_log(const std::filesystem::path& root, const TenantId& tenant,
                                const CheckpointVerifier& verifier);

// Checks checkpoint notes (oldest first) against `verifier` (or any of `trusted`) and
// origin_for(tenant); sizes must never shrink. Error naming the checkpoint's position otherwise.
Result<std::vector<Checkpoint>> verify_checkpoint_notes(const std::vector<std::string>& notes, const TenantId& tenant,
                                                        const CheckpointVerifier& verifier);
Result<std::vector<Checkpoint>> verify_checkpoint_notes(const std::vector<std::string>& notes, const TenantId& tenant,
                                                        const std::vector<CheckpointVerifier>& trusted);

// Verifies the bytes of a log file (with or without its header) alone against a trusted
// checkpoint (already verified).
Result<VerifyReport> verify_log_bytes(std::string_view log_bytes, const TenantId& tenant,
                                      const Checkpoint& trusted);

// What a verification read, for checks on top of it (tenantai-audit's witness quorum and trusted
// checkpoints): the report, every checkpoint as stored, oldest first (each note keeps its
// cosignature lines; a cosigned copy of a checkpoint is one more entry of the same size), and the
// leaf hash of every verified record (records past the newest checkpoint included).
struct VerifiedTree {
  VerifyReport report;
  std::vector<Checkpoint> checkpoints;
  std::vector<Hash> leaves;
};

// verify_log(storage, tenant, trusted), also returning the checkpoints and leaves it checked.
Result<VerifiedTree> verify_log_tree(LogStorage& storage, const TenantId& tenant,
                                     const std::vector<CheckpointVerifier>& trusted);

// Verifies an export bundle (JSON Lines) for `tenant`: every leaf index 0..size-1 present once
// (omission detection), leaves recomputed from the stored bytes, root equal to the signed
// checkpoint, consistency proofs between consecutive checkpoints, and every unpruned record's
// readable event line equal to what the body its header commits to renders (edited, fake and
// missing event lines fail; a sealed record may instead be listed "unreadable", counted). Tampered naming the first bad
// index or line; InvalidArgument for a malformed bundle.
Result<VerifyReport> verify_bundle(std::string_view bundle, const TenantId& tenant,
                                   const CheckpointVerifier& verifier);

// The same, accepting a checkpoint signed by any of `trusted` (key rotation). InvalidArgument
// when `trusted` is empty.
Result<VerifyReport> verify_bundle(std::string_view bundle, const TenantId& tenant,
                                   const std::vector<CheckpointVerifier>& trusted);
// verify_bundle(bundle, tenant, trusted), also returning the checkpoints and leaves it checked.
Result<VerifiedTree> verify_bundle_tree(std::string_view bundle, const TenantId& tenant,
                                        const std::vector<CheckpointVerifier>& trusted);

}  // namespace tenantai::audit
