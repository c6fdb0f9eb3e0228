// corpus_bench: the durable corpus (FileCorpusStore) beside the in-memory indexes it feeds, in
// one process, on the same documents (1 KB text + a 384-d vector each, log-normal tenant sizes).
//
//   1. Ingest with --writers threads, one document per call (as a client's ingest arrives):
//      in memory only (VectorStore upsert + DocumentLibrary put: the peer, what main did before
//      the corpus existed) vs durable (FileCorpusStore put, group-committed, then the same
//      in-memory writes). Prints documents/s of each and the ratio (goal: durable >= 0.5x).
//      The same again with every call into one hot tenant (its writers share group commits),
//      and with --batch documents of one tenant per call (a client's bulk ingest: the batch
//      shares one commit), in memory vs durable again.
//   2. Restart: a new store on the same directory. Time to the first exact answer of one
//      tenant (its journal replayed into a fresh VectorStore, then one query), and the time to
//      restore every tenant (the whole corpus replayed into the indexes).
//
// Flags (defaults in brackets): --documents [1000000] --tenants [10000] --writers [8]
//   --batch [32] --dim [384] --dir [/tmp] --quick (20,000 documents over 200 tenants)
#include <tenantai/core.h>
#include <tenantai/corpus.h>
#include <tenantai/pipeline/document_library.h>
#include <tenantai/retrieval/vector_store.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace tenantai;
using Clock = std::chrono::steady_clock;

namespace {

std::map<std::string, std::string> g_flags = {{"documents", "1000000"}, {"tenants", "10000"}, {"writers", "8"},
                                              {"batch", "32"},          {"dim", "384"},       {"dir", "/tmp"}};
long long flag(const char* name) { return std::atoll(g_flags.at(name).c_str()); }
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

void parse_flags(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") {
      g_flags["documents"] = "20000";
      g_flags["tenants"] = "200";
      continue;
    }
    if (a.rfind("--", 0) != 0 || g_flags.count(a.substr(2)) == 0 || i + 1 >= argc) {
      std::fprintf(stderr, "corpus_bench: unknown or incomplete flag %s\n", a.c_str());
      std::exit(2);
    }
    g_flags[a.substr(2)] = argv[++i];
  }
}

// Log-normal tenant sizes summing to `documents` (median tenant small, a few large).
std::vector<std::size_t> tenant_sizes(std::size_t documents, std::size_t tenants, std::mt19937_64& rng) {
  std::lognormal_distribution<double> size(0.0, 1.5);
  std::vector<double> weights(tenants);
  double total = 0;
  for (auto& w : weights) total += (w = size(rng));
  std::vector<std::size_t> out(tenants);
  std::size_t assigned = 0;
  for (std::size_t t = 0; t < tenants; ++t) assigned += out[t] = std::max<std::size_t>(1, static_cast<std::size_t>(weights[t] / total * static_cast<double>(documents)));
  while (assigned > documents) {
    for (auto& n : out) {
      if (assigned > documents && n > 1) --n, --assigned;
    }
  }
  out[0] += documents - assigned;
  return out;
}

// One ingest call: `count` documents of one tenant, numbered from `first`.
struct Call {
  std::size_t tenant = 0;
  std::size_t first = 0;
  std::size_t count = 1;
};

struct Work {
  std::vector<Call> items;  // in ingest order
  std::vector<TenantContext> contexts;
  std::size_t documents() const {
    std::size_t n = 0;
    for (const auto& call : items) n += call.count;
    return n;
  }
};

// The same documents as `work`, `batch` of one tenant per call, calls shuffled.
Work batched(const Work& work, std::size_t batch, std::mt19937_64& rng) {
  std::map<std::size_t, std::vector<std::size_t>> by_tenant;
  for (const auto& call : work.items) by_tenant[call.tenant].push_back(call.first);
  Work out;
  out.contexts = work.contexts;
  for (auto& [tenant, numbers] : by_tenant) {
    std::sort(numbers.begin(), numbers.end());  // numbers are 0..size-1 of the tenant
    for (std::size_t i = 0; i < numbers.size(); i += batch) {
      out.items.push_back({tenant, numbers[i], std::min(batch, numbers.size() - i)});
    }
  }
  std::shuffle(out.items.begin(), out.items.end(), rng);
  return out;
}

