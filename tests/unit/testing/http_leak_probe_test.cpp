// The black-box HTTP leak probe: against the real TenantApi on a socket (one and eight threads,
// the tenants and keys of tests/leakprobe/), against deliberately leaky HTTP servers (one global
// document list, ACL groups ignored, a cache keyed without the ACL groups) that it must catch,
// against their leak-free twin, and its config and URL parsing.
#include <catch2/catch.hpp>
#include <tenantai/inference/echo_model.h>
#include <tenantai/inference/hashing_embedder.h>
#include <tenantai/pipeline.h>
#include <tenantai/server/http_server.h>
#include <tenantai/server/tenant_api.h>
#include <tenantai/testing/http_leak_probe.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "support/test_auth.h"

using namespace tenantai;
using nlohmann::json;
using testing::HttpLeakProbe;
using testing::HttpLeakProbeOptions;
using testing::HttpProbeKey;
using testing::LeakReport;

namespace {

// tests/leakprobe/<name>: the files the rag_server integration test ships with.
std::string shipped(const std::string& name) {
  return (std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "leakprobe" / name).string();
}

std::vector<HttpProbeKey> shipped_keys() {
  auto options = testing::load_http_probe_config(shipped("probe.json"));
  if (!options) FAIL(options.error().message());
  return options->keys;
}

HttpLeakProbeOptions probe_options(std::uint16_t port, std::size_t threads, std::size_t rounds = 2) {
  HttpLeakProbeOptions options;
  options.port = port;
  options.keys = shipped_keys();
  options.threads = threads;
  options.rounds = rounds;
  return options;
}

std::map<std::string, std::string> tenant_of_label() {
  std::map<std::string, std::string> out;
  for (const auto& key : shipped_keys()) out[key.label] = key.tenant;
  return out;
}

std::set<std::string> layers_of(const LeakReport& report) {
  std::set<std::string> out;
  for (const auto& crossing : report.crossings) out.insert(crossing.layer);
  return out;
}

bool all_within_one_tenant(const LeakReport& report) {
  const auto tenant = tenant_of_label();
  return std::all_of(report.crossings.begin(), report.crossings.end(), [&](const testing::Crossing& c) {
    return tenant.at(c.owner) == tenant.at(c.observer);
  });
}

bool any_across_tenants(const LeakReport& report) {
  const auto tenant = tenant_of_label();
  return std::any_of(report.crossings.begin(), report.crossings.end(), [&](const testing::Crossing& c) {
    return tenant.count(c.observer) == 1 && tenant.at(c.owner) != tenant.at(c.observer);
  });
}

// ---- the real server: Platform + Pipeline + TenantApi on 127.0.0.1, tenants.json onboarded --

struct RealServer {
  test_support::TempDir dir;
  std::unique_ptr<pipeline::Platform> platform;
  std::unique_ptr<pipeline::TenantRegistry> registry;
  std::unique_ptr<pipeline::Pipeline> pipeline;
  std::unique_ptr<server::HttpServer> http;
  std::unique_ptr<server::TenantApi> api;

  RealServer() {
    pipeline::PlatformOptions options;
    options.data_dir = std::filesystem::path(dir.path()) / "data";
    options.backend = std::make_shared<inference::EchoModel>();
    options.embedder = std::make_shared<inference::HashingEmbedder>();
    platform = std::make_unique<pipeline::Platform>(std::move(options));
    registry = std::make_unique<pipeline::TenantRegistry>(*platform);
    pipeline = std::make_unique<pipeline::Pipeline>(*platform);
    onboard_shipped_tenants();
    server::HttpServerOptions http_options;
    http_options.threads = 4;
    http = std::make_unique<server::HttpServer>(http_options);
    api = std::make_unique<server::TenantApi>(*http, *platform, *pipeline, *registry,
                                              server::TenantApiOptions{"", std::filesystem::path(dir.path()) / "exports"});
    http->start();
  }
  ~RealServer() { http->stop(); }

