#include "tenantai/audit/audit_log.h"

#include <sodium.h>

#include "audit/bundle.h"
#include "audit/record_codec.h"
#include "audit/tenant_log.h"
#include "audit/witness_publisher.h"
#include "core/durable_file.h"

namespace tenantai::audit {

namespace {

constexpr std::string_view kBodyKind = "audit-event";

std::int64_t to_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// The sealed body's object id: the event id as 16 hex digits (same on every architecture).
std::string event_object_id(std::uint64_t event_id) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, event_id >>= 4) out[static_cast<std::size_t>(i)] = kDigits[event_id & 15];
  return out;
}

std::uint64_t random_u64() {
  std::uint64_t v = 0;
  randombytes_buf(&v, sizeof v);
  return v;
}

// Format 2 seals salt || clear body, and the header commits to SHA-256 of that, so an export's
// event lines can be checked by anyone while the salt keeps the digest from confirming guesses.
struct SaltedBody {
  std::string text;
  Hash digest{};
};
SaltedBody salted(std::string_view clear) {
  SaltedBody out;
  out.text.resize(detail::kSaltSize);
  randombytes_buf(out.text.data(), detail::kSaltSize);
  out.text.append(clear);
  crypto_hash_sha256(out.digest.data(), reinterpret_cast<const unsigned char*>(out.text.data()), out.text.size());
  return out;
}

}  // namespace

AuditLog::AuditLog(std::filesystem::path root, AuditLogOptions options)
    : root_(std::move(root)), options_(std::move(options)) {
  tenantai::detail::ensure_sodium();
  if (options_.signer == nullptr && !options_.signer_for) {
    throw Error(ErrorCode::InvalidArgument, "AuditLogOptions.signer or signer_for is required");
  }
  if (options_.checkpoint_every_events == 0) {
    throw Error(ErrorCode::InvalidArgument, "AuditLogOptions.checkpoint_every_events must be at least 1");
  }
  if (options_.storage == nullptr) {
    std::error_code ec;
    std::filesystem::create_directories(root_, ec);
    if (ec) throw Error(ErrorCode::StorageFailure, "cannot create audit root " + root_.string() + ": " + ec.message());
    options_.storage = std::make_shared<FileLogStorage>(root_);
  }
  next_event_id_ = random_u64();
  if (options_.witnesses_for) publisher_ = std::make_unique<WitnessPublisher>(options_);
}

AuditLog::~AuditLog() = default;

std::filesystem::path AuditLog::log_path(const TenantId& tenant) const { return root_ / (tenant.str() + ".log"); }
std::filesystem::path AuditLog::checkpoints_path(const TenantId& tenant) const {
  return root_ / (tenant.str() + ".checkpoints");
}

std::shared_ptr<AuditLog::TenantLog> AuditLog::log_of(const TenantId& tenant) {
  // Every caller reached here through a TenantScope, a SystemScope visit or an AccessRecord.
  std::lock_guard lock(logs_mutex_);
  auto& slot = logs_[tenant];
  if (!slot) {
    slot = std::make_shared<TenantLog>(*options_.storage, tenant, options_);
    if (publisher_) {
      std::weak_ptr<TenantLog> weak = slot;
      slot->on_signed = [this, weak] {
        auto log = weak.lock();
        if (log && log->witnessed()) publisher_->wake(log);
      };
      if (slot->witnessed()) publisher_->wake(slot);  // the start-up check: do the witnesses hold more?
    }
  }
  return slot;
}

std::string AuditLog::frames_of(const TenantId& tenant, std::uint64_t first, std::uint64_t count) {
  auto log = log_of(tenant);
  std::lock_guard lock(log->mutex);
  return log->read_frames(first, count);
}

std::uint64_t AuditLog::append_for(const TenantContext& context, AuditEvent event) {
  if (event.actor.empty()) event.actor = context.actor();
  if (event.request_id.empty()) event.request_id = context.request_id();
  if (event.timestamp == std::chrono::system_clock::time_point{}) event.timestamp = options_.clock();
  const std::uint64_t event_id = next_event_id_.fetch_add(1, std::memory_order_relaxed);
  std::string body = detail::encode_body(event);
  std::optional<Hash> clear_digest;
  if (options_.body_sealer != nullptr) {
    try {
      const SaltedBody clear = salted(body);
      body = options_.body_sealer->seal(context, kBodyKind, event_object_id(event_id), clear.text);
      clear_digest = clear.digest;
    } catch (const Error& e) {
      // After crypto-shredding only the record of the destruction itself may be kept in clear.
      if (e.code() != ErrorCode::CryptoFailure || event.operation != Operation::KeyDestroy) throw;
    }
  }
  auto log = log_of(context.tenant());
  std::lock_guard lock(log->mutex);
  return log->append(clear_digest.has_value(), to_ms(event.timestamp), event_id, body, clear_digest);
}

