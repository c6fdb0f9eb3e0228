// Platform: one instance of every layer, wired together (keys → sealer → audit log; caches,
// corpus and memory sealed with tenant keys; SystemScope visits recorded in the visited tenant's
// own audit log; docs/architecture.md gives the request order). Every stateful layer is an
// interface the host may supply in PlatformOptions; each defaults to the embedded
// implementation under data_dir. A Pipeline, TenantRegistry and TenantApi each take the
// narrow set of layers they use (pipeline_layers(), registry_layers(), tenant_api_layers());
// built on a Platform, they use its own.
//
//   PlatformOptions options;
//   options.data_dir = "/var/lib/tenantai";
//   options.backend = std::make_shared<inference::EchoModel>();
//   options.embedder = std::make_shared<inference::HashingEmbedder>();
//   Platform platform(std::move(options));
//   TenantRegistry registry(platform);
//   Pipeline pipeline(platform);
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "tenantai/audit/audit_log.h"
#include "tenantai/audit/checkpoint.h"
#include "tenantai/audit/recorders.h"
#include "tenantai/cache/embedding_cache.h"
#include "tenantai/cache/response_cache_store.h"
#include "tenantai/cache/semantic_cache.h"
#include "tenantai/core/authenticator.h"
#include "tenantai/core/time_source.h"
#include "tenantai/corpus/corpus_store.h"
#include "tenantai/crypto/envelope_sealer.h"
#include "tenantai/crypto/key_provider.h"
#include "tenantai/inference/backend.h"
#include "tenantai/inference/model_router.h"
#include "tenantai/memory/memory_store.h"
#include "tenantai/metering/budget.h"
#include "tenantai/metering/counter_store.h"
#include "tenantai/metering/meter.h"
#include "tenantai/metering/price_table.h"
#include "tenantai/metering/rate_limiter.h"
#include "tenantai/metering/tiers.h"
#include "tenantai/pipeline/document_library.h"
#include "tenantai/pipeline/pipeline_layers.h"
#include "tenantai/pipeline/tenant_config.h"
#include "tenantai/pipeline/tenant_directory.h"
#include "tenantai/pipeline/tenant_layer.h"
#include "tenantai/prompt/prompt_registry.h"
#include "tenantai/retrieval/vector_store.h"
#include "tenantai/tools/tool_registry.h"

namespace tenantai {
class ApiKeyAuthenticator;  // tenantai/core/api_key_authenticator.h
namespace detail {
class DataDirLock;
}  // namespace detail
}  // namespace tenantai
namespace tenantai::metering {
class FairScheduler;  // tenantai/metering/fair_scheduler.h
}  // namespace tenantai::metering

