#include "audit/tenant_log.h"

#include <charconv>

#include "tenantai/audit/key_rotation.h"

namespace tenantai::audit {

std::string grant_detail(std::int64_t until_ms) { return "until_ms " + std::to_string(until_ms); }

std::optional<std::int64_t> parse_grant_expiry(std::string_view detail) {
  constexpr std::string_view kPrefix = "until_ms ";
  if (detail.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  const auto digits = detail.substr(kPrefix.size());
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

AuditLog::TenantLog::TenantLog(LogStorage& storage, const TenantId& tenant, const AuditLogOptions& options)
    : tenant_(tenant), options_(options), streams_(storage.open(tenant, OpenMode::ReadWrite)) {
  try {
    load_keys();
    load_policy();
    recover();
    load_checkpoints();  // refuses a log that ends before its checkpoint, before anything is cut
    check_tail_authentic(checkpoints_.empty() ? 0 : checkpoints_.back().size);
    if (torn_) streams_->truncate_records(stored_);  // a crash mid-append: back to the last complete record
    derive_grants(checkpoints_.empty() ? 0 : checkpoints_.back().size);
  } catch (const Error& e) {
    broken_ = e;  // fail closed: every later operation on this tenant's log reports it
  }
}

AuditLog::TenantLog::~TenantLog() {
  try {
    if (!broken_) flush_locked();
  } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor cannot report; open() cuts a torn tail
  }
}

void AuditLog::TenantLog::check_usable() const {
  if (broken_) throw *broken_;
}

void AuditLog::TenantLog::refuse(const std::string& why) const {
  throw Error(ErrorCode::Tampered, "audit log " + streams_->records_name() + " of tenant \"" + tenant_.str() +
                                       "\" failed verification: " + why);
}

void AuditLog::TenantLog::load_keys() {
  signer_ = options_.signer_for ? options_.signer_for(tenant_)
                                : std::shared_ptr<const CheckpointSigner>(options_.signer, [](const CheckpointSigner*) {});
  if (!signer_) throw Error(ErrorCode::CryptoFailure, "no audit signing key for tenant \"" + tenant_.str() + "\"");
  record_key_ = record_key_of(*signer_);
}

crypto::KeyLease AuditLog::TenantLog::record_key_of(const CheckpointSigner& signer) const {
  return signer.derive_key("tenantai/audit/record-auth/v1\n" + origin_for(tenant_));
}

void AuditLog::TenantLog::load_policy() {
  if (options_.witnesses_for) set_policy(options_.witnesses_for(tenant_));
}

void AuditLog::TenantLog::set_policy(WitnessPolicy policy) {
  policy_ = std::move(policy);
  for (const auto& witness : policy_.witnesses) {
    if (!witness) throw Error(ErrorCode::InvalidArgument, "a witness of tenant \"" + tenant_.str() + "\" is null");
  }
  if (policy_.quorum > policy_.witnesses.size()) {
    throw Error(ErrorCode::InvalidArgument, "witness quorum " + std::to_string(policy_.quorum) + " of tenant \"" +
                                                tenant_.str() + "\" exceeds its " +
                                                std::to_string(policy_.witnesses.size()) + " witnesses");
  }
  if (!policy_.witnesses.empty() && policy_.quorum == 0) policy_.quorum = policy_.witnesses.size();
  witness_verifiers_.clear();
  for (const auto& witness : policy_.witnesses) witness_verifiers_.push_back(witness->verifier());
  startup_checked_ = false;
  derive_published();
}

void AuditLog::TenantLog::derive_published() {
  published_.reset();
  for (const auto& cp : checkpoints_) {
    if (witnessed() && cosigned_by_quorum(cp.note)) published_ = cp;
  }
  witness_sizes_.assign(policy_.witnesses.size(), published_ ? published_->size : 0);
}

bool AuditLog::TenantLog::cosigned_by_quorum(std::string_view note) const {
  return verify_cosignatures(note, witness_verifiers_, policy_.quorum).ok();
}

void AuditLog::TenantLog::recover() {
  detail::Scanner scanner(tenant_.view(), false);
  const RecordScan stored = streams_->scan_records([&](std::string_view frame) {
    const auto f = scanner.add(frame);
    if (!f) return false;
    authentic_.push_back(detail::authentic(f->header, *record_key_));
    frontier_.append(f->leaf);
    remember_grant(*f);
    return true;
  });
  if (stored.broken) scanner.fail(*stored.broken);
  if (scanner.failed()) refuse(*scanner.result().error);
  leaves_ = std::move(scanner.result().leaves);
  stored_ = leaves_.size();
  torn_ = stored.torn;
}

void AuditLog::TenantLog::check_tail_authentic(std::uint64_t trusted_size) const {
  for (std::uint64_t i = trusted_size; i < authentic_.size(); ++i) {
    if (authentic_[i]) continue;
    throw Error(ErrorCode::Tampered, "audit log " + streams_->records_name() + " of tenant \"" + tenant_.str() +
                                         "\": first bad index " + std::to_string(i) + ": record after the last trusted checkpoint (size " +
                                         std::to_string(trusted_size) + ") carries no valid authenticator of this log's key "
                                         "(appended or rewritten outside the log); not signed");
  }
}

void AuditLog::TenantLog::load_checkpoints() {
  const CheckpointScan stored = streams_->read_checkpoints();
  std::vector<CheckpointVerifier> verifiers{CheckpointVerifier::parse(signer_->verifier_key()).value()};
  for (const auto& previous : options_.previous_signers) {
    if (previous) verifiers.push_back(CheckpointVerifier::parse(previous->verifier_key()).value());
  }
  for (const std::string& key : options_.previous_verifier_keys) {
    auto previous = CheckpointVerifier::parse(key);
    if (!previous) throw previous.error();
    verifiers.push_back(std::move(previous).value());
  }
  auto chain = verify_checkpoint_chain(stored.notes, origin_for(tenant_), verifiers);  // follows key rotations
  if (!chain) {
    throw Error(ErrorCode::Tampered, streams_->checkpoints_name() + " of tenant \"" + tenant_.str() + "\": " +
                                         chain.error().message());
  }
  checkpoints_ = std::move(chain->checkpoints);
  rotations_ = std::move(chain->rotations);
  rotation_at_ = std::move(chain->rotation_at);
  derive_published();
  if (!rotations_.empty() && rotations_.back().new_key != signer_->verifier_key()) {
    throw Error(ErrorCode::Tampered, streams_->checkpoints_name() + " of tenant \"" + tenant_.str() +
                                         "\": its last key rotation names another key than the log's signer");
  }
  find_key_to_link();
  if (stored.torn) streams_->truncate_checkpoints(stored.notes.size());
  if (!checkpoints_.empty()) {
    const Checkpoint& latest = checkpoints_.back();
    if (latest.size > leaves_.size()) {
      throw Error(ErrorCode::Tampered, "audit log " + streams_->records_name() + ": first bad index " +
                                           std::to_string(leaves_.size()) + ": the log ends before its checkpoint of size " +
                                           std::to_string(latest.size));
    }
    if (root_of(leaves_.data(), latest.size) != latest.root) {
      throw Error(ErrorCode::Tampered, "audit log " + streams_->records_name() + " of tenant \"" + tenant_.str() +
                                           "\": first bad index " + std::to_string(first_unmatched_index()) +
                                           ": records do not match the signed checkpoint of size " +
                                           std::to_string(latest.size));
    }
    since_checkpoint_ = leaves_.size() - latest.size;
  } else {
    since_checkpoint_ = leaves_.size();
  }
}

std::uint64_t AuditLog::TenantLog::first_unmatched_index() const {
  MerkleFrontier frontier;
  std::uint64_t good = 0;
  std::size_t next = 0;
  for (std::uint64_t i = 0; i < leaves_.size() && next < checkpoints_.size(); ++i) {
    frontier.append(leaves_[i]);
    while (next < checkpoints_.size() && checkpoints_[next].size == i + 1) {
      if (frontier.root() != checkpoints_[next].root) return good;
      good = i + 1;
      ++next;
    }
  }
  return good;
}

void AuditLog::TenantLog::remember_grant(const detail::Frame& frame) {
  if (frame.tag != detail::kFullTag || frame.header.sealed) return;  // grant records are kept in clear
  auto event = detail::decode_body(frame.header.body, frame.header.timestamp_ms);
  if (!event) return;
  if (event->operation == Operation::GrantOperatorAccess) {
    auto until = parse_grant_expiry(event->detail);
    if (until) grant_records_.push_back({frame.header.index, event->target, until});
  } else if (event->operation == Operation::RevokeOperatorAccess) {
    grant_records_.push_back({frame.header.index, event->target, std::nullopt});
  }
}

void AuditLog::TenantLog::derive_grants(std::uint64_t covered) {
  grants_.clear();
  for (const auto& record : grant_records_) {
    if (record.index >= covered) break;  // not (yet) covered by a signed checkpoint: not a grant
    apply_grant(record.operator_id, record.until_ms);
  }
  grant_records_.clear();
}

std::uint64_t AuditLog::TenantLog::append(bool sealed, std::int64_t timestamp_ms, std::uint64_t event_id,
                                          std::string_view body, std::optional<Hash> clear_digest) {
  check_usable();
  const std::uint64_t index = leaves_.size();
  detail::RecordHeader h;
  h.sealed = sealed;
  h.index = index;
  h.timestamp_ms = timestamp_ms;
  h.event_id = event_id;
  h.tenant = tenant_.view();
  h.body = body;
  h.clear_digest = clear_digest;
  const std::string payload = detail::encode_record(h, *record_key_);
  const Hash leaf = leaf_hash(std::string_view(payload).substr(0, payload.size() - body.size()));
  const std::size_t before = pending_.size();
  detail::append_frame(pending_, detail::kFullTag, payload, leaf);
  pending_sizes_.push_back(static_cast<std::uint32_t>(pending_.size() - before));
  leaves_.push_back(leaf);
  frontier_.append(leaf);
  if (options_.fsync_every_event || pending_.size() >= options_.write_buffer_bytes) {
    try {
      flush_locked();
      if (options_.fsync_every_event) streams_->sync_records();
    } catch (const Error& e) {
      broken_ = e;
      throw;
    }
  }
  ++since_checkpoint_;
  if (signing_allowed() && (since_checkpoint_ >= options_.checkpoint_every_events ||
                            std::chrono::steady_clock::now() - last_checkpoint_ >= options_.checkpoint_every)) {
    checkpoint();
  }
  return index;
}

void AuditLog::TenantLog::find_key_to_link() {
  if (!rotations_.empty() || checkpoints_.empty()) return;
  const auto origin = origin_for(tenant_);
  if (CheckpointVerifier::parse(signer_->verifier_key())->verify(checkpoints_.back().note, origin)) return;
  for (const auto& previous : options_.previous_signers) {
    if (previous && CheckpointVerifier::parse(previous->verifier_key())->verify(checkpoints_.back().note, origin)) {
      link_from_ = previous;
      return;
    }
  }
}

void AuditLog::TenantLog::link_previous_key() {
  if (!link_from_) return;
  KeyRotation rotation{origin_for(tenant_), link_from_->verifier_key(), signer_->verifier_key(),
                       sign_key_rotation(*link_from_, origin_for(tenant_), signer_->verifier_key())};
  streams_->append_checkpoint(rotation.note);
  rotation_at_.push_back(checkpoints_.size());
  rotations_.push_back(std::move(rotation));
  link_from_.reset();
}

void AuditLog::TenantLog::rotate_signer(std::shared_ptr<const CheckpointSigner> next) {
  check_usable();
  if (!next || next->verifier_key() == signer_->verifier_key()) {
    throw Error(ErrorCode::InvalidArgument, "a key rotation needs a different signing key");
  }
  checkpoint();  // everything so far is covered by the old key, so no record needs its authenticator
  KeyRotation rotation{origin_for(tenant_), signer_->verifier_key(), next->verifier_key(),
                       sign_key_rotation(*signer_, origin_for(tenant_), next->verifier_key())};
  streams_->append_checkpoint(rotation.note);
  rotation_at_.push_back(checkpoints_.size());
  rotations_.push_back(std::move(rotation));
  signer_ = std::move(next);
  record_key_ = record_key_of(*signer_);
}

const Checkpoint& AuditLog::TenantLog::checkpoint() {
  check_usable();
  if (!signing_allowed()) {
    throw Error(ErrorCode::Unavailable,
                "the audit log of tenant \"" + tenant_.str() + "\" signs nothing until its witnesses confirmed (a quorum "
                "of " + std::to_string(policy_.quorum) + ") that it extends what they cosigned; retried in the background",
                options_.witness_retry);
  }
  if (!checkpoints_.empty() && checkpoints_.back().size == leaves_.size()) return checkpoints_.back();
  flush_locked();
  streams_->sync_records();
  link_previous_key();
  Checkpoint cp = signer_->sign(origin_for(tenant_), leaves_.size(), frontier_.root());
  streams_->append_checkpoint(cp.note);
  checkpoints_.push_back(std::move(cp));
  since_checkpoint_ = 0;
  last_checkpoint_ = std::chrono::steady_clock::now();
  if (on_signed) on_signed();
  return checkpoints_.back();
}

void AuditLog::TenantLog::flush() {
  check_usable();
  flush_locked();
}

void AuditLog::TenantLog::sync(std::unique_lock<std::mutex>& lock) {
  check_usable();
  flush_locked();
  try {
    streams_->sync_records_shared(lock);
  } catch (const Error& e) {
    if (!broken_) broken_ = Error(ErrorCode::StorageFailure, e.message() + " (log closed)");
  }
  check_usable();
}

void AuditLog::TenantLog::flush_locked() {
  if (pending_sizes_.empty()) return;
  std::vector<std::string_view> frames;
  frames.reserve(pending_sizes_.size());
  std::size_t pos = 0;
  for (const std::uint32_t size : pending_sizes_) {
    frames.push_back(std::string_view(pending_).substr(pos, size));
    pos += size;
  }
  try {
    streams_->append_records(stored_, frames);
  } catch (const Error& e) {
    // The buffered records were acknowledged; losing them silently would hide events.
    broken_ = Error(ErrorCode::StorageFailure, e.message() + " (buffered events lost; log closed)");
    throw *broken_;
  }
  stored_ += frames.size();
  pending_.clear();
  pending_sizes_.clear();
}

std::string AuditLog::TenantLog::read_frames(std::uint64_t first, std::uint64_t count) {
  check_usable();
  flush_locked();
  if (first >= leaves_.size() || count == 0) return {};
  return streams_->read_records(first, std::min<std::uint64_t>(count, leaves_.size() - first));
}

std::uint64_t AuditLog::TenantLog::prune_before(std::unique_lock<std::mutex>& lock, std::int64_t cutoff_ms) {
  check_usable();
  streams_->wait_idle(lock);  // prune replaces what a running group commit may be syncing
  check_usable();
  const std::string bytes = read_frames(0, leaves_.size());
  const detail::Scan s = detail::scan(bytes, tenant_.view());
  if (s.error || s.frames.size() != leaves_.size()) {
    throw Error(ErrorCode::Tampered, "audit log " + streams_->records_name() + " changed in storage: " +
                                         s.error.value_or("record count differs"));
  }
  std::vector<std::string> rewritten(s.frames.size());
  std::uint64_t pruned = 0;
  for (std::size_t i = 0; i < s.frames.size(); ++i) {
    const detail::Frame& f = s.frames[i];
    if (f.tag == detail::kFullTag && f.header.timestamp_ms < cutoff_ms) {
      detail::append_frame(rewritten[i], detail::kPrunedTag, detail::pruned_payload(f.header), f.leaf);
      ++pruned;
    } else {
      detail::append_frame(rewritten[i], f.tag, f.payload, f.leaf);
    }
  }
  if (pruned == 0) return 0;
  const std::vector<std::string_view> frames(rewritten.begin(), rewritten.end());
  try {
    streams_->replace_records(frames);
  } catch (const Error& e) {
    broken_ = e;  // the stored records may no longer be what this log holds in memory
    throw;
  }
  return pruned;
}

std::optional<AuditLog::TenantLog::Submission> AuditLog::TenantLog::next_submission() {
  if (broken_ || !witnessed()) return std::nullopt;
  Submission s;
  if (!startup_checked_) {
    // The start-up check: a checkpoint over everything the log holds, signed in memory only; it is
    // stored (with the cosignatures) once the quorum accepted it, and signing opens then.
    s.checkpoint = signer_->sign(origin_for(tenant_), leaves_.size(), frontier_.root());
  } else {
    if (checkpoints_.empty()) return std::nullopt;
    const Checkpoint& latest = checkpoints_.back();
    if (published_ && published_->size == latest.size && published_->root == latest.root) return std::nullopt;
    s.checkpoint = latest;
  }
  const Checkpoint& latest = s.checkpoint;
  s.policy = policy_;
  for (const std::uint64_t held : witness_sizes_) {
    const std::uint64_t old_size = std::min(held, latest.size);
    s.old_sizes.push_back(old_size);
    s.proofs.push_back(proof_between(old_size, latest.size));
  }
  return s;
}

std::vector<Hash> AuditLog::TenantLog::proof_between(std::uint64_t old_size, std::uint64_t new_size) const {
  if (old_size == 0 || old_size >= new_size || new_size > leaves_.size()) return {};
  return consistency_proof(leaves_, old_size, new_size).value();
}

void AuditLog::TenantLog::witness_holds(std::size_t witness, std::uint64_t size) {
  if (witness < witness_sizes_.size()) witness_sizes_[witness] = size;
}

void AuditLog::TenantLog::publish(const Checkpoint& checkpoint, const std::string& cosignatures) {
  startup_checked_ = true;
  if (published_ && published_->size >= checkpoint.size) return;  // already published (or newer)
  // A newer checkpoint was signed while the witnesses answered: the stream never goes backwards,
  // so this one is not stored; the newer one is submitted next.
  if (!checkpoints_.empty() && checkpoints_.back().size > checkpoint.size) return;
  flush_locked();
  streams_->sync_records();  // the records a stored checkpoint covers are durable first
  link_previous_key();
  Checkpoint cosigned = checkpoint;
  cosigned.note = checkpoint.note + cosignatures;  // the note ends in its last signature line's newline
  streams_->append_checkpoint(cosigned.note);
  checkpoints_.push_back(cosigned);
  published_ = std::move(cosigned);
}

std::optional<std::int64_t> AuditLog::TenantLog::grant_of(const std::string& operator_id) const {
  auto it = grants_.find(operator_id);
  if (it == grants_.end()) return std::nullopt;
  return it->second;
}

void AuditLog::TenantLog::apply_grant(const std::string& operator_id, std::optional<std::int64_t> until_ms) {
  if (until_ms) {
    grants_[operator_id] = *until_ms;
  } else {
    grants_.erase(operator_id);
  }
}

}  // namespace tenantai::audit
