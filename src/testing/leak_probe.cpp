#include "tenantai/testing/leak_probe.h"

#include <algorithm>
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
  std::map<std::string, std::string> acl_secrets;  // ACL probe actor -> its key
};

// Who may see a canary: its tenant, and inside it the holders of `group` ("" = every actor).
struct CanaryOwner {
  std::string tenant;
  std::string group;
};

// An observer of the probe: a tenant and the ACL groups of the actor that looks.
struct Observer {
  const ProbeTenant& tenant;
  std::string actor;
  std::vector<std::string> groups;
};

// The intra-tenant ACL probe: actors whose group sets collide under a comma-joined encoding
// ("risk,staff" as ONE group against "risk" and "staff"), one with a single group, one with none,
// and one whose group name is made of separators and unicode.
struct AclActor {
  const char* actor;
  std::vector<std::string> groups;
};
const std::vector<AclActor>& acl_actors() {
  static const std::vector<AclActor> kActors = {
      {"acl-split", {"risk", "staff"}},
      {"acl-merged", {"risk,staff"}},
      {"acl-risk", {"risk"}},
      {"acl-odd", {"a:b#c|d\xc3\xa9,risk"}},
      {"acl-none", {}},
  };
  return kActors;
}
// The ACL groups that get a canary document, and which probe actor plants it (it holds the group).
struct AclDocument {
  const char* group;
  const char* planter;
};
constexpr AclDocument kAclDocuments[] = {
    {"risk", "acl-split"}, {"staff", "acl-split"}, {"risk,staff", "acl-merged"}, {"a:b#c|d\xc3\xa9,risk", "acl-odd"}};
constexpr const char* kAclQuestion = "What do the restricted probe memos of this organisation say?";
constexpr const char* kAclParaphrase = "What do the restricted probe memos of this organisation say ?";

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

namespace {

// The canary of ACL document `d` of tenant t: derived from the tenant's canary, so it is unique
// per run, tenant and group.
std::string acl_canary(const ProbeTenant& t, std::size_t d) { return fmt::format("{}-acl{}", t.canary, d); }

// Each restricted document is written by an actor that holds its group (writes are ACL-checked).
template <typename Login>
void plant_acl_documents(pipeline::Pipeline& pipeline, const ProbeTenant& t, const Login& login) {
  for (std::size_t d = 0; d < std::size(kAclDocuments); ++d) {
    const auto& doc = kAclDocuments[d];
    with_tenant(login(t.acl_secrets.at(doc.planter)), [&](auto scope) {
      pipeline.ingest(scope, {{fmt::format("probe-acl-{}", d), "Restricted probe memo",
                               "Restricted probe memo of this organisation: " + acl_canary(t, d) + ".", {doc.group}, {}}});
    });
  }
}

std::string cache_layer(const pipeline::ChatAnswer& answer) {
  if (answer.cache == "exact") return "acl:response_cache";
  if (answer.cache == "semantic") return "acl:semantic_cache";
  return "acl:pipeline";
}

// Every ACL actor asks the same question and a paraphrase, and queries; the order flips with
// the round, so an answer cached for an actor that sees more is asked for by one that sees less.
template <typename Login, typename Scan>
void probe_acl(pipeline::Pipeline& pipeline, const ProbeTenant& t, std::size_t round, const Login& login, const Scan& scan_as) {
  std::vector<AclActor> actors = acl_actors();
  if (round % 2 == 1) std::reverse(actors.begin(), actors.end());
  for (const auto& actor : actors) {
    const Observer observer{t, actor.actor, actor.groups};
    with_tenant(login(t.acl_secrets.at(actor.actor)), [&](auto scope) {
      for (const char* question : {kAclQuestion, kAclParaphrase}) {
        pipeline::ChatRequest chat;
        chat.messages = {{"user", question}};
        chat.k = 8;
        chat.max_tokens = 2000;
        auto answer = scope.release(pipeline.chat(scope, chat), "leak-probe");
        scan_as(observer, cache_layer(answer), fmt::format("chat({}) as {}", question, actor.actor), answer.text);
      }
      auto passages = scope.release(pipeline.query(scope, {"restricted probe memo", 8, {}}), "leak-probe");
      std::string text;
      for (const auto& p : passages) text += p.id + " " + p.text + "\n";
      scan_as(observer, "acl:documents", "query(restricted memo) as " + std::string(actor.actor), text);
    });
  }
}

}  // namespace

