// rag_server: a multi-tenant RAG server over the tenantai Pipeline (Boost.Beast, 127.0.0.1).
//
//   rag_server --demo              the whole story against itself over real sockets, then exit
//   rag_server [--port 8088]       serve until SIGINT/SIGTERM
//
// Options: --tenants FILE (default examples/tenants.json), --data DIR (default examples/data,
// one <tenant>.jsonl per tenant), --data-dir DIR (state; default a fresh temporary directory),
// --operator-token TOKEN (opens /metrics; without it /metrics is off, and --demo makes a random
// one for its own scrape). --port 0 binds an ephemeral port; the "listening on" line is flushed
// at start so a supervisor can read the URL. SIGTERM drains: no new connections, in-flight
// requests get --drain-timeout-ms (default 10 s) and are then cancelled, audit checkpoints are
// signed, exit 0 (a watchdog exits 3 if a handler ignores cancellation for 5 s more). With
// OPENAI_BASE_URL set, chat completions go to that OpenAI-compatible server (llama.cpp, vLLM,
// Ollama...) instead of the built-in echo model.
#include <tenantai/audit/verify.h>
#include <tenantai/core.h>
#include <tenantai/inference/echo_model.h>
#include <tenantai/inference/hashing_embedder.h>
#include <tenantai/inference/openai_backend.h>
#include <tenantai/pipeline.h>
#include <tenantai/server/http_witness.h>
#include <tenantai/server/http_client.h>
#include <tenantai/server/http_server.h>
#include <tenantai/server/tenant_api.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#ifndef TENANTAI_EXAMPLES_DIR
#define TENANTAI_EXAMPLES_DIR "examples"
#endif

using namespace tenantai;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* kUsage =
    "usage: rag_server [--demo] [--port N] [--tenants FILE] [--data DIR] [--data-dir DIR] [--operator-token TOKEN]\n"
    "  --demo                run the whole multi-tenant story against itself over real sockets (and a restart), then exit\n"
    "  --port N              listen on 127.0.0.1:N (default 8088; 0 = an ephemeral port, printed at start)\n"
    "  --tenants FILE        tenant configs (default examples/tenants.json)\n"
    "  --data DIR            demo documents, one <tenant>.jsonl per tenant (default examples/data)\n"
    "  --data-dir DIR        state: keys, audit logs, corpus, memory (default a fresh temporary directory)\n"
    "  --operator-token TOK  opens /metrics to this bearer token (default: /metrics is off)\n"
    "  --drain-timeout-ms N  on SIGTERM, in-flight requests get up to N ms before they are cancelled (default 10000)\n"
    "  --test-slow-route     tests only: POST /test/slow?ms=N answers after N ms, or 503 once cancelled by a stop\n"
    "  OPENAI_BASE_URL       send chat completions to this OpenAI-compatible server instead of the echo model\n";

struct Args {
  bool help = false;
  bool demo = false;
  std::uint16_t port = 8088;
  fs::path tenants = fs::path(TENANTAI_EXAMPLES_DIR) / "tenants.json";
  fs::path data = fs::path(TENANTAI_EXAMPLES_DIR) / "data";
  fs::path data_dir;
  std::string operator_token;  // empty: /metrics is off
  std::chrono::milliseconds drain_timeout{10'000};  // SIGTERM: how long in-flight requests may run on
  bool test_slow_route = false;  // tests only: POST /test/slow?ms=N answers after N ms (or when cancelled)
};

Args parse_args(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw Error(ErrorCode::InvalidArgument, a + " needs a value");
      return argv[++i];
    };
    if (a == "--demo") args.demo = true;
    else if (a == "--help" || a == "-h") args.help = true;
    else if (a == "--port") args.port = static_cast<std::uint16_t>(std::stoi(value()));
    else if (a == "--tenants") args.tenants = value();
    else if (a == "--data") args.data = value();
    else if (a == "--data-dir") args.data_dir = value();
    else if (a == "--operator-token") args.operator_token = value();
    else if (a == "--drain-timeout-ms") args.drain_timeout = std::chrono::milliseconds(std::stol(value()));
    else if (a == "--test-slow-route") args.test_slow_route = true;
    else throw Error(ErrorCode::InvalidArgument, "unknown option " + a + " (see rag_server --help)");
  }
  if (args.drain_timeout.count() < 0) throw Error(ErrorCode::InvalidArgument, "--drain-timeout-ms must be 0 or more");
  return args;
}

