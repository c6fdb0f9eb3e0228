// LeakProbe: a harness vendors run against their own configuration to show that no tenant's
// data reaches another tenant. It provisions N probe tenants, plants a unique canary per tenant
// in every layer (documents, conversation memory, response/semantic/embedding caches, prompt
// overlays, audit events, plus any ProbeTarget the vendor adds for its own layers), then runs
// the full cross-tenant matrix of operations — identical prompts, near-identical queries, the
// same document ids and session names in every tenant — from many threads at once, and reports
// every canary that shows up where it does not belong, with the layer it crossed in.
//
//   testing::LeakProbe probe(platform, registry, pipeline, {.tenants = 50, .threads = 8});
//   auto report = probe.run();
//   if (!report.clean()) std::cerr << report.summary();
//
// A probe that cannot fail proves nothing: tests/unit/testing runs it against a deliberately
// unpartitioned cache (a ProbeTarget) and requires it to report the crossing.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "tenantai/pipeline/pipeline.h"
#include "tenantai/pipeline/platform.h"
#include "tenantai/pipeline/tenant_registry.h"

namespace tenantai::testing {

// A vendor layer to probe. `plant` stores the canary for the context's tenant; `observe` returns
// whatever that layer hands the context's tenant for the shared probe input (any text; the
// probe scans it for canaries). Both are called concurrently from the probe's threads.
struct ProbeTarget {
  std::string layer;
  std::function<void(const TenantContext& context, const std::string& canary)> plant;
  std::function<std::string(const TenantContext& context)> observe;
};

struct LeakProbeOptions {
  std::size_t tenants = 50;
  std::size_t threads = 8;
  std::size_t rounds = 2;                  // passes over the whole matrix
  std::string tenant_prefix = "leakprobe"; // probe tenants are <prefix>-<n>-<random>
  bool offboard_after = true;              // remove the probe tenants when done
  // Intra-tenant ACL probe: in every probe tenant, actors whose group sets collide under naive
  // encodings ("risk,staff" as one group against "risk" and "staff", a group of separators and
  // unicode, no group) plant restricted documents and ask the same questions; a restricted
  // canary reaching an actor outside its group is a crossing (layers "acl:...").
  bool acl_probe = true;
  std::vector<ProbeTarget> extra_targets;
};

// One canary seen where it must not be.
struct Crossing {
  std::string layer;      // "documents", "memory", "response_cache", ...
  std::string owner;      // the tenant whose canary it is
  std::string observer;   // the tenant (and, for ACL crossings, the actor) that saw it
  std::string operation;  // what the observer did
};

struct LeakReport {
  std::size_t tenants = 0;
  std::size_t threads = 0;
  std::size_t operations = 0;                  // observations made
  std::map<std::string, std::size_t> checks;   // layer → observations scanned
  std::vector<Crossing> crossings;
  std::vector<std::string> errors;             // operations that failed (also a finding)
  bool clean() const noexcept { return crossings.empty() && errors.empty(); }
  std::string summary() const;                 // human-readable, one line per finding
};

// Not thread-safe itself (run() uses its own threads). The platform, registry and pipeline must
// outlive it. run() throws only when the probe tenants cannot be provisioned.
class LeakProbe {
 public:
  LeakProbe(pipeline::Platform& platform, pipeline::TenantRegistry& registry, pipeline::Pipeline& pipeline,
            LeakProbeOptions options = {});
  LeakReport run();

 private:
  pipeline::Platform& platform_;
  pipeline::TenantRegistry& registry_;
  pipeline::Pipeline& pipeline_;
  LeakProbeOptions options_;
};

}  // namespace tenantai::testing