namespace tenantai::pipeline {

namespace detail {
class ServiceIdentity;
class AuditSigners;
}  // namespace detail

// A model the platform offers: routing facts and price.
struct ModelOffering {
  inference::ModelSpec spec;
  metering::ModelPrice price;
};

struct PlatformOptions {
  // Root of all durable state: keys/ (master key, wrapped data keys), audit/ (per-tenant logs,
  // the checkpoint signing key), memory/ (one SQLite file per tenant). Created if missing.
  std::filesystem::path data_dir;
  std::shared_ptr<inference::InferenceBackend> backend;   // required
  std::shared_ptr<inference::EmbeddingBackend> embedder;  // required
  // Models on offer. Empty: "echo-small" (cost tier 0) and "echo-large" (cost tier 1) with
  // demo prices, which is what examples/tenants.json names.
  std::vector<ModelOffering> models;
  // Service tiers a tenant config may name. Empty: "free", "standard", "enterprise".
  std::vector<metering::TierPolicy> tiers;
  std::size_t inference_slots = 4;         // concurrent backend calls (fair-scheduled)
  std::size_t memory_handles = 64;         // SQLite handles kept open at most
  float semantic_cache_floor = 0.92f;      // lowest similarity a tenant may set for semantic hits
  std::chrono::milliseconds cache_ttl{std::chrono::hours(1)};
  std::uint64_t audit_checkpoint_every = 1024;  // events between signed checkpoints
  std::size_t max_retrieved_passages = 8;  // per request
  // Stateful layers the host may supply (shared with the host, which may keep using them);
  // each nullptr is today's embedded implementation under data_dir.
  // The system of record for documents and vectors. nullptr: a FileCorpusStore under
  // data_dir/corpus, sealing the records of tenants whose config requires encryption.
  std::shared_ptr<corpus::CorpusStore> corpus;
  // Tenant key-encryption keys (a KMS or HSM adapter). nullptr: a LocalKeyProvider under
  // data_dir/keys (master key file 0600; keep it off the data disk in production).
  std::shared_ptr<crypto::KeyProvider> key_provider;
  // Connects to a witness a tenant's config names (audit_witnesses), e.g.
  // [](const AuditWitnessConfig& w) { return server::make_http_witness({w.host, w.port, w.path_prefix, ...}); }
  // (tenantai/server/http_witness.h; the pipeline layer carries no transport). nullptr: a tenant
  // whose config names witnesses is refused at onboarding (InvalidArgument), never unwitnessed.
  std::function<std::shared_ptr<audit::Witness>(const AuditWitnessConfig&)> witness_connector = nullptr;
  // Rate-limit buckets and budget ledgers. nullptr: an InMemoryCounterStore (per process).
  std::shared_ptr<metering::CounterStore> counters;
  // Conversation memory. nullptr: a SqliteMemoryStore under data_dir/memory, sealed with the
  // tenants' keys. A supplied store does its own sealing.
  std::shared_ptr<memory::MemoryStore> memory;
  // The API-key registry onboarding registers keys in. nullptr: an ApiKeyAuthenticator with a
  // random hashing secret over an InMemoryApiKeyStore (keys come back from the tenants file on
  // each start). A host sharing keys across replicas builds one with its hashing secret and an
  // ApiKeyStore of its own.
  std::shared_ptr<ApiKeyAuthenticator> api_keys;
  // What requests are authenticated with (mTLS, OIDC, ...). nullptr: `api_keys`.
  std::shared_ptr<Authenticator> authenticator;
  // The exact-response cache. nullptr: an in-process ResponseCache, sealed with tenant keys.
  std::shared_ptr<cache::ResponseCacheStore> response_cache;
  // Where audit logs live (records and signed checkpoints per tenant). nullptr: a
  // FileLogStorage under data_dir/audit.
  std::shared_ptr<audit::LogStorage> audit_storage;
  // The time source of every layer (TTLs, refills, budget periods, timestamps, key expiry).
  // nullptr: the system clock. Request deadlines always use real steady time.
  std::shared_ptr<const TimeSource> clock;
};

// A tenant whose state failed verification: it gets TenantUnavailable, every other tenant serves.
struct QuarantinedTenant {
  TenantId tenant;
  std::string reason;  // the error that quarantined it (names the file and what was wrong)
};

// Owns every layer. Construction takes an exclusive lock on data_dir (Unavailable naming it when
// another live Platform or tenantai-backup holds it; released when the platform is destroyed or
// the process dies), creates data_dir's sub-directories, loads or creates the
// master key (mode 0600) and the audit signing key; failures throw StorageFailure naming the
// path. Thread-safe: every accessor returns a layer that is itself thread-safe. Destruction
// waits for running inference jobs, then signs a final checkpoint for every tenant that has a
// log (graceful shutdown flushes the audit log).
class Platform final : public TenantDirectory {
 public:
  explicit Platform(PlatformOptions options);
  ~Platform() override;
  Platform(const Platform&) = delete;
  Platform& operator=(const Platform&) = delete;

  const PlatformOptions& options() const noexcept { return options_; }

