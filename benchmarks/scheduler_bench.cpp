// scheduler_bench: metering and scheduling peers side by side in one process.
//
//   1. Budget cap race: T threads race requests on one tenant with a spend cap. tenantai's
//      reserve-then-settle vs the naive check-then-spend gateway pattern (litellm #34732/#40002).
//   2. Fairness: tenant A submits 100x more requests than B. Max service gap while both are
//      backlogged under weighted VTC vs FCFS (same scheduler, policy switch), against the VTC
//      bound 2·U (U = largest request's weighted cost). Then weights 3:1 → service ratio.
//   3. Overhead: rate-limiter decisions/s on one thread (vs a mutex+hash-map+double bucket
//      peer) and scheduler enqueue+dispatch+complete per job (vs a bare asio::post).
//
// Flags (defaults in brackets): --threads [64] --per-thread [400] --cap [200000] --call-us [2000]
//   --light [100] --ratio [100] --slots [4] --weighted [4000] --decisions [20000000]
//   --jobs [1000000] --tenants [1000] --seed [42]
#include <tenantai/core.h>
#include <tenantai/metering/budget.h>
#include <tenantai/metering/fair_scheduler.h>
#include <tenantai/metering/rate_limiter.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

using namespace tenantai;
using namespace tenantai::metering;
using Clock = std::chrono::steady_clock;

namespace {

std::map<std::string, long long> g_flags = {
    {"threads", 64},  {"per-thread", 400}, {"cap", 200'000}, {"call-us", 2000}, {"light", 100},       {"ratio", 100},
    {"slots", 4},     {"weighted", 4000},  {"decisions", 20'000'000}, {"jobs", 1'000'000},
    {"tenants", 1000}, {"seed", 42},
};
long long flag(const char* name) { return g_flags.at(name); }

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Benchmarks need contexts for many tenants; they come from a real ApiKeyAuthenticator.
class Contexts {
 public:
  TenantContext make(const std::string& tenant, const std::string& actor = "bench") {
    auto key = auth_.issue(Principal{TenantId(tenant), actor, {}, {}});
    return auth_.authenticate(key.secret).value();
  }

 private:
  ApiKeyAuthenticator auth_;
};

// ---------------------------------------------------------------------------------------------
void budget_race(Contexts& contexts) {
  const int threads = static_cast<int>(flag("threads"));
  const int per_thread = static_cast<int>(flag("per-thread"));
  const Micros cap = flag("cap");
  PriceTable prices;
  prices.set("m", ModelPrice{1'000'000, 4'000'000, "bench"});  // 1 µ$/input token, 4 µ$/output token
  std::printf("== 1. budget cap race: %d threads, %d requests each, cap %lld micros, one tenant ==\n", threads,
              per_thread, static_cast<long long>(cap));
  std::printf("   request: 200 input + max 400 output tokens (worst case 1800 micros, actual 800..1800), "
              "model call %lld us\n", flag("call-us"));

  // tenantai: reserve worst case, call, settle actual.
  InMemoryCounterStore store;
  BudgetManager budgets(store, prices);
  auto ctx = contexts.make("race-tenant");
  with_tenant(ctx, [&](auto scope) {
    BudgetPolicy p;
    p.tenant.daily = cap;
    return budgets.set_policy(scope, p).ok();
  });
  std::atomic<long long> ours_served{0}, ours_refused{0};
  auto t0 = Clock::now();
  {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        std::mt19937 rng(static_cast<unsigned>(flag("seed") + t));
        with_tenant(ctx, [&](auto scope) {
          for (int i = 0; i < per_thread; ++i) {
            auto r = budgets.reserve(scope, CallEstimate{"m", 200, 400, 400, false,
                                                         std::to_string(t) + "/" + std::to_string(i)});
            if (!r.ok()) {
              ++ours_refused;
              continue;
            }
            std::this_thread::sleep_for(std::chrono::microseconds(flag("call-us")));  // the model call
            const std::int64_t out = 150 + static_cast<std::int64_t>(rng() % 251);
            if (budgets.settle(scope, *r, CallUsage{200, out}).ok()) ++ours_served;
          }
          return 0;
        });
      });
    }
    for (auto& th : pool) th.join();
  }
  const double ours_s = seconds_since(t0);
  const Micros ours_spent = with_tenant(ctx, [&](auto scope) { return scope.view(budgets.tenant_summary(scope)).day.spent; });

  // Naive peer: check current spend < cap, call, then add the actual cost.
  std::atomic<Micros> naive_spent{0};
  std::atomic<long long> naive_served{0}, naive_refused{0};
  t0 = Clock::now();
  {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        std::mt19937 rng(static_cast<unsigned>(flag("seed") + t));
        for (int i = 0; i < per_thread; ++i) {
          if (naive_spent.load() >= cap) {
            ++naive_refused;
            continue;
          }
          std::this_thread::sleep_for(std::chrono::microseconds(flag("call-us")));
          const std::int64_t out = 150 + static_cast<std::int64_t>(rng() % 251);
          naive_spent += cost_of(200, 1'000'000) + cost_of(out, 4'000'000);
          ++naive_served;
        }
      });
    }
    for (auto& th : pool) th.join();
  }
  const double naive_s = seconds_since(t0);
  auto pct = [&](Micros spent) { return 100.0 * static_cast<double>(spent - cap) / static_cast<double>(cap); };
  std::printf("   %-28s %14s %10s %10s %12s %8s\n", "peer", "spent(micros)", "served", "refused", "over cap", "secs");
  std::printf("   %-28s %14lld %10lld %10lld %11.2f%% %8.2f\n", "tenantai reserve/settle",
              static_cast<long long>(ours_spent), ours_served.load(), ours_refused.load(), pct(ours_spent), ours_s);
  std::printf("   %-28s %14lld %10lld %10lld %11.2f%% %8.2f\n", "naive check-then-spend",
              static_cast<long long>(naive_spent.load()), naive_served.load(), naive_refused.load(),
              pct(naive_spent.load()), naive_s);
  std::printf("   RESULT cap_respected=%s naive_overrun=%s\n\n", ours_spent <= cap ? "yes" : "NO",
              naive_spent.load() > cap ? "yes" : "no");
}