LeakReport LeakProbe::run() {
  LeakReport report;
  report.tenants = options_.tenants;
  report.threads = std::max<std::size_t>(options_.threads, 1);
  const std::string run_id = new_request_id().substr(0, 6);  // random hex
  const std::string model = platform_.options().models.front().spec.id;
  const std::string tier = platform_.options().tiers.back().name;

  // ---- provision ----------------------------------------------------------------------------
  std::vector<ProbeTenant> tenants;
  std::map<std::string, CanaryOwner> owner_of_canary;
  {
    SystemScope system(platform_.access_recorder(), "leak-probe", "provision leak-probe tenants");
    for (std::size_t i = 0; i < options_.tenants; ++i) {
      ProbeTenant t{i, TenantId(fmt::format("{}-{}-{}", options_.tenant_prefix, i, run_id)),
                    fmt::format("{}{}-{}", kCanaryPrefix, new_request_id().substr(0, 16), i), "", {}};
      pipeline::TenantConfig config(t.id);
      config.tier = tier;
      config.models.model = model;
      config.quotas.requests_per_minute = 1'000'000;
      config.quotas.tokens_per_minute = 100'000'000;
      config.quotas.queue_limit = 1024;
      config.prompt_overlay = {{"company_name", t.canary}};
      config.encryption_required = true;
      config.api_keys.push_back({"probe-user", {"probe"}, {"tool:search_docs", "admin:export", "admin:offboard"}, ""});
      if (options_.acl_probe) {
        for (const auto& actor : acl_actors()) config.api_keys.push_back({actor.actor, actor.groups, {}, ""});
      }
      auto onboarded = registry_.onboard(system, config);
      t.secret = onboarded.issued_secrets.at("probe-user");
      if (options_.acl_probe) {
        for (const auto& actor : acl_actors()) t.acl_secrets[actor.actor] = onboarded.issued_secrets.at(actor.actor);
      }
      owner_of_canary[t.canary] = {t.id.str(), ""};
      if (options_.acl_probe) {
        for (std::size_t d = 0; d < std::size(kAclDocuments); ++d) {
          owner_of_canary[acl_canary(t, d)] = {t.id.str(), kAclDocuments[d].group};
        }
      }
      tenants.push_back(std::move(t));
    }
  }

  std::mutex report_mutex;
  auto login = [&](const std::string& secret) {
    auto context = platform_.authenticator().authenticate(secret);
    if (!context) throw context.error();
    return *context;
  };
  auto context_of = [&](const ProbeTenant& t) { return login(t.secret); };
  // Scans what `observer` was handed for canaries it may not see: another tenant's, or one of
  // its own tenant behind an ACL group the observing actor does not hold.
  auto scan_as = [&](const Observer& observer, const std::string& layer, const std::string& operation,
                     const std::string& text) {
    std::vector<Crossing> found;
    for (std::size_t pos = text.find(kCanaryPrefix); pos != std::string::npos; pos = text.find(kCanaryPrefix, pos + 1)) {
      std::size_t end = pos + kCanaryPrefix.size();
      while (end < text.size() && canary_char(text[end])) ++end;
      const std::string token = text.substr(pos, end - pos);
      auto it = owner_of_canary.find(token);
      const CanaryOwner owner = it == owner_of_canary.end() ? CanaryOwner{"unknown:" + token, ""} : it->second;
      const bool visible = owner.tenant == observer.tenant.id.str() &&
                           (owner.group.empty() || std::find(observer.groups.begin(), observer.groups.end(),
                                                             owner.group) != observer.groups.end());
      if (visible) continue;
      const std::string owner_label = owner.group.empty() ? owner.tenant : owner.tenant + " group \"" + owner.group + "\"";
      found.push_back({layer, owner_label, observer.tenant.id.str() + " actor " + observer.actor, operation});
    }
    std::lock_guard lock(report_mutex);
    ++report.operations;
    ++report.checks[layer];
    for (auto& c : found) report.crossings.push_back(std::move(c));
  };
  auto scan = [&](const ProbeTenant& observer, const std::string& layer, const std::string& operation,
                  const std::string& text) { scan_as({observer, "probe-user", {"probe"}}, layer, operation, text); };
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
          if (options_.acl_probe) plant_acl_documents(pipeline_, t, login);
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
          if (options_.acl_probe) probe_acl(pipeline_, t, round, login, scan_as);
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