  // What requests authenticate with (PlatformOptions::authenticator, default: api_keys()).
  Authenticator& authenticator() noexcept { return *authenticator_; }
  // The API-key registry (issue, add, revoke, rotate); include tenantai/core/api_key_authenticator.h.
  ApiKeyAuthenticator& api_keys() noexcept { return *api_keys_; }
  const TimeSource& clock() const noexcept { return *clock_; }
  crypto::KeyProvider& key_provider() noexcept { return *key_provider_; }
  crypto::EnvelopeSealer& sealer() noexcept { return *sealer_; }
  audit::AuditLog& audit() noexcept { return *audit_; }
  audit::AuditAccessRecorder& access_recorder() noexcept { return *access_recorder_; }
  // The signer of `tenant`'s audit checkpoints: one Ed25519 key per tenant log, named after its
  // origin, sealed by the KeyProvider's service-key wrapping under <data_dir>/keys/audit-signers
  // (created on first use). Throws CryptoFailure / Tampered naming the file when it does not
  // unseal (the tenant's log is then unusable, others are not affected).
  std::shared_ptr<const audit::CheckpointSigner> audit_signer(const TenantId& tenant);
  // The tenant log's verifier key ("<origin>+<hash>+<key>") and verifier (for audit::verify_log /
  // verify_bundle). Throw as audit_signer does.
  std::string audit_verifier_key(const TenantId& tenant);
  // Rotates `tenant`'s audit signing key (an operator action through `system`, recorded in the
  // tenant's log): the old key signs a rotation statement naming the new one, so a verifier
  // pinned to either follows the chain. Returns the new verifier key. Throws as the log does.
  std::string rotate_audit_key(SystemScope& system, const TenantId& tenant);
  audit::CheckpointVerifier audit_verifier(const TenantId& tenant);

  metering::PriceTable& prices() noexcept { return prices_; }
  metering::TenantTiers& tiers() noexcept { return tiers_; }
  metering::BudgetManager& budgets() noexcept { return *budgets_; }
  metering::RateLimiter& limiter() noexcept { return *limiter_; }
  // Include tenantai/metering/fair_scheduler.h to use it.
  metering::FairScheduler& scheduler() noexcept { return *scheduler_; }
  metering::Meter& meter() noexcept { return *meter_; }

  corpus::CorpusStore& corpus() noexcept { return *corpus_; }
  retrieval::VectorStore& vectors() noexcept { return *vectors_; }
  DocumentLibrary& documents() noexcept { return *documents_; }
  cache::ResponseCacheStore& response_cache() noexcept { return *response_cache_; }
  cache::SemanticCache& semantic_cache() noexcept { return *semantic_cache_; }
  cache::EmbeddingCache& embedding_cache() noexcept { return *embedding_cache_; }
  memory::MemoryStore& memory() noexcept { return *memory_; }

  prompt::PromptRegistry& prompts() noexcept { return prompts_; }
  inference::ModelRouter& router() noexcept { return router_; }
  tools::ToolRegistry& tools() noexcept { return tools_; }
  inference::InferenceBackend& backend() noexcept { return *options_.backend; }
  inference::EmbeddingBackend& embedder() noexcept { return *options_.embedder; }

  // A SystemScope on this platform's access recorder: the only kind that can reach the tenants
  // this platform serves (a scope on any other recorder is refused with PermissionDenied, since
  // its visits might not be recorded in the tenants' logs). Each visit is appended to the
  // visited tenant's audit log before it runs. `reason` must be a string literal.
  SystemScope system_scope(std::string operator_id, Reason reason, SystemScopeOptions options = {});

  // The onboarding document a tenant was provisioned with (NotFound for an unknown or
  // offboarded tenant: requests of such a tenant fail closed). Thread-safe.
  Result<std::shared_ptr<const TenantConfig>> tenant_config(const TenantId& tenant) const override;
  // Used by TenantRegistry only. Setting a config claims the tenant for this platform's recorder
  // (AccessRecorder::claim): AlreadyExists when another live platform in the process serves it.
  void set_tenant_config(const TenantId& tenant, std::shared_ptr<const TenantConfig> config) override;
  void forget_tenant_config(const TenantId& tenant) override;
  // Tenants currently provisioned (cross-tenant knowledge: needs a SystemScope).
  std::vector<TenantId> provisioned_tenants(const SystemScope& proof) const;

  // Makes the tenant of `context` ready to serve, once per process and lazily (a start does not
  // wait for every tenant): verifies its audit log and restores its corpus into the vector store
  // and document library. A tenant whose state fails verification is quarantined: this call and
  // every later one throw TenantUnavailable with the reason, a line on stderr names it, and no
  // other tenant is affected. A missing key (CryptoFailure) is reported as it is and retried on
  // the next call. Concurrent first calls of one tenant wait for one restore. Thread-safe.
  void ensure_ready(const TenantContext& context) override;
  // Quarantines a tenant (used when onboarding finds its state damaged). Thread-safe.
  void quarantine(const TenantId& tenant, const Error& reason) override;
  // Tenants currently quarantined, with reasons (cross-tenant knowledge: needs a SystemScope).
  std::vector<QuarantinedTenant> quarantined_tenants(const SystemScope& proof) const;