// ---------------------------------------------------------------------------------------------
struct Job {
  int tenant;  // 0 = A, 1 = B
  std::int64_t input;
  std::int64_t output;
};

struct RunStats {
  std::int64_t max_gap = 0;  // equal weights: max |W_A − W_B| while both backlogged
  double ratio = 0;          // W_A / W_B over the window while both backlogged
  std::size_t served = 0;
};

// Runs `jobs` (in arrival order) through a FairScheduler with `policy` on a single-threaded
// io_context; service W is weighted tokens (1·input + 2·output) counted at dispatch.
RunStats run_schedule(const std::vector<Job>& jobs, SchedulingPolicy policy, const TenantTiers& tiers,
                      const TenantContext& a, const TenantContext& b, double weight_b, std::size_t slots) {
  boost::asio::io_context io;
  FairSchedulerOptions options;
  options.slots = slots;
  options.policy = policy;
  FairScheduler scheduler(io.get_executor(), tiers, options);
  std::vector<std::pair<int, std::int64_t>> log;  // (tenant, weighted cost) in dispatch order
  log.reserve(jobs.size());
  std::size_t remaining[2] = {0, 0};
  for (const auto& j : jobs) ++remaining[j.tenant];
  // Dispatches made before both tenants have arrived are not "both backlogged": skip them.
  std::size_t before_both = 0;
  bool seen[2] = {false, false};
  for (const auto& j : jobs) {
    if (!(seen[0] && seen[1])) {
      seen[j.tenant] = true;
      if (seen[0] && seen[1]) before_both = options.slots - scheduler.free_slots();
    }
    const TenantContext& ctx = j.tenant == 0 ? a : b;
    with_tenant(ctx, [&](auto scope) {
      auto st = scheduler.submit(scope, ScheduledJob{j.input, j.output, [&log, j](SlotGrant g) {
                                                       log.emplace_back(j.tenant, j.input + 2 * j.output);
                                                       g.complete(j.output);
                                                     }});
      if (!st.ok()) std::abort();
      return 0;
    });
  }
  io.run();
  RunStats stats;
  stats.served = log.size();
  std::int64_t w[2] = {0, 0};
  std::size_t left[2] = {remaining[0], remaining[1]};
  for (std::size_t i = 0; i < log.size(); ++i) {
    const auto [tenant, cost] = log[i];
    if (left[0] == 0 || left[1] == 0) break;  // one side no longer backlogged
    --left[tenant];
    if (i < before_both) continue;
    w[tenant] += cost;
    const double scaled_b = static_cast<double>(w[1]) * (1.0 / weight_b);
    stats.max_gap = std::max<std::int64_t>(stats.max_gap, std::llabs(w[0] - static_cast<std::int64_t>(scaled_b)));
  }
  stats.ratio = w[1] > 0 ? static_cast<double>(w[0]) / static_cast<double>(w[1]) : INFINITY;
  return stats;
}

