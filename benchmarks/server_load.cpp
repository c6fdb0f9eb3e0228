// server_load: a bounded load test of the rag_server surface on loopback. 50 tenants (each with
// a unique canary in its documents and prompt overlay), concurrent HTTP clients mixing /v1/query
// and /v1/chat with identical prompts across tenants. Every response is scanned for other
// tenants' canaries. The peer, in the same process on the same data: the same requests made by
// calling the Pipeline directly (no HTTP), so the ratio shows what the HTTP surface costs.
//
//   ./build/benchmarks/server_load [--tenants 50] [--clients 8] [--requests 2000] [--json]
#include <tenantai/inference/echo_model.h>
#include <tenantai/inference/hashing_embedder.h>
#include <tenantai/pipeline.h>
#include <tenantai/server/http_client.h>
#include <tenantai/server/http_server.h>
#include <tenantai/server/tenant_api.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fmt/format.h>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

using namespace tenantai;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::size_t tenants = 50;
  std::size_t clients = 8;
  std::size_t requests = 2000;  // total per method
  bool json = false;
};

struct Tenant {
  TenantId id;
  std::string canary;
  std::string key;
};

struct Outcome {
  std::vector<double> latencies_us;
  std::size_t errors = 0;
  std::size_t leaks = 0;
  double seconds = 0;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

std::size_t foreign_canaries(const std::string& text, const std::vector<Tenant>& tenants, std::size_t self) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < tenants.size(); ++i) {
    if (i != self && text.find(tenants[i].canary) != std::string::npos) ++n;
  }
  return n;
}

