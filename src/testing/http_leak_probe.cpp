#include "tenantai/testing/http_leak_probe.h"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <fmt/format.h>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>
#include <unordered_map>

#include "tenantai/core/authenticator.h"
#include "tenantai/server/http_client.h"

namespace tenantai::testing {

namespace {

using nlohmann::json;

constexpr std::string_view kCanaryPrefix = "LEAKPROBE-";
constexpr std::size_t kCanaryDigits = 16;      // random hex digits after the prefix
constexpr std::size_t kTopK = 8;               // passages per query/chat (the server's default maximum)
constexpr std::size_t kMaxTokens = 1000;       // room for the echoed context documents
constexpr std::size_t kAuditPageRecords = 1000;
constexpr std::size_t kMaxAuditPages = 1000;
constexpr std::size_t kBodyExcerpt = 160;      // bytes of a failed response quoted in an error
// The wording every key asks; the canary documents are written to match it.
constexpr std::string_view kProbeWording = "What is in the leak probe canary memo? Quote every leak probe canary.";
constexpr std::string_view kDocumentTitle = "leak probe canary memo";

// ---- small helpers -------------------------------------------------------------------------

std::string random_hex(std::size_t digits) {
  std::string out;
  while (out.size() < digits) out += new_request_id();  // 32 random hex digits each
  out.resize(digits);
  return out;
}

std::string excerpt(std::string_view text) {
  std::string out(text.substr(0, kBodyExcerpt));
  for (auto& c : out) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return text.size() > kBodyExcerpt ? out + "..." : out;
}

std::string lower_case(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string upper_case(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool holds_any(const HttpProbeKey& key, const std::vector<std::string>& groups) {
  return std::any_of(groups.begin(), groups.end(), [&](const std::string& group) {
    return std::find(key.groups.begin(), key.groups.end(), group) != key.groups.end();
  });
}

std::vector<std::string> unique_groups(std::vector<std::string> groups) {
  std::sort(groups.begin(), groups.end());
  groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
  return groups;
}

std::size_t distinct_tenants(const std::vector<HttpProbeKey>& keys) {
  std::set<std::string> tenants;
  for (const auto& key : keys) tenants.insert(key.tenant);
  return tenants.size();
}

// ---- the config file -----------------------------------------------------------------------

Error config_error(const std::string& field, const std::string& what) {
  return Error(ErrorCode::InvalidArgument, field + ": " + what);
}

void reject_unknown_fields(const json& object, const std::string& path, std::initializer_list<std::string_view> known) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (std::find(known.begin(), known.end(), it.key()) == known.end()) {
      throw config_error(path.empty() ? it.key() : path + "." + it.key(), "unknown field");
    }
  }
}

std::string required_string(const json& object, const std::string& path, const char* name) {
  const std::string field = path + "." + name;
  if (!object.contains(name)) throw config_error(field, "is required");
  if (!object[name].is_string()) throw config_error(field, "must be a string");
  auto value = object[name].get<std::string>();
  if (value.empty()) throw config_error(field, "must not be empty");
  return value;
}

std::vector<std::string> optional_strings(const json& object, const std::string& path, const char* name) {
  const std::string field = path + "." + name;
  if (!object.contains(name)) return {};
  if (!object[name].is_array()) throw config_error(field, "must be an array of strings");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < object[name].size(); ++i) {
    const auto& item = object[name][i];
    if (!item.is_string()) throw config_error(fmt::format("{}[{}]", field, i), "must be a string");
    out.push_back(item.get<std::string>());
  }
  return out;
}

bool optional_bool(const json& object, const std::string& path, const char* name) {
  if (!object.contains(name)) return false;
  if (!object[name].is_boolean()) throw config_error(path + "." + name, "must be true or false");
  return object[name].get<bool>();
}

HttpProbeKey parse_key(const json& item, const std::string& path) {
  if (!item.is_object()) throw config_error(path, "must be an object");
  reject_unknown_fields(item, path, {"label", "tenant", "actor", "groups", "secret", "audit"});
  HttpProbeKey key;
  key.label = required_string(item, path, "label");
  key.tenant = required_string(item, path, "tenant");
  key.actor = required_string(item, path, "actor");
  key.groups = optional_strings(item, path, "groups");
  key.secret = required_string(item, path, "secret");
  key.audit = optional_bool(item, path, "audit");
  return key;
}

// Duplicate labels would make findings ambiguous; a duplicate secret is one key planted twice.
void check_keys(const std::vector<HttpProbeKey>& keys) {
  if (keys.size() < 2) throw config_error("keys", "needs at least two keys (a probe with one key cannot see a crossing)");
  std::map<std::string, std::size_t> labels;
  std::map<std::string, std::size_t> secrets;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const std::string path = fmt::format("keys[{}]", i);
    if (auto [it, fresh] = labels.emplace(keys[i].label, i); !fresh) {
      throw config_error(path + ".label", fmt::format("duplicate label \"{}\" (also keys[{}])", keys[i].label, it->second));
    }
    if (auto [it, fresh] = secrets.emplace(keys[i].secret, i); !fresh) {
      throw config_error(path + ".secret", fmt::format("the same secret as keys[{}]", it->second));
    }
  }
}

