// Every stateful layer the host can supply through PlatformOptions is really used: a KMS-like
// key provider that counts its unwraps, a counter store that counts its decisions, a memory
// store and a corpus store in the host's own directories, an API-key store and a response
// cache that count their calls, and a clock the test moves. The end-to-end flow (ingest, query,
// chat with memory, canaries per tenant) runs on them and nothing lands in the defaults.
#include <catch2/catch.hpp>
#include <tenantai/corpus/file_corpus_store.h>
#include <tenantai/crypto.h>
#include <tenantai/inference/echo_model.h>
#include <tenantai/inference/hashing_embedder.h>
#include <tenantai/memory.h>
#include <tenantai/metering/counter_store.h>
#include <tenantai/cache/response_cache.h>
#include <tenantai/core/api_key_authenticator.h>
#include <tenantai/core/time_source.h>
#include <tenantai/audit.h>
#include <tenantai/pipeline.h>

#include <atomic>
#include <filesystem>

#include "platform_fixture.h"
#include "support/manual_time_source.h"
#include "support/memory_log_storage.h"
#include "support/test_auth.h"

using namespace tenantai;

namespace {

using tenantai::test_support::fixed_secret;

// A stand-in for a KMS adapter: delegates to a LocalKeyProvider in its own directory and counts.
class CountingKeyProvider final : public crypto::KeyProvider {
 public:
  explicit CountingKeyProvider(const std::filesystem::path& dir) : inner_(dir) {}
  crypto::WrappedKey wrap(const TenantContext& c, const crypto::KeyLease& k) override {
    ++wraps;
    return inner_.wrap(c, k);
  }
  Result<crypto::KeyLease> unwrap(const TenantContext& c, const crypto::WrappedKey& w) override {
    ++unwraps;
    return inner_.unwrap(c, w);
  }
  std::uint32_t rotate(const TenantContext& c) override { return inner_.rotate(c); }
  std::uint32_t current_version(const TenantContext& c) override { return inner_.current_version(c); }
  void destroy(const TenantContext& c) override { inner_.destroy(c); }
  bool destroyed(const TenantContext& c) override { return inner_.destroyed(c); }
  crypto::WrappedKey wrap_service_key(std::string_view purpose, const crypto::KeyLease& k) override {
    ++service_wraps;
    return inner_.wrap_service_key(purpose, k);
  }
  Result<crypto::KeyLease> unwrap_service_key(std::string_view purpose, const crypto::WrappedKey& w) override {
    ++service_unwraps;
    return inner_.unwrap_service_key(purpose, w);
  }
  std::atomic<int> service_wraps{0};
  std::atomic<int> service_unwraps{0};
  std::atomic<int> wraps{0};
  std::atomic<int> unwraps{0};

 private:
  crypto::LocalKeyProvider inner_;
};

class CountingCounterStore final : public metering::CounterStore {
 public:
  Result<metering::Micros> reserve(const TenantContext& c, const metering::HoldRequest& r) override {
    ++calls;
    return inner_.reserve(c, r);
  }
  Result<metering::SettleOutcome> settle(const TenantContext& c, std::string_view id, metering::Micros a) override {
    ++calls;
    return inner_.settle(c, id, a);
  }
  bool release(const TenantContext& c, std::string_view id) override { return inner_.release(c, id); }
  metering::LedgerBalance balance(const TenantContext& c, std::string_view key) const override { return inner_.balance(c, key); }
  metering::BucketDecision take(const TenantContext& c, std::span<const metering::BucketTake> t,
                                std::chrono::steady_clock::time_point now) override {
    ++calls;
    return inner_.take(c, t, now);
  }
  std::atomic<int> calls{0};

 private:
  metering::InMemoryCounterStore inner_;
};

class CountingKeyStore final : public ApiKeyStore {
 public:
  Status insert(const ApiKeyRecord& r) override {
    ++inserts;
    return inner_.insert(r);
  }
  std::optional<ApiKeyRecord> find(const ApiKeyDigest& d) const override {
    ++lookups;
    return inner_.find(d);
  }
  std::optional<ApiKeyRecord> find_id(std::string_view id) const override { return inner_.find_id(id); }
  Status update(std::string_view id, bool revoked, std::optional<std::chrono::system_clock::time_point> e) override {
    return inner_.update(id, revoked, e);
  }
  std::vector<ApiKeyRecord> of_tenant(const TenantId& t) const override { return inner_.of_tenant(t); }
  std::size_t size() const override { return inner_.size(); }
  std::atomic<int> inserts{0};
  mutable std::atomic<int> lookups{0};

