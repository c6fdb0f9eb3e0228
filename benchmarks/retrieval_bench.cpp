// retrieval_bench: tenantai's VectorStore and its FAISS peers side by side, in one process, on
// the same generated data.
//
//   W1 / W2  tenantai exact vs dedicated per-tenant IndexFlatIP, shared IndexFlatIP +
//            IDSelectorBitmap, shared IndexHNSWFlat + bitmap, shared HNSW top-100 post-filter:
//            p50/p99 µs per query (one thread), QPS with 2 threads, recall@10 against exact
//            per-tenant truth, cross-tenant results, memory per vector (RSS growth while
//            heap growth while building), build time.
//   ACL      one tenant, actor sees 10% / 1% of its rows vs the unfiltered query.
//   BIG      one large tenant: tenantai exact scan vs its ANN tier (recall, speed-up).
//   TINY     100,000 tenants of 1-3 vectors, and empty tenants: memory overhead per tenant.
//   DROP     drop of a 100k-vector tenant: time until invisible, time until freed.
//
// Data: vectors are drawn around 64 shared topic centres (tenants overlap in space, as real
// corpora do), so shared-index filtering is tested where it is hard. Tenant sizes follow Zipf.
//
// Flags: --quick (small sizes, < 1 minute) --json (one JSON line per result)
//        --only=w1,w2,acl,big,tiny,drop (default: all)
//        --w2-hnsw (also build the shared HNSW peer on W2: slow, ~1 h for 1M x 384 on 2 cores)
//        --big-rows=N [500000]  --big-factory=S [IVF1024,Flat; HNSW32,Flat with --quick]  --queries=N [1000]
// Set OPENBLAS_NUM_THREADS=1. FAISS runs with one OpenMP thread for queries, two for builds.
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/impl/IDSelector.h>
#include <omp.h>
#include <tenantai/core.h>
#include <tenantai/retrieval.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <malloc.h>
#include <vector>

using namespace tenantai;
using namespace tenantai::retrieval;
using Clock = std::chrono::steady_clock;
using idx_t = faiss::Index::idx_t;

