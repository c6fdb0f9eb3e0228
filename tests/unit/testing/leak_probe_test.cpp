// The leak probe against the demo configuration (hashing embedder, echo model, every layer on),
// and against a deliberately broken layer: a probe that cannot fail proves nothing.
#include <catch2/catch.hpp>
#include <tenantai/inference/echo_model.h>
#include <tenantai/inference/hashing_embedder.h>
#include <tenantai/pipeline.h>
#include <tenantai/testing/leak_probe.h>

#include <filesystem>
#include <map>
#include <mutex>

#include "support/test_auth.h"

using namespace tenantai;

namespace {

struct DemoPlatform {
  test_support::TempDir dir;
  pipeline::Platform platform;
  pipeline::TenantRegistry registry;
  pipeline::Pipeline pipeline;

  static pipeline::PlatformOptions options(const std::string& root) {
    pipeline::PlatformOptions o;
    o.data_dir = std::filesystem::path(root) / "data";
    o.backend = std::make_shared<inference::EchoModel>();
    o.embedder = std::make_shared<inference::HashingEmbedder>();
    return o;
  }
  DemoPlatform() : platform(options(dir.path())), registry(platform), pipeline(platform) {}
};

// A cache shared by every tenant, keyed by the input only: the bug class of LiteLLM #19575.
struct UnpartitionedCache {
  std::mutex mutex;
  std::map<std::string, std::string> entries;
};

// The same cache with the tenant as a hard partition.
struct PartitionedCache {
  std::mutex mutex;
  std::map<std::pair<std::string, std::string>, std::string> entries;
};

}  // namespace

TEST_CASE("leak probe: 50 tenants x 8 threads on the demo configuration, zero crossings in every layer", "[testing][leak_probe][concurrency]") {
  DemoPlatform demo;
  testing::LeakProbeOptions options;
  options.tenants = 50;
  options.threads = 8;
  options.rounds = 2;
  testing::LeakProbe probe(demo.platform, demo.registry, demo.pipeline, options);
  auto report = probe.run();
  INFO(report.summary());
  CHECK(report.errors.empty());
  CHECK(report.crossings.empty());
  for (const char* layer : {"documents", "memory", "response_cache", "semantic_cache", "embedding_cache", "prompt_overlay", "audit"}) {
    CHECK(report.checks[layer] >= 100);  // every tenant, every round
  }
  CHECK(report.operations >= 50 * 2 * 10);
  // The intra-tenant ACL probe ran in every tenant, every round: 5 actors x (2 chats + 1 query).
  CHECK(report.checks["acl:documents"] == 50 * 2 * 5);
  CHECK(report.checks["acl:pipeline"] + report.checks["acl:response_cache"] + report.checks["acl:semantic_cache"] ==
        50 * 2 * 5 * 2);
  CHECK(report.checks["acl:response_cache"] > 0);  // cached answers were really served to other actors' questions
}

TEST_CASE("leak probe: the intra-tenant ACL probe on one thread, adversarial group names, zero crossings", "[testing][leak_probe]") {
  DemoPlatform demo;
  testing::LeakProbeOptions options;
  options.tenants = 4;
  options.threads = 1;
  options.rounds = 2;
  auto report = testing::LeakProbe(demo.platform, demo.registry, demo.pipeline, options).run();
  INFO(report.summary());
  CHECK(report.clean());
  CHECK(report.checks["acl:documents"] == 4 * 2 * 5);
  CHECK(report.checks["acl:response_cache"] > 0);
}

TEST_CASE("leak probe reports the crossing, with its layer, when a layer is not partitioned", "[testing][leak_probe]") {
  DemoPlatform demo;
  UnpartitionedCache broken;
  testing::ProbeTarget target{
      "unpartitioned-test-cache",
      [&](const TenantContext&, const std::string& canary) {
        std::lock_guard lock(broken.mutex);
        broken.entries["what is the secret?"] = "answer " + canary;  // same prompt, last writer wins
      },
      [&](const TenantContext&) {
        std::lock_guard lock(broken.mutex);
        return broken.entries["what is the secret?"];
      }};
  testing::LeakProbeOptions options;
  options.tenants = 6;
  options.threads = 3;
  options.rounds = 1;
  options.extra_targets.push_back(target);
  auto report = testing::LeakProbe(demo.platform, demo.registry, demo.pipeline, options).run();
  INFO(report.summary());
  REQUIRE_FALSE(report.crossings.empty());
  for (const auto& crossing : report.crossings) {
    CHECK(crossing.layer == "unpartitioned-test-cache");  // tenantai's own layers stay clean
    CHECK(crossing.owner != crossing.observer);
  }
  CHECK_FALSE(report.clean());
  CHECK(report.summary().find("CROSSING in unpartitioned-test-cache") != std::string::npos);
}

TEST_CASE("leak probe: the same extra layer partitioned by tenant is clean (the broken case's twin)", "[testing][leak_probe]") {
  DemoPlatform demo;
  PartitionedCache fixed;
  testing::ProbeTarget target{
      "partitioned-test-cache",
      [&](const TenantContext& context, const std::string& canary) {
        std::lock_guard lock(fixed.mutex);
        fixed.entries[{context.tenant().str(), "what is the secret?"}] = "answer " + canary;
      },
      [&](const TenantContext& context) {
        std::lock_guard lock(fixed.mutex);
        return fixed.entries[{context.tenant().str(), "what is the secret?"}];
      }};
  testing::LeakProbeOptions options;
  options.tenants = 6;
  options.threads = 3;
  options.rounds = 1;
  options.extra_targets.push_back(target);
  auto report = testing::LeakProbe(demo.platform, demo.registry, demo.pipeline, options).run();
  INFO(report.summary());
  CHECK(report.clean());
  CHECK(report.checks["partitioned-test-cache"] == 6);
}