  void onboard_shipped_tenants() {
    auto configs = pipeline::load_tenant_configs(shipped("tenants.json"));
    if (!configs) FAIL(configs.error().message());
    SystemScope system(platform->access_recorder(), "test", "onboard the leak probe's tenants");
    for (const auto& config : *configs) registry->onboard(system, config);
  }

  std::uint16_t port() const { return http->port(); }
};

void require_clean_with_every_layer_checked(HttpLeakProbe& probe, const LeakReport& report) {
  INFO(report.summary());
  CHECK(report.errors.empty());
  CHECK(report.crossings.empty());
  CHECK(report.clean());
  CHECK(report.tenants == 2);
  for (const char* layer : {"documents", "chat", "response_cache", "semantic_cache", "audit"}) {
    INFO("layer " << layer);
    CHECK(report.checks.count(layer) == 1);
  }
  const auto& by_key = probe.checks_by_key();
  for (const auto& key : shipped_keys()) {
    INFO("key " << key.label);
    REQUIRE(by_key.count(key.label) == 1);
    const auto& checks = by_key.at(key.label);
    auto count = [&](const char* layer) { return checks.count(layer) ? checks.at(layer) : 0; };
    CHECK(count("documents") >= 2);  // every round
    CHECK(count("chat") + count("response_cache") + count("semantic_cache") >= 2 * 7);
    CHECK(count("audit") >= 3);      // every round, and once more at the end
  }
}

// ---- deliberately leaky servers: the probe must catch every one of them ---------------------

struct Leaks {
  bool ignore_tenant = false;         // one global document list and cache
  bool ignore_acl = false;            // every document visible to every actor of the tenant
  bool cache_ignores_groups = false;  // cached answers keyed on tenant + prompt only
};

// Hand-written /v1 routes over a std::vector, leaking as `Leaks` says. Auth by the probe keys.
class LeakyServer {
 public:
  LeakyServer(std::vector<HttpProbeKey> keys, Leaks leaks) : keys_(std::move(keys)), leaks_(leaks) {
    http_.route("POST", "/v1/documents", [this](const server::HttpRequest& r) { return documents(r); });
    http_.route("POST", "/v1/query", [this](const server::HttpRequest& r) { return query(r); });
    http_.route("POST", "/v1/chat", [this](const server::HttpRequest& r) { return chat(r); });
    http_.route("GET", "/v1/audit", [this](const server::HttpRequest& r) { return audit(r); });
    http_.start();
  }
  ~LeakyServer() { http_.stop(); }

  std::uint16_t port() const { return http_.port(); }

 private:
  struct Stored {
    std::string tenant, id, title, text;
    std::vector<std::string> acl;
  };

  const HttpProbeKey& caller(const server::HttpRequest& request) const {
    for (const auto& key : keys_) {
      if (key.secret == request.bearer_token()) return key;
    }
    throw Error(ErrorCode::Unauthenticated, "unknown key");
  }

  bool visible(const HttpProbeKey& who, const Stored& doc) const {
    if (!leaks_.ignore_tenant && doc.tenant != who.tenant) return false;
    if (leaks_.ignore_acl || doc.acl.empty()) return true;
    return std::any_of(doc.acl.begin(), doc.acl.end(), [&](const std::string& g) {
      return std::find(who.groups.begin(), who.groups.end(), g) != who.groups.end();
    });
  }

  std::vector<Stored> visible_documents(const HttpProbeKey& who) {
    std::lock_guard lock(mutex_);
    std::vector<Stored> out;
    for (const auto& doc : documents_) {
      if (visible(who, doc)) out.push_back(doc);
    }
    return out;
  }

  server::HttpResponse documents(const server::HttpRequest& request) {
    const auto& who = caller(request);
    const auto body = json::parse(request.body);
    std::lock_guard lock(mutex_);
    for (const auto& item : body.at("documents")) {
      documents_.push_back({who.tenant, item.at("id").get<std::string>(), item.value("title", ""), item.at("text").get<std::string>(),
                            item.value("acl_groups", std::vector<std::string>{})});
    }
    return server::HttpResponse::json(200, json{{"ingested", body.at("documents").size()}}.dump());
  }