HttpLeakProbeOptions parse_config(const json& root) {
  if (!root.is_object()) throw config_error("$", "must be an object with a \"keys\" array");
  reject_unknown_fields(root, "", {"keys"});
  if (!root.contains("keys")) throw config_error("keys", "is required");
  if (!root["keys"].is_array()) throw config_error("keys", "must be an array");
  HttpLeakProbeOptions options;
  for (std::size_t i = 0; i < root["keys"].size(); ++i) {
    options.keys.push_back(parse_key(root["keys"][i], fmt::format("keys[{}]", i)));
  }
  check_keys(options.keys);
  return options;
}

// ---- the server's address ------------------------------------------------------------------

Result<std::uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string_view::npos) {
    return Error(ErrorCode::InvalidArgument, fmt::format("URL port \"{}\" is not a number", std::string(text)));
  }
  const auto port = std::stoul(std::string(text));
  if (port == 0 || port > 65535) return Error(ErrorCode::InvalidArgument, "URL port must be 1..65535");
  return static_cast<std::uint16_t>(port);
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

// An IP literal for http_call: a name resolves to its first IPv4 address (the servers bind
// 127.0.0.1 by default), else to its first address.
Result<std::string> numeric_host(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0 || found == nullptr) {
    return Error(ErrorCode::Unavailable, fmt::format("cannot resolve host \"{}\": {}", host, ::gai_strerror(rc)));
  }
  const addrinfo* chosen = found;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    if (a->ai_family == AF_INET) {
      chosen = a;
      break;
    }
  }
  char text[NI_MAXHOST];
  const int rc = ::getnameinfo(chosen->ai_addr, chosen->ai_addrlen, text, sizeof text, nullptr, 0, NI_NUMERICHOST);
  ::freeaddrinfo(found);
  if (rc != 0) return Error(ErrorCode::Unavailable, fmt::format("cannot resolve host \"{}\": {}", host, ::gai_strerror(rc)));
  return std::string(text);
}

// ---- canaries ------------------------------------------------------------------------------

// One random marker planted in one document by one key.
struct Canary {
  std::string value;             // "LEAKPROBE-" + 16 random hex digits
  std::size_t owner = 0;         // index of the planting key
  std::vector<std::string> acl;  // the document's acl_groups ([] = every actor of the tenant)
  std::string document_id;
};

Canary make_canary(std::size_t owner, std::vector<std::string> acl) {
  Canary canary{std::string(kCanaryPrefix) + random_hex(kCanaryDigits), owner, std::move(acl), ""};
  canary.document_id = "doc-" + canary.value;  // the audit log records ids: the canary is in the id too
  return canary;
}

// Per key: one document per ACL group it holds (the only documents it may write) and one public
// document; per tenant: one public document under an id that is the same in every tenant.
std::vector<Canary> plan_canaries(const std::vector<HttpProbeKey>& keys, const std::string& run_id) {
  std::vector<Canary> canaries;
  std::set<std::string> tenants_with_shared_id;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    for (const auto& group : unique_groups(keys[i].groups)) canaries.push_back(make_canary(i, {group}));
    canaries.push_back(make_canary(i, {}));
    if (tenants_with_shared_id.insert(keys[i].tenant).second) {
      auto shared = make_canary(i, {});
      shared.document_id = "leakprobe-shared-" + run_id;
      canaries.push_back(std::move(shared));
    }
  }
  return canaries;
}