 private:
  InMemoryApiKeyStore inner_;
};

// A host's response cache: the embedded one behind a counter (an L1/L2 pair would sit here).
class CountingResponseCache final : public cache::ResponseCacheStore {
 public:
  explicit CountingResponseCache(cache::ResponseCacheOptions options) : inner_(std::move(options)) {}
  std::atomic<int> lookups{0};
  std::atomic<int> stores{0};

 protected:
  std::optional<std::string> do_lookup(const TenantContext& c, const cache::ResponseKey& k) override {
    ++lookups;
    return with_tenant(c, [&](auto scope) { return scope.release(inner_.lookup(scope, k)); });
  }
  Status do_store(const TenantContext& c, const cache::ResponseKey& k, std::string_view v) override {
    ++stores;
    return with_tenant(c, [&](auto scope) { return inner_.store(scope, k, v); });
  }
  std::size_t do_invalidate(const TenantContext& c, std::string_view what, bool by_model) override {
    return with_tenant(c, [&](auto scope) {
      return by_model ? inner_.invalidate_model(scope, what) : inner_.invalidate_prompt_version(scope, what);
    });
  }
  std::size_t do_flush(const TenantContext& c) override {
    return with_tenant(c, [&](auto scope) { return inner_.flush(scope); });
  }
  void do_set_opt_out(const TenantContext& c, bool o) override {
    with_tenant(c, [&](auto scope) { inner_.set_opt_out(scope, o); });
  }
  bool do_opted_out(const TenantContext& c) const override {
    return with_tenant(c, [&](auto scope) { return inner_.opted_out(scope); });
  }
  cache::CacheStats do_stats(const TenantContext& c) const override {
    return with_tenant(c, [&](auto scope) { return scope.release(inner_.stats(scope)); });
  }

 private:
  cache::ResponseCache inner_;
};

using test_support::ManualTimeSource;

}  // namespace

TEST_CASE("pluggable layers: API-key store, response cache and clock supplied by the host are the ones used",
          "[pipeline][pluggable]") {
  test_support::TempDir dir;
  auto key_store = std::make_shared<CountingKeyStore>();
  auto clock = std::make_shared<ManualTimeSource>();
  ApiKeyOptions key_options;
  key_options.store = key_store;
  key_options.clock = [clock] { return clock->wall(); };
  auto api_keys = std::make_shared<ApiKeyAuthenticator>(std::string(32, 'k'), key_options);
  cache::ResponseCacheOptions cache_options;
  cache_options.ttl = std::chrono::minutes(10);
  cache_options.clock = [clock] { return clock->steady(); };
  auto responses = std::make_shared<CountingResponseCache>(cache_options);

  auto options = pipeline_test::echo_options(std::filesystem::path(dir.path()) / "data");
  options.api_keys = api_keys;
  options.response_cache = responses;
  options.clock = clock;
  options.cache_ttl = std::chrono::minutes(10);
  pipeline::Platform platform(std::move(options));
  pipeline::TenantRegistry registry(platform);
  pipeline::Pipeline pipeline(platform);
  {
    auto system = platform.system_scope("test", "provision pluggable-layer tenants");
    pipeline::TenantConfig config{TenantId("gamma")};
    config.tier = "enterprise";
    config.models.model = "echo-small";
    config.api_keys.push_back({"user", {"staff"}, {}, fixed_secret("gammaPluggableUser")});
    registry.onboard(system, config);
  }
  CHECK(key_store->inserts == 1);  // onboarding registered the key in the host's store
  const auto context = platform.authenticator().authenticate(fixed_secret("gammaPluggableUser")).value();
  CHECK(key_store->lookups >= 1);

  pipeline::ChatRequest chat;
  chat.messages = {{"user", "Which canary does gamma keep? CANARY-gamma"}};
  chat.max_tokens = 100;
  auto ask = [&] {
    return with_tenant(context, [&](auto scope) { return scope.release(pipeline.chat(scope, chat)).cache; });
  };
  CHECK(ask() == "miss");
  CHECK(ask() == "exact");  // the host's cache answered...
  CHECK(responses->stores >= 1);
  CHECK(responses->lookups >= 2);
  clock->advance(std::chrono::minutes(11));  // ...until the platform's clock passed the TTL
  CHECK(ask() == "miss");

  // Key expiry follows the same clock.
  auto issued = api_keys->issue({TenantId("gamma"), "temp", {}, {}}, clock->wall() + std::chrono::hours(1));
  CHECK(platform.authenticator().authenticate(issued.secret).ok());
  clock->advance(std::chrono::hours(2));
  CHECK_FALSE(platform.authenticator().authenticate(issued.secret).ok());
}