  server::HttpResponse query(const server::HttpRequest& request) {
    json results = json::array();
    for (const auto& doc : visible_documents(caller(request))) {
      results.push_back({{"id", doc.id}, {"title", doc.title}, {"text", doc.text}, {"score", 1.0}});
    }
    return server::HttpResponse::json(200, json{{"results", results}}.dump());
  }

  static std::string words_only(const std::string& text) {
    std::string out;
    for (unsigned char c : text) {
      if (std::isalnum(c)) out += static_cast<char>(std::tolower(c));
      else if (!out.empty() && out.back() != ' ') out += ' ';
    }
    return out;
  }

  std::string cache_partition(const HttpProbeKey& who) const {
    std::string partition = leaks_.ignore_tenant ? "" : who.tenant;
    if (!leaks_.cache_ignores_groups) partition += json(who.groups).dump();  // unambiguous
    return partition + "\n";
  }

  server::HttpResponse chat(const server::HttpRequest& request) {
    const auto& who = caller(request);
    const auto prompt = json::parse(request.body).at("messages").back().at("content").get<std::string>();
    const std::string exact = cache_partition(who) + prompt;
    const std::string semantic = cache_partition(who) + words_only(prompt);
    {
      std::lock_guard lock(mutex_);
      if (auto it = exact_cache_.find(exact); it != exact_cache_.end()) return answer(it->second, "exact");
      if (auto it = semantic_cache_.find(semantic); it != semantic_cache_.end()) return answer(it->second, "semantic");
    }
    std::string content = "[leaky echo]\n";
    for (const auto& doc : visible_documents(who)) content += "[" + doc.id + "] " + doc.title + "\n" + doc.text + "\n";
    content += "user: " + prompt;
    std::lock_guard lock(mutex_);
    exact_cache_.emplace(exact, content);
    semantic_cache_.emplace(semantic, content);
    return answer(content, "miss");
  }

  static server::HttpResponse answer(const std::string& content, const std::string& cache) {
    json body{{"choices", json::array({{{"index", 0}, {"message", {{"role", "assistant"}, {"content", content}}}}})},
              {"tenantai", {{"cache", cache}}}};
    return server::HttpResponse::json(200, body.dump());
  }

  server::HttpResponse audit(const server::HttpRequest& request) {
    const auto& who = caller(request);
    if (!who.audit) throw Error(ErrorCode::PermissionDenied, "needs audit:read");
    json records = json::array();
    std::lock_guard lock(mutex_);
    for (const auto& doc : documents_) {
      if (leaks_.ignore_tenant || doc.tenant == who.tenant) {
        records.push_back({{"index", records.size()}, {"event", {{"target", "document:" + doc.id}}}});
      }
    }
    return server::HttpResponse::json(200, json{{"size", records.size()}, {"records", records}}.dump());
  }

  std::vector<HttpProbeKey> keys_;
  Leaks leaks_;
  std::mutex mutex_;
  std::vector<Stored> documents_;
  std::map<std::string, std::string> exact_cache_;
  std::map<std::string, std::string> semantic_cache_;
  server::HttpServer http_;
};

LeakReport probe_leaky_server(Leaks leaks, std::size_t threads = 4) {
  LeakyServer leaky(shipped_keys(), leaks);
  return HttpLeakProbe(probe_options(leaky.port(), threads, 1)).run();
}

Error config_error_of(const std::string& text) {
  auto parsed = testing::parse_http_probe_config(text);
  if (parsed) FAIL("expected the probe config to be refused: " << text);
  return parsed.error();
}

const char* kTwoKeys = R"({"keys":[
  {"label":"a","tenant":"t1","actor":"x","groups":["g"],"secret":"tai_a","audit":true},
  {"label":"b","tenant":"t2","actor":"y","secret":"tai_b"}]})";

}  // namespace

// ---- the real server -------------------------------------------------------------------------