std::uint64_t AuditLog::append_clear(TenantLog& log, const AuditEvent& event) {
  const std::uint64_t event_id = next_event_id_.fetch_add(1, std::memory_order_relaxed);
  return log.append(false, to_ms(event.timestamp), event_id, detail::encode_body(event));
}

std::uint64_t AuditLog::append_access(const AccessRecord& record) {
  AuditEvent e;
  e.operation = Operation::OperatorAccess;
  e.actor = "system:" + record.operator_id;
  e.request_id = record.request_id;
  e.timestamp = record.at;
  e.target = "tenant";
  e.detail = "reason: " + record.reason + (record.ticket.empty() ? "" : "; ticket: " + record.ticket);
  auto log = log_of(record.tenant);
  std::unique_lock lock(log->mutex);
  const std::uint64_t index = append_clear(*log, e);
  log->sync(lock);  // on disk before the visit runs
  return index;
}

void AuditLog::require_operator_grant(const TenantContext& context, std::string_view what) {
  if (!context.is_system()) return;  // the tenant's own request
  const std::string& operator_id = context.system_operator();
  std::optional<std::int64_t> until;
  {
    auto log = log_of(context.tenant());
    std::lock_guard lock(log->mutex);
    log->check_usable();
    until = log->grant_of(operator_id);
  }
  const bool allowed = until && *until > to_ms(options_.clock());
  AuditEvent e;
  e.operation = Operation::OperatorAccess;
  e.target = "audit-log";
  e.detail = std::string(what);
  e.status = allowed ? "ok" : "PermissionDenied";
  append_for(context, std::move(e));
  if (!allowed) {
    throw Error(ErrorCode::PermissionDenied, "operator \"" + operator_id + "\" has no unexpired grant from tenant \"" +
                                                 context.tenant().str() + "\" to read its audit log in full");
  }
}

void AuditLog::sync_for(const TenantId& tenant) {
  auto log = log_of(tenant);
  std::unique_lock lock(log->mutex);
  log->sync(lock);
}

Checkpoint AuditLog::checkpoint_for(const TenantId& tenant) {
  auto log = log_of(tenant);
  std::lock_guard lock(log->mutex);
  return log->checkpoint();
}

Checkpoint AuditLog::latest_checkpoint_for(const TenantId& tenant) {
  auto log = log_of(tenant);
  std::lock_guard lock(log->mutex);
  log->check_usable();
  if (log->checkpoints().empty()) {
    throw Error(ErrorCode::NotFound, "tenant \"" + tenant.str() + "\" has no audit checkpoint yet");
  }
  return log->checkpoints().back();
}

Checkpoint AuditLog::published_checkpoint_for(const TenantId& tenant) {
  auto log = log_of(tenant);
  std::lock_guard lock(log->mutex);
  log->check_usable();
  if (!log->published()) {
    throw Error(ErrorCode::NotFound, "tenant \"" + tenant.str() + "\" has no witnessed (published) audit checkpoint yet");
  }
  return *log->published();
}

void AuditLog::refresh_witnesses(const TenantId& tenant) {
  if (!publisher_) return;
  std::shared_ptr<TenantLog> log;
  {
    std::lock_guard lock(logs_mutex_);
    auto it = logs_.find(tenant);
    if (it == logs_.end()) return;
    log = it->second;
  }
  WitnessPolicy policy = options_.witnesses_for(tenant);
  {
    std::lock_guard lock(log->mutex);
    log->set_policy(std::move(policy));
    if (!log->witnessed()) return;
  }
  publisher_->wake(log);
}

bool AuditLog::publish_now_for(const TenantId& tenant) {
  auto log = log_of(tenant);
  {
    std::lock_guard lock(log->mutex);
    log->check_usable();
    if (!log->witnessed()) return false;
  }
  return publisher_->publish_now(*log);
}

std::uint64_t AuditLog::size_of(const TenantId& tenant) {
  auto log = log_of(tenant);
  std::lock_guard lock(log->mutex);
  log->check_usable();
  return log->size();
}