  // The tenant lifecycle's layers, in provisioning order (the built-in ones first). add_layer
  // appends a host's own stateful layer; call it before the platform serves (not thread-safe
  // with onboarding, offboarding or a tenant's first request).
  void add_layer(std::shared_ptr<TenantLayer> layer);
  const std::vector<std::shared_ptr<TenantLayer>>& layers() const noexcept { return layers_; }

  // A context of the requester's tenant for the platform's own service principal (memory
  // admin, export, key management, writing any document), for layer operations done on behalf
  // of a request that already proved its authority (the registry's export and offboarding).
  // Refuses a dead system context (PermissionDenied).
  TenantContext service_context(const TenantContext& requester) const override;

  // The name of the system prompt template every tenant's overlay applies to.
  static constexpr const char* kAnswerTemplate = pipeline::kAnswerTemplate;

 private:
  cache::CacheQuota cache_quota_for(const TenantId& tenant) const;
  void make_keys_and_audit(const std::filesystem::path& root);
  void make_metering();
  void make_data_layers(const std::filesystem::path& root);
  void make_caches();
  void install_tool_refusal_audit();
  struct Readiness;
  std::shared_ptr<Readiness> readiness_of(const TenantId& tenant);
  void restore(const TenantContext& context);

  PlatformOptions options_;
  std::unique_ptr<tenantai::detail::DataDirLock> data_dir_lock_;  // first in, last out
  std::shared_ptr<const TimeSource> clock_;
  std::shared_ptr<ApiKeyAuthenticator> api_keys_;
  std::shared_ptr<Authenticator> authenticator_;
  // The witnesses named in the tenant's config (unwitnessed when none or not provisioned yet).
  audit::WitnessPolicy witness_policy_of(const TenantId& tenant) const;
  void set_tenant_config_only(const TenantId& tenant, std::shared_ptr<const TenantConfig> config);
  std::unique_ptr<detail::AuditSigners> audit_signers_;
  // The single signer of earlier releases (keys/audit-signer.key), if present: its checkpoints
  // are still accepted (previous_verifier_keys), it signs nothing new.
  std::shared_ptr<const audit::CheckpointSigner> legacy_audit_signer_;
  audit::AuditKeyAccessObserver key_observer_;
  std::shared_ptr<crypto::KeyProvider> key_provider_;
  std::unique_ptr<crypto::EnvelopeSealer> sealer_;
  std::unique_ptr<audit::AuditLog> audit_;
  std::unique_ptr<audit::AuditAccessRecorder> access_recorder_;

  metering::PriceTable prices_;
  metering::TenantTiers tiers_;
  std::shared_ptr<metering::CounterStore> counters_;
  std::unique_ptr<metering::BudgetManager> budgets_;
  std::unique_ptr<metering::RateLimiter> limiter_;
  std::unique_ptr<metering::Meter> meter_;
  struct InferencePool;  // the backend call threads (Boost.Asio), kept out of this header
  std::unique_ptr<InferencePool> inference_pool_;
  std::unique_ptr<metering::FairScheduler> scheduler_;

  std::shared_ptr<corpus::CorpusStore> corpus_;
  std::unique_ptr<retrieval::VectorStore> vectors_;
  std::unique_ptr<DocumentLibrary> documents_;
  std::shared_ptr<cache::ResponseCacheStore> response_cache_;
  std::unique_ptr<cache::SemanticCache> semantic_cache_;
  std::unique_ptr<cache::EmbeddingCache> embedding_cache_;
  std::shared_ptr<memory::MemoryStore> memory_;

  prompt::PromptRegistry prompts_;
  inference::ModelRouter router_;
  tools::ToolRegistry tools_;
  std::vector<std::shared_ptr<TenantLayer>> layers_;

  std::unique_ptr<detail::ServiceIdentity> service_identity_;
  mutable std::shared_mutex readiness_mutex_;
  std::unordered_map<TenantId, std::shared_ptr<Readiness>> readiness_;
  mutable std::shared_mutex configs_mutex_;
  std::unordered_map<TenantId, std::shared_ptr<const TenantConfig>> configs_;
};

}  // namespace tenantai::pipeline