TEST_CASE("http leak probe: the real server with one thread is clean and every key checks every layer",
          "[testing][http_leak_probe]") {
  RealServer server;
  HttpLeakProbe probe(probe_options(server.port(), 1));
  auto report = probe.run();
  require_clean_with_every_layer_checked(probe, report);
  CHECK(report.threads == 1);
}

TEST_CASE("http leak probe: the real server with eight threads is clean and every key checks every layer",
          "[testing][http_leak_probe][concurrency]") {
  RealServer server;
  HttpLeakProbe probe(probe_options(server.port(), 8));
  auto report = probe.run();
  require_clean_with_every_layer_checked(probe, report);
  CHECK(report.threads == 8);
}

// ---- negative controls: a probe that cannot fail proves nothing ---------------------------

TEST_CASE("http leak probe: a server with one global document list is caught in documents and chat and audit",
          "[testing][http_leak_probe]") {
  auto report = probe_leaky_server({.ignore_tenant = true, .ignore_acl = true});
  INFO(report.summary());
  REQUIRE_FALSE(report.clean());
  REQUIRE_FALSE(report.crossings.empty());
  const auto layers = layers_of(report);
  for (const char* layer : {"documents", "chat", "audit"}) {
    INFO("layer " << layer);
    CHECK(layers.count(layer) == 1);
  }
  CHECK(any_across_tenants(report));
  CHECK(report.summary().find("CROSSING in documents") != std::string::npos);
}

TEST_CASE("http leak probe: a tenant-partitioned server ignoring acl_groups is caught between actors of one tenant",
          "[testing][http_leak_probe]") {
  auto report = probe_leaky_server({.ignore_acl = true});
  INFO(report.summary());
  REQUIRE_FALSE(report.clean());
  REQUIRE_FALSE(report.crossings.empty());
  CHECK(all_within_one_tenant(report));
  const auto layers = layers_of(report);
  CHECK(layers.count("documents") == 1);
  CHECK(layers.count("chat") == 1);
  CHECK(layers.count("audit") == 0);  // an auditor may see every document id of its own tenant
  auto crossed = [&](const std::string& owner, const std::string& observer) {
    return std::any_of(report.crossings.begin(), report.crossings.end(),
                       [&](const testing::Crossing& c) { return c.owner == owner && c.observer == observer; });
  };
  CHECK(crossed("acme-alice", "acme-bob"));        // group "risk,staff" is not groups risk and staff
  CHECK(crossed("acme-bob", "acme-erin"));         // an actor with no groups sees public documents only
  CHECK(crossed("globex-olga", "globex-mallory")); // "eu|ops#prod:Zürich" is neither eu nor ops
}

TEST_CASE("http leak probe: a response cache keyed without the ACL groups is caught in both cache layers",
          "[testing][http_leak_probe]") {
  auto report = probe_leaky_server({.cache_ignores_groups = true});
  INFO(report.summary());
  REQUIRE_FALSE(report.clean());
  REQUIRE_FALSE(report.crossings.empty());
  CHECK(all_within_one_tenant(report));
  CHECK(layers_of(report) == std::set<std::string>{"response_cache", "semantic_cache"});
  CHECK(report.errors.empty());
}

TEST_CASE("http leak probe: the leaky servers' twin without any leak is clean with both caches answering",
          "[testing][http_leak_probe]") {
  auto report = probe_leaky_server({}, 8);
  INFO(report.summary());
  CHECK(report.clean());
  CHECK(report.checks.count("response_cache") == 1);
  CHECK(report.checks.count("semantic_cache") == 1);
}

TEST_CASE("http leak probe: a server that is not there is an error and never clean", "[testing][http_leak_probe]") {
  std::uint16_t port = 0;
  {
    server::HttpServer gone;
    gone.start();
    port = gone.port();
    gone.stop();
  }
  auto report = HttpLeakProbe(probe_options(port, 2, 1)).run();
  INFO(report.summary());
  CHECK_FALSE(report.clean());
  CHECK(report.crossings.empty());
  REQUIRE_FALSE(report.errors.empty());
  CHECK(report.summary().find("no HTTP response") != std::string::npos);
  CHECK(report.summary().find("nothing was probed") != std::string::npos);
  CHECK(report.summary().find("tai_") == std::string::npos);  // secrets are never printed
}

