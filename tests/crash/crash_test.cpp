// Crash test: rag_server is killed with SIGKILL at random points while 8 writer threads ingest
// documents and chat (with conversation memory) across 10 tenants; after every restart every
// acknowledged document must be found with its exact text, every acknowledged chat must be in
// the tenant's memory and audit log, nothing unacknowledged may be half-visible, and every
// tenant's audit log must verify. Real process, real kill -9, real sockets on 127.0.0.1.
//
//   crash_test --rag-server PATH [--rounds 20] [--tenants 10] [--writers 8] [--seed N]
//
// Prints the figures and "crash test: passed" or the first failures; exit 0 only when passed.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <tenantai/audit/checkpoint.h>
#include <tenantai/audit/verify.h>
#include <tenantai/core/tenant_id.h>
#include <tenantai/server/http_client.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct Options {
  std::string rag_server;
  int rounds = 20;
  int tenants = 10;
  int writers = 8;
  unsigned seed = 20261201;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&] {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return std::string(argv[++i]);
    };
    if (a == "--rag-server") o.rag_server = value();
    else if (a == "--rounds") o.rounds = std::stoi(value());
    else if (a == "--tenants") o.tenants = std::stoi(value());
    else if (a == "--writers") o.writers = std::stoi(value());
    else if (a == "--seed") o.seed = static_cast<unsigned>(std::stoul(value()));
    else throw std::runtime_error("unknown option " + a);
  }
  if (o.rag_server.empty()) throw std::runtime_error("--rag-server PATH is required");
  return o;
}

std::string tenant_name(int t) { return fmt::format("crash-tenant-{}", t); }
std::string secret_of(int t) {
  std::string body = fmt::format("crashTenant{}Admin", t);
  body.resize(43, '0');
  return "tai_" + body;
}

void write_tenants_file(const fs::path& path, int tenants) {
  json list = json::array();
  for (int t = 0; t < tenants; ++t) {
    list.push_back({{"id", tenant_name(t)},
                    {"tier", "enterprise"},
                    {"models", {{"model", "echo-small"}}},
                    {"quotas", {{"requests_per_minute", 1000000}, {"tokens_per_minute", 50000000}, {"queue_limit", 1024}}},
                    {"budgets", {{"daily_usd", 100000.0}, {"monthly_usd", 1000000.0}}},
                    {"encryption_required", t % 2 == 0},
                    {"api_keys", {{{"actor", "admin"}, {"groups", {"staff"}},
                                   {"capabilities", {"admin:export", "audit:read"}}, {"secret", secret_of(t)}}}}});
  }
  std::ofstream(path) << json{{"tenants", list}}.dump(2);
}

// A running rag_server child.
struct Server {
  pid_t pid = -1;
  std::uint16_t port = 0;
};

Server start_server(const Options& o, const fs::path& tenants, const fs::path& data_dir, const fs::path& log) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    const int err = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (err >= 0) ::dup2(err, STDERR_FILENO);
    ::close(fds[0]);
    ::execl(o.rag_server.c_str(), o.rag_server.c_str(), "--tenants", tenants.c_str(), "--data-dir", data_dir.c_str(),
            "--port", "0", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  Server server{pid, 0};
  std::string out;
  char buffer[4096];
  for (;;) {  // read until the listening line
    const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
    if (n <= 0) throw std::runtime_error("rag_server exited before listening:\n" + out);
    out.append(buffer, static_cast<std::size_t>(n));
    const auto at = out.find("listening on http://127.0.0.1:");
    if (at != std::string::npos && out.find('\n', at) != std::string::npos) {
      server.port = static_cast<std::uint16_t>(std::stoi(out.substr(at + 30)));
      break;
    }
  }
  // Keep draining stdout so the server never blocks on a full pipe.
  std::thread([fd = fds[0]] {
    char sink[4096];
    while (::read(fd, sink, sizeof sink) > 0) {
    }
    ::close(fd);
  }).detach();
  return server;
}

void kill_server(Server& server) {
  ::kill(server.pid, SIGKILL);
  int status = 0;
  ::waitpid(server.pid, &status, 0);
  server.pid = -1;
}

tenantai::server::HttpCallResult call(const Server& s, int tenant, const std::string& method, const std::string& target,
                            const json& body = nullptr) {
  return tenantai::server::http_call("127.0.0.1", s.port, method, target, body.is_null() ? "" : body.dump(),
                                     {{"Authorization", "Bearer " + secret_of(tenant)}});
}