// Runs `requests` calls of `one(tenant index, request number) -> response text or throw` from
// `clients` threads; tenants are picked round-robin so every client hits many tenants.
template <typename F>
Outcome drive(const Options& options, const std::vector<Tenant>& tenants, F one) {
  Outcome out;
  std::mutex mutex;
  std::atomic<std::size_t> next{0};
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (std::size_t c = 0; c < options.clients; ++c) {
    threads.emplace_back([&] {
      std::vector<double> mine;
      std::size_t errors = 0, leaks = 0;
      for (std::size_t i = next++; i < options.requests; i = next++) {
        const std::size_t t = (i * 7) % tenants.size();
        const auto t0 = Clock::now();
        try {
          const std::string text = one(t, i);
          leaks += foreign_canaries(text, tenants, t);
          if (text.find(tenants[t].canary) == std::string::npos) ++errors;  // own data must be there
        } catch (const std::exception&) {
          ++errors;
        }
        mine.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      }
      std::lock_guard lock(mutex);
      out.latencies_us.insert(out.latencies_us.end(), mine.begin(), mine.end());
      out.errors += errors;
      out.leaks += leaks;
    });
  }
  for (auto& thread : threads) thread.join();
  out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next_number = [&] { return static_cast<std::size_t>(std::stoul(argv[++i])); };
    if (a == "--tenants" && i + 1 < argc) options.tenants = next_number();
    else if (a == "--clients" && i + 1 < argc) options.clients = next_number();
    else if (a == "--requests" && i + 1 < argc) options.requests = next_number();
    else if (a == "--json") options.json = true;
    else {
      std::cerr << "usage: server_load [--tenants N] [--clients N] [--requests N] [--json]\n";
      return 2;
    }
  }
  const auto data_dir = std::filesystem::temp_directory_path() / fmt::format("tenantai-load-{}", ::getpid());
  std::filesystem::remove_all(data_dir);
  int status = 0;
  {
    pipeline::PlatformOptions platform_options;
    platform_options.data_dir = data_dir;
    platform_options.backend = std::make_shared<inference::EchoModel>();
    platform_options.embedder = std::make_shared<inference::HashingEmbedder>();
    platform_options.inference_slots = 4;
    pipeline::Platform platform(std::move(platform_options));
    pipeline::TenantRegistry registry(platform);
    pipeline::Pipeline pipeline(platform);

    std::vector<Tenant> tenants;
    {
      SystemScope system(platform.access_recorder(), "load-test", "provision load-test tenants");
      for (std::size_t i = 0; i < options.tenants; ++i) {
        pipeline::TenantConfig config{TenantId(fmt::format("load-{}", i))};
        config.tier = "enterprise";
        config.models.model = "echo-small";
        config.quotas.requests_per_minute = 10'000'000;
        config.quotas.tokens_per_minute = 100'000'000;
        config.quotas.queue_limit = 4096;
        config.encryption_required = true;
        const std::string canary = fmt::format("LOAD-CANARY-{:04}-{}", i, i * 7919 % 10007);
        config.prompt_overlay = {{"company_name", "Company " + std::to_string(i)}};
        config.api_keys.push_back({"client", {"staff"}, {}, ""});
        auto report = registry.onboard(system, config);
        tenants.push_back({config.id, canary, report.issued_secrets.at("client")});
      }
    }
    server::HttpServerOptions http_options;
    http_options.threads = 2;
    server::HttpServer http(http_options);
    server::TenantApi api(http, platform, pipeline, registry, {"", data_dir / "exports"});
    http.start();
    const auto port = http.port();

    // Same documents (and ids) in every tenant, differing only in the canary.
    for (const auto& t : tenants) {
      nlohmann::json docs = nlohmann::json::array();
      docs.push_back({{"id", "policy"}, {"title", "Policy"}, {"text", "The expense policy reference is " + t.canary + "."}});
      docs.push_back({{"id", "hours"}, {"title", "Hours"}, {"text", "Support hours are nine to five, reference " + t.canary + "."}});
      auto r = server::http_call("127.0.0.1", port, "POST", "/v1/documents", nlohmann::json{{"documents", docs}}.dump(),
                                 {{"Authorization", "Bearer " + t.key}});
      if (r.status != 200) {
        std::cerr << "ingest failed: " << r.status << " " << r.body << "\n";
        return 1;
      }
    }

    auto http_query = [&](std::size_t t, std::size_t) {
      auto r = server::http_call("127.0.0.1", port, "POST", "/v1/query", R"({"query":"what is the expense policy reference?","k":2})",
                                 {{"Authorization", "Bearer " + tenants[t].key}});
      if (r.status != 200) throw Error(ErrorCode::Unavailable, fmt::format("status {}", r.status));
      return r.body;
    };
    auto http_chat = [&](std::size_t t, std::size_t i) {
      // Identical prompts across tenants; every 4th is unique so the model path is exercised too.
      const std::string prompt = i % 4 == 0 ? fmt::format("expense policy reference, request {}", i) : "What is the expense policy reference?";
      auto body = nlohmann::json{{"messages", {{{"role", "user"}, {"content", prompt}}}}, {"max_tokens", 400}, {"k", 2}};
      auto r = server::http_call("127.0.0.1", port, "POST", "/v1/chat", body.dump(), {{"Authorization", "Bearer " + tenants[t].key}});
      if (r.status != 200) throw Error(ErrorCode::Unavailable, fmt::format("status {}: {}", r.status, r.body.substr(0, 200)));
      return r.body;
    };
    auto direct_query = [&](std::size_t t, std::size_t) {
      auto context = platform.authenticator().authenticate(tenants[t].key);
      if (!context) throw context.error();
      auto passages = with_tenant(*context, [&](auto scope) {
        return scope.release(pipeline.query(scope, {"what is the expense policy reference?", 2, {}}));
      });
      std::string text;
      for (const auto& p : passages) text += p.text;
      return text;
    };
    auto direct_chat = [&](std::size_t t, std::size_t i) {
      auto context = platform.authenticator().authenticate(tenants[t].key);
      if (!context) throw context.error();
      pipeline::ChatRequest request;
      request.messages = {{"user", i % 4 == 0 ? fmt::format("expense policy reference, direct {}", i) : "What is the expense policy reference?"}};
      request.max_tokens = 400;
      request.k = 2;
      return with_tenant(*context, [&](auto scope) { return scope.release(pipeline.chat(scope, request)).text; });
    };

    struct Row {
      const char* name;
      Outcome outcome;
    };
    std::vector<Row> rows;
    rows.push_back({"direct Pipeline::query (peer)", drive(options, tenants, direct_query)});
    rows.push_back({"HTTP POST /v1/query", drive(options, tenants, http_query)});
    rows.push_back({"direct Pipeline::chat (peer)", drive(options, tenants, direct_chat)});
    rows.push_back({"HTTP POST /v1/chat", drive(options, tenants, http_chat)});
    http.stop();

    std::cout << fmt::format("server_load: {} tenants, {} client threads, {} requests per row, loopback, echo model\n",
                             options.tenants, options.clients, options.requests);
    std::cout << fmt::format("{:<32} {:>10} {:>10} {:>10} {:>8} {:>6}\n", "method", "p50 us", "p99 us", "req/s", "errors", "leaks");
    for (const auto& row : rows) {
      const auto& o = row.outcome;
      std::cout << fmt::format("{:<32} {:>10.0f} {:>10.0f} {:>10.0f} {:>8} {:>6}\n", row.name, percentile(o.latencies_us, 0.5),
                               percentile(o.latencies_us, 0.99), static_cast<double>(o.latencies_us.size()) / o.seconds,
                               o.errors, o.leaks);
      if (o.errors != 0 || o.leaks != 0) status = 1;
      if (options.json) {
        std::cout << nlohmann::json{{"bench", "server_load"}, {"method", row.name}, {"tenants", options.tenants},
                                    {"clients", options.clients}, {"requests", o.latencies_us.size()},
                                    {"p50_us", percentile(o.latencies_us, 0.5)}, {"p99_us", percentile(o.latencies_us, 0.99)},
                                    {"rps", static_cast<double>(o.latencies_us.size()) / o.seconds}, {"errors", o.errors},
                                    {"leaks", o.leaks}}
                         .dump()
                  << "\n";
      }
    }
    std::cout << fmt::format("HTTP/direct p50 ratio: query {:.2f}x, chat {:.2f}x\n",
                             percentile(rows[1].outcome.latencies_us, 0.5) / std::max(1.0, percentile(rows[0].outcome.latencies_us, 0.5)),
                             percentile(rows[3].outcome.latencies_us, 0.5) / std::max(1.0, percentile(rows[2].outcome.latencies_us, 0.5)));
    std::cout << (status == 0 ? "zero errors, zero leaks\n" : "ERRORS OR LEAKS: see the table\n");
  }
  std::filesystem::remove_all(data_dir);
  return status;
}