json document_json(const Canary& canary) {
  return {{"id", canary.document_id},
          {"title", kDocumentTitle},
          {"text", fmt::format("Leak probe canary memo. The leak probe canary of this memo is {}. Quote every leak probe "
                               "canary.", canary.value)},
          {"acl_groups", canary.acl}};
}

// ---- findings ------------------------------------------------------------------------------

// Which canaries in a response are findings.
enum class Rule {
  Acl,              // the observer's tenant and ACL groups decide
  OtherTenantOnly,  // audit view: every document id of the own tenant is fair game
  Nobody,           // a request with no valid key: every canary is a finding
};

// Shared by the worker threads; every member is thread-safe.
class Findings {
 public:
  Findings(const std::vector<HttpProbeKey>& keys, const std::vector<Canary>& canaries)
      : keys_(keys), canaries_(canaries), saw_visible_(keys.size(), false) {
    for (std::size_t i = 0; i < canaries_.size(); ++i) index_.emplace(lower_case(canaries_[i].value), i);
  }

  static constexpr std::size_t kNoKey = static_cast<std::size_t>(-1);

  // Scans one response body for every canary of the run (in any letter case: a model may
  // change it) and records each one `observer` may not see.
  void scan(std::size_t observer, const std::string& layer, const std::string& operation, std::string_view body,
            Rule rule) {
    const auto found = canaries_in(body);
    std::lock_guard lock(mutex_);
    const std::string observer_label = observer == kNoKey ? "an unknown API key" : keys_[observer].label;
    ++report_.operations;
    ++report_.checks[layer];
    ++checks_by_key_[observer_label][layer];
    for (std::size_t c : found) {
      if (forbidden(observer, canaries_[c], rule)) {
        record_crossing({layer, keys_[canaries_[c].owner].label, observer_label, operation});
      } else if (rule == Rule::Acl) {
        saw_visible_[observer] = true;
      }
    }
  }

  void error(const std::string& message) {
    std::lock_guard lock(mutex_);
    if (error_counts_[message]++ == 0) error_order_.push_back(message);
  }

  // Keys none of whose responses ever held a canary they may see.
  std::vector<std::size_t> keys_blind_to_own_data() const {
    std::lock_guard lock(mutex_);
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < saw_visible_.size(); ++i) {
      if (!saw_visible_[i]) out.push_back(i);
    }
    return out;
  }

  LeakReport take_report(std::map<std::string, std::map<std::string, std::size_t>>& checks_by_key) {
    std::lock_guard lock(mutex_);
    for (const auto& message : error_order_) {
      const auto n = error_counts_[message];
      report_.errors.push_back(n == 1 ? message : fmt::format("{} ({} times)", message, n));
    }
    checks_by_key = std::move(checks_by_key_);
    return std::move(report_);
  }

 private:
  // Once per (layer, owner, observer, operation): later rounds repeat the same finding.
  void record_crossing(Crossing crossing) {
    if (seen_crossings_.insert({crossing.layer, crossing.owner, crossing.observer, crossing.operation}).second) {
      report_.crossings.push_back(std::move(crossing));
    }
  }

  std::vector<std::size_t> canaries_in(std::string_view body) const {
    const std::string text = lower_case(body);
    const std::string prefix = lower_case(kCanaryPrefix);
    std::vector<std::size_t> found;
    for (auto pos = text.find(prefix); pos != std::string::npos; pos = text.find(prefix, pos + 1)) {
      auto it = index_.find(text.substr(pos, prefix.size() + kCanaryDigits));
      if (it != index_.end()) found.push_back(it->second);
    }
    std::sort(found.begin(), found.end());
    found.erase(std::unique(found.begin(), found.end()), found.end());
    return found;
  }

  bool forbidden(std::size_t observer, const Canary& canary, Rule rule) const {
    if (rule == Rule::Nobody || observer == kNoKey) return true;
    const HttpProbeKey& viewer = keys_[observer];
    const HttpProbeKey& owner = keys_[canary.owner];
    if (viewer.tenant != owner.tenant) return true;
    if (rule == Rule::OtherTenantOnly) return false;
    return !canary.acl.empty() && !holds_any(viewer, canary.acl);
  }

  const std::vector<HttpProbeKey>& keys_;
  const std::vector<Canary>& canaries_;
  std::unordered_map<std::string, std::size_t> index_;  // lower-case canary → index; immutable after construction
  mutable std::mutex mutex_;
  LeakReport report_;
  std::set<std::tuple<std::string, std::string, std::string, std::string>> seen_crossings_;
  std::map<std::string, std::size_t> error_counts_;
  std::vector<std::string> error_order_;
  std::map<std::string, std::map<std::string, std::size_t>> checks_by_key_;
  std::vector<bool> saw_visible_;
};