struct Acked {
  std::mutex mutex;
  std::map<int, std::map<std::string, std::string>> documents;  // tenant -> id -> text
  std::map<int, std::vector<std::string>> chats;                  // tenant -> question
  std::map<int, std::map<std::string, std::string>> sent;         // every document sent, acked or not
};

std::string random_words(std::mt19937_64& rng, int n) {
  static const char* kSyllables[] = {"ka", "lo", "mi", "ne", "su", "ta", "ri", "vo", "pe", "zu", "ba", "xi"};
  std::string out;
  for (int w = 0; w < n; ++w) {
    if (!out.empty()) out += ' ';
    for (int s = 0; s < 4; ++s) out += kSyllables[rng() % 12];
  }
  return out;
}

void writer(const Server& s, const Options& o, int round, int w, std::atomic<bool>& stop, Acked& acked) {
  std::mt19937_64 rng(o.seed * 1000003ULL + static_cast<unsigned>(round * 97 + w));
  for (int n = 0; !stop.load(); ++n) {
    const int tenant = static_cast<int>(rng() % static_cast<unsigned>(o.tenants));
    if (n % 3 != 2) {
      const std::string id = fmt::format("r{}-w{}-{}", round, w, n);
      const std::string text = "Document " + id + " says " + random_words(rng, 6) + ".";
      {
        std::lock_guard lock(acked.mutex);
        acked.sent[tenant][id] = text;
      }
      auto r = call(s, tenant, "POST", "/v1/documents", {{"documents", {{{"id", id}, {"title", id}, {"text", text}}}}});
      if (r.status == 200) {
        std::lock_guard lock(acked.mutex);
        acked.documents[tenant][id] = text;
      }
    } else {
      const std::string question = fmt::format("Question r{}-w{}-{}: {}?", round, w, n, random_words(rng, 3));
      auto r = call(s, tenant, "POST", "/v1/chat",
                    {{"messages", {{{"role", "user"}, {"content", question}}}}, {"session", fmt::format("s-{}", w)},
                     {"k", 0}, {"max_tokens", 64}});
      if (r.status == 200) {
        std::lock_guard lock(acked.mutex);
        acked.chats[tenant].push_back(question);
      }
    }
  }
}

// Every failure found after a restart, as text.
struct Findings {
  std::vector<std::string> failures;
  std::size_t documents_checked = 0;
  std::size_t chats_checked = 0;
  void fail(std::string what) {
    if (failures.size() < 20) std::cerr << "FAIL " << what << "\n";
    failures.push_back(std::move(what));
  }
};

std::vector<json> audit_events(const Server& s, int tenant) {
  std::vector<json> out;
  for (std::uint64_t first = 0;; first += 1000) {
    auto r = call(s, tenant, "GET", fmt::format("/v1/audit?first={}&count=1000", first));
    auto body = json::parse(r.body, nullptr, false);
    if (r.status != 200 || !body.is_object()) throw std::runtime_error("GET /v1/audit failed: " + r.body);
    for (auto& record : body["records"]) {
      if (record.contains("event")) out.push_back(record["event"]);
    }
    if (first + 1000 >= body["size"].get<std::uint64_t>()) break;
  }
  return out;
}

// Checks the documents acknowledged in `round` (or all of them, round < 0).
bool in_round(const std::string& name, int round) {
  return round < 0 || name.rfind(fmt::format("r{}-", round), 0) == 0 || name.find(fmt::format(" r{}-", round)) != std::string::npos;
}

void check_documents(const Server& s, int tenant, int round, Acked& acked, Findings& findings) {
  for (const auto& [id, text] : acked.documents[tenant]) {
    if (!in_round(id, round)) continue;
    auto r = call(s, tenant, "POST", "/v1/query", {{"query", text}, {"k", 8}});
    auto body = json::parse(r.body, nullptr, false);
    bool found = false;
    if (r.status == 200 && body.is_object()) {
      for (const auto& hit : body["results"]) {
        const std::string hit_id = hit.value("id", "");
        auto sent = acked.sent[tenant].find(hit_id);
        if (sent != acked.sent[tenant].end() && hit.value("text", "") != sent->second) {
          findings.fail(fmt::format("{}: document {} is half-visible (its text differs from what was sent)", tenant_name(tenant), hit_id));
        }
        if (hit_id == id) found = true;
      }
    }
    ++findings.documents_checked;
    if (!found) findings.fail(fmt::format("{}: acknowledged document {} is not found (status {})", tenant_name(tenant), id, r.status));
  }
}