namespace {

bool g_json = false;
bool g_quick = false;
constexpr std::size_t kK = 10;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Bytes the heap has handed out (glibc mallinfo2: small chunks + mmapped blocks). Differences
// measure what a structure really holds, allocator overhead included.
std::size_t rss_bytes() {
  const struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

class Contexts {
 public:
  TenantContext make(const std::string& tenant, std::vector<std::string> groups = {}) {
    auto key = auth_.issue(Principal{TenantId(tenant), "bench", std::move(groups), {}});
    return auth_.authenticate(key.secret).value();
  }

 private:
  ApiKeyAuthenticator auth_;
};

std::string tenant_name(std::size_t t) { return "tenant-" + std::to_string(t); }

// ---- data -------------------------------------------------------------------------------------
struct Workload {
  std::string name;
  std::size_t n = 0, dim = 0, tenants = 0;
  std::vector<float> vectors;             // n * dim, grouped by tenant
  std::vector<std::size_t> first, size;   // per tenant: first row, row count
  std::vector<std::uint32_t> owner;       // per row
  std::vector<std::uint32_t> query_tenant;
  std::vector<float> queries;             // queries * dim
};

void normalise(float* v, std::size_t dim) {
  double s = 0;
  for (std::size_t i = 0; i < dim; ++i) s += double(v[i]) * v[i];
  const float inv = float(1.0 / std::sqrt(s));
  for (std::size_t i = 0; i < dim; ++i) v[i] *= inv;
}

// Unit vectors around 64 shared topics.
struct Generator {
  std::mt19937_64 rng;
  std::size_t dim;
  std::vector<float> topics;
  Generator(std::size_t d, std::uint64_t seed) : rng(seed), dim(d), topics(64 * d) {
    std::normal_distribution<float> g;
    for (auto& x : topics) x = g(rng);
    for (std::size_t t = 0; t < 64; ++t) normalise(&topics[t * d], d);
  }
  void draw(float* out) {
    std::normal_distribution<float> g(0.f, 1.f / std::sqrt(float(dim)));
    const float* c = &topics[(rng() % 64) * dim];
    for (std::size_t i = 0; i < dim; ++i) out[i] = c[i] + 1.2f * g(rng);
    normalise(out, dim);
  }
};

Workload make_workload(std::string name, std::size_t n, std::size_t dim, std::size_t tenants, double zipf,
                       bool pick_by_size, std::size_t queries, std::uint64_t seed) {
  Workload w;
  w.name = std::move(name);
  w.dim = dim;
  w.tenants = tenants;
  std::vector<double> weight(tenants);
  double total = 0;
  for (std::size_t t = 0; t < tenants; ++t) total += weight[t] = 1.0 / std::pow(double(t + 1), zipf);
  std::size_t rows = 0;
  for (std::size_t t = 0; t < tenants; ++t) {
    w.size.push_back(std::max<std::size_t>(1, std::size_t(double(n) * weight[t] / total)));
    w.first.push_back(rows);
    rows += w.size.back();
  }
  w.n = rows;
  w.vectors.resize(rows * dim);
  w.owner.resize(rows);
  Generator gen(dim, seed);
  for (std::size_t t = 0; t < tenants; ++t) {
    for (std::size_t r = w.first[t]; r < w.first[t] + w.size[t]; ++r) {
      gen.draw(&w.vectors[r * dim]);
      w.owner[r] = std::uint32_t(t);
    }
  }
  std::discrete_distribution<std::size_t> by_size(w.size.begin(), w.size.end());
  w.queries.resize(queries * dim);
  for (std::size_t i = 0; i < queries; ++i) {
    w.query_tenant.push_back(std::uint32_t(pick_by_size ? by_size(gen.rng) : gen.rng() % tenants));
    gen.draw(&w.queries[i * dim]);
  }
  return w;
}

// ---- measurement ------------------------------------------------------------------------------
struct Result {
  std::string workload, method;
  double p50 = 0, p99 = 0, qps2 = 0, recall = 0, mem_per_vector = 0, build_s = 0;
  std::size_t cross = 0;
  std::string note;
};

using Labels = std::vector<idx_t>;                          // top-k rows, -1 padded
using QueryFn = std::function<Labels(std::size_t query)>;  // must be thread-safe

void print(const Result& r) {
  if (g_json) {
    std::printf(
        "{\"bench\":\"retrieval\",\"workload\":\"%s\",\"method\":\"%s\",\"p50_us\":%.2f,\"p99_us\":%.2f,"
        "\"qps_2threads\":%.0f,\"recall_at_10\":%.4f,\"cross_tenant\":%zu,\"bytes_per_vector\":%.1f,\"build_s\":%.2f,"
        "\"note\":\"%s\"}\n",
        r.workload.c_str(), r.method.c_str(), r.p50, r.p99, r.qps2, r.recall, r.cross, r.mem_per_vector, r.build_s,
        r.note.c_str());
  } else {
    std::printf("  %-34s p50 %9.1f us  p99 %9.1f us  qps(2t) %9.0f  recall %.4f  cross %6zu  %7.1f B/vec  build %7.2f s %s\n",
                r.method.c_str(), r.p50, r.p99, r.qps2, r.recall, r.cross, r.mem_per_vector, r.build_s, r.note.c_str());
  }
  std::fflush(stdout);
}

Result measure(const Workload& w, const std::string& method, const QueryFn& fn, const std::vector<Labels>& truth,
               double build_s, double mem_per_vector) {
  Result r;
  r.workload = w.name;
  r.method = method;
  r.build_s = build_s;
  r.mem_per_vector = mem_per_vector;
  const std::size_t nq = w.query_tenant.size();
  std::vector<double> us(nq);
  std::size_t found = 0, wanted = 0;
  for (std::size_t i = 0; i < nq; ++i) {
    const auto t0 = Clock::now();
    const Labels got = fn(i);
    us[i] = seconds_since(t0) * 1e6;
    std::set<idx_t> want(truth[i].begin(), truth[i].end());
    want.erase(-1);
    wanted += want.size();
    for (idx_t l : got) {
      if (l < 0) continue;
      if (w.owner[std::size_t(l)] != w.query_tenant[i]) ++r.cross;
      found += want.count(l);
    }
  }
  std::sort(us.begin(), us.end());
  r.p50 = us[nq / 2];
  r.p99 = us[std::min(nq - 1, nq * 99 / 100)];
  r.recall = wanted == 0 ? 1.0 : double(found) / double(wanted);
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t i = 0; i < nq; ++i) (void)fn((i + std::size_t(t) * nq / 2) % nq);
    });
  }
  for (auto& th : threads) th.join();
  r.qps2 = 2.0 * double(nq) / seconds_since(t0);
  print(r);
  return r;
}