// ---- prompts -------------------------------------------------------------------------------

// A fresh prompt: the shared probe wording plus a random tag, so every chain starts with a cold
// cache entry (the tag keeps two prompts below the semantic cache's similarity threshold).
std::string fresh_prompt() { return fmt::format("{} [probe {}]", kProbeWording, random_hex(16)); }

// A different string asking the same thing, one per position in a chain: variant 0 rewords
// "What is" as "What's"; the others change only case and trailing punctuation, which a
// semantic cache embeds identically.
std::string paraphrase(const std::string& prompt, std::size_t variant) {
  if (variant == 0) {
    std::string out = prompt;
    if (auto pos = out.find("What is"); pos != std::string::npos) out.replace(pos, 7, "What's");
    return out;
  }
  std::string out = prompt;
  if (variant % 3 == 0) out = lower_case(out);
  if (variant % 3 == 1) out = upper_case(out);
  return out + std::string(variant / 3 + 1, '!');
}

// The layer that served a chat answer, from the server's "tenantai.cache" field.
std::string chat_layer(const json& body) {
  if (!body.is_object() || !body.contains("tenantai") || !body["tenantai"].is_object()) return "chat";
  const auto& meta = body["tenantai"];
  if (!meta.contains("cache") || !meta["cache"].is_string()) return "chat";
  const auto cache = meta["cache"].get<std::string>();
  if (cache == "exact") return "response_cache";
  if (cache == "semantic") return "semantic_cache";
  return "chat";
}

// ---- the requests --------------------------------------------------------------------------

// Makes the requests of the matrix. Const apart from the findings; safe from many threads.
class Prober {
 public:
  Prober(const HttpLeakProbeOptions& options, std::string host, const std::vector<Canary>& canaries, Findings& findings)
      : options_(options), host_(std::move(host)), canaries_(canaries), findings_(findings) {}

  // True when the server took the key's canary documents.
  bool plant(std::size_t key) const {
    json documents = json::array();
    for (const auto& canary : canaries_) {
      if (canary.owner == key) documents.push_back(document_json(canary));
    }
    const auto r = call(key, "POST", "/v1/documents", json{{"documents", documents}}.dump());
    return expect_success(key, "POST /v1/documents (planting canaries)", r);
  }

  void query(std::size_t observer) const {
    const std::string operation = "POST /v1/query with the shared probe wording";
    const auto r = call(observer, "POST", "/v1/query", json{{"query", kProbeWording}, {"k", kTopK}}.dump());
    findings_.scan(observer, "documents", operation, r.body, Rule::Acl);
    expect_success(observer, operation, r);
  }

  void chat(std::size_t observer, const std::string& prompt, const std::string& operation) const {
    json request{{"messages", json::array({{{"role", "user"}, {"content", prompt}}})},
                 {"max_tokens", kMaxTokens},
                 {"k", kTopK}};
    const auto r = call(observer, "POST", "/v1/chat", request.dump());
    const auto body = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
    findings_.scan(observer, chat_layer(body), operation, r.body, Rule::Acl);
    if (expect_success(observer, operation, r) && !body.is_object()) {
      findings_.error(fmt::format("{}: {}: the answer is not a JSON object", label(observer), operation));
    }
  }