void fairness(Contexts& contexts) {
  const int light = static_cast<int>(flag("light"));
  const int ratio = static_cast<int>(flag("ratio"));
  std::mt19937 rng(static_cast<unsigned>(flag("seed")));
  auto tokens = [&] { return 10 + static_cast<std::int64_t>(rng() % 491); };  // 10..500
  TenantTiers tiers;
  const std::size_t big_queue = static_cast<std::size_t>(light) * static_cast<std::size_t>(ratio) + 16;
  tiers.define(TierPolicy{"equal", 1.0, 600, 1'000'000, 0, 0, big_queue});
  tiers.define(TierPolicy{"triple", 3.0, 600, 1'000'000, 0, 0, big_queue});
  auto a = contexts.make("tenant-a");
  auto b = contexts.make("tenant-b");
  with_tenant(a, [&](auto s) { return tiers.assign(s, "equal").ok(); });
  with_tenant(b, [&](auto s) { return tiers.assign(s, "equal").ok(); });

  // A sends `ratio` requests for each of B's, interleaved in arrival order, all queued at once.
  std::vector<Job> jobs;
  std::int64_t u = 0;
  for (int i = 0; i < light; ++i) {
    for (int k = 0; k < ratio; ++k) jobs.push_back({0, tokens(), tokens()});
    jobs.push_back({1, tokens(), tokens()});
  }
  std::int64_t max_in = 0, max_out = 0;
  for (const auto& j : jobs) {
    u = std::max(u, j.input + 2 * j.output);
    max_in = std::max(max_in, j.input);
    max_out = std::max(max_out, j.output);
  }
  std::printf("== 2. fairness: A submits %dx more than B (%zu vs %d requests), tokens 10..500, cost 1*in + 2*out ==\n",
              ratio, jobs.size() - static_cast<std::size_t>(light), light);
  // One slot: the bound of the paper with U = the largest request's weighted cost (strict form).
  // k slots: requests in flight have not been charged their output yet, so the bound uses the
  // batch capacity: U_k = max(w_p * L_input, w_q * M) with M = k x the largest output (our
  // reading of the paper's continuous-batching bound; the 1-slot row is the strict check).
  const std::size_t multi = static_cast<std::size_t>(flag("slots"));
  bool all_within = true;
  std::printf("   %-6s %-6s %14s %14s %10s\n", "slots", "policy", "max gap", "bound 2U", "gap/2U");
  for (std::size_t slots : {std::size_t{1}, multi}) {
    const std::int64_t bound = slots == 1 ? 2 * u
                                          : 2 * std::max<std::int64_t>(max_in, 2 * static_cast<std::int64_t>(slots) * max_out);
    const auto vtc = run_schedule(jobs, SchedulingPolicy::kVirtualTokenCounter, tiers, a, b, 1.0, slots);
    const auto fcfs = run_schedule(jobs, SchedulingPolicy::kFirstComeFirstServed, tiers, a, b, 1.0, slots);
    for (const auto& [name, st] : {std::pair{"VTC", vtc}, std::pair{"FCFS", fcfs}}) {
      std::printf("   %-6zu %-6s %14lld %14lld %10.3f\n", slots, name, static_cast<long long>(st.max_gap),
                  static_cast<long long>(bound), static_cast<double>(st.max_gap) / static_cast<double>(bound));
    }
    all_within = all_within && vtc.max_gap <= bound;
    if (slots == multi) break;
  }
  std::printf("   RESULT vtc_within_bound=%s\n", all_within ? "yes" : "NO");

  // Weights 3:1, both heavily backlogged with the same request mix.
  const int n = static_cast<int>(flag("weighted"));
  auto gold = contexts.make("tenant-gold");
  auto base = contexts.make("tenant-base");
  with_tenant(gold, [&](auto s) { return tiers.assign(s, "triple").ok(); });
  with_tenant(base, [&](auto s) { return tiers.assign(s, "equal").ok(); });
  std::vector<Job> weighted;
  for (int i = 0; i < n; ++i) {
    weighted.push_back({1, tokens(), tokens()});  // base arrives first
    weighted.push_back({0, tokens(), tokens()});
  }
  const auto slots = static_cast<std::size_t>(flag("slots"));
  const auto w_vtc = run_schedule(weighted, SchedulingPolicy::kVirtualTokenCounter, tiers, gold, base, 1.0, slots);
  const auto w_fcfs = run_schedule(weighted, SchedulingPolicy::kFirstComeFirstServed, tiers, gold, base, 1.0, slots);
  std::printf("   weights 3:1, %d requests each, %zu slots, service ratio gold:base while both backlogged\n", n, slots);
  std::printf("   %-10s %10.3f  (target 3.000 ±10%%)\n", "VTC", w_vtc.ratio);
  std::printf("   %-10s %10.3f\n", "FCFS", w_fcfs.ratio);
  std::printf("   RESULT weighted_ratio_within_10pct=%s\n\n", std::fabs(w_vtc.ratio - 3.0) <= 0.3 ? "yes" : "NO");
}