// tenantai hits → global rows (ids are the global row numbers).
Labels to_labels(const std::vector<Hit>& hits) {
  Labels l(kK, -1);
  for (std::size_t i = 0; i < hits.size() && i < kK; ++i) l[i] = std::stoll(hits[i].id);
  return l;
}

std::unique_ptr<VectorStore> build_tenantai(const Workload& w, Contexts& contexts, std::vector<TenantContext>& ctx,
                                            AnnOptions ann) {
  VectorStoreOptions o;
  o.dim = w.dim;
  o.ann = std::move(ann);
  auto store = std::make_unique<VectorStore>(o);
  for (std::size_t t = 0; t < w.tenants; ++t) {
    if (ctx.size() <= t) ctx.push_back(contexts.make(tenant_name(t)));
    std::vector<Document> docs;
    docs.reserve(w.size[t]);
    for (std::size_t r = w.first[t]; r < w.first[t] + w.size[t]; ++r) {
      docs.push_back({std::to_string(r), std::vector<float>(&w.vectors[r * w.dim], &w.vectors[(r + 1) * w.dim]), {}, {}});
    }
    with_tenant(ctx[t], [&](auto scope) { store->add_batch(scope, std::move(docs)); });
  }
  return store;
}

// ---- W1 / W2 ----------------------------------------------------------------------------------
std::vector<Result> run_shared_workload(const Workload& w, bool with_hnsw) {
  std::printf("\n[%s] %zu vectors x %zu dims, %zu tenants (largest %zu, median %zu), %zu queries, top-%zu\n",
              w.name.c_str(), w.n, w.dim, w.tenants, w.size[0], w.size[w.tenants / 2], w.query_tenant.size(), kK);
  std::vector<Result> out;
  const std::size_t nq = w.query_tenant.size();
  const double raw = double(w.dim * sizeof(float));

  // Dedicated per-tenant IndexFlatIP (also the exact truth).
  auto rss0 = rss_bytes();
  auto t0 = Clock::now();
  std::vector<std::unique_ptr<faiss::IndexFlatIP>> dedicated;
  for (std::size_t t = 0; t < w.tenants; ++t) {
    dedicated.push_back(std::make_unique<faiss::IndexFlatIP>(w.dim));
    dedicated.back()->add(idx_t(w.size[t]), &w.vectors[w.first[t] * w.dim]);
  }
  const double dedicated_build = seconds_since(t0);
  const double dedicated_mem = double(rss_bytes() - rss0) / double(w.n);
  auto dedicated_fn = [&](std::size_t i) {
    const std::size_t t = w.query_tenant[i];
    std::vector<float> d(kK);
    Labels l(kK, -1);
    dedicated[t]->search(1, &w.queries[i * w.dim], idx_t(kK), d.data(), l.data());
    for (auto& x : l) {
      if (x >= 0) x += idx_t(w.first[t]);
    }
    return l;
  };
  std::vector<Labels> truth(nq);
  for (std::size_t i = 0; i < nq; ++i) truth[i] = dedicated_fn(i);

  // tenantai exact.
  Contexts contexts;
  std::vector<TenantContext> ctx;
  for (std::size_t t = 0; t < w.tenants; ++t) ctx.push_back(contexts.make(tenant_name(t)));
  rss0 = rss_bytes();
  t0 = Clock::now();
  AnnOptions no_ann;
  no_ann.enabled = false;
  auto store = build_tenantai(w, contexts, ctx, no_ann);
  const double store_build = seconds_since(t0);
  const double store_mem = double(rss_bytes() - rss0) / double(w.n);
  auto tenantai_fn = [&](std::size_t i) {
    const std::span<const float> q(&w.queries[i * w.dim], w.dim);
    return to_labels(with_tenant(ctx[w.query_tenant[i]], [&](auto scope) {
      return scope.release(store->search(scope, q, kK, {}, Plan::Exact));
    }));
  };
  const Result ours = measure(w, "tenantai exact (" + std::string(to_string(kernel_isa())) + ")", tenantai_fn, truth,
                              store_build, store_mem);
  out.push_back(ours);
  Result ded = measure(w, "faiss dedicated IndexFlatIP", dedicated_fn, truth, dedicated_build, dedicated_mem);
  out.push_back(ded);
  dedicated.clear();

  // Shared IndexFlatIP + IDSelectorBitmap (bitmaps prepared before timing).
  rss0 = rss_bytes();
  t0 = Clock::now();
  faiss::IndexFlatIP shared(w.dim);
  shared.add(idx_t(w.n), w.vectors.data());
  const double shared_build = seconds_since(t0);
  const double shared_mem = double(rss_bytes() - rss0) / double(w.n);
  std::map<std::uint32_t, std::vector<std::uint8_t>> bitmaps;
  for (std::size_t i = 0; i < nq; ++i) {
    const auto t = w.query_tenant[i];
    auto& b = bitmaps[t];
    if (!b.empty()) continue;
    b.assign((w.n + 7) / 8, 0);
    for (std::size_t r = w.first[t]; r < w.first[t] + w.size[t]; ++r) b[r / 8] |= std::uint8_t(1u << (r % 8));
  }
  auto filtered_search = [&](const faiss::Index& index, std::size_t i, faiss::SearchParameters& params) {
    const auto& b = bitmaps.at(w.query_tenant[i]);
    faiss::IDSelectorBitmap sel(b.size(), b.data());
    params.sel = &sel;
    std::vector<float> d(kK);
    Labels l(kK, -1);
    index.search(1, &w.queries[i * w.dim], idx_t(kK), d.data(), l.data(), &params);
    return l;
  };
  auto shared_fn = [&](std::size_t i) {
    faiss::SearchParameters params;
    return filtered_search(shared, i, params);
  };
  Result sh = measure(w, "faiss shared IndexFlatIP + bitmap", shared_fn, truth, shared_build, shared_mem);
  out.push_back(sh);

  if (with_hnsw) {
    rss0 = rss_bytes();
    t0 = Clock::now();
    faiss::IndexHNSWFlat hnsw(int(w.dim), 32, faiss::METRIC_INNER_PRODUCT);
    hnsw.hnsw.efSearch = 128;
    omp_set_num_threads(2);
    hnsw.add(idx_t(w.n), w.vectors.data());
    omp_set_num_threads(1);
    const double hnsw_build = seconds_since(t0);
    const double hnsw_mem = double(rss_bytes() - rss0) / double(w.n);
    auto hnsw_fn = [&](std::size_t i) {
      faiss::SearchParametersHNSW params;
      params.efSearch = 128;
      return filtered_search(hnsw, i, params);
    };
    out.push_back(measure(w, "faiss shared HNSW32 + bitmap", hnsw_fn, truth, hnsw_build, hnsw_mem));
    auto post_fn = [&](std::size_t i) {
      std::vector<float> d(100);
      Labels l(100, -1), keep;
      hnsw.search(1, &w.queries[i * w.dim], 100, d.data(), l.data());
      for (idx_t x : l) {
        if (x >= 0 && w.owner[std::size_t(x)] == w.query_tenant[i] && keep.size() < kK) keep.push_back(x);
      }
      keep.resize(kK, -1);
      return keep;
    };
    out.push_back(measure(w, "faiss shared HNSW32 top-100 post-filter", post_fn, truth, hnsw_build, 0));
  }
  std::printf("  => tenantai exact p50 = %.2fx dedicated (bar <= 0.6), %.1fx faster than shared+bitmap (bar >= 20), "
              "recall %.4f, cross-tenant %zu, %.3fx raw float32 bytes\n",
              ours.p50 / ded.p50, sh.p50 / ours.p50, ours.recall, ours.cross, ours.mem_per_vector / raw);
  if (g_json) {
    std::printf("{\"bench\":\"retrieval\",\"workload\":\"%s\",\"summary\":true,\"p50_vs_dedicated\":%.3f,"
                "\"speedup_vs_shared_bitmap\":%.1f,\"memory_vs_raw\":%.3f}\n",
                w.name.c_str(), ours.p50 / ded.p50, sh.p50 / ours.p50, ours.mem_per_vector / raw);
  }
  return out;
}