  // The same prompt through every key in `order`, then a paraphrase through each, then the
  // prompt again: an answer cached for one key must never reach a key that may not see it.
  void chain(const std::vector<std::size_t>& order, const std::string& name) const {
    const std::string prompt = fresh_prompt();
    for (std::size_t observer : order) chat(observer, prompt, name + ": identical prompt");
    for (std::size_t i = 0; i < order.size(); ++i) chat(order[i], paraphrase(prompt, i), name + ": paraphrased prompt");
    for (std::size_t observer : order) chat(observer, prompt, name + ": identical prompt asked again");
  }

  void audit(std::size_t observer) const {
    if (options_.keys[observer].audit) {
      read_audit_log(observer);
    } else {
      expect_audit_refused(observer);
    }
  }

  // A well-formed key the server never issued must be refused, and must not see any canary.
  void unknown_key() const {
    const std::string secret = "tai_" + random_hex(43);
    const std::string operation = "POST /v1/query with an unknown API key";
    const auto r = server::http_call(host_, options_.port, "POST", "/v1/query",
                                     json{{"query", kProbeWording}, {"k", kTopK}}.dump(),
                                     {{"Authorization", "Bearer " + secret}});
    findings_.scan(Findings::kNoKey, "documents", operation, r.body, Rule::Nobody);
    if (r.status != 401) {
      findings_.error(fmt::format("{}: expected HTTP 401, got {}", operation, describe(r)));
    }
  }

 private:
  const std::string& label(std::size_t key) const { return options_.keys[key].label; }

  server::HttpCallResult call(std::size_t key, const std::string& method, const std::string& target,
                              const std::string& body = "") const {
    return server::http_call(host_, options_.port, method, target, body,
                             {{"Authorization", "Bearer " + options_.keys[key].secret}});
  }

  static std::string describe(const server::HttpCallResult& r) {
    if (r.status == 0) return "no HTTP response (connection failed or closed)";
    auto body = json::parse(r.body, nullptr, false);
    if (body.is_object() && body.contains("error") && body["error"].is_object()) {
      const auto& error = body["error"];
      return fmt::format("HTTP {} {}: {}", r.status, error.value("code", std::string("?")),
                         excerpt(error.value("message", std::string())));
    }
    return fmt::format("HTTP {}: {}", r.status, excerpt(r.body));
  }

  bool expect_success(std::size_t key, const std::string& operation, const server::HttpCallResult& r) const {
    if (r.status >= 200 && r.status < 300) return true;
    findings_.error(fmt::format("{}: {}: {}", label(key), operation, describe(r)));
    return false;
  }

  // Pages through the key's own tenant audit log; another tenant's canary must not be in it.
  void read_audit_log(std::size_t observer) const {
    const std::string operation = "GET /v1/audit";
    std::uint64_t first = 0;
    for (std::size_t page = 0; page < kMaxAuditPages; ++page) {
      const auto r = call(observer, "GET", fmt::format("/v1/audit?first={}&count={}", first, kAuditPageRecords));
      findings_.scan(observer, "audit", operation, r.body, Rule::OtherTenantOnly);
      if (!expect_success(observer, operation, r)) return;
      const auto body = json::parse(r.body, nullptr, false);
      if (!body.is_object() || !body.contains("records") || !body["records"].is_array()) {
        findings_.error(fmt::format("{}: {}: the answer has no \"records\" array", label(observer), operation));
        return;
      }
      const std::uint64_t size = body.contains("size") && body["size"].is_number_unsigned() ? body["size"].get<std::uint64_t>() : 0;
      first += body["records"].size();
      if (body["records"].empty() || first >= size) return;
    }
  }

  void expect_audit_refused(std::size_t observer) const {
    const std::string operation = "GET /v1/audit without the audit capability";
    const auto r = call(observer, "GET", "/v1/audit?first=0&count=1");
    findings_.scan(observer, "audit", operation, r.body, Rule::OtherTenantOnly);
    if (r.status != 403) {
      findings_.error(fmt::format("{}: {}: expected HTTP 403, got {} (if the key holds admin:export or audit:read, "
                                  "mark it \"audit\": true)",
                                  label(observer), operation, describe(r)));
    }
  }