corpus::CorpusDocument make_document(std::size_t tenant, std::size_t n, std::size_t dim) {
  corpus::CorpusDocument d;
  d.id = "t" + std::to_string(tenant) + "-d" + std::to_string(n);
  d.title = "Document " + d.id;
  d.text.assign(1024, 'a' + static_cast<char>(n % 26));
  std::mt19937 rng(static_cast<unsigned>(tenant * 7919 + n));
  std::normal_distribution<float> g(0.f, 1.f);
  d.vector.resize(dim);
  for (auto& x : d.vector) x = g(rng);
  return d;
}

struct Indexes {
  retrieval::VectorStore vectors;
  pipeline::DocumentLibrary documents{nullptr};
  explicit Indexes(std::size_t dim) : vectors(options(dim)) {}
  static retrieval::VectorStoreOptions options(std::size_t dim) {
    retrieval::VectorStoreOptions o;
    o.dim = dim;
    o.metric = retrieval::Metric::Cosine;
    o.ann.enabled = false;  // exact scans: the restart measures the corpus, not FAISS training
    return o;
  }
  template <typename Tag>
  void put(const TenantScope<Tag>& scope, const corpus::CorpusDocument& d) {
    documents.put(scope, pipeline::StoredText{d.id, d.title, d.text, d.acl_groups}, false);
    vectors.upsert(scope, retrieval::Document{d.id, d.vector, d.acl_groups, d.metadata});
  }
};

// Runs the ingest with `writers` threads; returns documents/s.
double ingest(const Work& work, std::size_t dim, std::size_t writers, Indexes& indexes, corpus::CorpusStore* durable,
              bool with_indexes = true) {
  std::atomic<std::size_t> next{0};
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (std::size_t w = 0; w < writers; ++w) {
    threads.emplace_back([&] {
      for (std::size_t i = next++; i < work.items.size(); i = next++) {
        const auto call = work.items[i];
        std::vector<corpus::CorpusDocument> batch;
        for (std::size_t n = call.first; n < call.first + call.count; ++n) batch.push_back(make_document(call.tenant, n, dim));
        with_tenant(work.contexts[call.tenant], [&](auto scope) {
          if (durable != nullptr) durable->put(scope, batch);
          if (with_indexes) {
            for (const auto& d : batch) indexes.put(scope, d);
          }
        });
      }
    });
  }
  for (auto& t : threads) t.join();
  return static_cast<double>(work.documents()) / seconds_since(t0);
}

// The ingest into fresh indexes only (the peer); documents/s.
double ingest_in_memory(const Work& work, std::size_t dim, std::size_t writers) {
  Indexes indexes(dim);
  return ingest(work, dim, writers, indexes, nullptr);
}

// The ingest through a fresh FileCorpusStore under `dir` (removed afterwards); documents/s.
double ingest_durable_in(const std::filesystem::path& dir, const Work& work, std::size_t dim, std::size_t writers,
                         bool with_indexes = true) {
  Indexes indexes(dim);
  double rate = 0;
  {
    corpus::FileCorpusStore store({dir, nullptr, [](const TenantId&) { return false; }});
    rate = ingest(work, dim, writers, indexes, &store, with_indexes);
  }
  std::filesystem::remove_all(dir);
  return rate;
}

// Replays one tenant's journal into `indexes`; returns its documents.
std::size_t restore(corpus::CorpusStore& store, const TenantContext& context, Indexes& indexes) {
  return with_tenant(context, [&](auto scope) {
    return store.load(scope, [&](corpus::CorpusDocument&& d) { indexes.put(scope, d); }).documents;
  });
}

}  // namespace