std::shared_ptr<inference::InferenceBackend> make_backend() {
  if (const char* url = std::getenv("OPENAI_BASE_URL"); url != nullptr && *url != '\0') {
    inference::OpenAICompatibleOptions options;
    options.base_url = url;
    if (const char* key = std::getenv("OPENAI_API_KEY")) options.api_key = key;
    std::cout << "model server: " << url << " (OPENAI_BASE_URL)\n";
    return std::make_shared<inference::OpenAICompatibleBackend>(options);
  }
  std::cout << "model server: none needed, the built-in deterministic echo model answers\n";
  return std::make_shared<inference::EchoModel>();
}

std::vector<json> read_jsonl(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorCode::StorageFailure, "cannot read " + path.string());
  std::vector<json> out;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    auto item = json::parse(line, nullptr, false);
    if (!item.is_object()) throw Error(ErrorCode::InvalidArgument, fmt::format("{}:{}: not a JSON object", path.string(), n));
    out.push_back(std::move(item));
  }
  return out;
}

// ---- the demo: a client of our own server ---------------------------------------------------

struct Client {
  std::uint16_t port;
  server::HttpCallResult call(const std::string& key, const std::string& method, const std::string& target,
                              const json& body = nullptr) const {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!key.empty()) headers.emplace_back("Authorization", "Bearer " + key);
    return server::http_call("127.0.0.1", port, method, target, body.is_null() ? "" : body.dump(), headers);
  }
};

std::string snippet(std::string text, std::size_t n = 96) {
  for (auto& c : text) if (c == '\n') c = ' ';
  return text.size() > n ? text.substr(0, n) + "..." : text;
}

std::string error_of(const server::HttpCallResult& r) {
  auto body = json::parse(r.body, nullptr, false);
  if (body.is_object() && body.contains("error")) return body["error"].value("code", "?");
  return "?";
}