  const HttpLeakProbeOptions& options_;
  std::string host_;
  const std::vector<Canary>& canaries_;
  Findings& findings_;
};

// ---- scheduling ----------------------------------------------------------------------------

using Job = std::function<void()>;

// Runs every job on `threads` workers; a job that throws becomes an error finding.
void run_parallel(const std::vector<Job>& jobs, std::size_t threads, Findings& findings) {
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < jobs.size(); i = next++) {
      try {
        jobs[i]();
      } catch (const std::exception& e) {
        findings.error(std::string("probe job failed: ") + e.what());
      }
    }
  };
  std::vector<std::thread> workers;
  for (std::size_t t = 0; t < std::min(threads, jobs.size()); ++t) workers.emplace_back(worker);
  for (auto& w : workers) w.join();
}

// Keys ordered by how many canaries they may see, most first (ties by label).
std::vector<std::size_t> most_visible_first(const std::vector<HttpProbeKey>& keys, const std::vector<Canary>& canaries) {
  std::vector<std::size_t> visible(keys.size(), 0);
  for (std::size_t k = 0; k < keys.size(); ++k) {
    for (const auto& c : canaries) {
      const bool same_tenant = keys[c.owner].tenant == keys[k].tenant;
      if (same_tenant && (c.acl.empty() || holds_any(keys[k], c.acl))) ++visible[k];
    }
  }
  std::vector<std::size_t> order(keys.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::tie(visible[b], keys[a].label) < std::tie(visible[a], keys[b].label);
  });
  return order;
}

std::vector<Job> round_jobs(const Prober& prober, const std::vector<std::size_t>& order) {
  std::vector<Job> jobs;
  std::vector<std::size_t> reversed(order.rbegin(), order.rend());
  jobs.emplace_back([&prober, order] { prober.chain(order, "chat, most-visible key first"); });
  jobs.emplace_back([&prober, reversed] { prober.chain(reversed, "chat, least-visible key first"); });
  const std::string shared_prompt = fresh_prompt();
  for (std::size_t key : order) {
    jobs.emplace_back([&prober, key] { prober.query(key); });
    jobs.emplace_back([&prober, key, shared_prompt] { prober.chat(key, shared_prompt, "chat, every key at once"); });
    jobs.emplace_back([&prober, key] { prober.audit(key); });
  }
  return jobs;
}

// Plants every key's canaries; false when not one key could (nothing to probe then).
bool plant_all(const Prober& prober, std::size_t keys, std::size_t threads, Findings& findings) {
  std::atomic<std::size_t> planted{0};
  std::vector<Job> jobs;
  for (std::size_t key = 0; key < keys; ++key) {
    jobs.emplace_back([&prober, &planted, key] {
      if (prober.plant(key)) ++planted;
    });
  }
  run_parallel(jobs, threads, findings);
  return planted > 0;
}

// The audit logs once every request of the run is in them, and a key the server never issued.
std::vector<Job> closing_jobs(const Prober& prober, std::size_t keys) {
  std::vector<Job> jobs;
  for (std::size_t key = 0; key < keys; ++key) jobs.emplace_back([&prober, key] { prober.audit(key); });
  jobs.emplace_back([&prober] { prober.unknown_key(); });
  return jobs;
}

// A key that never saw even its own data cannot show a leak either: that is a finding too.
void report_blind_keys(Findings& findings, const std::vector<HttpProbeKey>& keys) {
  for (std::size_t key : findings.keys_blind_to_own_data()) {
    findings.error(fmt::format("{}: no response ever held a canary this key may see (its own public document "
                               "included), so the probe proved nothing for it",
                               keys[key].label));
  }
}

void probe_server(const Prober& prober, const HttpLeakProbeOptions& options, const std::vector<Canary>& canaries,
                  Findings& findings) {
  if (!plant_all(prober, options.keys.size(), options.threads, findings)) {
    findings.error("no key could plant its canaries, so nothing was probed");
    return;
  }
  const auto order = most_visible_first(options.keys, canaries);
  for (std::size_t round = 0; round < options.rounds; ++round) {
    run_parallel(round_jobs(prober, order), options.threads, findings);
  }
  run_parallel(closing_jobs(prober, options.keys.size()), options.threads, findings);
  report_blind_keys(findings, options.keys);
}