// ---- ACL selectivity --------------------------------------------------------------------------
void run_acl(std::size_t rows, std::size_t dim, std::size_t nq) {
  std::printf("\n[ACL] one tenant, %zu x %zu; 100 groups, each document in one; p50 of %zu queries\n", rows, dim, nq);
  Generator gen(dim, 7);
  VectorStoreOptions o;
  o.dim = dim;
  o.ann.enabled = false;
  VectorStore store(o);
  Contexts contexts;
  std::vector<Document> docs(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    docs[r].id = std::to_string(r);
    docs[r].vector.resize(dim);
    gen.draw(docs[r].vector.data());
    docs[r].acl_groups = {"g" + std::to_string(r % 100)};
  }
  std::vector<Document> plain = docs;  // the same rows without ACL: the unfiltered baseline
  for (auto& d : plain) d.acl_groups.clear();
  with_tenant(contexts.make("acl-tenant"), [&](auto scope) { store.add_batch(scope, std::move(docs)); });
  with_tenant(contexts.make("acl-free"), [&](auto scope) { store.add_batch(scope, std::move(plain)); });
  std::vector<float> queries(nq * dim);
  for (std::size_t i = 0; i < nq; ++i) gen.draw(&queries[i * dim]);
  std::vector<std::string> all, ten, one{"g0"};
  for (int g = 0; g < 100; ++g) all.push_back("g" + std::to_string(g));
  for (int g = 0; g < 10; ++g) ten.push_back("g" + std::to_string(g * 10));
  double base = 0;
  for (const auto& [label, groups] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"unfiltered (no ACL)", {}}, {"100% visible (all groups)", all}, {"10% visible", ten}, {"1% visible", one}}) {
    const auto ctx = contexts.make(base == 0 ? "acl-free" : "acl-tenant", groups);
    std::vector<double> us(nq);
    std::size_t short_results = 0;
    for (std::size_t i = 0; i < nq; ++i) {
      const std::span<const float> q(&queries[i * dim], dim);
      const auto t0 = Clock::now();
      const auto n = with_tenant(ctx, [&](auto scope) { return scope.view(store.search(scope, q, kK)).size(); });
      us[i] = seconds_since(t0) * 1e6;
      short_results += n < kK ? 1 : 0;
    }
    std::sort(us.begin(), us.end());
    const double p50 = us[nq / 2];
    if (base == 0) base = p50;
    if (g_json) {
      std::printf("{\"bench\":\"retrieval\",\"workload\":\"acl\",\"visible\":\"%s\",\"p50_us\":%.2f,\"vs_unfiltered\":%.3f,"
                  "\"short_results\":%zu}\n", label.c_str(), p50, p50 / base, short_results);
    } else {
      std::printf("  %-28s p50 %8.1f us  = %.2fx unfiltered  short result lists: %zu\n", label.c_str(), p50, p50 / base,
                  short_results);
    }
  }
}