int run_demo(pipeline::Platform& platform, const std::vector<pipeline::TenantConfig>& configs, const Args& args,
             std::uint16_t port, const std::string& operator_token) {
  Client client{port};
  int failures = 0;
  auto expect = [&](bool ok, const std::string& what) {
    std::cout << (ok ? "  ok    " : "  FAIL  ") << what << "\n";
    if (!ok) ++failures;
  };
  std::map<std::string, std::string> key_of;  // tenant → its first (admin) key
  std::map<std::string, std::string> canary_of;
  for (const auto& c : configs) key_of[c.id.str()] = c.api_keys.front().secret;

  std::cout << "\n== 2. ingest each tenant's documents through POST /v1/documents\n";
  for (const auto& c : configs) {
    json docs = json::array();
    for (const auto& item : read_jsonl(args.data / (c.id.str() + ".jsonl"))) {
      docs.push_back({{"id", item.at("id")}, {"title", item.value("title", "")}, {"text", item.at("text")},
                      {"acl_groups", item.value("groups", std::vector<std::string>{})}});
      const std::string text = item.at("text");
      if (auto pos = text.find("CANARY-"); pos != std::string::npos) {
        auto start = text.rfind(' ', pos) + 1;
        auto end = text.find_first_of(" .", pos);
        canary_of[c.id.str()] = text.substr(start, end - start);
      }
    }
    auto r = client.call(key_of[c.id.str()], "POST", "/v1/documents", {{"documents", docs}});
    expect(r.status == 200, fmt::format("{:<14} ingested {} documents (canary {})", c.id.str(), docs.size(), canary_of[c.id.str()]));
  }

  std::cout << "\n== 3. query and chat as each tenant: each sees only its own data\n";
  for (const auto& c : configs) {
    const auto& key = key_of[c.id.str()];
    auto q = client.call(key, "POST", "/v1/query", {{"query", "canary phrase internal memo"}, {"k", 3}});
    auto results = json::parse(q.body, nullptr, false);
    std::vector<std::string> ids;
    if (results.is_object()) for (const auto& hit : results["results"]) ids.push_back(hit["id"]);
    std::cout << fmt::format("  {:<14} /v1/query  -> {}\n", c.id.str(), fmt::join(ids, ", "));
    auto r = client.call(key, "POST", "/v1/chat",
                         {{"messages", {{{"role", "user"}, {"content", "What does the internal memo say? Quote the canary phrase."}}}},
                          {"max_tokens", 400}});
    auto body = json::parse(r.body, nullptr, false);
    const std::string answer = body.is_object() ? body["choices"][0]["message"]["content"].get<std::string>() : "";
    std::cout << fmt::format("  {:<14} /v1/chat   -> {}\n", c.id.str(), snippet(answer));
    bool own = answer.find(canary_of[c.id.str()]) != std::string::npos;
    bool foreign = false;
    for (const auto& [tenant, canary] : canary_of) {
      if (tenant != c.id.str() && (answer.find(canary) != std::string::npos || q.body.find(canary) != std::string::npos)) foreign = true;
    }
    expect(r.status == 200 && own && !foreign,
           fmt::format("{:<14} answer cites its own canary and no other tenant's", c.id.str()));
  }
  {
    const auto& acme = configs.front();
    auto teller = std::find_if(acme.api_keys.begin(), acme.api_keys.end(),
                               [](const auto& k) { return std::find(k.groups.begin(), k.groups.end(), "risk") == k.groups.end(); });
    if (teller != acme.api_keys.end()) {
      auto r = client.call(teller->secret, "POST", "/v1/query", {{"query", "internal risk memo canary phrase"}, {"k", 5}});
      expect(r.status == 200 && r.body.find(canary_of[acme.id.str()]) == std::string::npos,
             fmt::format("{} actor '{}' (not in group risk) does not see the risk memo (ACL inside the tenant)",
                         acme.id.str(), teller->actor));
    }
    auto r = client.call(key_of[acme.id.str()], "POST", "/v1/query", {{"query", configs[1].display_name + " clinical canary"}, {"k", 5}});
    expect(r.status == 200 && r.body.find(configs[1].id.str()) == std::string::npos,
           fmt::format("{} asking about {} gets only its own documents", acme.id.str(), configs[1].display_name));
    auto bad = client.call("tai_thisKeyDoesNotExist0000000000000000000000000", "POST", "/v1/query", {{"query", "x"}});
    expect(bad.status == 401, "an unknown API key is refused with 401, never mapped to a default tenant");
    auto malformed = server::http_call("127.0.0.1", port, "POST", "/v1/chat", "{not json",
                                       {{"Authorization", "Bearer " + key_of[acme.id.str()]}});
    expect(malformed.status == 400, "malformed JSON is a 400 with a JSON error, and the server keeps serving");
  }

  std::cout << "\n== 4. a budget and a rate limit tripping (" << configs.back().id.str() << ", the free tier)\n";
  {
    const auto& tenant = configs.back();
    const auto& key = key_of[tenant.id.str()];
    bool budget = false, rate = false;
    for (int i = 1; i <= 12 && !(budget && rate); ++i) {
      auto r = client.call(key, "POST", "/v1/chat",
                           {{"messages", {{{"role", "user"}, {"content", fmt::format("Summarise our expense policy, take {}", i)}}}},
                            {"max_tokens", 256}});
      std::string outcome = r.status == 200 ? "200 ok" : fmt::format("{} {}", r.status, error_of(r));
      std::cout << fmt::format("  request {:>2}: {}\n", i, outcome);
      budget |= r.status == 402;
      rate |= r.status == 429;
    }
    expect(budget, "the daily budget refused a request before it could be overrun (402 BudgetExceeded)");
    expect(rate, "the per-minute rate limit refused a request (429 RateLimited)");
  }

  std::cout << "\n== 5. verify each tenant's audit log against its signed checkpoint\n";
  for (const auto& c : configs) {
    // The signed note as text/plain, the log's verifier key in a header. An auditor pins the key
    // it was given out of band; the demo uses the one the server published.
    auto r = client.call(key_of[c.id.str()], "GET", "/v1/audit/checkpoint");
    auto verifier = audit::CheckpointVerifier::parse(r.headers["x-tenantai-verifier-key"]);
    auto note = verifier ? verifier->verify(r.body, audit::origin_for(c.id)) : Result<audit::Checkpoint>(verifier.error());
    auto report = note ? audit::verify_log(platform.audit().root(), c.id, *verifier)
                       : Result<audit::VerifyReport>(note.error());
    expect(r.status == 200 && report.ok(),
           fmt::format("{:<14} {} events, checkpoint signed, Merkle tree verified{}", c.id.str(),
                       note ? note->size : 0, report ? "" : ": " + report.error().message()));
  }

  std::cout << "\n== 6. usage per tenant (GET /v1/usage)\n";
  for (const auto& c : configs) {
    auto r = client.call(key_of[c.id.str()], "GET", "/v1/usage");
    auto body = json::parse(r.body, nullptr, false);
    if (!body.is_object()) { expect(false, "usage of " + c.id.str()); continue; }
    std::int64_t requests = 0, in = 0, out = 0;
    for (const auto& row : body["usage"].value("series", json::array())) {
      requests += row.value("requests", 0);
      in += row.value("input_tokens", 0);
      out += row.value("output_tokens", 0);
    }
    std::cout << fmt::format("  {:<14} requests {:>3}  input tokens {:>6}  output tokens {:>6}  spent today ${:.6f}\n",
                             c.id.str(), requests, in, out,
                             body["budget"]["day"].value("spent_micros", 0) / 1e6);
  }
  auto metrics = client.call(operator_token, "GET", "/metrics");
  expect(metrics.status == 200 && metrics.body.find("tenant=\"") != std::string::npos,
         "operator /metrics serves tenant-labelled Prometheus text (tenants' keys get 401 there)");

  std::cout << "\n== 7. offboard " << configs.back().id.str() << " (DELETE /v1/tenant): export, erase, crypto-shred, signed receipt\n";
  {
    const auto& tenant = configs.back();
    auto r = client.call(key_of[tenant.id.str()], "DELETE", "/v1/tenant");
    auto body = json::parse(r.body, nullptr, false);
    bool verified = false;
    if (r.status == 200 && body.is_object()) {
      pipeline::ErasureReceipt receipt{body["receipt"].dump(), body.value("signature", ""), body.value("verifier_key", "")};
      verified = pipeline::verify_erasure_receipt(receipt);
      std::cout << "  export bundle: " << body.value("export_directory", "") << "\n";
      std::cout << "  erased: " << body["receipt"]["layers"].dump() << "\n";
    }
    expect(verified, "erasure receipt signature verifies");
    auto after = client.call(key_of[tenant.id.str()], "POST", "/v1/query", {{"query", "expense policy"}});
    expect(after.status == 401, "the offboarded tenant's key is refused (401)");
    auto others = client.call(key_of[configs.front().id.str()], "POST", "/v1/query", {{"query", "wire transfer cut-off"}});
    expect(others.status == 200 && others.body.find(configs.front().id.str().substr(0, 4)) != std::string::npos,
           "the other tenants are untouched");
  }
  std::cout << "\n" << (failures == 0 ? "demo: all checks passed" : fmt::format("demo: {} checks FAILED", failures)) << "\n";
  return failures == 0 ? 0 : 1;
}