void validate(const HttpLeakProbeOptions& options) {
  check_keys(options.keys);
  if (options.port == 0) throw Error(ErrorCode::InvalidArgument, "HttpLeakProbeOptions.port must be set (not 0)");
  if (options.host.empty()) throw Error(ErrorCode::InvalidArgument, "HttpLeakProbeOptions.host must not be empty");
  if (options.rounds == 0) throw Error(ErrorCode::InvalidArgument, "HttpLeakProbeOptions.rounds must be at least 1");
}

}  // namespace

// ---- public API ----------------------------------------------------------------------------

Result<HttpLeakProbeOptions> parse_http_probe_config(std::string_view json_text) {
  try {
    return parse_config(json::parse(json_text));
  } catch (const Error& e) {
    return e;
  } catch (const json::exception& e) {
    return Error(ErrorCode::InvalidArgument, std::string("malformed probe config JSON: ") + e.what());
  }
}

Result<HttpLeakProbeOptions> load_http_probe_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(ErrorCode::StorageFailure, "cannot read probe config " + path);
  std::ostringstream text;
  text << in.rdbuf();
  auto options = parse_http_probe_config(text.str());
  if (!options) return Error(options.error().code(), path + ": " + options.error().message());
  return options;
}

Result<HttpProbeEndpoint> parse_probe_url(std::string_view url) {
  if (starts_with_ignoring_case(url, "https://")) {
    return Error(ErrorCode::InvalidArgument, "https:// is not supported (the probe speaks plain HTTP): use http://");
  }
  if (!starts_with_ignoring_case(url, "http://")) {
    return Error(ErrorCode::InvalidArgument, fmt::format("\"{}\" is not an http:// URL", std::string(url)));
  }
  std::string_view rest = url.substr(7);
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find_first_of("/?#") != std::string_view::npos) {
    return Error(ErrorCode::InvalidArgument, "the URL must be http://HOST:PORT, without a path or query");
  }
  if (rest.find('@') != std::string_view::npos) {
    return Error(ErrorCode::InvalidArgument, "credentials in the URL are not supported (the keys are in the config)");
  }
  HttpProbeEndpoint endpoint;
  std::size_t colon = std::string_view::npos;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return Error(ErrorCode::InvalidArgument, "unterminated [IPv6] host in the URL");
    endpoint.host = std::string(rest.substr(1, close - 1));
    if (close + 1 < rest.size() && rest[close + 1] == ':') colon = close + 1;
  } else {
    colon = rest.rfind(':');
    endpoint.host = std::string(rest.substr(0, colon));
    if (endpoint.host.find(':') != std::string::npos) {
      return Error(ErrorCode::InvalidArgument, "an IPv6 host must be in brackets: http://[::1]:PORT");
    }
  }
  if (endpoint.host.empty()) return Error(ErrorCode::InvalidArgument, "the URL has no host");
  if (colon == std::string_view::npos) return Error(ErrorCode::InvalidArgument, "the URL needs a port: http://HOST:PORT");
  auto port = parse_port(rest.substr(colon + 1));
  if (!port) return port.error();
  endpoint.port = *port;
  return endpoint;
}

HttpLeakProbe::HttpLeakProbe(HttpLeakProbeOptions options) : options_(std::move(options)) {
  validate(options_);
  options_.threads = std::max<std::size_t>(options_.threads, 1);
}

LeakReport HttpLeakProbe::run() {
  const std::string run_id = random_hex(12);
  const std::vector<Canary> canaries = plan_canaries(options_.keys, run_id);
  Findings findings(options_.keys, canaries);
  if (auto host = numeric_host(options_.host); !host) {
    findings.error(host.error().message());
  } else {
    probe_server(Prober(options_, *host, canaries, findings), options_, canaries, findings);
  }
  LeakReport report = findings.take_report(checks_by_key_);
  report.tenants = distinct_tenants(options_.keys);
  report.threads = options_.threads;
  return report;
}

}  // namespace tenantai::testing