int main(int argc, char** argv) {
  parse_flags(argc, argv);
  const auto documents = static_cast<std::size_t>(flag("documents"));
  const auto tenants = static_cast<std::size_t>(flag("tenants"));
  const auto writers = static_cast<std::size_t>(flag("writers"));
  const auto dim = static_cast<std::size_t>(flag("dim"));
  const auto root = std::filesystem::path(g_flags["dir"]) / ("tenantai-corpus-bench-" + std::to_string(::getpid()));
  std::filesystem::remove_all(root);

  std::mt19937_64 rng(20261201);
  const auto sizes = tenant_sizes(documents, tenants, rng);
  Work work;
  ApiKeyAuthenticator auth;
  for (std::size_t t = 0; t < tenants; ++t) {
    auto key = auth.issue(Principal{TenantId("bench-" + std::to_string(t)), "writer", {}, {}});
    work.contexts.push_back(*auth.authenticate(key.secret, {.request_id = "", .timeout = std::chrono::hours(10)}));
    for (std::size_t n = 0; n < sizes[t]; ++n) work.items.push_back({t, n, 1});
  }
  std::shuffle(work.items.begin(), work.items.end(), rng);
  std::printf("corpus_bench: %zu documents (1 KB text + %zu-d vector) over %zu tenants (largest %zu), %zu writers, one document per call\n",
              documents, dim, tenants, *std::max_element(sizes.begin(), sizes.end()), writers);

  const double memory_rate = ingest_in_memory(work, dim, writers);
  double durable_rate = 0;
  {
    Indexes indexes(dim);
    corpus::FileCorpusStore store({root, nullptr, [](const TenantId&) { return false; }});
    durable_rate = ingest(work, dim, writers, indexes, &store);
  }
  std::uintmax_t bytes = 0;
  for (const auto& f : std::filesystem::directory_iterator(root)) bytes += f.file_size();
  // The same number of calls into one hot tenant: its writers share group commits.
  Work hot;
  hot.contexts = work.contexts;
  const std::size_t hot_documents = std::min<std::size_t>(documents, 50'000);
  for (std::size_t n = 0; n < hot_documents; ++n) hot.items.push_back({0, 1'000'000 + n, 1});
  const double hot_memory = ingest_in_memory(hot, dim, writers);
  const double hot_durable = ingest_durable_in(root / "hot", hot, dim, writers);
  const double hot_journal_only = ingest_durable_in(root / "hot-journal", hot, dim, writers, /*with_indexes=*/false);
  // Bulk ingest: `batch` documents of one tenant per call, the same documents again.
  const auto batch = static_cast<std::size_t>(std::max(flag("batch"), 1LL));
  const Work bulk = batched(work, batch, rng);
  const double bulk_memory = ingest_in_memory(bulk, dim, writers);
  const double bulk_durable = ingest_durable_in(root / "bulk", bulk, dim, writers);
  std::printf("  ingest  in-memory indexes only (peer)        %10.0f docs/s\n", memory_rate);
  std::printf("  ingest  durable corpus + indexes            %10.0f docs/s   %.2fx the in-memory rate (goal >= 0.5x)\n",
              durable_rate, durable_rate / memory_rate);
  std::printf("          journals on disk: %.1f MiB\n", static_cast<double>(bytes) / (1024.0 * 1024.0));
  std::printf("  ingest  one hot tenant, in-memory (peer)        %10.0f docs/s   (%zu documents)\n", hot_memory, hot_documents);
  std::printf("  ingest  one hot tenant, durable                 %10.0f docs/s   %.2fx (writers share one fdatasync)\n",
              hot_durable, hot_durable / hot_memory);
  std::printf("  ingest  one hot tenant, the journal alone       %10.0f docs/s\n", hot_journal_only);
  std::printf("  ingest  up to %zu documents of one tenant per call (%zu calls), in-memory (peer) %10.0f docs/s\n", batch,
              bulk.items.size(), bulk_memory);
  std::printf("  ingest  up to %zu documents of one tenant per call, durable                      %10.0f docs/s   %.2fx (goal >= 0.5x)\n",
              batch, bulk_durable, bulk_durable / bulk_memory);

  // Restart: a fresh store on the same directory.
  const auto t0 = Clock::now();
  corpus::FileCorpusStore store({root, nullptr, [](const TenantId&) { return false; }});
  Indexes indexes(dim);
  const std::size_t probe_tenant = tenants / 2;
  const std::size_t probe_documents = restore(store, work.contexts[probe_tenant], indexes);
  std::vector<float> query = make_document(probe_tenant, 0, dim).vector;
  const auto hits = with_tenant(work.contexts[probe_tenant], [&](auto scope) {
    return scope.release(indexes.vectors.search(scope, query, 1, {}, retrieval::Plan::Exact));
  });
  const double first_answer = seconds_since(t0);
  std::printf("  restart first exact answer of one tenant (%zu documents): %.3f s after start (goal <= 5 s)%s\n",
              probe_documents, first_answer, hits.empty() || hits[0].id != "t" + std::to_string(probe_tenant) + "-d0" ? "  WRONG ANSWER" : "");
  const auto t1 = Clock::now();
  std::size_t restored = probe_documents;
  for (std::size_t t = 0; t < tenants; ++t) {
    if (t != probe_tenant) restored += restore(store, work.contexts[t], indexes);
  }
  const double all = seconds_since(t1);
  std::printf("  restart every tenant restored: %zu documents in %.1f s (%.0f docs/s)%s\n", restored, all,
              static_cast<double>(restored) / all, restored == documents ? "" : "  DOCUMENTS MISSING");
  std::filesystem::remove_all(root);
  return restored == documents ? 0 : 1;
}