// After the restart: every tenant's documents are back (searchable, ACL intact), and the
// tenant offboarded before the restart stays gone although the tenants file still lists it.
int run_restart_checks(const std::vector<pipeline::TenantConfig>& configs, std::uint16_t port) {
  Client client{port};
  int failures = 0;
  auto expect = [&](bool ok, const std::string& what) {
    std::cout << (ok ? "  ok    " : "  FAIL  ") << what << "\n";
    if (!ok) ++failures;
  };
  const auto& acme = configs.front();
  auto q = client.call(acme.api_keys.front().secret, "POST", "/v1/query", {{"query", "wire transfer cut-off internal memo"}, {"k", 5}});
  auto body = json::parse(q.body, nullptr, false);
  const std::size_t hits = body.is_object() && body.contains("results") ? body["results"].size() : 0;
  expect(q.status == 200 && hits > 0, fmt::format("{} finds its {} documents again after the restart (corpus restored from disk)", acme.id.str(), hits));
  const auto& offboarded = configs.back();
  auto gone = client.call(offboarded.api_keys.front().secret, "POST", "/v1/query", {{"query", "expense policy"}});
  expect(gone.status == 401, fmt::format("{} (offboarded, still in the tenants file) was skipped: its key gets 401", offboarded.id.str()));
  std::cout << "\n" << (failures == 0 ? "restart: all checks passed" : fmt::format("restart: {} checks FAILED", failures)) << "\n";
  return failures == 0 ? 0 : 1;
}

volatile std::sig_atomic_t g_stop = 0;

// A handler that ignores cancellation cannot be taken back safely; past `bound` the process
// exits anyway (status 3). Acknowledged writes are durable; audit logs verify up to their last
// signed checkpoint.
void start_watchdog(std::chrono::milliseconds bound) {
  std::thread([bound] {
    std::this_thread::sleep_for(bound);
    std::cerr << "rag_server: the drain did not finish within " << bound.count() << " ms; exiting" << std::endl;
    std::_Exit(3);
  }).detach();
}

// One life of the server: every layer on `data_dir`, tenants onboarded from the tenants file,
// the HTTP API listening. Destroying it stops the server and signs final audit checkpoints.
struct Service {
  pipeline::Platform platform;
  pipeline::TenantRegistry registry;
  pipeline::Pipeline pipeline;
  server::HttpServer http;
  std::unique_ptr<server::TenantApi> api;
  std::string operator_token;
  std::chrono::milliseconds drain_timeout;

