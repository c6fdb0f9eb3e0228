// Every stateful layer the host can supply through PlatformOptions is really used: a KMS-like
// key provider that counts its unwraps, a counter store that counts its decisions, a memory
// store and a corpus store in the host's own directories. The end-to-end flow (ingest, query,
// chat with memory, canaries per tenant) runs on them and nothing lands in the defaults.
#include <catch2/catch.hpp>
#include <tenantai/corpus/file_corpus_store.h>
#include <tenantai/crypto.h>
#include <tenantai/inference/echo_model.h>
#include <tenantai/inference/hashing_embedder.h>
#include <tenantai/memory.h>
#include <tenantai/metering/counter_store.h>
#include <tenantai/pipeline.h>

#include <atomic>
#include <filesystem>

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

}  // namespace

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

  pipeline::PlatformOptions options;
  options.data_dir = root / "data";
  options.backend = std::make_shared<inference::EchoModel>();
  options.embedder = std::make_shared<inference::HashingEmbedder>();
  options.key_provider = keys;
  options.counters = counters;
  options.corpus = corpus;
  options.memory = memory;
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
}
