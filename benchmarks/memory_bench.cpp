// memory_bench: the per-tenant SQLite conversation memory under load, in one process.
//
//   1. Appends on one tenant: messages/s in batched transactions (append_batch of --batch
//      messages) vs one transaction per message, side by side with a bare SQLite peer doing the
//      same batched inserts into one shared table (no tenant files, no pool, no checks), and
//      the batched appends again with every content sealed with the tenant's key (the crypto
//      module's EnvelopeSealer over a LocalKeyProvider in a temporary directory).
//   2. Churn: --tenants tenants through a pool of --handles handles: each tenant gets one
//      message (database created), then every tenant is read back in another order (database
//      reopened). Reports opens/s, peak open fds (counted in /proc/self/fd) and lost messages.
//
// Flags (defaults in brackets): --messages [200000] --batch [100] --single [5000]
//   --tenants [10000] --handles [64] --dir [/tmp]
#include <sqlite3.h>
#include <tenantai/core.h>
#include <tenantai/crypto.h>
#include <tenantai/memory.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

using namespace tenantai;
using namespace tenantai::memory;
using Clock = std::chrono::steady_clock;

namespace {

std::map<std::string, std::string> g_flags = {{"messages", "200000"}, {"batch", "100"},  {"single", "5000"},
                                              {"tenants", "10000"},   {"handles", "64"}, {"dir", "/tmp"}};
long long flag(const char* name) { return std::atoll(g_flags.at(name).c_str()); }

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

class Contexts {
 public:
  TenantContext make(const std::string& tenant, const std::string& actor) {
    auto key = auth_.issue(Principal{TenantId(tenant), actor, {}, {}});
    return auth_.authenticate(key.secret).value();
  }