  static pipeline::PlatformOptions platform_options(const Args& args) {
    pipeline::PlatformOptions options;
    options.data_dir = args.data_dir;
    options.backend = make_backend();
    options.embedder = std::make_shared<inference::HashingEmbedder>();
    options.witness_connector = server::http_witness_connector();  // tenants may name audit witnesses
    return options;
  }
  static server::HttpServerOptions http_options(const Args& args) {
    server::HttpServerOptions options;
    options.port = args.demo ? 0 : args.port;
    return options;
  }

  Service(const Args& args, const std::vector<pipeline::TenantConfig>& configs)
      : platform(platform_options(args)),
        registry(platform),
        pipeline(platform),
        http(http_options(args)),
        drain_timeout(args.drain_timeout) {
    onboard_all(configs);
    server::TenantApiOptions api_options;
    // No default operator token: a fixed one in the source would open /metrics to anyone.
    api_options.operator_token = args.operator_token;
    if (args.demo && api_options.operator_token.empty()) api_options.operator_token = new_request_id();
    operator_token = api_options.operator_token;
    api_options.export_dir = args.data_dir / "exports";
    api = std::make_unique<server::TenantApi>(http, platform, pipeline, registry, api_options);
    if (args.test_slow_route) http.route("POST", "/test/slow", slow_handler);
    http.on_shutdown([] { std::cout << "server stopped; audit logs are checkpointed on shutdown\n"; });
    http.start();
    std::cout << "listening on http://127.0.0.1:" << http.port() << std::endl;
    if (operator_token.empty()) std::cout << "/metrics is off (no --operator-token)" << std::endl;
  }
  ~Service() {
    if (const auto cancelled = http.stop(drain_timeout); cancelled > 0) {
      std::cout << cancelled << " request(s) still running after the drain timeout were cancelled\n";
    }
  }

  // Tests only (--test-slow-route): a request slower than any drain bound, which gives up
  // with a 503 once the server cancels it.
  static server::HttpResponse slow_handler(const server::HttpRequest& request) {
    const auto it = request.query.find("ms");
    const long ms = it == request.query.end() ? 1000 : std::stol(it->second);
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < until) {
      if (request.cancelled()) return server::HttpResponse::error(503, "Unavailable", "cancelled: the server is stopping");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return server::HttpResponse::json(200, R"({"slow":"done"})");
  }

  // One tenant's failure stays that tenant's: an offboarded tenant still in the file is skipped
  // with a warning, a tenant whose state on disk fails verification starts quarantined.
  void onboard_all(const std::vector<pipeline::TenantConfig>& configs) {
    auto system = platform.system_scope("rag-server", "provision tenants from the tenants file");
    for (const auto& config : configs) {
      try {
        auto report = registry.onboard(system, config);
        std::cout << fmt::format("  {:<14} tier {:<10} model {:<10} adapters [{}] keys {}{}\n", config.id.str(),
                                 config.tier, config.models.model, fmt::join(report.adapters, ","),
                                 report.key_ids.size(), report.quarantined.empty() ? "" : "  QUARANTINED: " + report.quarantined);
      } catch (const Error& e) {
        std::cout << fmt::format("  {:<14} skipped: {}\n", config.id.str(), e.message()) << std::flush;
      }
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  try {
    Args args = parse_args(argc, argv);
    if (args.help) {
      std::cout << kUsage;
      return 0;
    }
    bool temporary = false;
    if (args.data_dir.empty()) {
      args.data_dir = fs::temp_directory_path() / fmt::format("tenantai-demo-{}", ::getpid());
      fs::remove_all(args.data_dir);
      temporary = true;
    }
    auto configs = pipeline::load_tenant_configs(args.tenants.string());
    if (!configs) throw configs.error();

    int status = 0;
    std::cout << "\n== 1. provision " << configs->size() << " tenants from " << args.tenants.string() << "\n";
    if (args.demo) {
      {
        Service service(args, *configs);
        status = run_demo(service.platform, *configs, args, service.http.port(), service.operator_token);
      }
      std::cout << "\n== 8. restart: a new server process state on the same --data-dir\n";
      Service restarted(args, *configs);
      status |= run_restart_checks(*configs, restarted.http.port());
    } else {
      Service service(args, *configs);
      std::signal(SIGINT, [](int) { g_stop = 1; });
      std::signal(SIGTERM, [](int) { g_stop = 1; });
      while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      std::cout << "stopping: draining in-flight requests for up to " << args.drain_timeout.count() << " ms" << std::endl;
      start_watchdog(args.drain_timeout + std::chrono::seconds(5));
    }
    if (temporary) fs::remove_all(args.data_dir);
    return status;
  } catch (const std::exception& e) {
    std::cerr << "rag_server: " << e.what() << "\n";
    return 2;
  }
}