// ---- the config file and the URL ----------------------------------------------------------

TEST_CASE("http leak probe config: the shipped probe.json matches tests/leakprobe/tenants.json key by key",
          "[testing][http_leak_probe]") {
  auto configs = pipeline::load_tenant_configs(shipped("tenants.json"));
  REQUIRE(configs.ok());
  std::size_t provisioned_keys = 0;
  for (const auto& config : *configs) provisioned_keys += config.api_keys.size();
  const auto keys = shipped_keys();
  CHECK(keys.size() == provisioned_keys);
  for (const auto& key : keys) {
    INFO("key " << key.label);
    auto tenant = std::find_if(configs->begin(), configs->end(), [&](const auto& c) { return c.id.str() == key.tenant; });
    REQUIRE(tenant != configs->end());
    auto api_key = std::find_if(tenant->api_keys.begin(), tenant->api_keys.end(),
                                [&](const auto& k) { return k.secret == key.secret; });
    REQUIRE(api_key != tenant->api_keys.end());
    CHECK(api_key->actor == key.actor);
    CHECK(api_key->groups == key.groups);
    const auto& caps = api_key->capabilities;
    const bool can_audit = std::find(caps.begin(), caps.end(), "admin:export") != caps.end() ||
                           std::find(caps.begin(), caps.end(), "audit:read") != caps.end();
    CHECK(can_audit == key.audit);
  }
  auto has_group = [&](auto predicate) {
    return std::any_of(keys.begin(), keys.end(), [&](const HttpProbeKey& k) {
      return std::any_of(k.groups.begin(), k.groups.end(), predicate);
    });
  };
  CHECK(has_group([](const std::string& g) { return g.find(',') != std::string::npos; }));
  CHECK(has_group([](const std::string& g) {
    return g.find_first_of(":") != std::string::npos && g.find('#') != std::string::npos &&
           g.find('|') != std::string::npos &&
           std::any_of(g.begin(), g.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
  }));
  CHECK(std::any_of(keys.begin(), keys.end(), [](const HttpProbeKey& k) { return k.groups.empty(); }));
}

TEST_CASE("http leak probe config: a missing field or a wrong type or an unknown field names the field",
          "[testing][http_leak_probe]") {
  auto good = testing::parse_http_probe_config(kTwoKeys);
  REQUIRE(good.ok());
  CHECK(good->keys.size() == 2);
  CHECK(good->keys[0].audit);
  CHECK_FALSE(good->keys[1].audit);
  CHECK(good->keys[1].groups.empty());

  struct Case {
    std::string text;
    std::string field;
  };
  const std::vector<Case> cases = {
      {R"({"keys":[{"tenant":"t","actor":"a","secret":"s"},{"label":"b","tenant":"t","actor":"b","secret":"s2"}]})", "keys[0].label"},
      {R"({"keys":[{"label":"a","tenant":"t","actor":"a","secret":"s"},{"label":"b","tenant":"t","actor":"b"}]})", "keys[1].secret"},
      {R"({"keys":[{"label":"a","tenant":7,"actor":"a","secret":"s"},{"label":"b","tenant":"t","actor":"b","secret":"s2"}]})", "keys[0].tenant"},
      {R"({"keys":[{"label":"a","tenant":"t","actor":"a","secret":"s","groups":"g"},{"label":"b","tenant":"t","actor":"b","secret":"s2"}]})", "keys[0].groups"},
      {R"({"keys":[{"label":"a","tenant":"t","actor":"a","secret":"s","groups":["g",1]},{"label":"b","tenant":"t","actor":"b","secret":"s2"}]})", "keys[0].groups[1]"},
      {R"({"keys":[{"label":"a","tenant":"t","actor":"a","secret":"s","audit":"yes"},{"label":"b","tenant":"t","actor":"b","secret":"s2"}]})", "keys[0].audit"},
      {R"({"keys":[{"label":"a","tenant":"t","actor":"a","secret":"s","capabilities":[]},{"label":"b","tenant":"t","actor":"b","secret":"s2"}]})", "keys[0].capabilities"},
      {R"({"keys":[{"label":"a","tenant":"t","actor":"","secret":"s"},{"label":"b","tenant":"t","actor":"b","secret":"s2"}]})", "keys[0].actor"},
      {R"({"keys":"all of them"})", "keys"},
      {R"({"key":[]})", "key"},
      {R"({})", "keys"},
      {R"({"keys":[1,2]})", "keys[0]"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    const auto error = config_error_of(c.text);
    CHECK(error.code() == ErrorCode::InvalidArgument);
    CHECK(error.message().rfind(c.field + ":", 0) == 0);
  }
  CHECK(config_error_of("{not json").code() == ErrorCode::InvalidArgument);
}

TEST_CASE("http leak probe config: fewer than two keys and duplicates and an unreadable file are refused",
          "[testing][http_leak_probe]") {
  const auto one = config_error_of(R"({"keys":[{"label":"a","tenant":"t","actor":"a","secret":"s"}]})");
  CHECK(one.message().find("at least two") != std::string::npos);
  const auto same_label = config_error_of(
      R"({"keys":[{"label":"a","tenant":"t","actor":"a","secret":"s"},{"label":"a","tenant":"t","actor":"b","secret":"s2"}]})");
  CHECK(same_label.message().rfind("keys[1].label:", 0) == 0);
  const auto same_secret = config_error_of(
      R"({"keys":[{"label":"a","tenant":"t","actor":"a","secret":"s"},{"label":"b","tenant":"t","actor":"b","secret":"s"}]})");
  CHECK(same_secret.message().rfind("keys[1].secret:", 0) == 0);
  CHECK(same_secret.message().find("\"s\"") == std::string::npos);  // the secret is not echoed

  test_support::TempDir dir;
  const auto missing = testing::load_http_probe_config(dir.path() + "/absent.json");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code() == ErrorCode::StorageFailure);
  const std::string bad_file = dir.path() + "/bad.json";
  std::ofstream(bad_file) << R"({"keys":[{"label":"a"}]})";
  const auto bad = testing::load_http_probe_config(bad_file);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code() == ErrorCode::InvalidArgument);
  CHECK(bad.error().message().find(bad_file + ": keys[0].tenant:") == 0);

  HttpLeakProbeOptions options = *testing::parse_http_probe_config(kTwoKeys);
  CHECK_THROWS_AS(HttpLeakProbe(options), Error);  // port 0
  options.port = 8088;
  options.rounds = 0;
  CHECK_THROWS_AS(HttpLeakProbe(options), Error);  // no round
  options.rounds = 1;
  options.keys.pop_back();
  CHECK_THROWS_AS(HttpLeakProbe(options), Error);  // one key
}

TEST_CASE("http leak probe: parse_probe_url takes plain http://HOST:PORT only", "[testing][http_leak_probe]") {
  auto v4 = testing::parse_probe_url("http://127.0.0.1:8088");
  REQUIRE(v4.ok());
  CHECK(v4->host == "127.0.0.1");
  CHECK(v4->port == 8088);
  auto named = testing::parse_probe_url("HTTP://probe.example:80/");
  REQUIRE(named.ok());
  CHECK(named->host == "probe.example");
  CHECK(named->port == 80);
  auto v6 = testing::parse_probe_url("http://[::1]:9000");
  REQUIRE(v6.ok());
  CHECK(v6->host == "::1");
  CHECK(v6->port == 9000);
  for (const char* bad : {"https://127.0.0.1:8443", "127.0.0.1:8088", "http://127.0.0.1", "http://:8088",
                          "http://127.0.0.1:0", "http://127.0.0.1:65536", "http://127.0.0.1:80x",
                          "http://127.0.0.1:8088/v1", "http://user:pw@127.0.0.1:8088", "http://::1:8088",
                          "http://[::1:8088"}) {
    INFO(bad);
    auto parsed = testing::parse_probe_url(bad);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().code() == ErrorCode::InvalidArgument);
  }
}
