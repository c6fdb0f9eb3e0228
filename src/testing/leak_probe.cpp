#include "tenantai/testing/leak_probe.h"

#include <atomic>
#include <fmt/format.h>
#include <mutex>
#include <thread>

#include "tenantai/audit/event.h"
#include "tenantai/core/authenticator.h"

namespace tenantai::testing {

namespace {

constexpr std::string_view kCanaryPrefix = "LEAKPROBE-";
constexpr const char* kProbeModelKey = "leakprobe-model";
constexpr const char* kSharedInput = "identical probe input shared by every tenant";
constexpr const char* kSession = "probe-session";  // the same session name in every tenant

struct ProbeTenant {
  std::size_t index;
  TenantId id;
  std::string canary;
  std::string secret;
};

void must(const Status& status) {
  if (!status) throw status.error();
}

bool canary_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

}  // namespace

std::string LeakReport::summary() const {
  std::string out = fmt::format("leak probe: {} tenants, {} threads, {} observations, {} crossings, {} errors\n",
                                tenants, threads, operations, crossings.size(), errors.size());
  for (const auto& [layer, n] : checks) out += fmt::format("  layer {:<16} {} observations\n", layer, n);
  for (const auto& c : crossings) {
    out += fmt::format("  CROSSING in {}: {}'s canary seen by {} ({})\n", c.layer, c.owner, c.observer, c.operation);
  }
  for (const auto& e : errors) out += "  ERROR " + e + "\n";
  return out;
}

LeakProbe::LeakProbe(pipeline::Platform& platform, pipeline::TenantRegistry& registry, pipeline::Pipeline& pipeline,
                     LeakProbeOptions options)
    : platform_(platform), registry_(registry), pipeline_(pipeline), options_(std::move(options)) {}

LeakReport LeakProbe::run() {
  LeakReport report;
  report.tenants = options_.tenants;
  report.threads = std::max<std::size_t>(options_.threads, 1);
  const std::string run_id = new_request_id().substr(0, 6);  // random hex
  const std::string model = platform_.options().models.front().spec.id;
  const std::string tier = platform_.options().tiers.back().name;

  // ---- provision ----------------------------------------------------------------------------
  std::vector<ProbeTenant> tenants;
  std::map<std::string, std::string> owner_of_canary;
  {
    SystemScope system(platform_.access_recorder(), "leak-probe", "provision leak-probe tenants");
    for (std::size_t i = 0; i < options_.tenants; ++i) {
      ProbeTenant t{i, TenantId(fmt::format("{}-{}-{}", options_.tenant_prefix, i, run_id)),
                    fmt::format("{}{}-{}", kCanaryPrefix, new_request_id().substr(0, 16), i), ""};
      pipeline::TenantConfig config(t.id);
      config.tier = tier;
      config.models.model = model;
      config.quotas.requests_per_minute = 1'000'000;
      config.quotas.tokens_per_minute = 100'000'000;
      config.quotas.queue_limit = 1024;
      config.prompt_overlay = {{"company_name", t.canary}};
      config.encryption_required = true;
      config.api_keys.push_back({"probe-user", {"probe"}, {"tool:search_docs", "admin:export", "admin:offboard"}, ""});
      auto onboarded = registry_.onboard(system, config);
      t.secret = onboarded.issued_secrets.at("probe-user");
      owner_of_canary[t.canary] = t.id.str();
      tenants.push_back(std::move(t));
    }
  }

  std::mutex report_mutex;
  auto context_of = [&](const ProbeTenant& t) {
    auto context = platform_.authenticator().authenticate(t.secret);
    if (!context) throw context.error();
    return *context;
  };
  // Scans what `observer` was handed for canaries of other tenants.
  auto scan = [&](const ProbeTenant& observer, const std::string& layer, const std::string& operation,
                  const std::string& text) {
    std::vector<Crossing> found;
    for (std::size_t pos = text.find(kCanaryPrefix); pos != std::string::npos; pos = text.find(kCanaryPrefix, pos + 1)) {
      std::size_t end = pos + kCanaryPrefix.size();
      while (end < text.size() && canary_char(text[end])) ++end;
      const std::string token = text.substr(pos, end - pos);
      auto it = owner_of_canary.find(token);
      const std::string owner = it == owner_of_canary.end() ? "unknown:" + token : it->second;
      if (owner != observer.id.str()) found.push_back({layer, owner, observer.id.str(), operation});
    }
    std::lock_guard lock(report_mutex);
    ++report.operations;
    ++report.checks[layer];
    for (auto& c : found) report.crossings.push_back(std::move(c));
  };
  auto record_error = [&](const ProbeTenant& t, const std::string& what, const std::exception& e) {
    std::lock_guard lock(report_mutex);
    report.errors.push_back(fmt::format("{} {}: {}", t.id.str(), what, e.what()));
  };
  // The embedding of tenant t is a recognisable vector: every component = t's index + 1.
  const std::size_t dim = platform_.embedder().dimension();
  auto signature = [&](const ProbeTenant& t) { return std::vector<float>(dim, static_cast<float>(t.index + 1)); };
  auto question_vector = platform_.embedder().embed({"What is the shared secret of this organisation?"}).front();
  auto near_vector = platform_.embedder().embed({"What's the shared secret of this organisation?"}).front();

  // ---- plant (in parallel: planting is itself concurrent load) -------------------------------
  auto parallel = [&](const std::function<void(std::size_t)>& work, std::size_t count) {
    std::atomic<std::size_t> next{0};
    std::vector<std::thread> threads;
    for (std::size_t w = 0; w < report.threads; ++w) {
      threads.emplace_back([&] {
        for (std::size_t i = next++; i < count; i = next++) work(i);
      });
    }
    for (auto& thread : threads) thread.join();
  };
  parallel(
      [&](std::size_t i) {
        const auto& t = tenants[i];
        try {
          const auto context = context_of(t);
          with_tenant(context, [&](auto scope) {
            pipeline_.ingest(scope, {{"probe-doc", "Probe document", "The shared secret of this organisation is " + t.canary + ".", {}, {}},
                                     {"probe-doc-2", "Probe notes", "Notes: the organisation secret " + t.canary + " is shared.", {}, {}}});
            pipeline::ChatRequest remember;
            remember.messages = {{"user", "Remember that our shared secret is " + t.canary}};
            remember.session = kSession;
            remember.k = 0;
            pipeline_.chat(scope, remember);
            must(platform_.response_cache().store(scope, {kProbeModelKey, "v1", "", kSharedInput}, "cached " + t.canary));
            must(platform_.embedding_cache().store(scope, kProbeModelKey, kSharedInput, signature(t)));
            must(platform_.semantic_cache().store(scope, {kProbeModelKey, "v1"}, question_vector, "semantic " + t.canary));
            audit::AuditEvent event;
            event.operation = audit::Operation::Other;
            event.target = "probe:" + t.canary;
            platform_.audit().append(scope, std::move(event));
          });
          for (const auto& target : options_.extra_targets) target.plant(context, t.canary);
        } catch (const std::exception& e) {
          record_error(t, "plant", e);
        }
      },
      tenants.size());

  // ---- the cross-tenant matrix, concurrently ---------------------------------------------------
  parallel(
      [&](std::size_t job) {
        const auto& t = tenants[job % tenants.size()];
        const std::size_t round = job / tenants.size();
        try {
          const auto context = context_of(t);
          with_tenant(context, [&](auto scope) {
            pipeline::ChatRequest identical;
            identical.messages = {{"user", "What is the shared secret of this organisation?"}};
            auto a = scope.release(pipeline_.chat(scope, identical), "leak-probe");
            scan(t, a.cache == "miss" ? "pipeline" : "response_cache", "chat(identical prompt)", a.text + fmt::format("{}", fmt::join(a.citations, " ")));
            pipeline::ChatRequest near;
            near.messages = {{"user", round % 2 == 0 ? "What's the shared secret of this organisation?" : "what is the SHARED secret of this organisation"}};
            auto b = scope.release(pipeline_.chat(scope, near), "leak-probe");
            scan(t, b.cache == "semantic" ? "semantic_cache" : "pipeline", "chat(near-identical prompt)", b.text);
            auto passages = scope.release(pipeline_.query(scope, {"shared secret probe document", 4, {}}), "leak-probe");
            std::string text;
            for (const auto& p : passages) text += p.id + " " + p.text + "\n";
            scan(t, "documents", "query(shared secret)", text);
            pipeline::ChatRequest session;
            session.messages = {{"user", "What did I ask you to remember?"}};
            session.session = kSession;
            session.k = 0;
            auto c = scope.release(pipeline_.chat(scope, session), "leak-probe");
            scan(t, "memory", "chat(same session name)", c.text);
            auto history = scope.release(platform_.memory().messages(scope, {"probe-user", "assistant", kSession}), "leak-probe");
            text.clear();
            for (const auto& m : history) text += m.content + "\n";
            scan(t, "memory", "messages(same session name)", text);
            auto exact = scope.release(platform_.response_cache().lookup(scope, {kProbeModelKey, "v1", "", kSharedInput}), "leak-probe");
            scan(t, "response_cache", "lookup(identical key)", exact.value_or(""));
            auto semantic = scope.release(platform_.semantic_cache().lookup(scope, {kProbeModelKey, "v1"}, near_vector), "leak-probe");
            scan(t, "semantic_cache", "lookup(near-identical query)", semantic ? semantic->value : "");
            auto embedding = scope.release(platform_.embedding_cache().lookup(scope, kProbeModelKey, kSharedInput), "leak-probe");
            std::string owner_canary;
            if (embedding && !embedding->empty()) {
              const auto owner_index = static_cast<std::size_t>((*embedding)[0]) - 1;
              if (owner_index < tenants.size()) owner_canary = tenants[owner_index].canary;
            }
            scan(t, "embedding_cache", "lookup(identical text)", owner_canary);
            auto prompt = scope.release(platform_.prompts().render(scope, pipeline::Platform::kAnswerTemplate), "leak-probe");
            scan(t, "prompt_overlay", "render(answer template)", prompt.text);
            auto records = scope.release(platform_.audit().read(scope, 0, 100000), "leak-probe");
            text.clear();
            for (const auto& r : records) {
              if (r.event) text += r.event->target + " " + r.event->detail + "\n";
            }
            scan(t, "audit", "read(own log)", text);
          });
          for (const auto& target : options_.extra_targets) scan(t, target.layer, "observe", target.observe(context));
        } catch (const std::exception& e) {
          record_error(t, "observe", e);
        }
      },
      tenants.size() * std::max<std::size_t>(options_.rounds, 1));

  // ---- clean up ------------------------------------------------------------------------------
  if (options_.offboard_after) {
    SystemScope system(platform_.access_recorder(), "leak-probe", "remove leak-probe tenants",
                       {.max_visits = tenants.size() + 1, .ticket = "", .visit_timeout = std::chrono::minutes(5)});
    for (const auto& t : tenants) {
      try {
        registry_.offboard(system, t.id, platform_.options().data_dir / "leakprobe-exports" / t.id.str());
      } catch (const std::exception& e) {
        record_error(t, "offboard", e);
      }
    }
  }
  return report;
}

}  // namespace tenantai::testing