// ---------------------------------------------------------------------------------------------
// Peer for the limiter: the common hand-rolled limiter — one mutex, a string-keyed hash map and
// double-precision token buckets.
class NaiveLimiter {
 public:
  bool allow(const std::string& tenant, double tokens, double now_s) {
    std::lock_guard lock(mutex_);
    auto& b = buckets_[tenant];
    if (b.last < 0) {
      b = {600, 1e6, now_s};
    }
    const double dt = now_s - b.last;
    b.last = now_s;
    b.req = std::min(600.0, b.req + dt * 10.0);
    b.tok = std::min(1e6, b.tok + dt * 1e6 / 60.0);
    if (b.req < 1 || b.tok < tokens) return false;
    b.req -= 1;
    b.tok -= tokens;
    return true;
  }

 private:
  struct Bucket {
    double req = 0, tok = 0, last = -1;
  };
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

void overhead(Contexts& contexts) {
  const long long decisions = flag("decisions");
  const int tenants = static_cast<int>(flag("tenants"));
  std::printf("== 3. overhead (one thread) ==\n");
  TenantTiers tiers;
  tiers.define(TierPolicy{"bench", 1.0, 6'000'000, 100'000'000, 0, 0, 1'000'000});
  std::vector<TenantContext> ctxs;
  for (int i = 0; i < tenants; ++i) {
    ctxs.push_back(contexts.make("lim-" + std::to_string(i)));
    with_tenant(ctxs.back(), [&](auto s) { return tiers.assign(s, "bench").ok(); });
  }
  InMemoryCounterStore store;
  RateLimiter limiter(tiers, store);
  auto now = Clock::now();
  long long allowed = 0;
  // One tenant, hot.
  auto t0 = Clock::now();
  with_tenant(ctxs[0], [&](auto scope) {
    for (long long i = 0; i < decisions; ++i) {
      allowed += limiter.decide(scope, 100, now + std::chrono::microseconds(i))->allowed ? 1 : 0;
    }
    return 0;
  });
  const double one_s = seconds_since(t0);
  // Many tenants, round robin (each decision enters a scope, as a request would).
  t0 = Clock::now();
  for (long long i = 0; i < decisions; ++i) {
    with_tenant(ctxs[static_cast<std::size_t>(i % tenants)], [&](auto scope) {
      allowed += limiter.decide(scope, 100, now + std::chrono::microseconds(i))->allowed ? 1 : 0;
      return 0;
    });
  }
  const double many_s = seconds_since(t0);
  NaiveLimiter naive;
  std::vector<std::string> names;
  for (int i = 0; i < tenants; ++i) names.push_back("lim-" + std::to_string(i));
  t0 = Clock::now();
  for (long long i = 0; i < decisions; ++i) {
    allowed += naive.allow(names[static_cast<std::size_t>(i % tenants)], 100, static_cast<double>(i) * 1e-6) ? 1 : 0;
  }
  const double naive_s = seconds_since(t0);
  auto rate = [&](double s) { return static_cast<double>(decisions) / s / 1e6; };
  std::printf("   limiter: %lld decisions per peer (rpm + tpm buckets, all-or-nothing)\n", decisions);
  std::printf("   %-44s %12s %10s\n", "peer", "M dec/s", "ns/dec");
  std::printf("   %-44s %12.2f %10.1f\n", "tenantai RateLimiter, 1 tenant", rate(one_s), one_s * 1e9 / decisions);
  std::printf("   %-44s %12.2f %10.1f\n", ("tenantai RateLimiter, " + std::to_string(tenants) + " tenants").c_str(),
              rate(many_s), many_s * 1e9 / decisions);
  std::printf("   %-44s %12.2f %10.1f\n", "naive mutex+map+double (no tiers, no scope)", rate(naive_s),
              naive_s * 1e9 / decisions);
  std::printf("   (allowed checksum %lld)\n", allowed);
  std::printf("   RESULT limiter_ge_5M_per_s=%s\n", rate(one_s) >= 5.0 ? "yes" : "NO");

  // Scheduler: submit (enqueue + dispatch) and complete, per job, on one thread.
  const long long jobs = flag("jobs");
  constexpr int kBatch = 1000;
  TenantTiers stiers;
  stiers.define(TierPolicy{"bench", 1.0, 600, 1'000'000, 0, 0, 100'000});
  std::vector<TenantContext> sctx(ctxs.begin(), ctxs.begin() + std::min(tenants, 100));
  for (auto& c : sctx) with_tenant(c, [&](auto s) { return stiers.assign(s, "bench").ok(); });
  auto run_sched = [&](SchedulingPolicy policy) {
    boost::asio::io_context io;
    FairSchedulerOptions options;
    options.slots = static_cast<std::size_t>(flag("slots"));
    options.policy = policy;
    FairScheduler scheduler(io.get_executor(), stiers, options);
    long long done = 0;
    const auto start = Clock::now();
    for (long long i = 0; i < jobs; i += kBatch) {
      for (int k = 0; k < kBatch; ++k) {
        with_tenant(sctx[static_cast<std::size_t>((i + k) % static_cast<long long>(sctx.size()))], [&](auto scope) {
          return scheduler.submit(scope, ScheduledJob{100, 100, [&done](SlotGrant g) {
                                                        ++done;
                                                        g.complete(100);
                                                      }}).ok();
        });
      }
      io.run();
      io.restart();
    }
    const double s = seconds_since(start);
    if (done != (jobs + kBatch - 1) / kBatch * kBatch) std::abort();
    return s * 1e9 / static_cast<double>(done);
  };
  const double vtc_ns = run_sched(SchedulingPolicy::kVirtualTokenCounter);
  const double fcfs_ns = run_sched(SchedulingPolicy::kFirstComeFirstServed);
  double post_ns = 0;
  {
    boost::asio::io_context io;
    long long done = 0;
    const auto start = Clock::now();
    for (long long i = 0; i < jobs; i += kBatch) {
      for (int k = 0; k < kBatch; ++k) {
        std::function<void()> fn = [&done] { ++done; };
        boost::asio::post(io, std::move(fn));
      }
      io.run();
      io.restart();
    }
    post_ns = seconds_since(start) * 1e9 / static_cast<double>(done);
  }
  std::printf("   scheduler: %lld jobs over %zu tenants, batches of %d, slots %lld\n", jobs, sctx.size(), kBatch,
              flag("slots"));
  std::printf("   %-44s %12s %10s\n", "peer", "ns/job", "x post");
  std::printf("   %-44s %12.1f %10.2f\n", "FairScheduler VTC (enqueue+dispatch+complete)", vtc_ns, vtc_ns / post_ns);
  std::printf("   %-44s %12.1f %10.2f\n", "FairScheduler FCFS", fcfs_ns, fcfs_ns / post_ns);
  std::printf("   %-44s %12.1f %10.2f\n", "bare asio::post of std::function", post_ns, 1.0);
  std::printf("   RESULT scheduler_le_2us=%s\n", vtc_ns <= 2000.0 ? "yes" : "NO");
}

}  // namespace

int main(int argc, char** argv) {
  std::string only;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string key = argv[i];
    if (key.rfind("--", 0) != 0) {
      std::fprintf(stderr, "usage: %s [--flag value]...\n", argv[0]);
      return 2;
    }
    key.erase(0, 2);
    if (key == "only") {
      only = argv[i + 1];
      continue;
    }
    if (!g_flags.count(key)) {
      std::fprintf(stderr, "unknown flag --%s\n", key.c_str());
      return 2;
    }
    g_flags[key] = std::atoll(argv[i + 1]);
  }
  std::printf("scheduler_bench (hardware threads: %u)\n\n", std::thread::hardware_concurrency());
  Contexts contexts;
  if (only.empty() || only == "budget") budget_race(contexts);
  if (only.empty() || only == "fairness") fairness(contexts);
  if (only.empty() || only == "overhead") overhead(contexts);
  return 0;
}