Result<detail::OpenedBody> AuditLog::open_body(const TenantContext& context, const detail::Frame& f) {
  const auto& header = f.header;
  if (!header.sealed) return detail::OpenedBody{std::string(header.body), {}};
  const std::string where = "audit record " + std::to_string(header.index);
  if (options_.body_sealer == nullptr) return Error(ErrorCode::CryptoFailure, where + " is sealed but the log has no sealer");
  auto opened = options_.body_sealer->open(context, kBodyKind, event_object_id(header.event_id), header.body);
  if (!opened) return opened.error();
  if (header.format == detail::kLegacyFormat) return detail::OpenedBody{std::move(opened).value(), {}};
  if (opened->size() < detail::kSaltSize) return Error(ErrorCode::Tampered, where + ": sealed body too short");
  detail::OpenedBody body{opened->substr(detail::kSaltSize), opened->substr(0, detail::kSaltSize)};
  if (!detail::body_matches(header, body)) {
    return Error(ErrorCode::Tampered, where + ": sealed body does not match the digest its header commits to");
  }
  return body;
}

std::vector<AuditRecord> AuditLog::read_for(const TenantContext& context, std::uint64_t first, std::uint64_t count) {
  // An operator's visit reads in full only with the tenant's grant, like operator_read_full.
  require_operator_grant(context, "full read of [" + std::to_string(first) + ", +" + std::to_string(count) + ")");
  const std::string bytes = frames_of(context.tenant(), first, count);
  // Bodies are opened outside the lock: the sealer may report an unwrap, which appends.
  std::vector<AuditRecord> out;
  std::uint64_t index = first;
  for (const detail::Frame& f : detail::split_frames(bytes)) {
    const auto& header = f.header;
    const char tag = f.tag;
    AuditRecord r;
    r.index = index++;
    r.timestamp_ms = header.timestamp_ms;
    r.sealed = header.sealed;
    r.pruned = tag == detail::kPrunedTag;
    if (!r.pruned) {
      auto body = open_body(context, f);
      if (!body && body.error().code() == ErrorCode::CryptoFailure) {  // key destroyed: unreadable, not altered
        out.push_back(std::move(r));
        continue;
      }
      if (!body) throw body.error();
      r.event = detail::decode_body(body->clear, header.timestamp_ms);
      if (!r.event) throw Error(ErrorCode::Tampered, "audit record " + std::to_string(r.index) + " has a malformed body");
    }
    out.push_back(std::move(r));
  }
  return out;
}

InclusionProof AuditLog::inclusion_for(const TenantId& tenant, std::uint64_t index, std::uint64_t size) {
  auto log = log_of(tenant);
  std::lock_guard lock(log->mutex);
  log->check_usable();
  InclusionProof p;
  p.index = index;
  p.tree_size = size;
  p.path = inclusion_proof(log->leaves(), index, size).value();
  p.leaf = log->leaves()[index];
  return p;
}

ConsistencyProof AuditLog::consistency_for(const TenantId& tenant, std::uint64_t old_size, std::uint64_t new_size) {
  auto log = log_of(tenant);
  std::lock_guard lock(log->mutex);
  log->check_usable();
  ConsistencyProof p;
  p.old_size = old_size;
  p.new_size = new_size;
  p.path = consistency_proof(log->leaves(), old_size, new_size).value();
  return p;
}

void AuditLog::rotate_for(const TenantContext& context, std::shared_ptr<const CheckpointSigner> next) {
  if (!next) throw Error(ErrorCode::InvalidArgument, "a key rotation needs a signing key");
  AuditEvent e;
  e.operation = Operation::KeyRotate;
  e.actor = context.actor();
  e.request_id = context.request_id();
  e.timestamp = options_.clock();
  e.target = "audit-signing-key";
  e.detail = "new key " + next->verifier_key();
  auto log = log_of(context.tenant());
  std::lock_guard lock(log->mutex);
  log->check_usable();
  append_clear(*log, e);  // covered by the old key's last checkpoint
  log->rotate_signer(std::move(next));
}