void check_audit_and_memory(const Server& s, int tenant, int round, Acked& acked, Findings& findings) {
  std::set<std::string> written;
  for (const auto& event : audit_events(s, tenant)) {
    if (event.value("tenantai.operation", "") == "write" && event.value("tenantai.status", "") == "ok") {
      written.insert(event.value("tenantai.target", ""));
    }
  }
  for (const auto& [id, text] : acked.documents[tenant]) {
    if (!in_round(id, round)) continue;
    if (written.count("document:" + id) == 0) findings.fail(fmt::format("{}: acknowledged document {} has no audit event", tenant_name(tenant), id));
  }
  auto exported = call(s, tenant, "POST", "/v1/tenant/export");
  auto body = json::parse(exported.body, nullptr, false);
  if (exported.status != 200 || !body.is_object()) {
    findings.fail(fmt::format("{}: export failed: {}", tenant_name(tenant), exported.body));
    return;
  }
  std::ifstream in(fs::path(body.value("directory", "")) / "memory.jsonl");
  const std::string memory((std::istreambuf_iterator<char>(in)), {});
  for (const auto& question : acked.chats[tenant]) {
    if (!in_round(question, round)) continue;
    ++findings.chats_checked;
    if (memory.find(json(question).dump()) == std::string::npos) {
      findings.fail(fmt::format("{}: acknowledged chat \"{}\" is not in the tenant's memory", tenant_name(tenant), question));
    }
  }
}

void check_logs_verify(const Server& s, const fs::path& data_dir, int tenants, Findings& findings) {
  for (int t = 0; t < tenants; ++t) {
    auto r = call(s, t, "GET", "/v1/audit/checkpoint");  // the signed note; the key in a header
    auto verifier = tenantai::audit::CheckpointVerifier::parse(r.headers["x-tenantai-verifier-key"]);
    if (!verifier) {
      findings.fail(fmt::format("{}: no verifier key ({})", tenant_name(t), r.body));
      continue;
    }
    auto report = tenantai::audit::verify_log(data_dir / "audit", tenantai::TenantId(tenant_name(t)), *verifier);
    if (!report) findings.fail(fmt::format("{}: audit log does not verify: {}", tenant_name(t), report.error().message()));
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options o = parse(argc, argv);
    const fs::path work = fs::temp_directory_path() / fmt::format("tenantai-crash-{}", ::getpid());
    fs::remove_all(work);
    fs::create_directories(work);
    const fs::path tenants = work / "tenants.json";
    const fs::path data_dir = work / "data";
    write_tenants_file(tenants, o.tenants);
    std::mt19937 rng(o.seed);
    Acked acked;
    Findings findings;
    std::size_t kills = 0;
    const auto started = std::chrono::steady_clock::now();
    for (int round = 0; round <= o.rounds; ++round) {
      Server server = start_server(o, tenants, data_dir, work / "server.log");
      // Verify what the previous life acknowledged before its kill -9; after the last round,
      // everything acknowledged in every round (nothing later may have lost earlier writes).
      const int check_round = round == o.rounds ? -1 : round - 1;
      for (int t = 0; round > 0 && t < o.tenants; ++t) {
        check_documents(server, t, check_round, acked, findings);
        check_audit_and_memory(server, t, check_round, acked, findings);
      }
      check_logs_verify(server, data_dir, o.tenants, findings);
      if (round == o.rounds) {
        kill_server(server);
        break;
      }
      std::atomic<bool> stop{false};
      std::vector<std::thread> threads;
      for (int w = 0; w < o.writers; ++w) threads.emplace_back([&, w] { writer(server, o, round, w, stop, acked); });
      std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 400));
      kill_server(server);  // at a random point, mid-request for some writers
      ++kills;
      stop = true;
      for (auto& t : threads) t.join();
    }
    std::size_t documents = 0, chats = 0;
    for (const auto& [t, docs] : acked.documents) documents += docs.size();
    for (const auto& [t, list] : acked.chats) chats += list.size();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::cout << fmt::format(
        "crash test: {} kill -9 rounds, {} tenants, {} writers, {:.1f} s; acknowledged {} documents and {} chats; "
        "checked {} document lookups and {} chat memories after restarts; {} failures\n",
        kills, o.tenants, o.writers, seconds, documents, chats, findings.documents_checked, findings.chats_checked,
        findings.failures.size());
    if (documents == 0 || chats == 0) {
      std::cout << "crash test: FAILED (nothing was acknowledged: the test proved nothing)\n";
      return 1;
    }
    fs::remove_all(work);
    std::cout << (findings.failures.empty() ? "crash test: passed\n" : "crash test: FAILED\n");
    return findings.failures.empty() ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "crash_test: " << e.what() << "\n";
    return 2;
  }
}