TEST_CASE("pluggable layers: key provider, counters, memory and corpus supplied by the host are the ones used",
          "[pipeline][pluggable]") {
  test_support::TempDir dir;
  const std::filesystem::path root(dir.path());
  auto keys = std::make_shared<CountingKeyProvider>(root / "kms");
  auto counters = std::make_shared<CountingCounterStore>();
  auto corpus = std::make_shared<corpus::FileCorpusStore>(corpus::FileCorpusOptions{root / "host-corpus", nullptr,
                                                                                    [](const TenantId&) { return false; }});
  memory::SqliteMemoryOptions memory_options;
  std::filesystem::create_directories(root / "host-memory");
  memory_options.root_dir = (root / "host-memory").string();
  auto memory = std::make_shared<memory::SqliteMemoryStore>(memory_options);
  auto audit_storage = std::make_shared<audit_test::MemoryLogStorage>();

  pipeline::PlatformOptions options;
  options.data_dir = root / "data";
  options.backend = std::make_shared<inference::EchoModel>();
  options.embedder = std::make_shared<inference::HashingEmbedder>();
  options.key_provider = keys;
  options.counters = counters;
  options.corpus = corpus;
  options.memory = memory;
  options.audit_storage = audit_storage;
  pipeline::Platform platform(std::move(options));
  pipeline::TenantRegistry registry(platform);
  pipeline::Pipeline pipeline(platform);
  {
    auto system = platform.system_scope("test", "provision pluggable-layer tenants");
    for (const std::string id : {"alpha", "beta"}) {
      pipeline::TenantConfig config{TenantId(id)};
      config.tier = "enterprise";
      config.models.model = "echo-small";
      config.encryption_required = true;
      config.api_keys.push_back({"user", {"staff"}, {}, fixed_secret(id + "PluggableUser")});
      registry.onboard(system, config);
    }
  }
  for (const std::string id : {"alpha", "beta"}) {
    const auto context = platform.authenticator().authenticate(fixed_secret(id + "PluggableUser")).value();
    with_tenant(context, [&](auto scope) {
      pipeline.ingest(scope, {{id + "-doc", "Doc", "The canary of " + id + " is CANARY-" + id + ".", {}, {}}});
      pipeline::ChatRequest chat;
      chat.messages = {{"user", "What is the canary?"}};
      chat.session = "s1";
      chat.max_tokens = 500;
      const auto answer = scope.release(pipeline.chat(scope, chat));
      CHECK(answer.text.find("CANARY-" + id) != std::string::npos);
      CHECK(answer.text.find(id == "alpha" ? "CANARY-beta" : "CANARY-alpha") == std::string::npos);
      const auto history = scope.release(memory->messages(scope, {"user", "assistant", "s1"}));
      CHECK(history.size() == 2);  // the chat's turn went to the host's memory store
    });
  }
  CHECK(keys->wraps >= 2);   // each tenant's data key was wrapped by the host's provider...
  CHECK(counters->calls > 0);  // ...admission and budgets went through the host's counters
  CHECK(std::filesystem::exists(root / "host-corpus" / "alpha.corpus"));
  CHECK_FALSE(std::filesystem::is_empty(root / "host-memory"));
  CHECK_FALSE(std::filesystem::exists(root / "data" / "corpus"));  // nothing in the defaults
  CHECK_FALSE(std::filesystem::exists(root / "data" / "memory"));
  CHECK_FALSE(std::filesystem::exists(root / "data" / "keys" / "master.key"));
  // Every tenant's audit events went to the host's audit storage, and verify there.
  auto system = platform.system_scope("test", "sign checkpoints to verify the host's audit storage");
  for (const std::string id : {"alpha", "beta"}) {
    system.visit(TenantId(id), [&](auto scope) { platform.audit().checkpoint(scope); });
    CHECK(audit_storage->state(TenantId(id))->records.size() >= 4);
    CHECK_FALSE(std::filesystem::exists(root / "data" / "audit" / (id + ".log")));
    auto verified = audit::verify_log(platform.audit().storage(), TenantId(id), platform.audit_verifier(TenantId(id)));
    INFO((verified.ok() ? std::string("verified") : verified.error().message()));
    CHECK(verified.ok());
  }
}