void AuditLog::grant_for(const TenantContext& context, const std::string& operator_id,
                         std::chrono::system_clock::time_point until, bool grant) {
  if (!context.has_capability("admin:audit")) {
    throw Error(ErrorCode::PermissionDenied, "granting operator access needs capability admin:audit (actor \"" +
                                                 context.actor() + "\")");
  }
  if (operator_id.empty() || operator_id.find_first_of(" \t\r\n") != std::string::npos) {
    throw Error(ErrorCode::InvalidArgument, "invalid operator id \"" + escape_for_message(operator_id) + "\"");
  }
  // The grant is a fact of the tenant's own log: a clear record (so the log can derive grants
  // when it opens, without the tenant's key), covered by a checkpoint signed at once. Only
  // grants a checkpoint covers count; a grants file or an unsigned tail is not a grant.
  AuditEvent e;
  e.operation = grant ? Operation::GrantOperatorAccess : Operation::RevokeOperatorAccess;
  e.actor = context.actor();
  e.request_id = context.request_id();
  e.timestamp = options_.clock();
  e.target = operator_id;
  if (grant) e.detail = grant_detail(to_ms(until));
  auto log = log_of(context.tenant());
  std::lock_guard lock(log->mutex);
  log->check_usable();
  append_clear(*log, e);
  log->checkpoint();
  log->apply_grant(operator_id, grant ? std::optional<std::int64_t>(to_ms(until)) : std::nullopt);
}

std::vector<RedactedRecord> AuditLog::operator_read(SystemScope& system, const TenantId& tenant, std::uint64_t first,
                                                    std::uint64_t count) {
  return system.visit(tenant, [&](auto scope) {
    AuditEvent e;
    e.operation = Operation::OperatorAccess;
    e.target = "audit-log";
    e.detail = "redacted read of [" + std::to_string(first) + ", +" + std::to_string(count) + ")";
    append_for(scope.context(), std::move(e));
    const std::string bytes = frames_of(tenant, first, count);
    std::vector<RedactedRecord> out;
    std::uint64_t index = first;
    for (const detail::Frame& f : detail::split_frames(bytes)) {
      const auto& header = f.header;
      const char tag = f.tag;
      RedactedRecord r;
      r.index = index++;
      r.timestamp_ms = header.timestamp_ms;
      r.sealed = header.sealed;
      r.pruned = tag == detail::kPrunedTag;
      if (!r.sealed && !r.pruned) {
        if (auto event = detail::decode_body(header.body, header.timestamp_ms)) {
          r.operation = event->operation;
          r.status = event->status;
        }
      }
      out.push_back(std::move(r));
    }
    return out;
  });
}

std::vector<AuditRecord> AuditLog::operator_read_full(SystemScope& system, const TenantId& tenant, std::uint64_t first,
                                                      std::uint64_t count) {
  return system.visit(tenant, [&](auto scope) { return read_for(scope.context(), first, count); });
}

std::uint64_t AuditLog::prune_for(const TenantContext& context) {
  const auto retention = options_.retention(context.tenant());
  if (!retention) return 0;
  const std::int64_t cutoff = to_ms(options_.clock() - *retention);
  std::uint64_t pruned = 0;
  {
    auto log = log_of(context.tenant());
    std::unique_lock lock(log->mutex);
    pruned = log->prune_before(lock, cutoff);
  }
  if (pruned > 0) {
    AuditEvent e;
    e.operation = Operation::Erase;
    e.target = "audit-log";
    e.detail = "retention pruned " + std::to_string(pruned) + " bodies older than " + std::to_string(cutoff) + " ms";
    append_for(context, std::move(e));
  }
  return pruned;
}

Checkpoint AuditLog::export_for(const TenantContext& context, AuditSink& sink) {
  require_operator_grant(context, "export bundle");
  std::string bytes;
  std::vector<Checkpoint> checkpoints;
  detail::RotationNotes rotations;
  {
    auto log = log_of(context.tenant());
    std::lock_guard lock(log->mutex);
    log->checkpoint();
    checkpoints = log->checkpoints();
    for (std::size_t i = 0; i < log->rotations().size(); ++i) {
      rotations.emplace_back(log->rotation_at()[i], log->rotations()[i].note);
    }
    bytes = log->read_frames(0, checkpoints.back().size);
  }
  const detail::EventOpener opener = [&](const detail::Frame& f) -> std::optional<detail::OpenedBody> {
    auto body = open_body(context, f);
    if (body) return std::move(body).value();
    if (body.error().code() == ErrorCode::CryptoFailure) return std::nullopt;  // e.g. the key was destroyed
    throw body.error();
  };
  detail::write_bundle(context.tenant(), bytes, checkpoints, opener, sink, rotations);
  AuditEvent e;
  e.operation = Operation::Export;
  e.target = "audit-log";
  e.detail = "bundle of " + std::to_string(checkpoints.back().size) + " events";
  append_for(context, std::move(e));
  return checkpoints.back();
}

}  // namespace tenantai::audit