 private:
  ApiKeyAuthenticator auth_;
};

std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// A fresh directory under --dir, removed at exit.
struct WorkDir {
  std::filesystem::path path;
  explicit WorkDir(const std::string& name) {
    std::random_device rd;
    path = std::filesystem::path(g_flags.at("dir")) / ("tenantai-bench-" + name + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }
  ~WorkDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

std::string text_of(long long i) {
  std::string s = "user message number ";
  s += std::to_string(i);
  s += " with some typical conversational content about an order and a refund";
  return s;
}

// Peer: the same batched inserts into one shared SQLite table, no tenant isolation at all.
double bare_sqlite_appends(long long messages, long long batch) {
  WorkDir dir("peer");
  sqlite3* db = nullptr;
  sqlite3_open((dir.path / "shared.db").c_str(), &db);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
               "CREATE TABLE messages(id INTEGER PRIMARY KEY, tenant TEXT, user TEXT, agent TEXT, session TEXT,"
               " role TEXT, content TEXT, input_tokens INT, output_tokens INT, created_at INT);"
               "CREATE INDEX by_session ON messages(tenant, user, agent, session, id);",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO messages(tenant,user,agent,session,role,content,input_tokens,output_tokens,created_at)"
                     " VALUES('acme','alice','bot','s1','user',?,1,0,0)", -1, &st, nullptr);
  const auto t0 = Clock::now();
  for (long long i = 0; i < messages;) {
    sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    for (long long j = 0; j < batch && i < messages; ++j, ++i) {
      const std::string text = text_of(i);
      sqlite3_bind_text(st, 1, text.c_str(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
      sqlite3_step(st);
      sqlite3_reset(st);
    }
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  const double rate = static_cast<double>(messages) / seconds_since(t0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rate;
}

// Batched appends of --messages messages on one tenant; returns messages/s.
double batched_appends(SqliteMemoryStore& store, const TenantContext& ctx) {
  const long long messages = flag("messages"), batch = flag("batch");
  const MemoryScope where{"alice", "bot", "s1"};
  return with_tenant(ctx, [&](auto scope) {
    const auto t0 = Clock::now();
    std::vector<MessageInput> chunk;
    for (long long i = 0; i < messages;) {
      chunk.clear();
      for (long long j = 0; j < batch && i < messages; ++j, ++i) chunk.push_back({"user", text_of(i), 1, 0});
      (void)store.append_batch(scope, where, chunk);
    }
    return static_cast<double>(messages) / seconds_since(t0);
  });
}

// The same, every content sealed with the tenant's key by the real envelope encryption.
double sealed_batched_appends(Contexts& contexts) {
  WorkDir dir("appends-sealed");
  crypto::LocalKeyProvider keys(dir.path / "keys");
  crypto::EnvelopeSealer sealer(keys, dir.path / "keyrings");
  std::filesystem::create_directories(dir.path / "memory");
  SqliteMemoryOptions o;
  o.root_dir = (dir.path / "memory").string();
  o.sealer = &sealer;
  SqliteMemoryStore store(o);
  return batched_appends(store, contexts.make("acme", "alice"));
}

void appends(Contexts& contexts) {
  const long long messages = flag("messages"), batch = flag("batch"), single = flag("single");
  WorkDir dir("appends");
  SqliteMemoryOptions o;
  o.root_dir = dir.path.string();
  SqliteMemoryStore store(o);
  const auto ctx = contexts.make("acme", "alice");
  const MemoryScope where{"alice", "bot", "s1"};
  const double batched = batched_appends(store, ctx);
  double one_by_one = 0;
  with_tenant(ctx, [&](auto scope) {
    const auto t1 = Clock::now();
    for (long long i = 0; i < single; ++i) (void)store.append(scope, where, {"user", text_of(i), 1, 0});
    one_by_one = static_cast<double>(single) / seconds_since(t1);
  });
  const double peer = bare_sqlite_appends(messages, batch);
  const double sealed = sealed_batched_appends(contexts);
  std::printf("== appends, one tenant (%lld messages, batches of %lld)\n", messages, batch);
  std::printf("  tenantai append_batch        %12.0f msg/s\n", batched);
  std::printf("  tenantai append_batch, sealed%12.0f msg/s   (%.2fx of unsealed; EnvelopeSealer + LocalKeyProvider)\n",
              sealed, sealed / batched);
  std::printf("  bare SQLite, shared table    %12.0f msg/s   (peer, no isolation)\n", peer);
  std::printf("  ratio peer/tenantai          %12.2fx\n", peer / batched);
  std::printf("  tenantai append (1 tx each)  %12.0f msg/s   (%lld messages)\n", one_by_one, single);
  std::printf("  acceptance: >= 20000 msg/s batched: %s; sealed: %s\n", batched >= 20000 ? "MET" : "NOT MET",
              sealed >= 20000 ? "MET" : "NOT MET");
}

void churn(Contexts& contexts) {
  const long long tenants = flag("tenants");
  const auto handles = static_cast<std::size_t>(flag("handles"));
  WorkDir dir("churn");
  SqliteMemoryOptions o;
  o.root_dir = dir.path.string();
  o.max_open_handles = handles;
  SqliteMemoryStore store(o);
  std::vector<TenantContext> ctx;
  ctx.reserve(static_cast<std::size_t>(tenants));
  for (long long t = 0; t < tenants; ++t) ctx.push_back(contexts.make("t" + std::to_string(t), "u"));
  const MemoryScope where{"u", "a", "s"};
  const std::size_t baseline = open_fds();
  std::size_t peak = baseline;
  const auto t0 = Clock::now();
  for (long long t = 0; t < tenants; ++t) {
    with_tenant(ctx[static_cast<std::size_t>(t)], [&](auto scope) {
      (void)store.append(scope, where, {"user", "canary-" + std::to_string(t)});
    });
    if (t % 100 == 0) peak = std::max(peak, open_fds());
  }
  const double create_s = seconds_since(t0);
  long long lost = 0;
  const auto t1 = Clock::now();
  for (long long i = 0; i < tenants; ++i) {
    const long long t = (i * 7919) % tenants;
    with_tenant(ctx[static_cast<std::size_t>(t)], [&](auto scope) {
      const auto h = scope.release(store.messages(scope, where));
      if (h.size() != 1 || h[0].content != "canary-" + std::to_string(t)) ++lost;
    });
    if (i % 100 == 0) peak = std::max(peak, open_fds());
  }
  const double reopen_s = seconds_since(t1);
  std::printf("== churn: %lld tenants through a pool of %zu handles\n", tenants, handles);
  std::printf("  create + first append        %12.0f tenants/s  (%.1f s)\n", static_cast<double>(tenants) / create_s, create_s);
  std::printf("  reopen + read back           %12.0f tenants/s  (%.1f s)\n", static_cast<double>(tenants) / reopen_s, reopen_s);
  std::printf("  open fds: baseline %zu, peak %zu (bound baseline + 3 x %zu = %zu)\n", baseline, peak, handles,
              baseline + 3 * handles);
  std::printf("  lost messages                %12lld\n", lost);
  std::printf("  acceptance: fds bounded and nothing lost: %s\n",
              (peak <= baseline + 3 * handles + 8 && lost == 0) ? "MET" : "NOT MET");
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string name = argv[i];
    if (name.rfind("--", 0) != 0 || !g_flags.count(name.substr(2))) {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      return 2;
    }
    g_flags[name.substr(2)] = argv[i + 1];
  }
  Contexts contexts;
  appends(contexts);
  churn(contexts);
  return 0;
}