// ---- one large tenant: exact vs ANN tier ------------------------------------------------------
void run_big(std::size_t rows, std::size_t dim, std::size_t nq, const std::string& factory) {
  std::printf("\n[BIG] one tenant %zu x %zu: exact scan vs ANN tier \"%s\" (build with 2 OpenMP threads)\n", rows, dim,
              factory.c_str());
  Generator gen(dim, 11);
  VectorStoreOptions o;
  o.dim = dim;
  o.ann.min_rows = rows;
  o.ann.factory = factory;
  o.ann.background = false;
  o.ann.enabled = false;  // load first, build explicitly below (timed)
  Contexts contexts;
  const auto ctx = contexts.make("big-tenant");
  o.ann.enabled = true;
  o.ann.min_rows = rows + 1;  // never triggered by the load itself
  VectorStore store(o);
  for (std::size_t done = 0; done < rows; done += 50'000) {
    std::vector<Document> docs(std::min<std::size_t>(50'000, rows - done));
    for (std::size_t j = 0; j < docs.size(); ++j) {
      docs[j].id = std::to_string(done + j);
      docs[j].vector.resize(dim);
      gen.draw(docs[j].vector.data());
    }
    with_tenant(ctx, [&](auto scope) { store.add_batch(scope, std::move(docs)); });
  }
  omp_set_num_threads(2);
  auto t0 = Clock::now();
  with_tenant(ctx, [&](auto scope) { store.build_ann(scope); });
  const double build_s = seconds_since(t0);
  omp_set_num_threads(1);
  std::vector<float> queries(nq * dim);
  for (std::size_t i = 0; i < nq; ++i) gen.draw(&queries[i * dim]);
  std::vector<double> exact_us(nq), ann_us(nq);
  std::size_t found = 0;
  for (std::size_t i = 0; i < nq; ++i) {
    const std::span<const float> q(&queries[i * dim], dim);
    t0 = Clock::now();
    const auto exact = with_tenant(ctx, [&](auto scope) { return scope.release(store.search(scope, q, kK, {}, Plan::Exact)); });
    exact_us[i] = seconds_since(t0) * 1e6;
    t0 = Clock::now();
    const auto approx = with_tenant(ctx, [&](auto scope) { return scope.release(store.search(scope, q, kK)); });
    ann_us[i] = seconds_since(t0) * 1e6;
    std::set<std::string> want;
    for (const auto& h : exact) want.insert(h.id);
    for (const auto& h : approx) found += want.count(h.id);
  }
  std::sort(exact_us.begin(), exact_us.end());
  std::sort(ann_us.begin(), ann_us.end());
  const auto stats = with_tenant(ctx, [&](auto scope) { return scope.release(store.stats(scope)); });
  const double recall = double(found) / double(nq * kK);
  const double e50 = exact_us[nq / 2], a50 = ann_us[nq / 2];
  if (g_json) {
    std::printf("{\"bench\":\"retrieval\",\"workload\":\"big\",\"rows\":%zu,\"dim\":%zu,\"factory\":\"%s\",\"build_s\":%.1f,"
                "\"exact_p50_us\":%.1f,\"ann_p50_us\":%.1f,\"speedup\":%.1f,\"recall_at_10\":%.4f,\"ann_queries\":%zu}\n",
                rows, dim, factory.c_str(), build_s, e50, a50, e50 / a50, recall, stats.ann_queries);
  } else {
    std::printf("  build %.1f s; exact p50 %.1f us; ANN p50 %.1f us (%.1fx faster, bar >= 4); recall@10 %.4f (bar >= 0.95); "
                "%zu of %zu queries answered by the index\n",
                build_s, e50, a50, e50 / a50, recall, stats.ann_queries, nq);
  }
}

// ---- many tiny tenants ------------------------------------------------------------------------
void run_tiny(std::size_t tenants, std::size_t dim) {
  std::printf("\n[TINY] %zu tenants of 1-3 vectors x %zu dims, then the same tenants emptied\n", tenants, dim);
  Contexts contexts;
  std::vector<TenantContext> ctx;
  ctx.reserve(tenants);
  for (std::size_t t = 0; t < tenants; ++t) ctx.push_back(contexts.make("tiny-" + std::to_string(t)));
  VectorStoreOptions o;
  o.dim = dim;
  Generator gen(dim, 3);
  const auto rss0 = rss_bytes();
  std::unique_ptr<VectorStore> store = std::make_unique<VectorStore>(o);
  std::size_t vectors = 0;
  const auto t0 = Clock::now();
  for (std::size_t t = 0; t < tenants; ++t) {
    const std::size_t n = 1 + t % 3;
    std::vector<Document> docs(n);
    for (std::size_t j = 0; j < n; ++j) {
      docs[j].id = "d" + std::to_string(j);
      docs[j].vector.resize(dim);
      gen.draw(docs[j].vector.data());
    }
    vectors += n;
    with_tenant(ctx[t], [&](auto scope) { store->add_batch(scope, std::move(docs)); });
  }
  const double load_s = seconds_since(t0);
  const double full = double(rss_bytes() - rss0);
  const double raw = double(vectors * dim * sizeof(float));
  for (std::size_t t = 0; t < tenants; ++t) {
    with_tenant(ctx[t], [&](auto scope) {
      for (std::size_t j = 0; j < 1 + t % 3; ++j) store->remove(scope, "d" + std::to_string(j));
    });
  }
  const double empty = double(rss_bytes() - rss0);
  const auto one = with_tenant(ctx[0], [&](auto scope) { return scope.release(store->stats(scope)); });
  if (g_json) {
    std::printf("{\"bench\":\"retrieval\",\"workload\":\"tiny\",\"tenants\":%zu,\"load_s\":%.2f,"
                "\"overhead_bytes_per_tenant\":%.0f,\"empty_tenant_bytes_heap\":%.0f,\"empty_tenant_bytes_stats\":%zu}\n",
                tenants, load_s, (full - raw) / double(tenants), empty / double(tenants), one.total_bytes);
  } else {
    std::printf("  loaded in %.2f s; overhead beyond raw float32: %.0f B per tenant; emptied tenants: %.0f B each by heap growth, "
                "%zu B by the store's own estimate (bar <= 512)\n",
                load_s, (full - raw) / double(tenants), empty / double(tenants), one.total_bytes);
  }
}

// ---- drop -------------------------------------------------------------------------------------
void run_drop(std::size_t rows, std::size_t dim) {
  std::printf("\n[DROP] a tenant of %zu x %zu vectors dropped while it is being queried\n", rows, dim);
  Generator gen(dim, 5);
  VectorStoreOptions o;
  o.dim = dim;
  o.ann.enabled = false;
  VectorStore store(o);
  Contexts contexts;
  const auto ctx = contexts.make("doomed");
  std::vector<Document> docs(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    docs[r].id = std::to_string(r);
    docs[r].vector.resize(dim);
    gen.draw(docs[r].vector.data());
  }
  with_tenant(ctx, [&](auto scope) { store.add_batch(scope, std::move(docs)); });
  std::vector<float> q(dim);
  gen.draw(q.data());
  // A reader queries the tenant nonstop and notes when it first gets an empty answer.
  std::atomic<std::int64_t> drop_started_ns{0}, first_empty_ns{0};
  std::atomic<bool> running{false};
  std::thread reader([&] {
    for (;;) {
      running = true;
      const auto n = with_tenant(ctx, [&](auto scope) { return scope.view(store.search(scope, q, kK)).size(); });
      if (n == 0) {
        first_empty_ns = Clock::now().time_since_epoch().count();
        return;
      }
    }
  });
  while (!running) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const auto heap0 = rss_bytes();
  const auto t0 = Clock::now();
  drop_started_ns = t0.time_since_epoch().count();
  with_tenant(ctx, [&](auto scope) { store.drop_tenant(scope); });
  const double drop_us = seconds_since(t0) * 1e6;
  // Any query that starts after drop_tenant returned must find nothing.
  const auto t1 = Clock::now();
  const auto hits_after = with_tenant(ctx, [&](auto scope) { return scope.view(store.search(scope, q, kK)).size(); });
  const double after_query_us = seconds_since(t1) * 1e6;
  const double invisible_us = seconds_since(t0) * 1e6;
  reader.join();
  const double reader_us = double(first_empty_ns - drop_started_ns) / 1e3;
  const double freed_mb = (double(heap0) - double(rss_bytes())) / 1e6;
  if (g_json) {
    std::printf("{\"bench\":\"retrieval\",\"workload\":\"drop\",\"rows\":%zu,\"drop_call_us\":%.1f,"
                "\"hits_after_drop\":%zu,\"invisible_after_us\":%.1f,\"reader_first_empty_us\":%.1f,\"freed_mb\":%.1f}\n",
                rows, drop_us, hits_after, invisible_us, reader_us, freed_mb);
  } else {
    std::printf("  drop_tenant returned after %.1f us; a query started then found %zu hits (%.1f us; invisible %.1f us "
                "after the drop began, bar < 1000 us); the concurrent reader's scan already in flight finished and its "
                "next query was empty %.1f us after the drop began; %.1f MB freed (by the last user)\n",
                drop_us, hits_after, after_query_us, invisible_us, reader_us, freed_mb);
  }
}

std::string flag_value(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--" + name + "=", 0) == 0) return a.substr(name.size() + 3);
  }
  return fallback;
}

bool has_flag(int argc, char** argv, const std::string& name) {
  for (int i = 1; i < argc; ++i) {
    if (argv[i] == "--" + name) return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  g_json = has_flag(argc, argv, "json");
  g_quick = has_flag(argc, argv, "quick");
  const std::string only = flag_value(argc, argv, "only", "w1,w2,acl,big,tiny,drop");
  auto enabled = [&](const std::string& part) { return ("," + only + ",").find("," + part + ",") != std::string::npos; };
  const std::size_t queries = std::stoul(flag_value(argc, argv, "queries", g_quick ? "300" : "1000"));
  omp_set_num_threads(1);
  std::printf("retrieval_bench%s: kernels %s, top-%zu, one OpenMP thread per query\n", g_quick ? " --quick" : "",
              std::string(to_string(kernel_isa())).c_str(), kK);
  if (enabled("w1")) {
    auto w = g_quick ? make_workload("W1-quick", 20'000, 128, 100, 1.0, false, queries, 1)
                     : make_workload("W1", 200'000, 128, 1000, 1.0, false, queries, 1);
    run_shared_workload(w, true);
  }
  if (enabled("w2")) {
    auto w = g_quick ? make_workload("W2-quick", 50'000, 384, 500, 1.1, true, queries, 2)
                     : make_workload("W2", 1'000'000, 384, 10'000, 1.1, true, queries, 2);
    run_shared_workload(w, has_flag(argc, argv, "w2-hnsw"));
  }
  if (enabled("acl")) run_acl(g_quick ? 20'000 : 100'000, 128, queries);
  if (enabled("big")) {
    run_big(std::stoul(flag_value(argc, argv, "big-rows", g_quick ? "20000" : "500000")), g_quick ? 128 : 384,
            std::min<std::size_t>(queries, 300), flag_value(argc, argv, "big-factory", g_quick ? "HNSW32,Flat" : "IVF1024,Flat"));
  }
  if (enabled("tiny")) run_tiny(g_quick ? 10'000 : 100'000, 128);
  if (enabled("drop")) run_drop(g_quick ? 20'000 : 100'000, 128);
  return 0;
}
